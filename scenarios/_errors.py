"""Errors raised by scenario files and edits."""

from __future__ import annotations

from layers._errors import CovplanError


class ScenarioError(CovplanError):
    """A scenario file or one of its edits is invalid; the message names the file and edit."""
