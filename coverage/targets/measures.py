"""Rule kinds measured per unit: ``facility_share``, ``capacity_ratio``, ``capacity_change``
and ``indicator``.

``facility_share``
    Share of a unit's facilities that have an attribute. Examples: 示范型 / all 儿童之家
    ≥ 15% per county and city-wide; community libraries with a parent-child reading area
    ≥ 90%; qualifying public places (``building_area_m2 > 10000 or daily_visitors >
    10000``) that a 母婴室 serves (``has_mother_baby_room``, derived from the rooms'
    ``serves_place_id``) = 100%.
``capacity_ratio``
    Σ ``capacity`` of the selected facilities in a unit ÷ the unit's population × ``per``
    ≥ r (托位 per 1,000 residents). Population is the unit's ``population`` column
    (``pop_total`` by default; township figures are estimated).
``capacity_change``
    Σ capacity in the evaluated year − Σ capacity in ``baseline_year`` ≥ threshold
    (幼儿园学位 added since 2020). Needs both inventory years.
``indicator``
    A per-unit value from ``ds.indicators`` (evaluated year, the indicator's unit level,
    unit code, indicator id) against a threshold or a band. No row → ``no_data`` (values
    are never carried over from another year). Shares are fractions 0–1 and their
    shortfall is in percentage points (``pp``); count indicators
    (:data:`coverage.targets.COUNT_INDICATORS`, e.g. 儿童社会工作者) are compared as numbers,
    with the shortfall in people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coverage._errors import EvaluationError
from coverage.targets.rows import (
    UNIT_NAME_ZH,
    RowBlock,
    ceil_need,
    facility_label,
    fill_action,
    make_rows,
    provenance_text,
    unit_applicability,
)
from coverage.targets.spec import COUNT_INDICATORS, PlanTarget
from layers import vocab


# ----------------------------------------------------------------------------- facility_share
def facility_share(target: PlanTarget, ctx) -> RowBlock:
    """Share K/N of a unit's facilities meeting ``numerator`` among those selected.

    ``required`` = p, ``actual`` = K/N, ``shortfall`` = ceil(p·N) − K facilities to
    upgrade (or places to equip). Units with N = 0 are ``not_applicable``. For 儿童之家 the
    action also gives the alternative: new 示范型 homes m = ceil((p·N − K)/(1 − p)), since
    each new home also enlarges N.
    """
    sel, p = target.facility, float(target.threshold)
    frames = []
    for level in target.unit_levels:
        units = ctx.units[level]
        n = ctx.index.count(sel, level, target.facility_condition)
        k = ctx.index.count(sel, level, target.facility_condition, target.numerator)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        need = np.maximum(ceil_need(p * n) - k, 0.0)
        status = np.where(need == 0, "met", "not_met").astype(object)
        status[n == 0] = "not_applicable"
        need[n == 0] = 0.0
        bad = status == "not_met"
        action = np.full(len(units), "", dtype=object)
        if p < 1:
            alt = np.maximum(ceil_need((p * n - k) / (1 - p)), 0.0)
        else:
            alt = need.copy()
        template = target.action_zh or _default_action(target)
        action[bad] = fill_action(template, need[bad], m=alt[bad])
        name = facility_label(sel)
        cond = f"（{target.facility_condition.text}）" if target.facility_condition else ""
        frames.append(make_rows(
            target, ctx, level, units, status=status, required=p, actual=share, shortfall=need,
            shortfall_unit=target.shortfall_unit or "upgrades", action=action,
            provenance=provenance_text(ctx.index.provenance_rank(sel, level)),
            method=(f"{ctx.year}年本{UNIT_NAME_ZH[level]}{name}{cond}中满足“{target.numerator.text}”"
                    f"的占比≥{p:.0%}；缺口=ceil({p:g}×总数)−已满足数"),
        ))
    return RowBlock.concat(frames)


def _default_action(target: PlanTarget) -> str:
    if target.facility.type == "child_home":
        return "将{n}个基础型儿童之家升级为示范型（或新建{m}个示范型儿童之家）"
    return "使{n}个" + facility_label(target.facility) + "达到要求"


# ----------------------------------------------------------------------------- capacity
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


# ----------------------------------------------------------------------------- indicator
def indicator_values(ds, year: int, indicator: str, level: str) -> pd.DataFrame:
    """Rows of one indicator for one year and level, indexed by unit code (last one wins).

    Columns ``value`` (float) and ``provenance``; the grouping of ``ds.indicators`` is
    cached with the dataset's unit tables.
    """
    from coverage.targets.index import unit_tables

    return unit_tables(ds).indicator_table(year, indicator, level)


def indicator(target: PlanTarget, ctx) -> RowBlock:
    """Indicator value ≥ threshold (or within ``band``) for each unit of its level.

    ``required`` = threshold (the band's low end for band targets), ``actual`` = value,
    ``shortfall`` = percentage points to gain (or to move back into the band) for
    shares, people for counts.
    """
    level = vocab.INDICATORS[target.indicator]
    units = ctx.units[level]
    table = ctx.units.indicator_table(ctx.year, target.indicator, level)
    pos = table.index.get_indexer(units.index)
    found = pos >= 0
    safe = np.where(found, pos, 0)  # an empty table (no rows that year) has no row 0 either
    value = np.full(len(units), np.nan)
    if len(table):
        value[found] = table["value"].to_numpy(dtype=float)[safe[found]]
    is_count = target.indicator in COUNT_INDICATORS
    applicable, nodata = unit_applicability(target.condition, ctx, level)
    if target.band is not None:
        lo, hi = target.band
        gap = np.where(value < lo, lo - value, np.where(value > hi, value - hi, 0.0))
        required = lo
        rule = f"{lo:.0%}≤值≤{hi:.0%}"
    else:
        thr = float(target.threshold)
        gap = np.maximum(thr - value, 0.0)
        required = thr
        rule = f"≥{thr:g}" if is_count else f"≥{thr:.0%}"
    ok = np.isfinite(value)
    status = np.where(gap <= 1e-12, "met", "not_met").astype(object)
    status[~ok] = "no_data"
    status[~applicable & ~nodata] = "not_applicable"
    status[nodata] = "no_data"
    if is_count:
        shortfall = np.where(status == "not_met", np.ceil(np.round(gap, 9)), 0.0)
        unit = "people"
    else:
        shortfall = np.where(status == "not_met", np.round(gap * 100.0, 2), 0.0)
        unit = "pp"
    action = np.full(len(units), "", dtype=object)
    for i in np.flatnonzero(status == "not_met"):
        if is_count:
            action[i] = f"需增加{int(shortfall[i])}人"
        elif target.band is not None and value[i] > target.band[1]:
            action[i] = f"比例应回落{shortfall[i]:.1f}个百分点，至{target.band[0]:.0%}–{target.band[1]:.0%}区间"
        else:
            action[i] = f"需提高{shortfall[i]:.1f}个百分点"
    if target.action_zh:
        bad = status == "not_met"
        action[bad] = [target.action_zh.format(n=int(np.ceil(s))) for s in shortfall[bad]]
    from coverage.targets.index import PROVENANCE_RANK

    layer = PROVENANCE_RANK.get(ctx.dataset.layer_provenance.get("indicators", ""), 3)
    prov = np.full(len(units), -1, dtype=np.int64)
    if len(table):
        prov[found] = table["prov_rank"].to_numpy(dtype=np.int64)[safe[found]]
    prov[prov < 0] = layer
    cond = f"（仅{target.condition.text}）" if target.condition else ""
    return make_rows(
        target, ctx, level, units, status=status, required=required, actual=value, shortfall=shortfall,
        shortfall_unit=target.shortfall_unit or unit, action=action,
        provenance=provenance_text(indicators=prov),
        method=f"{ctx.year}年{UNIT_NAME_ZH[level]}指标 {target.indicator} {rule}{cond}",
    )
