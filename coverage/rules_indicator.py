"""Rule kind ``indicator``: a per-unit value from ``ds.indicators`` against a threshold or band.

The value is the row of ``ds.indicators`` for (evaluated year, the indicator's unit
level, unit code, indicator id). No row → ``no_data`` (values are never carried over
from another year). Shares are fractions 0–1; the shortfall is in percentage points
(``pp``). Count indicators (:data:`coverage.targets.COUNT_INDICATORS`, e.g. 儿童社会工作者)
are compared as numbers, with the shortfall in people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coverage.rules import UNIT_NAME_ZH, RowBlock, make_rows, provenance_text, unit_applicability
from coverage.targets import COUNT_INDICATORS, PlanTarget
from layers import vocab


def indicator_values(ds, year: int, indicator: str, level: str) -> pd.DataFrame:
    """Rows of one indicator for one year and level, indexed by unit code (last one wins).

    Columns ``value`` (float) and ``provenance``; the grouping of ``ds.indicators`` is
    cached with the dataset's unit tables.
    """
    from coverage.rules_index import unit_tables

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
    value = np.where(found, table["value"].to_numpy(dtype=float)[pos], np.nan)
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
    from coverage.rules_index import PROVENANCE_RANK

    layer = PROVENANCE_RANK.get(ctx.dataset.layer_provenance.get("indicators", ""), 3)
    prov = np.where(found, table["prov_rank"].to_numpy(dtype=np.int64)[pos], -1)
    prov[prov < 0] = layer
    cond = f"（仅{target.condition.text}）" if target.condition else ""
    return make_rows(
        target, ctx, level, units, status=status, required=required, actual=value, shortfall=shortfall,
        shortfall_unit=target.shortfall_unit or unit, action=action,
        provenance=provenance_text(indicators=prov),
        method=f"{ctx.year}年{UNIT_NAME_ZH[level]}指标 {target.indicator} {rule}{cond}",
    )
