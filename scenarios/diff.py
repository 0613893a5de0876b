"""Run a scenario: evaluate every target on the base and under the scenario, and compare.

:func:`run_scenario` returns a :class:`ScenarioDiff` with

* ``changes`` — one row per target × unit, before and after side by side;
* ``flips`` — the units whose status changed (``not_met → met`` and ``met → not_met``
  first, any other change after);
* ``shortfall_changes`` — the units whose shortfall changed, with before/after/delta
  in the shortfall's own unit (facilities, upgrades, slots, people, …);
* ``summary`` — per target and unit level: units, met before/after, flips, summed
  shortfall before/after;
* ``people_newly_covered`` — per access target, the residents within walking distance of
  a facility under the scenario minus in the base (the same demand points, network and
  distance as the evaluation), counted once city-wide.

Exports (:meth:`ScenarioDiff.write`): ``.xlsx`` with the sheets 汇总, 状态变化, 缺口变化,
or ``.csv`` (UTF-8 with BOM) of every changed unit; Chinese headers from the glossary and
the data's provenance stated (scenario records are synthetic: they are hypothetical).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from scenarios._errors import ScenarioError
from scenarios.apply import apply_scenario
from scenarios.model import Scenario

#: key of a unit row
KEY: list[str] = ["target_id", "unit_level", "unit_code"]
#: tolerance below which a shortfall change is ignored (floating-point noise)
EPS: float = 1e-9

FLIP_UP = "not_met→met"
FLIP_DOWN = "met→not_met"


def _s(frame: pd.DataFrame, col: str, default: Any = "") -> pd.Series:
    if col in frame.columns:
        return frame[col]
    return pd.Series([default] * len(frame), index=frame.index)


def compare_units(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Side-by-side comparison of two ``EvaluationResult.units`` tables.

    Parameters
    ----------
    before, after : DataFrame
        Rows in the result schema of ``docs/ARCHITECTURE.md`` (``target_id``,
        ``unit_level``, ``unit_code``, ``status``, ``required``, ``actual``,
        ``shortfall``, ``shortfall_unit``, …).

    Returns
    -------
    DataFrame
        One row per target × unit (outer join): descriptive columns from ``after``
        (falling back to ``before``), ``status_before``/``status_after``, ``change``
        (``not_met→met``, ``met→not_met``, ``other`` or ``""``), ``required_*``,
        ``actual_*``, ``shortfall_before``/``shortfall_after``/``shortfall_delta``
        (after − before; missing shortfalls count as 0), ``provenance``.
    """
    desc = ["kind", "unit_name", "county_code", "county_name", "township_code", "shortfall_unit",
            "clause", "provenance", "method"]
    vals = ["status", "required", "actual", "shortfall"]

    def prep(frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({k: _s(frame, k).astype(str) for k in KEY})
        for col in desc + vals:
            out[col] = _s(frame, col, np.nan if col in {"required", "actual", "shortfall"} else "").to_numpy()
        return out

    b, a = prep(before), prep(after)
    merged = b.merge(a, on=KEY, how="outer", suffixes=("_before", "_after"), indicator=True)
    out = merged[KEY].copy()
    for col in desc:
        aft, bef = merged[f"{col}_after"], merged[f"{col}_before"]
        out[col] = aft.where(aft.notna() & (aft.astype(str) != ""), bef)
    for col in vals:
        out[f"{col}_before"] = merged[f"{col}_before"]
        out[f"{col}_after"] = merged[f"{col}_after"]
    sb = out["status_before"].fillna("").astype(str)
    sa = out["status_after"].fillna("").astype(str)
    change = np.where(
        sb == sa, "", np.where((sb == "not_met") & (sa == "met"), FLIP_UP,
                               np.where((sb == "met") & (sa == "not_met"), FLIP_DOWN, "other"))
    )
    out["change"] = change
    fb = pd.to_numeric(out["shortfall_before"], errors="coerce").fillna(0.0)
    fa = pd.to_numeric(out["shortfall_after"], errors="coerce").fillna(0.0)
    out["shortfall_before"] = fb
    out["shortfall_after"] = fa
    out["shortfall_delta"] = fa - fb
    return out.sort_values(KEY, kind="stable").reset_index(drop=True)


def summarise(changes: pd.DataFrame) -> pd.DataFrame:
    """Per target × unit level: counts before/after, flips, summed shortfalls, people covered."""
    rows = []
    for (tid, level), grp in changes.groupby(["target_id", "unit_level"], sort=True):
        unit = grp["shortfall_unit"].replace("", np.nan).dropna()
        unit = unit.iloc[0] if len(unit) else ""
        rows.append(
            {
                "target_id": tid,
                "kind": grp["kind"].iloc[0],
                "unit_level": level,
                "n_units": len(grp),
                "met_before": int((grp["status_before"] == "met").sum()),
                "met_after": int((grp["status_after"] == "met").sum()),
                "not_met_before": int((grp["status_before"] == "not_met").sum()),
                "not_met_after": int((grp["status_after"] == "not_met").sum()),
                "newly_met": int((grp["change"] == FLIP_UP).sum()),
                "newly_not_met": int((grp["change"] == FLIP_DOWN).sum()),
                "shortfall_before": float(grp["shortfall_before"].sum()),
                "shortfall_after": float(grp["shortfall_after"].sum()),
                "shortfall_delta": float(grp["shortfall_after"].sum() - grp["shortfall_before"].sum()),
                "shortfall_unit": unit,
            }
        )
    return pd.DataFrame(rows)


def covered_people(ds: Any, target: Any, year: int | None) -> float:
    """Residents of an ``access`` target's demand within its walking distance of a facility.

    Same demand points, facilities, network (or straight-line × detour fallback) and
    distance as the evaluation (:mod:`coverage.access`); people, not a share.
    """
    from coverage.access import demand_points, nearest_facility
    from coverage.siting import matching, selector
    from coverage.siting import access_settings
    from coverage.siting.proposals_access import _network_for

    prm = access_settings(target)
    ftype, tier, level = selector(target)
    fac = matching(ds.facilities_for(year), ftype, tier, None if level in (None, "same") else level)
    pts = demand_points(ds, prm["demand"], pop_col=prm["population"])
    if pts.empty:
        return 0.0
    near = nearest_facility(pts, fac, network=_network_for(ds, None), limit_m=prm["distance_m"],
                            max_snap_m=prm["max_snap_m"], detour_factor=prm["detour_factor"])
    pop = pd.to_numeric(pts[prm["population"]], errors="coerce").fillna(0).to_numpy(float)
    return float(pop[(near["status"] == "covered").to_numpy()].sum())


def people_newly_covered(ds: Any, ds2: Any, targets: Sequence[Any], targets2: Sequence[Any],
                         year: int | None) -> dict[str, float]:
    """Per ``access`` target: residents within reach under the scenario minus in the base.

    Negative when a closure leaves people without a facility in reach. A target
    whose demand settings change under the scenario is compared as evaluated on each side.
    """
    after = {t.id: t for t in targets2}
    out: dict[str, float] = {}
    for t in targets:
        if getattr(t, "kind", "") != "access" or t.id not in after:
            continue
        out[t.id] = covered_people(ds2, after[t.id], year) - covered_people(ds, t, year)
    return out


@dataclass
class ScenarioDiff:
    """The effect of a scenario on every target, against the base.

    Attributes
    ----------
    scenario : Scenario
    year : int
        Inventory year evaluated.
    before, after : object
        The two ``EvaluationResult`` objects (base data and targets; scenario copies).
    changes, flips, shortfall_changes, summary : DataFrame
        See the module docstring.
    people_newly_covered : dict
        Access target id → people newly covered (negative: people who lost coverage).
    provenance : str
        The provenance of the data behind the comparison, stated in every export.
    """

    scenario: Scenario
    year: int | None
    before: Any
    after: Any
    changes: pd.DataFrame
    summary: pd.DataFrame
    people_newly_covered: dict[str, float] = field(default_factory=dict)
    provenance: str = ""

    @property
    def flips(self) -> pd.DataFrame:
        f = self.changes[self.changes["change"] != ""]
        order = f["change"].map({FLIP_UP: 0, FLIP_DOWN: 1}).fillna(2)
        return f.assign(_o=order).sort_values(["_o", *KEY], kind="stable").drop(columns="_o")

    @property
    def shortfall_changes(self) -> pd.DataFrame:
        return self.changes[self.changes["shortfall_delta"].abs() > EPS]

    @property
    def changed(self) -> pd.DataFrame:
        """Every unit whose status or shortfall changed."""
        c = self.changes
        return c[(c["change"] != "") | (c["shortfall_delta"].abs() > EPS)]

    def write(self, path: str | Path) -> Path:
        """Write ``.xlsx`` (汇总/状态变化/缺口变化) or ``.csv`` (UTF-8 BOM); return the path."""
        from scenarios.export import write_diff

        return write_diff(self, Path(path))


def _provenance(scenario: Scenario, ds: Any, units: pd.DataFrame) -> str:
    parts = sorted({tok.strip() for p in _s(units, "provenance").astype(str)
                    for tok in p.split(";") if tok.strip() and p != "nan"})
    data = "; ".join(parts) if parts else "; ".join(
        f"{k}={v}" for k, v in sorted(getattr(ds, "layer_provenance", {}).items())
    )
    return (
        f"基准数据: {data or '未注明'}；情景“{scenario.name}”新增或改动的记录为假设"
        f"（synthetic，合成演示数据），人口调整为估算（estimated）"
    )


def run_scenario(
    scenario: Scenario,
    ds: Any,
    targets: Sequence[Any] | None = None,
    year: int | None = None,
    evaluate_fn: Any = None,
) -> ScenarioDiff:
    """Evaluate every target on the base and under ``scenario`` and compare.

    Parameters
    ----------
    scenario : Scenario
    ds : Dataset
        The base dataset (unchanged).
    targets : sequence of PlanTarget, optional
        Default: :func:`coverage.targets.load_targets` of the embedded targets.
    year : int, optional
        Inventory year; default the scenario's year, else the dataset's latest.
    evaluate_fn : callable, optional
        ``evaluate(ds, targets, year) -> EvaluationResult``; default
        :func:`coverage.targets.engine.evaluate`.

    Returns
    -------
    ScenarioDiff
    """
    if evaluate_fn is None:
        from coverage.targets import evaluate as evaluate_fn
    if targets is None:
        from coverage.targets import load_targets

        targets = load_targets()
    if year is not None:
        scenario = scenario.with_year(year)
    year = scenario.year if scenario.year is not None else ds.latest_year
    scenario = scenario.with_year(year)
    ds2, targets2 = apply_scenario(scenario, ds, targets)
    before = evaluate_fn(ds, list(targets), year)
    after = evaluate_fn(ds2, targets2, year)
    b_units, a_units = getattr(before, "units", before), getattr(after, "units", after)
    if not isinstance(a_units, pd.DataFrame):
        raise ScenarioError(f"{scenario.source}: evaluation returned no unit table")
    changes = compare_units(b_units, a_units)
    summary = summarise(changes) if len(changes) else pd.DataFrame()
    return ScenarioDiff(
        scenario=scenario,
        year=year,
        before=before,
        after=after,
        changes=changes,
        summary=summary,
        people_newly_covered=people_newly_covered(ds, ds2, list(targets), targets2, year),
        provenance=_provenance(scenario, ds, a_units),
    )
