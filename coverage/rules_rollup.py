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


def rollup_table(units: pd.DataFrame, targets) -> pd.DataFrame:
    """Per target × year × (county, city) counts and plan-level result (:data:`ROLLUP_COLUMNS`)."""
    out: list[dict] = []
    if units.empty:
        return pd.DataFrame(columns=list(ROLLUP_COLUMNS))
    by_target = {t.id: t for t in targets}
    for (tid, year), rows in units.groupby(["target_id", "year"], sort=False):
        t = by_target.get(tid)
        if t is None:
            continue
        cl = count_level(t)
        counted = rows[rows["unit_level"] == cl]
        plan_rows = rows[rows["is_plan_level"].to_numpy(dtype=bool)]
        counties = rows.loc[rows["unit_level"] == "county", ["unit_code", "unit_name"]]
        if counties.empty:
            counties = rows.loc[rows["county_code"] != "", ["county_code", "county_name"]].drop_duplicates()
            counties.columns = ["unit_code", "unit_name"]
        groups: list[tuple[str, str, str, np.ndarray, np.ndarray]] = []
        if cl != "city":
            cc = counted["county_code"].to_numpy()
            pc = plan_rows["county_code"].to_numpy()
            for code, name in counties.drop_duplicates("unit_code").itertuples(index=False):
                groups.append(("county", code, name, cc == code, pc == code))
        groups.append(("city", CITY_CODE, CITY_NAME, np.ones(len(counted), bool), np.ones(len(plan_rows), bool)))
        for level, code, name, cmask, pmask in groups:
            sub = counted[cmask]
            vc = sub["status"].value_counts()
            own = rows[(rows["unit_level"] == level) & (rows["unit_code"] == code)]
            psub = plan_rows[pmask]
            if t.report_only:
                plan_status = "not_applicable"
            elif t.kind not in _AGGREGATE_KINDS and level in t.plan_levels and len(own):
                plan_status = str(own["status"].iloc[0])
            else:
                plan_status = combine(psub["status"])
            if len(own) and (t.kind not in _AGGREGATE_KINDS or cl == level):
                req, act = own["required"].iloc[0], own["actual"].iloc[0]
                short, sunit = own["shortfall"].iloc[0], own["shortfall_unit"].iloc[0]
            else:
                req = act = np.nan
                bad = psub[psub["status"] == "not_met"]
                units_used = set(bad["shortfall_unit"])
                sunit = next(iter(units_used)) if len(units_used) == 1 else ""
                short = float(bad["shortfall"].sum()) if sunit in _ADDITIVE_UNITS else np.nan
            out.append({
                "target_id": tid, "year": int(year), "level": level, "unit_code": code, "unit_name": name,
                "count_level": cl, "n_units": int(len(sub)), "met": int(vc.get("met", 0)),
                "not_met": int(vc.get("not_met", 0)), "no_data": int(vc.get("no_data", 0)),
                "not_applicable": int(vc.get("not_applicable", 0)), "plan_status": plan_status,
                "required": req, "actual": act, "shortfall": short, "shortfall_unit": sunit,
            })
    return pd.DataFrame(out, columns=list(ROLLUP_COLUMNS))


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
