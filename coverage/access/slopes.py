"""Flat distance and minutes on slopes, side by side, per unit (``covplan access --dem``).

An ``access`` target states a distance (``distance_m``, 1 km) and, optionally, minutes
(``[access] max_minutes``, 10). With a DEM, :func:`access_with_terrain` runs the target
twice on the same snapped points:

* **flat**: network distance ≤ ``distance_m`` (what :func:`coverage.access.access_result`
  reports);
* **terrain**: walking minutes home → facility on the directed Tobler graph of
  :mod:`coverage.access.terrain` ≤ ``max_minutes``, with the flat speed the target
  implies (``distance_m / max_minutes``: 1 km in 10 min = 100 m/min = 6 km/h).

Per unit it reports the people covered each way, the people who **gain** (covered only
with relief: a gentle downhill) and **lose** coverage (covered only on the flat), and
``dem_coverage``: ``full`` / ``partial`` / ``none`` by the share of the unit's demand
points inside the DEM. Where the DEM is missing, edges are timed on the flat, so a unit
with ``dem_coverage = none`` shows flat results, flagged, never terrain ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coverage._errors import NetworkError
from coverage.access.evaluation import access_params, access_result, context_network
from coverage.access.nearest import coverage_by_unit, demand_points, nearest_facility
from coverage.access.terrain import Dem, Terrain, terrain_cost

TERRAIN_COLUMNS: tuple[str, ...] = (
    "pop_covered_flat", "pop_covered_terrain", "pop_gained", "pop_lost", "covered_share_flat",
    "covered_share_terrain", "dem_points", "dem_coverage",
)


def minutes_params(target) -> tuple[float, float]:
    """(max_minutes, flat speed m/min) of a target: ``max_minutes`` or time_min, else
    distance / speed."""
    prm = access_params(target)
    raw = getattr(target, "access", None)
    get = raw.get if hasattr(raw, "get") else (lambda k, d=None: getattr(raw, k, d))
    minutes = get("max_minutes") if raw is not None else None
    if minutes is None:
        minutes = prm["distance_m"] / prm["speed_m_per_min"]
    minutes = float(minutes)
    if not minutes > 0:
        raise NetworkError(f"target {getattr(target, 'id', '?')}: [access] max_minutes must be > 0")
    return minutes, prm["distance_m"] / minutes


def access_with_terrain(target, ctx, dem: Dem, *, terrain: Terrain | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Flat and terrain coverage of an ``access`` target, per point and per unit.

    Returns ``(points, units, info)`` like :func:`coverage.access.access_result`, with
    ``time_min``, ``status_terrain`` and ``in_dem`` per point, the
    :data:`TERRAIN_COLUMNS` per unit, ``info["terrain"]`` (the DEM summary: voids filled,
    edges timed on the flat, flat speed, max minutes) and ``info["cost_model"]`` (the
    minutes :class:`~coverage.access.route.CostModel`, for isochrones). ``terrain``: a
    :class:`~coverage.access.terrain.Terrain` of this network, DEM and the target's speed
    computed before (the app's cache, :mod:`coverage.access.relief`); None computes it.
    """
    net = context_network(ctx)
    if net is None:
        raise NetworkError("terrain access needs a walking network (--network FILE)")
    points, units, info = access_result(target, ctx)
    minutes, speed = minutes_params(target)
    terr: Terrain = terrain if terrain is not None else terrain_cost(
        net, dem, speed, steps_factor=_steps_factor(target))
    prm = access_params(target)
    pts = demand_points(ctx.dataset, prm["demand"], prm["population"])  # as access_result
    near = nearest_facility(pts, info["facilities"], network=net, limit_m=prm["distance_m"],
                            max_snap_m=prm["max_snap_m"], snap=prm["snap"], cost=terr.cost,
                            limit_min=minutes)
    points = points.copy()
    points["time_min"] = near["time_min"].to_numpy()
    points["nearest_facility_terrain"] = near["nearest_facility_id"].to_numpy()
    points["status_terrain"] = near["status"].to_numpy()
    points["in_dem"] = terr.covers(net.project(points["lon"].to_numpy(), points["lat"].to_numpy()))
    pop_col = prm["population"]
    t_units = coverage_by_unit(points.assign(status=points["status_terrain"]), ctx.dataset,
                               pop_col=pop_col)
    pop = pd.to_numeric(points[pop_col], errors="coerce").fillna(0).to_numpy(float)
    flat_ok = points["status"].to_numpy() == "covered"
    terr_ok = points["status_terrain"].to_numpy() == "covered"
    extra = pd.DataFrame({
        "village": points["code"].astype(str).to_numpy(),
        "township": points["township_code"].astype(str).to_numpy(),
        "county": points["county_code"].astype(str).to_numpy(),
        "gained": np.where(terr_ok & ~flat_ok, pop, 0.0),
        "lost": np.where(flat_ok & ~terr_ok, pop, 0.0),
        "in_dem": points["in_dem"].to_numpy(float),
    })
    extra["city"] = units.loc[units["unit_level"] == "city", "unit_code"].iloc[0] if (
        units["unit_level"] == "city").any() else ""
    agg = []
    for level in ("village", "township", "county", "city"):
        g = extra.groupby(level).agg(pop_gained=("gained", "sum"), pop_lost=("lost", "sum"),
                                     dem_points=("in_dem", "sum"), n=("in_dem", "size"))
        g.index.name = "unit_code"
        agg.append(g.reset_index().assign(unit_level=level))
    agg = pd.concat(agg, ignore_index=True)
    key = ["unit_level", "unit_code"]
    units = units.merge(agg, on=key, how="left").merge(
        t_units[key + ["pop_covered", "covered_share"]].rename(
            columns={"pop_covered": "pop_covered_terrain",
                     "covered_share": "covered_share_terrain"}), on=key, how="left")
    units["pop_covered_flat"] = units["pop_covered"]
    units["covered_share_flat"] = units["covered_share"]
    share_in = units["dem_points"] / units["n"].where(units["n"] > 0)
    units["dem_coverage"] = np.where(share_in >= 1.0, "full",
                                     np.where(share_in > 0, "partial", "none"))
    units = units.drop(columns=["n"])
    info = dict(info, terrain=dict(terr.summary(), max_minutes=minutes), max_minutes=minutes,
                cost_model=terr.cost, terrain_model=terr)
    return points, units, info


def _steps_factor(target) -> float:
    from coverage.access.terrain import STEPS_FACTOR

    raw = getattr(target, "access", None)
    val = raw.get("steps_factor") if hasattr(raw, "get") else getattr(raw, "steps_factor", None)
    return float(val) if val is not None else STEPS_FACTOR
