"""Rule kinds ``presence`` and ``unit_share``, the rule registry and shared row helpers.

Every rule is a function ``rule(target, ctx) -> RowBlock`` returning rows in the schema
:data:`coverage.evaluate.RESULT_COLUMNS`, computed with vectorised counts from the
cached :class:`~coverage.rules_index.YearIndex`. Other kinds live in
:mod:`coverage.rules_measures` (facility_share, capacity_ratio, capacity_change,
indicator).

Facilities are assigned to units by their code attributes (``village_code``,
``township_code``, ``county_code``), never by geometry. For a city unit every facility
of the city counts; ``facility.level = "same"`` restricts a county unit to county-run
facilities, the city to city-run ones, and so on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from coverage.targets import SAME_LEVEL, FacilitySelector, PlanTarget
from layers.glossary import label

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


class RowBlock(dict):
    """Result rows as column → numpy array or :class:`Const` (cheap to build and stack).

    Rules build blocks; :func:`coverage.evaluate.evaluate` stacks every block of a run
    and makes one DataFrame at the end.
    """

    def __init__(self, columns: dict[str, Any], n: int):
        super().__init__(columns)
        self.n = int(n)

    def __len__(self) -> int:  # number of rows, not of columns
        return self.n

    def column(self, name: str) -> np.ndarray:
        """One column as an array of length ``len(self)``."""
        value = self[name]
        if isinstance(value, Const):
            return np.full(self.n, value.value, dtype=value.dtype)
        return value

    def to_frame(self) -> pd.DataFrame:
        from coverage.evaluate import RESULT_COLUMNS

        df = pd.DataFrame({c: self.column(c) for c in RESULT_COLUMNS})
        df["year"] = df["year"].astype("int64")
        df["is_plan_level"] = df["is_plan_level"].astype(bool)
        return df

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> "RowBlock":
        from coverage.evaluate import RESULT_COLUMNS

        return cls({c: df[c].to_numpy(dtype=object if df[c].dtype != float else float) for c in RESULT_COLUMNS},
                   len(df))

    @classmethod
    def concat(cls, blocks: list["RowBlock"]) -> "RowBlock":
        if not blocks:
            raise ValueError("no row blocks to stack")
        total = sum(b.n for b in blocks)
        out: dict[str, Any] = {}
        for c in blocks[0]:
            parts = [b[c] for b in blocks]
            dtype = parts[0].dtype
            if dtype != object and any(p.dtype == object for p in parts):
                dtype = object
            arr = np.empty(total, dtype=dtype)
            i = 0
            for b, p in zip(blocks, parts):
                arr[i:i + b.n] = p.value if isinstance(p, Const) else p
                i += b.n
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
        :data:`coverage.rules_index.PROVENANCE_RANK`) or one provenance name.
    population : str, optional
        Provenance of the population figures used.

    Returns
    -------
    str or ndarray of str
        One text, or one per unit when a rank array is given.
    """
    from coverage.rules_index import PROVENANCE_NAMES

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


# ----------------------------------------------------------------------------- presence
def presence(target: PlanTarget, ctx) -> RowBlock:
    """≥ k facilities of a type/tier/level in each unit (optionally only where a condition holds).


    ``required`` = k, ``actual`` = count, ``shortfall`` = facilities to build.
    """
    sel, k = target.facility, int(target.threshold)
    frames = []
    for level in target.unit_levels:
        units = ctx.units[level]
        counts = ctx.index.count(sel, level)
        status = np.where(counts >= k, "met", "not_met").astype(object)
        shortfall = np.maximum(k - counts, 0.0)
        action = np.full(len(units), "", dtype=object)
        need = shortfall > 0
        name = facility_label(sel, level)
        if sel.tier == "demonstration":
            base = FacilitySelector(type=sel.type, tier="basic", level=sel.level)
            basic = ctx.index.count(base, level)
            upg = np.minimum(basic, shortfall)
            for i in np.flatnonzero(need):
                action[i] = f"新建{int(shortfall[i])}个{name}" + (
                    f"（或将{int(upg[i])}个基础型升级）" if upg[i] > 0 else "")
        else:
            action[need] = [f"新建{int(s)}个{name}" for s in shortfall[need]]
        if target.action_zh:
            action[need] = fill_action(target.action_zh, shortfall[need])
        if target.max_count is not None:
            over = counts > target.max_count
            status[over] = "not_met"
            action[over] = [f"现有{int(c)}个，超过规划的{k}–{target.max_count}个，宜整合" for c in counts[over]]
        applicable, nodata = unit_applicability(target.condition, ctx, level)
        status[~applicable] = "not_applicable"
        status[nodata] = "no_data"
        shortfall[~applicable] = 0.0
        action[~applicable] = ""
        fprov = ctx.index.provenance_rank(sel, level)
        pop = ctx.units.population_provenance[level] if uses_population(target.condition) else None
        cond = f"，仅{target.condition.text}的单位" if target.condition else ""
        rng = f"{k}–{target.max_count}" if target.max_count is not None else f"≥{k}"
        frames.append(make_rows(
            target, ctx, level, units, status=status, required=float(k), actual=counts,
            shortfall=shortfall, shortfall_unit=target.shortfall_unit or "facilities", action=action,
            provenance=provenance_text(fprov, pop),
            method=f"{ctx.year}年{name}数量（按设施所属{UNIT_NAME_ZH[level]}代码）{rng}{cond}",
        ))
    return RowBlock.concat(frames)


