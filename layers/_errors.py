"""Error family of the project.

Every error the project raises on purpose subclasses :class:`CovplanError`, which is a
``ValueError``; the CLI turns it into a one-line message and exit code 2.
"""

from __future__ import annotations


class CovplanError(ValueError):
    """Base class of every deliberate error of the planner."""


class LayerValidationError(CovplanError):
    """A layer of a dataset folder failed validation (all problems listed together)."""


class ImportInputError(CovplanError):
    """An input file for import cannot be read at all (empty, wrong format, no usable column)."""
