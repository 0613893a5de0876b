"""Rule kind ``facility_share``: share of a unit's facilities that have an attribute.

Examples: 示范型 / all 儿童之家 ≥ 15% per county and city-wide; community libraries with
a parent-child reading area ≥ 90%; qualifying public places (``building_area_m2 > 10000
or daily_visitors > 10000``) that a 母婴室 serves (``has_mother_baby_room``, derived from
the rooms' ``serves_place_id``) = 100%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coverage.rules import UNIT_NAME_ZH, RowBlock, ceil_need, facility_label, fill_action, make_rows, provenance_text
from coverage.targets import PlanTarget


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
