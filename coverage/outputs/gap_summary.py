"""Summary of a gap list: per target, units met / not met / no data and the plan-level result.

The counts and the plan-level result come from the evaluator's roll-up (``result.rollup``)
for the city or one county; used by the CLI's ``evaluate``, the workbook's 汇总 sheet and
the HTML report.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from coverage.outputs.gaps import (
    ADDITIVE_UNITS,
    _as_str,
    _col,
    _merge_provenance,
    _num,
    _single_year,
    _year_units,
    resolve_targets,
    result_units,
    target_labels,
)
from layers.settings import CITY_CODE

__all__ = ["SUMMARY_COLUMNS", "summary_table"]

# --------------------------------------------------------------------------- summary
_ROLLUP_COLS = frozenset({"target_id", "level", "unit_code", "met", "not_met", "no_data",
                          "not_applicable", "plan_status"})
_SUMMARY_INPUT = ("target_id", "unit_level", "unit_code", "county_code", "year", "status",
                  "shortfall", "shortfall_unit", "is_plan_level", "provenance")
SUMMARY_COLUMNS: tuple[str, ...] = (
    "target_id", "target_label", "unit_level", "n_units", "met", "not_met", "no_data",
    "not_applicable", "shortfall", "shortfall_unit", "shortfall_is_max", "plan_status", "provenance",
)


def _rollup_rows(result: Any, year: int | None, scope_level: str, scope_code: str) -> dict:
    """Target id → the roll-up row (``result.rollup``) of the city or one county."""
    rollup = getattr(result, "rollup", None)
    if not isinstance(rollup, pd.DataFrame) or not _ROLLUP_COLS <= set(rollup.columns):
        return {}
    mask = (rollup["level"].astype(str) == scope_level) & (rollup["unit_code"].astype(str) == scope_code)
    if year is not None and "year" in rollup.columns:
        mask &= pd.to_numeric(rollup["year"], errors="coerce") == year
    return {str(r["target_id"]): r for _, r in rollup[mask].iterrows()}


def summary_table(
    result: Any,
    targets: Iterable[Any] | None = None,
    target: str | Iterable[str] | None = None,
    county: tuple[str, str] | None = None,
    *,
    year: int | None = None,
) -> pd.DataFrame:
    """Per-target summary, city-wide or for one county (``county = (code, name)``).

    When ``result.rollup`` is the evaluator's roll-up (columns ``level``, ``unit_code``,
    ``met`` … ``plan_status``), counts and the plan-level result are its city (or county)
    row: units of the target's finest plan level are counted (villages for 儿童之家应建尽建,
    counties for the 15% share). Otherwise they are counted here from the plan-level rows
    (``is_plan_level``) of every level, so per-township breakdowns shown only for siting
    do not inflate them.

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS`: ``n_units`` = met + not met (units evaluated); ``no_data``
        and ``not_applicable`` counted apart; ``shortfall`` is the roll-up's (the city's or
        county's own shortfall where the plan states a result there, else the sum over its
        unmet plan-level units); without one, the sum over unmet units for additive units
        and the largest gap for percentage points (``shortfall_is_max``); ``plan_status`` empty where
        the plan states no result at that scope; ``provenance`` merged over the rows used.
        For one county, targets with no row in that county, or that the plan states only
        city-wide (roll-up ``count_level`` city), are left out.
    """
    units = result_units(result)
    units = _year_units(units[[c for c in _SUMMARY_INPUT if c in units.columns]], year)
    selected = resolve_targets(result, target)
    labels = target_labels(result, targets)
    yr = _single_year(units)
    roll = _rollup_rows(result, yr, "city", CITY_CODE) if county is None else \
        _rollup_rows(result, yr, "county", county[0])
    rows_out = []
    units = units[units["target_id"].isin(selected)]
    if county is not None:
        cc = _col(units, "county_code").map(_as_str)
        units = units[(cc == county[0]) | (units["unit_code"].astype(str) == county[0])]
    by_target = dict(tuple(units.groupby("target_id", sort=False)))
    for tid in selected:
        sub = by_target.get(tid, units.iloc[0:0])
        if "is_plan_level" in sub.columns and sub["is_plan_level"].fillna(False).astype(bool).any():
            sub = sub[sub["is_plan_level"].fillna(False).astype(bool)]
        unit = _as_str(_col(sub, "shortfall_unit").iloc[0]) if len(sub) else ""
        r = roll.get(tid)
        if county is not None and (sub.empty or (r is not None and _as_str(r.get("count_level")) == "city")):
            continue  # a target the plan states only city-wide is not a county's to report
        if r is not None:
            level = _as_str(r.get("count_level")) or "/".join(dict.fromkeys(sub["unit_level"].astype(str)))
            counted = sub[sub["unit_level"].astype(str) == level] if level else sub
            counts = {k: int(r[k]) for k in ("met", "not_met", "no_data", "not_applicable")}
            status = _as_str(r["plan_status"])
            unit = _as_str(r.get("shortfall_unit")) or unit
        else:
            level = "/".join(dict.fromkeys(sub["unit_level"].astype(str)))
            counted = sub
            st = sub["status"].value_counts()
            counts = {k: int(st.get(k, 0)) for k in ("met", "not_met", "no_data", "not_applicable")}
            status = ""
        rolled = _num(r.get("shortfall")) if r is not None else float("nan")
        short = pd.to_numeric(_col(counted[counted["status"] == "not_met"], "shortfall"), errors="coerce")
        is_max = False
        if not np.isnan(rolled):
            total = rolled
        elif unit in ADDITIVE_UNITS:
            total = short.sum()
        else:
            total, is_max = (short.max() if len(short) else 0.0), bool(len(short))
        rows_out.append({
            "target_id": tid,
            "target_label": labels.get(tid, tid),
            "unit_level": level,
            "n_units": counts["met"] + counts["not_met"],
            **counts,
            "shortfall": float(total) if pd.notna(total) else 0.0,
            "shortfall_unit": unit,
            "shortfall_is_max": is_max,
            "plan_status": status,
            "provenance": _merge_provenance(pd.unique(_col(sub, "provenance"))),
        })
    return pd.DataFrame(rows_out, columns=list(SUMMARY_COLUMNS))
