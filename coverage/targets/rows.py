"""Result rows: the schema every rule kind fills, and the helpers rules share.

:data:`RESULT_COLUMNS` is the one row schema of an evaluation. A rule returns a
:class:`RowBlock` (columns as numpy arrays or :class:`Const`) built by
:func:`make_rows`; the helpers below (labels, applicability, provenance text, rounding
of needs, action templates) are shared by :mod:`coverage.targets.rules` and
:mod:`coverage.targets.measures`, which import this module and never each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from coverage.targets.index import PROVENANCE_NAMES
from coverage.targets.spec import SAME_LEVEL, FacilitySelector, PlanTarget
from layers.glossary import label

#: columns of :attr:`coverage.targets.engine.EvaluationResult.units`, in order
RESULT_COLUMNS: tuple[str, ...] = (
    "target_id", "kind", "unit_level", "unit_code", "unit_name", "county_code", "county_name",
    "township_code", "year", "status", "required", "actual", "shortfall", "shortfall_unit",
    "action", "is_plan_level", "clause", "source_lines", "provenance", "method",
)
STATUSES: tuple[str, ...] = ("met", "not_met", "no_data", "not_applicable")

LEVEL_PREFIX_ZH: dict[str, str] = {"city": "市级", "county": "县级", "township": "乡镇级", "village": "村级"}
UNIT_NAME_ZH: dict[str, str] = {"city": "市", "county": "县（市、区）", "township": "乡镇（街道）", "village": "村（社区）"}
_POP_FIELDS = {"pop_total", "pop_under3", "pop_under18", "pop_women", "pop_65plus", "pop_urban"}


# ----------------------------------------------------------------------------- helpers
class Const:
    """A column holding one value on every row (expanded only when blocks are stacked)."""

    __slots__ = ("value", "dtype")

    def __init__(self, value: Any, dtype: Any):
        self.value = value
        self.dtype = dtype


@dataclass(eq=False)
class RowBlock:
    """Result rows of one rule run: column name → numpy array or :class:`Const`.

    Rules build blocks (cheap: a :class:`Const` is expanded only when blocks are
    stacked); :func:`coverage.targets.engine.evaluate` stacks every block of a run and
    makes one DataFrame at the end. ``n_rows`` is the number of rows; ``columns`` keeps
    the column order of :data:`RESULT_COLUMNS`.
    """

    columns: dict[str, Any]
    n_rows: int

    def __post_init__(self) -> None:
        self.n_rows = int(self.n_rows)

    def column(self, name: str) -> np.ndarray:
        """One column as an array of length ``n_rows``."""
        value = self.columns[name]
        if isinstance(value, Const):
            return np.full(self.n_rows, value.value, dtype=value.dtype)
        return value

    def to_frame(self) -> pd.DataFrame:
        df = pd.DataFrame({c: self.column(c) for c in RESULT_COLUMNS})
        df["year"] = df["year"].astype("int64")
        df["is_plan_level"] = df["is_plan_level"].astype(bool)
        return df

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> "RowBlock":
        return cls({c: df[c].to_numpy(dtype=object if df[c].dtype != float else float) for c in RESULT_COLUMNS},
                   len(df))

    @classmethod
    def concat(cls, blocks: list["RowBlock"]) -> "RowBlock":
        if not blocks:
            raise ValueError("no row blocks to stack")
        total = sum(b.n_rows for b in blocks)
        out: dict[str, Any] = {}
        for c in blocks[0].columns:
            parts = [b.columns[c] for b in blocks]
            dtype = parts[0].dtype
            if dtype != object and any(p.dtype == object for p in parts):
                dtype = object
            arr = np.empty(total, dtype=dtype)
            i = 0
            for b, p in zip(blocks, parts):
                arr[i:i + b.n_rows] = p.value if isinstance(p, Const) else p
                i += b.n_rows
            out[c] = arr
        return cls(out, total)


def make_rows(
    target: PlanTarget, ctx, level: str, units: pd.DataFrame, *, status: Any, required: Any,
    actual: Any, shortfall: Any, shortfall_unit: Any, action: Any, provenance: Any, method: Any,
) -> RowBlock:
    """Result rows for the units of one level; every value is a scalar or one per unit."""
    n = len(units)
    if units is ctx.units[level]:
        ids = ctx.units.arrays(level)
    else:
        ids = {c: units[c].to_numpy(dtype=object) for c in ("unit_code", "unit_name", "county_code",
                                                            "county_name", "township_code")}
    return RowBlock(dict(
        target_id=Const(target.id, object),
        kind=Const(target.kind, object),
        unit_level=Const(level, object),
        unit_code=ids["unit_code"],
        unit_name=ids["unit_name"],
        county_code=ids["county_code"],
        county_name=ids["county_name"],
        township_code=ids["township_code"],
        year=Const(int(ctx.year), np.int64),
        status=_col(status, n, object),
        required=_col(required, n, float),
        actual=_col(actual, n, float),
        shortfall=_col(shortfall, n, float),
        shortfall_unit=_col(shortfall_unit, n, object),
        action=_col(action, n, object),
        is_plan_level=Const(level in target.plan_levels, bool),
        clause=Const(target.source.clause, object),
        source_lines=Const(target.source_lines, object),
        provenance=_col(provenance, n, object),
        method=_col(method, n, object),
    ), n)


def _col(value: Any, n: int, dtype) -> np.ndarray | Const:
    if isinstance(value, (np.ndarray, pd.Series, list, tuple)):
        arr = np.asarray(value, dtype=dtype)
        if len(arr) != n:
            raise ValueError(f"column of length {len(arr)} for {n} units")
        return arr
    if value is None:
        value = np.nan if dtype is float else ""
    return Const(value, dtype)


def facility_label(sel: FacilitySelector, unit_level: str | None = None) -> str:
    """Chinese name of the facilities a selector counts, e.g. ``县级体育健身设施``."""
    text = label(sel.type)
    if sel.tier:
        text = label(sel.tier) + text
    if sel.level:
        lvl = unit_level if sel.level == SAME_LEVEL else sel.level
        text = LEVEL_PREFIX_ZH.get(lvl, "") + text
    return text


def unit_applicability(condition, ctx, level: str) -> tuple[np.ndarray, np.ndarray]:
    """(applicable, no_data) masks of a unit condition over ``ctx.units[level]`` (cached; read-only).

    No condition → every unit applicable. A unit whose condition fields are missing
    (NaN) is ``no_data``, not "not applicable".
    """
    return ctx.units.condition_masks(condition, level)


def provenance_text(facilities: np.ndarray | str | None = None, population: str | None = None,
                    indicators: np.ndarray | str | None = None) -> Any:
    """``facilities=synthetic;population=estimated`` style text.

    Parameters
    ----------
    facilities, indicators : ndarray of int or str, optional
        Provenance rank per unit (0 real … 3 synthetic, see
        :data:`coverage.targets.index.PROVENANCE_RANK`) or one provenance name.
    population : str, optional
        Provenance of the population figures used.

    Returns
    -------
    str or ndarray of str
        One text, or one per unit when a rank array is given.
    """
    pop = f";population={population}" if population else ""
    if facilities is not None:
        prefix, value = "facilities=", facilities
    elif indicators is not None:
        prefix, value, pop = "indicators=", indicators, ""
    else:
        return pop.lstrip(";")
    if isinstance(value, str):
        return f"{prefix}{value}{pop}"
    table = np.array([f"{prefix}{name}{pop}" for name in PROVENANCE_NAMES], dtype=object)
    return table[np.asarray(value, dtype=np.int64)]


def uses_population(condition) -> bool:
    return condition is not None and bool(condition.fields & _POP_FIELDS)


def ceil_need(x: np.ndarray) -> np.ndarray:
    """Ceiling robust to float noise (0.15 × 20 = 3, not 4)."""
    return np.ceil(np.round(np.asarray(x, dtype=float), 9))


def fill_action(template: str, n: np.ndarray, **extra: np.ndarray) -> np.ndarray:
    """Format ``template`` per row with ``{n}`` and the extra named integer arrays."""
    out = np.empty(len(n), dtype=object)
    for i in range(len(n)):
        out[i] = template.format(n=int(n[i]), **{k: int(v[i]) for k, v in extra.items()})
    return out
