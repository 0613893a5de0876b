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
_ADDITIVE_UNITS = {"facilities", "upgrades", "slots", "places", "people", "units"}


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


def rollup_table(units: pd.DataFrame, targets) -> pd.DataFrame:
    """Per target × year × (county, city) counts and plan-level result (:data:`ROLLUP_COLUMNS`).

    Vectorised: one ``groupby`` for the counts, one for the plan-level combination and
    a lookup of the own rows, whatever the number of targets.
    """
    by_target = {t.id: t for t in targets}
    units = units[units["target_id"].isin(list(by_target))]
    if units.empty:
        return pd.DataFrame(columns=list(ROLLUP_COLUMNS))
    tid = units["target_id"].to_numpy(dtype=object)
    level = units["unit_level"].to_numpy(dtype=object)
    cl_of = {t.id: count_level(t) for t in targets}
    cl = np.array([cl_of[x] for x in tid], dtype=object) if len(tid) < 1000 else pd.Series(tid).map(cl_of).to_numpy()
    counted = units[level == cl]
    # --- the skeleton: every (target, year) × (each county, the city)
    counties = (units.loc[units["county_code"] != "", ["county_code", "county_name"]]
                .drop_duplicates("county_code").sort_values("county_code"))
    pairs = units[["target_id", "year"]].drop_duplicates()
    pairs = pairs.assign(count_level=pairs["target_id"].map(cl_of))
    cty = pairs[pairs["count_level"] != "city"].merge(counties, how="cross")
    cty = cty.rename(columns={"county_code": "unit_code", "county_name": "unit_name"}).assign(level="county")
    city = pairs.assign(level="city", unit_code=CITY_CODE, unit_name=CITY_NAME)
    out = pd.concat([cty, city], ignore_index=True)
    # --- counts of the counted rows
    status_cols = ["met", "not_met", "no_data", "not_applicable"]
    c_cty = counted.groupby(["target_id", "year", "county_code", "status"]).size().unstack("status")
    c_cty = c_cty.reindex(columns=status_cols).fillna(0)
    c_cty.index = c_cty.index.set_names(["target_id", "year", "unit_code"])
    c_city = counted.groupby(["target_id", "year", "status"]).size().unstack("status")
    c_city = c_city.reindex(columns=status_cols).fillna(0)
    counts = pd.concat([c_cty.assign(level="county").reset_index(),
                        c_city.assign(level="city", unit_code=CITY_CODE).reset_index()], ignore_index=True)
    out = out.merge(counts, on=["target_id", "year", "level", "unit_code"], how="left")
    out[status_cols] = out[status_cols].fillna(0).astype(int)
    out["n_units"] = out[status_cols].sum(axis=1)
    # --- combination of plan-level rows inside each unit
    plan = units[units["is_plan_level"].to_numpy(dtype=bool)]
    pr = plan.assign(_p=plan["status"].map(_PRIORITY).fillna(0).astype(int))
    comb_cty = pr[pr["county_code"] != ""].groupby(["target_id", "year", "county_code"])["_p"].max()
    comb_cty.index = comb_cty.index.set_names(["target_id", "year", "unit_code"])
    comb_city = pr.groupby(["target_id", "year"])["_p"].max()
    bad = pr[pr["status"] == "not_met"]
    sum_cty = bad.groupby(["target_id", "year", "county_code"]).agg(
        _sum=("shortfall", "sum"), _units=("shortfall_unit", _single))
    sum_cty.index = sum_cty.index.set_names(["target_id", "year", "unit_code"])
    sum_city = bad.groupby(["target_id", "year"]).agg(_sum=("shortfall", "sum"), _units=("shortfall_unit", _single))
    comb = pd.concat([
        comb_cty.rename("_comb").to_frame().join(sum_cty).assign(level="county").reset_index(),
        comb_city.rename("_comb").to_frame().join(sum_city).assign(level="city", unit_code=CITY_CODE).reset_index(),
    ], ignore_index=True)
    out = out.merge(comb, on=["target_id", "year", "level", "unit_code"], how="left")
    # --- own rows (the county / city row of the target itself)
    own = units[np.isin(level, ["county", "city"])][
        ["target_id", "year", "unit_level", "unit_code", "status", "required", "actual", "shortfall", "shortfall_unit"]
    ].rename(columns={"unit_level": "level", "status": "_own_status"})
    own = own.drop_duplicates(["target_id", "year", "level", "unit_code"])
    out = out.merge(own, on=["target_id", "year", "level", "unit_code"], how="left")
    # --- decide
    kind = out["target_id"].map({t.id: t.kind for t in targets}).to_numpy(dtype=object)
    report = out["target_id"].map({t.id: t.report_only for t in targets}).to_numpy(dtype=bool)
    plan_here = np.array([lv in by_target[t].plan_levels for t, lv in zip(out["target_id"], out["level"])], dtype=bool)
    has_own = out["_own_status"].notna().to_numpy()
    aggregate = np.isin(kind, list(_AGGREGATE_KINDS))
    combined = _BY_PRIORITY[out["_comb"].fillna(0).astype(int).to_numpy()]
    use_own = ~aggregate & plan_here & has_own
    out["plan_status"] = np.where(report, "not_applicable", np.where(use_own, out["_own_status"].astype(object), combined))
    own_values = has_own & (~aggregate | (out["count_level"] == out["level"]).to_numpy())
    additive = out["_units"].isin(list(_ADDITIVE_UNITS)).to_numpy()
    for col in ("required", "actual"):
        out[col] = np.where(own_values, out[col], np.nan)
    out["shortfall"] = np.where(own_values, out["shortfall"],
                                np.where(additive, out["_sum"].fillna(0.0), np.nan))
    out["shortfall_unit"] = np.where(own_values, out["shortfall_unit"], out["_units"].fillna("")).astype(object)
    out["shortfall_unit"] = out["shortfall_unit"].fillna("")
    out["year"] = out["year"].astype(int)
    return out.loc[:, list(ROLLUP_COLUMNS)].reset_index(drop=True)


def _single(values: pd.Series) -> str:
    uniq = pd.unique(values)
    return str(uniq[0]) if len(uniq) == 1 else ""


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
