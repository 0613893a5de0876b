"""Roll-ups of result rows per county and city-wide, and the city-wide summary.

Counting level
    The finest plan level of a target other than the city (e.g. villages for
    ``child_home_every_village``, counties for ``demo_child_home_share_15``); the city
    when the plan states the target only city-wide. Roll-up counts (n_units, met, …)
    are over the rows of that level inside the county / city.

Plan-level result (``plan_status``) at a county or the city
    * ``presence`` and ``indicator`` targets ("every unit must …", "以乡为单位"): the
      combination of every plan-level row inside the unit, the unit's own row included:
      ``not_met`` if any is not met, else ``no_data`` if any has no data (the result
      cannot be confirmed), else ``met`` if any is met, else ``not_applicable``.
    * share, ratio, change, access and linkage targets: the unit's own row when the plan
      states a result at that level (15% 示范型 per county and city-wide); otherwise the
      combination above; empty when the plan states nothing at or below that level.
    * ``report_only`` targets: ``not_applicable`` (shown, never failed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.settings import CITY_CODE, CITY_NAME
from layers.vocab import UNIT_LEVELS

ROLLUP_COLUMNS: tuple[str, ...] = (
    "target_id", "year", "level", "unit_code", "unit_name", "count_level", "n_units", "met",
    "not_met", "no_data", "not_applicable", "plan_status", "required", "actual", "shortfall",
    "shortfall_unit",
)
_AGGREGATE_KINDS = {"presence", "indicator"}
_ADDITIVE_UNITS = {"facilities", "upgrades", "upgrades_links", "slots", "places", "people", "units"}


def count_level(target) -> str:
    """The unit level a target's roll-up counts (see module docstring)."""
    below = [lv for lv in target.plan_levels if lv != "city"]
    if not below:
        return "city"
    return max(below, key=UNIT_LEVELS.index)


def combine(statuses) -> str:
    """Plan-level result of a set of unit statuses (``""`` when empty)."""
    s = set(statuses)
    for st in ("not_met", "no_data", "met", "not_applicable"):
        if st in s:
            return st
    return ""


_PRIORITY = {"not_applicable": 1, "met": 2, "no_data": 3, "not_met": 4}
_BY_PRIORITY = np.array(["", "not_applicable", "met", "no_data", "not_met"], dtype=object)


_STATUS_INDEX = {"met": 0, "not_met": 1, "no_data": 2, "not_applicable": 3}


