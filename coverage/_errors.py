"""Errors raised by the coverage computations (all subclass CovplanError)."""

from __future__ import annotations

from layers._errors import CovplanError


class TargetSpecError(CovplanError):
    """A plan-target file is malformed; the message names the file and the key."""


class EvaluationError(CovplanError):
    """A target cannot be evaluated on the given data."""


class NetworkError(CovplanError):
    """A road network cannot be loaded, built or used."""


class SitingError(CovplanError):
    """A siting model cannot be built or solved."""
