"""Walking access: distance from every resident point to the nearest facility.

Method
------
Demand points (population-weighted village/community points) and facilities are snapped
to the nearest point on the nearest walkable edge (``snap="edge"``, the default) or to
their nearest network node (``snap="node"``, for comparison), in the network's metric
CRS (EPSG:4549 for Lishui); see :mod:`coverage.access.snap`. A point whose straight
access leg is longer than ``max_snap_m`` is ``unreachable`` (off the network): reported,
never counted as covered. A facility farther than ``max_snap_m`` is not used.

Distances come from **one** multi-source Dijkstra pass per facility type
(``scipy.sparse.csgraph.dijkstra`` with ``min_only=True`` and ``limit``), see
:func:`coverage.access.route.route_nearest`: each facility gets a virtual source node
joined to the two ends of its edge (leg + partial length), the demand point reads the
cheaper of its own two partial lengths plus its leg, and a home sharing an edge with a
facility may walk straight along it. No demand × facility matrix is ever built: memory
is O(nodes + edges + points). With a terrain :class:`~coverage.access.route.CostModel`
(:mod:`coverage.access.terrain`) the same pass gives walking minutes, home → facility.

Without a network, the fallback is the straight-line distance (EPSG:4549) times a detour
factor; every such result carries ``method = "straight_line_detour"``.

Per-unit coverage (community, township, county, city) is :func:`coverage_by_unit`;
service-area polygons are in :mod:`coverage.access.areas` and the evaluation of ``access``
targets in :mod:`coverage.access.evaluation`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from coverage._errors import NetworkError
from coverage.access.graph import (
    WalkNetwork,
    _transformer,
    metric_crs_for,
)
from coverage.access.route import CostModel, flat_cost, route_nearest
from layers import settings

METHOD_NETWORK = "network"


METHOD_STRAIGHT = "straight_line_detour"


#: defaults, overridable per target ([access] table) and per call
DEFAULT_DISTANCE_M: float = 1000.0


DEFAULT_SPEED_M_PER_MIN: float = 80.0


DEFAULT_MAX_SNAP_M: float = 500.0


DEFAULT_DETOUR_FACTOR: float = 1.3


@dataclass
class NearestResult:
    """Nearest facility of each demand point.

    Attributes
    ----------
    distance_m : ndarray of float
        Route length in metres (snap legs included); ``inf`` beyond the search limit or
        when unreachable.
    facility : ndarray of int
        Index (into the facility array given) of the nearest facility; -1 when none.
    snap_m : ndarray of float
        Distance from the point to its network node (0 for the straight-line method).
    reachable : ndarray of bool
        False when the point is farther than ``max_snap_m`` from the network.
    facility_snap_m : ndarray of float
        Snapping distance of each facility.
    facility_usable : ndarray of bool
        False when a facility is farther than ``max_snap_m`` from the network.
    method : str
        ``network`` or ``straight_line_detour``.
    snap_mode : str
        ``edge`` or ``node`` (``none`` for the straight-line method).
    time_min : ndarray of float or None
        Walking minutes home → facility on a terrain cost model (``inf`` beyond the
        limit); ``distance_m`` is then NaN for reached points (the route is timed, not
        measured) and ``inf`` for the others.
    """

    distance_m: np.ndarray
    facility: np.ndarray
    snap_m: np.ndarray
    reachable: np.ndarray
    facility_snap_m: np.ndarray
    facility_usable: np.ndarray
    method: str
    snap_mode: str = "edge"
    time_min: np.ndarray | None = None

    @property
    def reached(self) -> np.ndarray:
        """Points with a facility within the limit."""
        return self.facility >= 0


# ---------------------------------------------------------------------- core
def nearest_on_network(
    net: WalkNetwork,
    demand_xy: np.ndarray,
    facility_xy: np.ndarray,
    *,
    limit_m: float = DEFAULT_DISTANCE_M,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    snap: str = "edge",
    cost: CostModel | None = None,
    limit_min: float | None = None,
) -> NearestResult:
    """Network distance (or time) from each demand point to its nearest facility, one pass.

    Parameters
    ----------
    net : WalkNetwork
    demand_xy, facility_xy : ndarray, shape (k, 2)
        Points in the network's metric CRS (``net.crs``; EPSG:4549 for Lishui).
    limit_m : float
        Search radius in metres; routes longer than this are reported as ``inf``.
    max_snap_m : float
        Points (and facilities) whose access leg is longer than this are unreachable.
    snap : {"edge", "node"}
        Join at the nearest point of the nearest edge (default) or at the nearest node.
    cost : CostModel, optional
        A minutes model (:func:`coverage.access.terrain.terrain_cost`); then ``limit_min``
        bounds the search and ``time_min`` holds the result.
    """
    demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    facility_xy = np.asarray(facility_xy, dtype=float).reshape(-1, 2)
    d = net.snap_points(demand_xy, snap)
    f = net.snap_points(facility_xy, snap)
    reachable = d.leg_m <= max_snap_m
    usable = f.leg_m <= max_snap_m
    model = cost if cost is not None else flat_cost(net)
    timed = model.unit == "min"
    if timed and limit_min is None:
        raise NetworkError("a minutes cost model needs limit_min")
    limit = float(limit_min) if timed else float(limit_m)
    val, fac = route_nearest(net, model, d, f, limit=limit, home_ok=reachable, fac_ok=usable)
    if timed:
        dist = np.where(fac >= 0, np.nan, np.inf)
        return NearestResult(dist, fac, d.leg_m, reachable, f.leg_m, usable, METHOD_NETWORK,
                             snap, val)
    return NearestResult(val, fac, d.leg_m, reachable, f.leg_m, usable, METHOD_NETWORK, snap)


def nearest_straight_line(
    demand_xy: np.ndarray,
    facility_xy: np.ndarray,
    *,
    limit_m: float = DEFAULT_DISTANCE_M,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
) -> NearestResult:
    """Fallback: straight-line distance × ``detour_factor`` to the nearest facility.

    Points are in a metric CRS (EPSG:4549). Every result is flagged
    ``straight_line_detour``.
    """
    if not detour_factor >= 1.0:
        raise NetworkError(f"detour factor must be ≥ 1 (got {detour_factor})")
    demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    facility_xy = np.asarray(facility_xy, dtype=float).reshape(-1, 2)
    k = len(demand_xy)
    dist = np.full(k, np.inf)
    fac = np.full(k, -1, dtype=np.int64)
    if len(facility_xy) and k:
        d, i = cKDTree(facility_xy).query(demand_xy, k=1)
        route = d * detour_factor
        ok = route <= limit_m
        dist[ok] = route[ok]
        fac[ok] = i[ok]
    f = len(facility_xy)
    return NearestResult(
        dist, fac, np.zeros(k), np.ones(k, dtype=bool), np.zeros(f), np.ones(f, dtype=bool),
        METHOD_STRAIGHT, "none",
    )


# ---------------------------------------------------------------------- GeoDataFrames
def _lonlat(gdf: gpd.GeoDataFrame, *, what: str) -> tuple[np.ndarray, np.ndarray]:
    """lon/lat arrays of a point layer, checking that EPSG:4326 labels hold degrees."""
    if gdf.crs is None:
        raise NetworkError(f"{what}: the layer has no CRS; expected EPSG:4326 lon/lat")
    g = gdf.geometry
    if len(g) and not bool((g.geom_type == "Point").all()):
        bad = int(np.flatnonzero((g.geom_type != "Point").to_numpy())[0])
        raise NetworkError(f"{what}: row {bad}: geometry is not a Point")
    if not gdf.crs.is_geographic:
        g = g.to_crs(settings.STORAGE_CRS)
    lon, lat = g.x.to_numpy(dtype=float), g.y.to_numpy(dtype=float)
    bad = np.flatnonzero(~((np.abs(lon) <= 180) & (np.abs(lat) <= 90)))
    if len(bad):
        i = int(bad[0])
        raise NetworkError(
            f"{what}: row {i}: coordinates ({lon[i]:.1f}, {lat[i]:.1f}) are not lon/lat "
            f"although the layer is labelled {gdf.crs.to_string()}; projected metres "
            "(e.g. EPSG:4549) labelled as EPSG:4326? Reproject or fix the CRS label"
        )
    return lon, lat


def check_within_network(
    net: WalkNetwork, lon: np.ndarray, lat: np.ndarray, snap_m: np.ndarray, *, what: str,
    max_snap_m: float,
) -> None:
    """Raise when *no* point lies within ``max_snap_m`` of the network.

    That is never a planning result but a wrong CRS, wrong area or wrong network file;
    the message gives the network's extent.
    """
    if len(snap_m) == 0 or bool(np.any(snap_m <= max_snap_m)):
        return
    b = net.bounds_lonlat()
    i = int(np.argmin(snap_m))
    raise NetworkError(
        f"{what}: none of the {len(snap_m)} points is within {max_snap_m:.0f} m of the "
        f"network {net.source} (nearest is {snap_m[i] / 1000:.1f} km away, row {i} at "
        f"{lon[i]:.5f}, {lat[i]:.5f}); the network covers lon {b[0]:.4f}–{b[2]:.4f}, "
        f"lat {b[1]:.4f}–{b[3]:.4f}. Wrong CRS, wrong area, or wrong network file?"
    )


def nearest_facility(
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    network: WalkNetwork | None = None,
    limit_m: float = DEFAULT_DISTANCE_M,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    facility_id_col: str = "facility_id",
    snap: str = "edge",
    cost: CostModel | None = None,
    limit_min: float | None = None,
) -> pd.DataFrame:
    """Nearest facility of each demand point, from two point layers (EPSG:4326).

    Returns
    -------
    DataFrame
        Indexed like ``demand``: ``distance_m`` (NaN beyond ``limit_m``, unreachable, or
        timed), ``time_min`` (walking minutes with a terrain ``cost``, else NaN),
        ``nearest_facility_id``, ``snap_m`` (the straight access leg), ``status``
        (``covered`` / ``not_covered`` / ``unreachable``, with ``limit_m`` or
        ``limit_min`` as the covering bound), ``method`` and ``snap_mode``.
    """
    d_lon, d_lat = _lonlat(demand, what="demand points")
    f_lon, f_lat = _lonlat(facilities, what="facilities")
    if network is not None:
        d_xy = network.project(d_lon, d_lat)
        f_xy = network.project(f_lon, f_lat)
        res = nearest_on_network(network, d_xy, f_xy, limit_m=limit_m, max_snap_m=max_snap_m,
                                 snap=snap, cost=cost, limit_min=limit_min)
        check_within_network(network, f_lon, f_lat, res.facility_snap_m, what="facilities",
                             max_snap_m=max_snap_m)
        check_within_network(network, d_lon, d_lat, res.snap_m, what="demand points",
                             max_snap_m=max_snap_m)
    else:
        crs = metric_crs_for(d_lon, d_lat)
        tr = _transformer(settings.STORAGE_CRS, crs)
        d_xy = np.column_stack(tr.transform(d_lon, d_lat))
        f_xy = np.column_stack(tr.transform(f_lon, f_lat))
        res = nearest_straight_line(d_xy, f_xy, limit_m=limit_m, detour_factor=detour_factor)
    ids = facilities[facility_id_col].astype(str).to_numpy() if len(facilities) else np.array([])
    nearest = np.where(res.facility >= 0, ids[np.clip(res.facility, 0, None)] if len(ids) else "", "")
    status = np.where(~res.reachable, "unreachable",
                      np.where(res.reached, "covered", "not_covered"))
    t = res.time_min if res.time_min is not None else np.full(len(status), np.nan)
    return pd.DataFrame(
        {
            "distance_m": np.where(np.isfinite(res.distance_m), res.distance_m, np.nan),
            "time_min": np.where(np.isfinite(t), t, np.nan),
            "nearest_facility_id": nearest,
            "snap_m": res.snap_m,
            "status": status,
            "method": res.method,
            "snap_mode": res.snap_mode,
        },
        index=demand.index,
    )


# ---------------------------------------------------------------------- demand and units
def demand_points(ds, demand: str = "urban", pop_col: str = "pop_total") -> gpd.GeoDataFrame:
    """Population-weighted resident points: village/community points with population.

    Parameters
    ----------
    ds : layers.Dataset
    demand : {"urban", "all"}
        ``urban`` keeps villages with ``is_urban`` true (the 城市10分钟健身圈 is about town
        residents); ``all`` keeps every village and community.
    """
    v = ds.villages
    if demand == "urban":
        v = v[v["is_urban"].astype(bool)]
    elif demand != "all":
        raise NetworkError(f"[access] demand must be 'urban' or 'all' (got {demand!r})")
    v = v[pd.to_numeric(v[pop_col], errors="coerce").fillna(0) > 0]
    return v


def coverage_by_unit(
    points: pd.DataFrame, ds, *, pop_col: str = "pop_total"
) -> pd.DataFrame:
    """Covered and uncovered people per community, township, county and the city.

    Parameters
    ----------
    points : DataFrame
        Demand points with ``code``, ``name``, ``township_code``, ``county_code``,
        ``pop_col`` and the ``status`` column of :func:`nearest_facility`.

    Returns
    -------
    DataFrame
        One row per unit: ``unit_level``, ``unit_code``, ``unit_name``, ``county_code``,
        ``township_code``, ``n_points``, ``pop_demand``, ``pop_covered``,
        ``pop_uncovered`` (unreachable included), ``pop_unreachable``, ``covered_share``.
    """
    p = pd.DataFrame(
        {
            "village": points["code"].astype(str).to_numpy(),
            "township": points["township_code"].astype(str).to_numpy(),
            "county": points["county_code"].astype(str).to_numpy(),
            "city": settings.CITY_CODE,
            "pop": pd.to_numeric(points[pop_col], errors="coerce").fillna(0).to_numpy(float),
            "status": points["status"].to_numpy(),
        }
    )
    p["covered"] = np.where(p["status"] == "covered", p["pop"], 0.0)
    p["unreachable"] = np.where(p["status"] == "unreachable", p["pop"], 0.0)
    names = {
        "village": dict(zip(points["code"].astype(str), points["name"].astype(str))),
        "township": dict(zip(ds.townships["code"].astype(str), ds.townships["name"].astype(str))),
        "county": dict(zip(ds.counties["code"].astype(str), ds.counties["name"].astype(str))),
        "city": {settings.CITY_CODE: settings.CITY_NAME},
    }
    parent_county = dict(zip(p["village"], p["county"])) | dict(zip(p["township"], p["county"]))
    parent_township = dict(zip(p["village"], p["township"]))
    frames = []
    for level in ("village", "township", "county", "city"):
        g = p.groupby(level, sort=True).agg(
            n_points=("pop", "size"), pop_demand=("pop", "sum"),
            pop_covered=("covered", "sum"), pop_unreachable=("unreachable", "sum"),
        )
        g = g.reset_index().rename(columns={level: "unit_code"})
        g.insert(0, "unit_level", level)
        g["unit_name"] = g["unit_code"].map(names[level]).fillna("")
        g["county_code"] = (g["unit_code"] if level == "county" else
                            g["unit_code"].map(parent_county).fillna(""))
        g["township_code"] = (g["unit_code"] if level == "township" else
                              g["unit_code"].map(parent_township).fillna(""))
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    out["pop_uncovered"] = out["pop_demand"] - out["pop_covered"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["covered_share"] = np.where(out["pop_demand"] > 0,
                                        out["pop_covered"] / out["pop_demand"], np.nan)
    return out