def rollup_table(units: pd.DataFrame, targets) -> pd.DataFrame:
    """Per target × year × (county, city) counts and plan-level result (:data:`ROLLUP_COLUMNS`).

    Vectorised with integer group codes (``numpy.bincount`` / ``maximum.at``): the cost
    grows with the number of rows, not with the number of targets or counties.
    """
    by_target = {t.id: t for t in targets}
    units = units[units["target_id"].isin(list(by_target))]
    if units.empty:
        return pd.DataFrame(columns=list(ROLLUP_COLUMNS))
    tcode, tuniq = pd.factorize(units["target_id"].to_numpy(dtype=object))
    ycode, yuniq = pd.factorize(units["year"].to_numpy(dtype=np.int64))
    cty = units["county_code"].fillna("").astype(str).to_numpy(dtype=object)
    county_list = sorted(set(cty) - {""})
    cpos = {c: i for i, c in enumerate(county_list)}
    ccode = np.array([cpos.get(c, -1) for c in cty], dtype=np.int64)
    nt, ny, nc = len(tuniq), len(yuniq), len(county_list)
    ncx = max(nc, 1)  # stride of the per-county arrays (≥ 1: a result without counties still indexes)
    g = tcode * ny + ycode                                   # (target, year) group of each row
    level = units["unit_level"].to_numpy(dtype=object)
    status = units["status"].to_numpy(dtype=object)
    scode = np.array([_STATUS_INDEX.get(x, 3) for x in status], dtype=np.int64)
    prio = np.array([_PRIORITY.get(x, 0) for x in status], dtype=np.int64)
    cl_t = np.array([count_level(by_target[t]) for t in tuniq], dtype=object)
    counted = level == cl_t[tcode]
    in_cty = ccode >= 0
    # counts of counted rows per (group, county) and per group (city)
    m = counted & in_cty
    cnt_cty = np.bincount((g[m] * ncx + ccode[m]) * 4 + scode[m], minlength=nt * ny * ncx * 4).reshape(-1, 4)
    cnt_city = np.bincount(g[counted] * 4 + scode[counted], minlength=nt * ny * 4).reshape(-1, 4)
    # plan-level combination and additive shortfall of not-met plan rows
    plan = units["is_plan_level"].to_numpy(dtype=bool)
    comb_cty = np.zeros(nt * ny * ncx, dtype=np.int64)
    pm = plan & in_cty
    np.maximum.at(comb_cty, g[pm] * ncx + ccode[pm], prio[pm])
    comb_city = np.zeros(nt * ny, dtype=np.int64)
    np.maximum.at(comb_city, g[plan], prio[plan])
    short = units["shortfall"].to_numpy(dtype=float)
    ucode, uuniq = pd.factorize(units["shortfall_unit"].to_numpy(dtype=object))
    bad = plan & (scode == 1)
    bc = bad & in_cty
    sum_cty = np.bincount(g[bc] * ncx + ccode[bc], weights=np.nan_to_num(short[bc]), minlength=nt * ny * ncx)
    sum_city = np.bincount(g[bad], weights=np.nan_to_num(short[bad]), minlength=nt * ny)
    umin_cty, umax_cty = _minmax(g[bc] * ncx + ccode[bc], ucode[bc], nt * ny * ncx)
    umin_city, umax_city = _minmax(g[bad], ucode[bad], nt * ny)
    # own rows: the county's / the city's own row of the target
    own_cty = np.full(nt * ny * ncx, -1, dtype=np.int64)
    oc = (level == "county") & in_cty
    own_cty[g[oc] * ncx + ccode[oc]] = np.flatnonzero(oc)
    own_city = np.full(nt * ny, -1, dtype=np.int64)
    ocity = level == "city"
    own_city[g[ocity]] = np.flatnonzero(ocity)
    # assemble: every (target, year) present × (each county unless counted city-wide, the city)
    present = np.unique(g)
    names = dict(zip(cty, units["county_name"].fillna("").astype(str).to_numpy(dtype=object)))
    gi, ci, lv = [], [], []
    for gg in present:
        if cl_t[gg // ny] != "city":
            gi.append(np.full(nc, gg))
            ci.append(np.arange(nc))
            lv.append(np.full(nc, "county", dtype=object))
        gi.append(np.array([gg]))
        ci.append(np.array([-1]))
        lv.append(np.array(["city"], dtype=object))
    gi, ci, lv = np.concatenate(gi), np.concatenate(ci), np.concatenate(lv)
    is_city = ci < 0
    slot = np.where(is_city, gi, gi * ncx + np.maximum(ci, 0))
    counts = np.where(is_city[:, None], cnt_city[gi], cnt_cty[np.where(is_city, 0, slot)])
    comb = np.where(is_city, comb_city[gi], comb_cty[np.where(is_city, 0, slot)])
    ssum = np.where(is_city, sum_city[gi], sum_cty[np.where(is_city, 0, slot)])
    umin = np.where(is_city, umin_city[gi], umin_cty[np.where(is_city, 0, slot)])
    umax = np.where(is_city, umax_city[gi], umax_cty[np.where(is_city, 0, slot)])
    own = np.where(is_city, own_city[gi], own_cty[np.where(is_city, 0, slot)])
    tids = tuniq[gi // ny]
    tobj = [by_target[t] for t in tids]
    kind_aggr = np.array([t.kind in _AGGREGATE_KINDS for t in tobj], dtype=bool)
    report = np.array([t.report_only for t in tobj], dtype=bool)
    plan_here = np.array([lvl in t.plan_levels for t, lvl in zip(tobj, lv)], dtype=bool)
    has_own = own >= 0
    own_i = np.where(has_own, own, 0)
    own_status = status[own_i]
    combined = _BY_PRIORITY[comb]
    use_own = ~kind_aggr & plan_here & has_own
    plan_status = np.where(report, "not_applicable", np.where(use_own, own_status, combined)).astype(object)
    cl_rows = cl_t[gi // ny]
    own_values = has_own & (~kind_aggr | (cl_rows == lv))
    single = (umin == umax) & (umin >= 0)
    sunit_sum = np.where(single, uuniq[np.maximum(umin, 0)] if len(uuniq) else "", "").astype(object)
    additive = np.isin(sunit_sum, list(_ADDITIVE_UNITS))
    req = units["required"].to_numpy(dtype=float)
    act = units["actual"].to_numpy(dtype=float)
    sunit_own = units["shortfall_unit"].to_numpy(dtype=object)
    county_codes = np.array(county_list + [""], dtype=object)
    unit_code = np.where(is_city, CITY_CODE, county_codes[ci])
    out = pd.DataFrame({
        "target_id": tids,
        "year": yuniq[gi % ny].astype(int),
        "level": lv,
        "unit_code": unit_code,
        "unit_name": np.array([CITY_NAME if c == CITY_CODE else names.get(c, "") for c in unit_code], dtype=object),
        "count_level": cl_rows,
        "n_units": counts.sum(axis=1),
        "met": counts[:, 0], "not_met": counts[:, 1], "no_data": counts[:, 2], "not_applicable": counts[:, 3],
        "plan_status": plan_status,
        "required": np.where(own_values, req[own_i], np.nan),
        "actual": np.where(own_values, act[own_i], np.nan),
        "shortfall": np.where(own_values, short[own_i], np.where(additive, ssum, np.nan)),
        "shortfall_unit": np.where(own_values, sunit_own[own_i], sunit_sum).astype(object),
    })
    return out.loc[:, list(ROLLUP_COLUMNS)]


def _minmax(keys: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-key minimum and maximum of integer values (−1 / −1 where a key has none)."""
    lo = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(size, -1, dtype=np.int64)
    np.minimum.at(lo, keys, values)
    np.maximum.at(hi, keys, values)
    lo[hi < 0] = -1
    return lo, hi


SUMMARY_COLUMNS: tuple[str, ...] = (
    "target_id", "label_zh", "label_en", "kind", "plan", "year", "count_level", "n_units", "met",
    "not_met", "no_data", "not_applicable", "plan_status", "required", "actual", "shortfall",
    "shortfall_unit", "report_only", "clause", "source_lines", "note",
)


def summary_table(rollup: pd.DataFrame, targets, errors: dict) -> pd.DataFrame:
    """City-wide row per target and year (:data:`SUMMARY_COLUMNS`); ``note`` holds errors."""
    city = rollup[rollup["level"] == "city"]
    by_target = {t.id: t for t in targets}
    rows = []
    for r in city.itertuples(index=False):
        t = by_target[r.target_id]
        rows.append({
            "target_id": t.id, "label_zh": t.label_zh, "label_en": t.label_en, "kind": t.kind,
            "plan": t.plan, "year": r.year, "count_level": r.count_level, "n_units": r.n_units,
            "met": r.met, "not_met": r.not_met, "no_data": r.no_data, "not_applicable": r.not_applicable,
            "plan_status": r.plan_status, "required": r.required, "actual": r.actual,
            "shortfall": r.shortfall, "shortfall_unit": r.shortfall_unit, "report_only": t.report_only,
            "clause": t.source.clause, "source_lines": t.source_lines,
            "note": errors.get((t.id, r.year), ""),
        })
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
