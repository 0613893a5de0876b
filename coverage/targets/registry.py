"""The rule registry: each rule kind evaluated in :mod:`coverage.targets` → its function.

``access`` and ``linkage`` kinds need the walking network; they are evaluated by
:mod:`coverage.access.evaluation` and :mod:`coverage.access.linkage`, which
:func:`coverage.targets.engine.evaluate` calls. A new rule kind is a function
``rule(target, ctx) -> RowBlock`` added here (and its kind name to
:data:`coverage.targets.spec.KINDS`).
"""

from __future__ import annotations

from collections.abc import Callable

from coverage.targets.measures import capacity_change, capacity_ratio, facility_share, indicator
from coverage.targets.rows import RowBlock
from coverage.targets.rules import presence, unit_share

#: kind → rule function (access/linkage are dispatched by coverage.targets.engine)
RULES: dict[str, Callable[..., RowBlock]] = {
    "presence": presence,
    "unit_share": unit_share,
    "facility_share": facility_share,
    "capacity_ratio": capacity_ratio,
    "capacity_change": capacity_change,
    "indicator": indicator,
}

__all__ = ["RULES"]
