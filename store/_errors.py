"""Errors of the facility store (all :class:`layers._errors.CovplanError`, so the CLI prints them)."""

from __future__ import annotations

from layers._errors import CovplanError


class StoreError(CovplanError):
    """The store cannot do what was asked (bad URL, unknown facility or batch, bad value)."""


class ConflictError(StoreError):
    """An optimistic-version check failed: someone else changed the record first.

    ``other`` holds the audit entry of the change that won (``user_name``, ``at``,
    ``old_values``, ``new_values``, ``reason``), so the refused editor can see it.
    """

    def __init__(self, message: str, other: dict | None = None) -> None:
        super().__init__(message)
        self.other = other or {}


class ValidationFailed(StoreError):
    """A change failed the same checks an import applies; ``problems`` lists them all."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message + ": " + "; ".join(problems))
        self.problems = problems
