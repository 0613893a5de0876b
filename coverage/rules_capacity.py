"""Rule kinds ``capacity_ratio`` (Σ capacity per 1,000 people) and ``capacity_change``.

``capacity_ratio``: Σ ``capacity`` of the selected facilities in a unit ÷ the unit's
population × ``per`` ≥ r (托位 per 1,000 residents). Population is the unit's
``population`` column (``pop_total`` by default; township figures are estimated).

``capacity_change``: Σ capacity in the evaluated year − Σ capacity in ``baseline_year``
≥ threshold (幼儿园学位 added since 2020). Needs both inventory years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coverage._errors import EvaluationError
from coverage.rules import UNIT_NAME_ZH, RowBlock, ceil_need, facility_label, fill_action, make_rows, provenance_text
from coverage.targets import PlanTarget

_CAPACITY_NAME = {"childcare": "托位", "kindergarten": "学位"}


def capacity_ratio(target: PlanTarget, ctx) -> RowBlock:
    """Σ capacity per ``per`` people ≥ r, per unit.

    ``required`` = r, ``actual`` = ratio, ``shortfall`` = ceil(r·pop/per − Σcapacity)
    places to add. Population missing → ``no_data``; population 0 → ``not_applicable``
    (no division). Facilities with no capacity recorded count as 0 and are named in
    ``method``.
    """
    sel, r, per = target.facility, float(target.threshold), float(target.per)
    cname = _CAPACITY_NAME.get(sel.type, "容量")
    frames = []
    for level in target.unit_levels:
        units = ctx.units[level]
        if target.population not in units.columns:
            raise EvaluationError(f"{target.id}: {level} units have no {target.population!r} column")
        pop = pd.to_numeric(units[target.population], errors="coerce").to_numpy(dtype=float)
        cap = ctx.index.total(sel, "capacity", level)
        miss = ctx.index.missing_count(sel, "capacity", level)
        ok_pop = np.isfinite(pop) & (pop > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(ok_pop, cap / np.where(ok_pop, pop, 1.0) * per, np.nan)
            need = np.where(ok_pop, np.maximum(ceil_need(r * pop / per - cap), 0.0), 0.0)
        status = np.where(need == 0, "met", "not_met").astype(object)
        status[~np.isfinite(pop)] = "no_data"
        status[np.isfinite(pop) & (pop <= 0)] = "not_applicable"
        action = np.full(len(units), "", dtype=object)
        bad = status == "not_met"
        action[bad] = fill_action(target.action_zh or ("新增{n}个" + cname), need[bad])
        method = np.full(len(units), (
            f"{ctx.year}年{facility_label(sel)}{cname}合计÷{UNIT_NAME_ZH[level]}{target.population}×{per:g}≥{r:g}"
        ), dtype=object)
        for i in np.flatnonzero(miss > 0):
            method[i] += f"（{int(miss[i])}家未填{cname}，按0计）"
        frames.append(make_rows(
            target, ctx, level, units, status=status, required=r, actual=ratio, shortfall=need,
            shortfall_unit=target.shortfall_unit or "slots", action=action,
            provenance=provenance_text(ctx.index.provenance_rank(sel, level),
                                       ctx.units.population_provenance[level]),
            method=method,
        ))
    return RowBlock.concat(frames)


def capacity_change(target: PlanTarget, ctx) -> RowBlock:
    """Capacity added since ``baseline_year`` ≥ threshold at the plan levels.

    ``required`` = threshold, ``actual`` = places added (may be negative),
    ``shortfall`` = places still to add. Rows at levels the plan states nothing for
    (e.g. counties, for a city-wide total) are breakdowns: ``not_applicable``, with the
    places added as ``actual``.

    Raises
    ------
    EvaluationError
        The baseline year is not an inventory year, or the evaluated year precedes it.
    """
    sel, base, thr = target.facility, int(target.baseline_year), float(target.threshold)
    if base not in ctx.dataset.years:
        raise EvaluationError(f"{target.id}: baseline year {base} is not an inventory year {ctx.dataset.years}")
    if ctx.year < base:
        raise EvaluationError(f"{target.id}: year {ctx.year} precedes the baseline year {base}")
    cname = _CAPACITY_NAME.get(sel.type, "容量")
    bidx = ctx.index_for(base)
    frames = []
    for level in target.unit_levels:
        units = ctx.units[level]
        now = ctx.index.total(sel, "capacity", level)
        then = bidx.total(sel, "capacity", level)
        added = now - then
        plan = level in target.plan_levels
        if plan:
            need = np.maximum(ceil_need(thr - added), 0.0)
            status = np.where(need == 0, "met", "not_met").astype(object)
            action = np.where(need > 0, [f"再新增{int(x)}个{cname}" for x in need], "").astype(object)
        else:
            need = np.zeros(len(units))
            status = np.full(len(units), "not_applicable", dtype=object)
            action = np.full(len(units), "", dtype=object)
        prov = np.maximum(ctx.index.provenance_rank(sel, level), bidx.provenance_rank(sel, level))
        frames.append(make_rows(
            target, ctx, level, units, status=status, required=thr if plan else np.nan, actual=added,
            shortfall=need, shortfall_unit=target.shortfall_unit or "places", action=action,
            provenance=provenance_text(prov),
            method=(f"{ctx.year}年{facility_label(sel)}{cname}合计−{base}年合计"
                    + (f"≥{thr:g}" if plan else "（明细，规划仅提出全市目标）")),
        ))
    return RowBlock.concat(frames)