# ----------------------------------------------------------------------------- unit_share
def unit_share(target: PlanTarget, ctx) -> RowBlock:
    """Share of member units (optionally filtered) that hold ≥ 1 facility, per parent unit.

    Member rows (``member_level``, breakdown) say whether each unit has one; parent rows
    (``unit_level``) carry the share: ``required`` = p, ``actual`` = share,
    ``shortfall`` = facilities to build = ceil(p·n) − k, plus one when
    ``parent_must_have`` and the parent itself has none.
    """
    sel, mlevel = target.facility, target.member_level
    members = ctx.units[mlevel]
    applicable, nodata = unit_applicability(target.condition, ctx, mlevel)
    counts = ctx.index.count(sel, mlevel)
    has = counts >= 1
    mname = facility_label(sel, mlevel)
    status = np.where(has, "met", "not_met").astype(object)
    status[~applicable] = "not_applicable"
    status[nodata] = "no_data"
    if target.report_only:
        status[:] = "not_applicable"
    short = np.where((status == "not_met"), 1.0, 0.0)
    action = np.where(short > 0, f"新建1个{mname}", "").astype(object)
    pop = ctx.units.population_provenance[mlevel] if uses_population(target.condition) else None
    cond = f"（仅{target.condition.text}的单位）" if target.condition else ""
    frames = [make_rows(
        target, ctx, mlevel, members, status=status, required=1.0, actual=counts, shortfall=short,
        shortfall_unit="facilities", action=action,
        provenance=provenance_text(ctx.index.provenance_rank(sel, mlevel), pop),
        method=f"{ctx.year}年{mname}数量≥1{cond}（明细，非规划考核层级）",
    )]
    p = target.threshold
    for level in target.unit_levels:
        parents = ctx.units[level]
        ppos = ctx.units.parent_positions(mlevel, level)
        inside = ppos >= 0
        size = len(parents)
        n = np.bincount(ppos[inside], weights=applicable[inside], minlength=size)
        k = np.bincount(ppos[inside], weights=(applicable & has)[inside], minlength=size)
        nd = np.bincount(ppos[inside], weights=nodata[inside], minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        lacking = np.zeros(len(parents), dtype=float)
        if target.parent_must_have:
            own = ctx.index.count(sel, level)
            lacking = (own < 1).astype(float)
        if target.report_only:
            need = np.zeros(len(parents))
            st = np.full(len(parents), "not_applicable", dtype=object)
            act = np.full(len(parents), "仅报告覆盖率（规划为探索性要求，无量化目标）", dtype=object)
        else:
            need = np.maximum(ceil_need(p * n) - k, 0.0)
            st = np.where((need == 0) & (lacking == 0), "met", "not_met").astype(object)
            st[(n == 0) & (nd > 0)] = "no_data"
            st[(n == 0) & (nd == 0) & (lacking == 0)] = "not_applicable"
            act = np.full(len(parents), "", dtype=object)
            pname = facility_label(sel, level)
            for i in np.flatnonzero(st == "not_met"):
                bits = []
                if lacking[i]:
                    bits.append(f"新建1个{pname}")
                if need[i]:
                    bits.append(f"在{int(need[i])}个{UNIT_NAME_ZH[mlevel]}新建{mname}（覆盖率需达{p:.0%}）")
                act[i] = "；".join(bits)
        worst = np.full(len(parents), -1, dtype=np.int64)
        np.maximum.at(worst, ppos[inside], ctx.index.provenance_rank(sel, mlevel)[inside])
        worst[worst < 0] = ctx.index.layer_rank
        frames.append(make_rows(
            target, ctx, level, parents, status=st, required=np.nan if target.report_only else p,
            actual=share, shortfall=need + lacking, shortfall_unit=target.shortfall_unit or "facilities",
            action=act, provenance=provenance_text(worst, pop),
            method=(f"{ctx.year}年有{mname}的{UNIT_NAME_ZH[mlevel]}{cond}占比"
                    + ("" if target.report_only else f"≥{p:.0%}")
                    + (f"，且本级有{facility_label(sel, level)}" if target.parent_must_have else "")),
        ))
    return RowBlock.concat(frames)


def _registry() -> dict:
    from coverage.rules_measures import capacity_change, capacity_ratio, facility_share, indicator

    return {
        "presence": presence,
        "unit_share": unit_share,
        "facility_share": facility_share,
        "capacity_ratio": capacity_ratio,
        "capacity_change": capacity_change,
        "indicator": indicator,
    }


#: kind → rule function (access/linkage are dispatched by coverage.evaluate)
RULES: dict = _registry()

__all__ = ["RULES", "RowBlock", "make_rows", "presence", "unit_share", "facility_label", "unit_applicability",
           "provenance_text", "ceil_need"]
