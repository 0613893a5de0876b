"""Monitoring over time: each target per unit over every inventory year, and early warning.

The plans require annual monitoring and early warning for targets "预计达标困难"
(expected to miss; W L480, C L977). :func:`trend` evaluates every inventory year
(2020 baseline, 2022, 2024 in the embedded data), fits a least-squares line to each
unit's ``actual`` value over the years, projects it to the horizon (2025) and flags the
units whose projection misses the requirement.

Rules
-----
* A line needs at least two years with a value; otherwise ``slope_per_year`` and
  ``projected`` are NaN and the unit is not flagged (``risk_label`` = 数据不足; empty
  for units the target does not apply to).
* ``at_risk`` when the latest status is ``met`` or ``not_met`` (not for ``no_data`` or
  ``not_applicable`` units, never for ``report_only`` targets) and the projection is
  below ``required`` (or outside the band; above ``max_count``).
* Roll-ups: per target × county/city, the share of counted units met each year
  (met ÷ (met + not met)), its line and projection. A county or the city is at risk when
  its own plan-level row is at risk (share, ratio and change targets), or — for
  "every unit" targets (presence, indicator) — when the projected share met is below 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coverage.targets.engine import EvaluationResult, evaluate
from coverage.targets.rollup import count_level
from coverage.targets.spec import PlanTarget, load_targets
from layers.dataset import Dataset
from layers.glossary import label

_KEY = ["target_id", "unit_level", "unit_code"]
_INFO = ["kind", "unit_name", "county_code", "county_name", "township_code", "is_plan_level", "clause"]
_EPS = 1e-9


def linear_projection(years: Sequence[int], values: np.ndarray, horizon: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope and value at ``horizon`` for each row of ``values``.

    Parameters
    ----------
    years : sequence of int
        The x values (inventory years), one per column.
    values : ndarray, shape (n_rows, n_years)
        The y values; NaN entries are ignored row by row.
    horizon : int or ndarray of shape (n_rows,)
        Year to project to.

    Returns
    -------
    slope, projected : ndarray
        Per row; NaN where fewer than two values are finite.
    """
    x = np.asarray(years, dtype=float)[None, :]
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(y)
    n = ok.sum(axis=1)
    xs = np.where(ok, x, 0.0)
    ys = np.where(ok, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = xs.sum(axis=1) / n
        ym = ys.sum(axis=1) / n
        dx = np.where(ok, x - xm[:, None], 0.0)
        dy = np.where(ok, y - ym[:, None], 0.0)
        slope = (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)
        projected = ym + slope * (np.asarray(horizon, dtype=float) - xm)
    bad = n < 2
    slope[bad] = np.nan
    projected[bad] = np.nan
    return slope, projected


@dataclass
class TrendResult:
    """Per-unit and roll-up trends.

    Attributes
    ----------
    units : DataFrame
        One row per target × unit: ``target_id``, ``kind``, ``unit_level``, ``unit_code``,
        ``unit_name``, ``county_code``, ``county_name``, ``township_code``,
        ``is_plan_level``, ``clause``, ``actual_<year>`` and ``status_<year>`` for each
        year, ``required``, ``upper`` (band high end or ``max_count``), ``latest_status``,
        ``slope_per_year``, ``horizon``, ``projected``, ``at_risk`` (bool), ``risk_label``.
    rollup : DataFrame
        One row per target × (county, city): ``met_share_<year>``, ``plan_status_<year>``,
        ``slope_per_year``, ``projected_met_share``, ``at_risk``, ``risk_label``.
    years : list of int
    evaluation : EvaluationResult
        The evaluation of every year the trend rests on.
    """

    units: pd.DataFrame
    rollup: pd.DataFrame
    years: list[int]
    evaluation: EvaluationResult

    def at_risk(self) -> pd.DataFrame:
        """Units flagged 预计达标困难."""
        return self.units[self.units["at_risk"]]


def trend(ds: Dataset, targets: PlanTarget | Sequence[PlanTarget] | None = None,
          horizon: int | None = None) -> TrendResult:
    """Evaluate every inventory year and project each unit's value to the horizon.

    Parameters
    ----------
    ds : Dataset
    targets : PlanTarget or sequence, optional
        ``None`` → every target file.
    horizon : int, optional
        Projection year; ``None`` → each target's ``horizon`` (2025).

    Returns
    -------
    TrendResult
    """
    if targets is None:
        targets = load_targets()
    elif isinstance(targets, PlanTarget):
        targets = [targets]
    targets = list(targets)
    res = evaluate(ds, targets, year="all")
    years = list(res.years)
    by_id = {t.id: t for t in targets}
    u = res.units
    indexed = u.set_index([*_KEY, "year"])
    wide_actual = indexed["actual"].unstack("year").reindex(columns=years)
    wide_status = indexed["status"].unstack("year").reindex(index=wide_actual.index, columns=years)
    last = u[u["year"] == years[-1]].set_index(_KEY)
    info = u.drop_duplicates(_KEY, keep="last").set_index(_KEY)[_INFO].reindex(wide_actual.index)
    out = info.reset_index()
    for y in years:
        out[f"actual_{y}"] = wide_actual[y].to_numpy(dtype=float)
    for y in years:
        out[f"status_{y}"] = wide_status[y].fillna("").to_numpy(dtype=object)
    tids = out["target_id"].to_numpy(dtype=object)
    out["required"] = last["required"].reindex(wide_actual.index).to_numpy(dtype=float)
    out["upper"] = np.array([_upper(by_id[t]) for t in tids], dtype=float)
    out["latest_status"] = wide_status[years[-1]].fillna("").to_numpy(dtype=object)
    hz = np.array([horizon or by_id[t].horizon for t in tids], dtype=float)
    slope, projected = linear_projection(years, wide_actual.to_numpy(dtype=float), hz)
    out["slope_per_year"] = slope
    out["horizon"] = hz.astype(int)
    out["projected"] = projected
    report = np.array([by_id[t].report_only for t in tids], dtype=bool)
    live = np.isin(out["latest_status"], ["met", "not_met"]) & ~report & np.isfinite(projected)
    req = out["required"].to_numpy(dtype=float)
    upper = out["upper"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        miss = (np.isfinite(req) & (projected < req - _EPS)) | (np.isfinite(upper) & (projected > upper + _EPS))
    out["at_risk"] = live & miss
    na = (out["latest_status"] == "not_applicable").to_numpy() | report
    out["risk_label"] = np.where(out["at_risk"], label("trend_flag"),
                                 np.where(live, label("trend_on_track"),
                                          np.where(na | np.isfinite(projected), "", label("trend_insufficient"))))
    return TrendResult(units=out, rollup=_rollup_trend(res, out, years, targets, horizon), years=years, evaluation=res)


def _upper(t: PlanTarget) -> float:
    if t.band is not None:
        return float(t.band[1])
    if t.max_count is not None:
        return float(t.max_count)
    return float("nan")


def _rollup_trend(res: EvaluationResult, units: pd.DataFrame, years: list[int], targets, horizon) -> pd.DataFrame:
    roll = res.rollup
    key = ["target_id", "level", "unit_code"]
    r = roll.assign(_den=roll["met"] + roll["not_met"])
    with np.errstate(invalid="ignore", divide="ignore"):
        r["_share"] = np.where(r["_den"] > 0, r["met"] / r["_den"].where(r["_den"] > 0, 1), np.nan)
    rx = r.set_index([*key, "year"])
    share = rx["_share"].unstack("year").reindex(columns=years)
    status = rx["plan_status"].unstack("year").reindex(index=share.index, columns=years)
    names = r.drop_duplicates(key).set_index(key)["unit_name"].reindex(share.index)
    out = share.index.to_frame(index=False)
    out["unit_name"] = names.to_numpy(dtype=object)
    for y in years:
        out[f"met_share_{y}"] = share[y].to_numpy(dtype=float)
    for y in years:
        out[f"plan_status_{y}"] = status[y].fillna("").to_numpy(dtype=object)
    by_id = {t.id: t for t in targets}
    tids = out["target_id"].to_numpy(dtype=object)
    hz = np.array([horizon or by_id[t].horizon for t in tids], dtype=float)
    slope, projected = linear_projection(years, share.to_numpy(dtype=float), hz)
    out["slope_per_year"] = slope
    out["projected_met_share"] = np.clip(projected, 0.0, 1.0)
    own = units[units["unit_level"].isin(["county", "city"])].set_index(["target_id", "unit_level", "unit_code"])
    own_risk = own["at_risk"].reindex(pd.MultiIndex.from_frame(out[["target_id", "level", "unit_code"]]))
    own_risk = own_risk.to_numpy(dtype=object)
    aggregate = np.array([by_id[t].kind in ("presence", "indicator") for t in tids], dtype=bool)
    plan_here = np.array([lv in by_id[t].plan_levels for t, lv in zip(tids, out["level"])], dtype=bool)
    report = np.array([by_id[t].report_only for t in tids], dtype=bool)
    use_own = ~aggregate & plan_here & np.array([v is not None and v == v for v in own_risk], dtype=bool)
    with np.errstate(invalid="ignore"):
        share_risk = np.isfinite(projected) & (projected < 1.0 - _EPS)
    latest = out[f"plan_status_{years[-1]}"].to_numpy(dtype=object)
    at_risk = np.where(use_own, own_risk, share_risk & np.isin(latest, ["met", "not_met"]))
    at_risk = at_risk.astype(bool) & ~report
    out["count_level"] = [count_level(by_id[t]) for t in tids]
    out["at_risk"] = at_risk
    out["risk_label"] = np.where(at_risk, label("trend_flag"), "")
    return out
