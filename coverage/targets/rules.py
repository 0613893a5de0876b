"""Rule kinds ``presence`` and ``unit_share``.

Every rule is a function ``rule(target, ctx) -> RowBlock`` returning rows in the schema
:data:`coverage.targets.rows.RESULT_COLUMNS`, computed with vectorised counts from the
cached :class:`~coverage.targets.index.YearIndex`. Other kinds live in
:mod:`coverage.targets.measures` (facility_share, capacity_ratio, capacity_change,
indicator); :mod:`coverage.targets.registry` maps each kind to its function.

Facilities are assigned to units by their code attributes (``village_code``,
``township_code``, ``county_code``), never by geometry. For a city unit every facility
of the city counts; ``facility.level = "same"`` restricts a county unit to county-run
facilities, the city to city-run ones, and so on.
"""

from __future__ import annotations

import numpy as np

from coverage.targets.rows import (
    UNIT_NAME_ZH,
    RowBlock,
    ceil_need,
    facility_label,
    fill_action,
    make_rows,
    provenance_text,
    unit_applicability,
    uses_population,
)
from coverage.targets.spec import FacilitySelector, PlanTarget


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
