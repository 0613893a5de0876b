"""Walking access: distance from every resident point to the nearest facility.

Method
------
Demand points (population-weighted village/community points) and facilities are snapped
to their nearest network node (KD-tree in the network's metric CRS, EPSG:4549 for
Lishui). A point farther than ``max_snap_m`` from any node is ``unreachable``: reported,
never counted as covered. A facility farther than ``max_snap_m`` is not used.

Distances come from **one** multi-source Dijkstra pass per facility type
(``scipy.sparse.csgraph.dijkstra`` with ``min_only=True`` and ``limit``). Each facility
gets its own virtual source node joined to its snapped node by a directed edge whose
weight is the facility's snapping distance; the pass starts from all virtual nodes at
once, so a node's distance already includes the facility's snap leg, and the returned
``sources`` array names the nearest facility directly. The demand point's own snapping
distance is then added. No demand × facility matrix is ever built: memory is
O(nodes + edges + points).

Without a network, the fallback is the straight-line distance (EPSG:4549) times a detour
factor; every such result carries ``method = "straight_line_detour"``.

Per-unit coverage (community, township, county, city) and the evaluation of ``access``
targets (:func:`evaluate_access_target`) are at the end of this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from coverage._errors import NetworkError
from coverage.network import WalkNetwork, _transformer, metric_crs_for
from layers import settings

METHOD_NETWORK = "network"
METHOD_STRAIGHT = "straight_line_detour"

#: defaults, overridable per target ([access] table) and per call
DEFAULT_DISTANCE_M: float = 1000.0
DEFAULT_SPEED_M_PER_MIN: float = 80.0
DEFAULT_MAX_SNAP_M: float = 500.0
DEFAULT_DETOUR_FACTOR: float = 1.3
SERVICE_AREA_BUFFER_M: float = 50.0
SERVICE_AREA_SIMPLIFY_M: float = 10.0


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
    """

    distance_m: np.ndarray
    facility: np.ndarray
    snap_m: np.ndarray
    reachable: np.ndarray
    facility_snap_m: np.ndarray
    facility_usable: np.ndarray
    method: str


# ---------------------------------------------------------------------- core
def nearest_on_network(
    net: WalkNetwork,
    demand_xy: np.ndarray,
    facility_xy: np.ndarray,
    *,
    limit_m: float = DEFAULT_DISTANCE_M,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> NearestResult:
    """Network distance from each demand point to its nearest facility (one Dijkstra pass).

    Parameters
    ----------
    net : WalkNetwork
    demand_xy, facility_xy : ndarray, shape (k, 2)
        Points in the network's metric CRS (``net.crs``; EPSG:4549 for Lishui).
    limit_m : float
        Search radius in metres; routes longer than this are reported as ``inf``.
    max_snap_m : float
        Points (and facilities) farther than this from every node are unreachable.
    """
    demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    facility_xy = np.asarray(facility_xy, dtype=float).reshape(-1, 2)
    d_node, d_snap = net.snap(demand_xy)
    f_node, f_snap = net.snap(facility_xy)
    reachable = d_snap <= max_snap_m
    usable = f_snap <= max_snap_m
    k = len(demand_xy)
    dist = np.full(k, np.inf)
    fac = np.full(k, -1, dtype=np.int64)
    fac_idx = np.flatnonzero(usable)
    if len(fac_idx) and k:
        node_dist, source = multi_source_dijkstra(
            net.graph, f_node[fac_idx], f_snap[fac_idx], limit_m=limit_m
        )
        nd = node_dist[d_node] + d_snap
        src = source[d_node]
        ok = reachable & np.isfinite(nd) & (nd <= limit_m) & (src >= 0)
        dist[ok] = nd[ok]
        fac[ok] = fac_idx[src[ok]]
    return NearestResult(dist, fac, d_snap, reachable, f_snap, usable, METHOD_NETWORK)


def multi_source_dijkstra(
    graph: csr_matrix, source_nodes: np.ndarray, source_offset_m: np.ndarray, *, limit_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from the nearest source to every node, each source starting at an offset.

    One virtual node per source is appended to the CSR matrix (rows only, so existing
    rows are reused untouched) with a directed edge of weight ``source_offset_m`` to its
    node; one ``csgraph.dijkstra(min_only=True)`` pass then solves all sources at once.

    Returns
    -------
    dist : ndarray, shape (n,)
        Metres; ``inf`` beyond ``limit_m``.
    source : ndarray, shape (n,)
        Index into ``source_nodes`` of the nearest source; -1 where not reached.
    """
    n = graph.shape[0]
    m = len(source_nodes)
    indptr = np.concatenate([graph.indptr, graph.indptr[-1] + np.arange(1, m + 1)])
    indices = np.concatenate([graph.indices, np.asarray(source_nodes, dtype=graph.indices.dtype)])
    data = np.concatenate([graph.data, np.asarray(source_offset_m, dtype=float)])
    aug = csr_matrix((data, indices, indptr), shape=(n + m, n + m))
    dist, _pred, src = dijkstra(
        aug,
        directed=True,
        indices=np.arange(n, n + m),
        limit=limit_m,
        min_only=True,
        return_predecessors=True,
    )
    src = np.where(src >= n, src - n, -1)
    return dist[:n], src[:n]


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
        METHOD_STRAIGHT,
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
) -> pd.DataFrame:
    """Nearest facility of each demand point, from two point layers (EPSG:4326).

    Returns
    -------
    DataFrame
        Indexed like ``demand``: ``distance_m`` (NaN beyond ``limit_m`` or unreachable),
        ``nearest_facility_id``, ``snap_m``, ``status`` (``covered`` / ``not_covered`` /
        ``unreachable``, with ``limit_m`` as the covering distance) and ``method``.
    """
    d_lon, d_lat = _lonlat(demand, what="demand points")
    f_lon, f_lat = _lonlat(facilities, what="facilities")
    if network is not None:
        d_xy = network.project(d_lon, d_lat)
        f_xy = network.project(f_lon, f_lat)
        if len(f_xy):
            _, f_snap = network.snap(f_xy)
            check_within_network(network, f_lon, f_lat, f_snap, what="facilities",
                                 max_snap_m=max_snap_m)
        if len(d_xy):
            _, d_snap = network.snap(d_xy)
            check_within_network(network, d_lon, d_lat, d_snap, what="demand points",
                                 max_snap_m=max_snap_m)
        res = nearest_on_network(network, d_xy, f_xy, limit_m=limit_m, max_snap_m=max_snap_m)
    else:
        crs = metric_crs_for(d_lon, d_lat)
        tr = _transformer(settings.STORAGE_CRS, crs)
        d_xy = np.column_stack(tr.transform(d_lon, d_lat))
        f_xy = np.column_stack(tr.transform(f_lon, f_lat))
        res = nearest_straight_line(d_xy, f_xy, limit_m=limit_m, detour_factor=detour_factor)
    ids = facilities[facility_id_col].astype(str).to_numpy() if len(facilities) else np.array([])
    nearest = np.where(res.facility >= 0, ids[np.clip(res.facility, 0, None)] if len(ids) else "", "")
    status = np.where(~res.reachable, "unreachable",
                      np.where(np.isfinite(res.distance_m), "covered", "not_covered"))
    return pd.DataFrame(
        {
            "distance_m": np.where(np.isfinite(res.distance_m), res.distance_m, np.nan),
            "nearest_facility_id": nearest,
            "snap_m": res.snap_m,
            "status": status,
            "method": res.method,
        },
        index=demand.index,
    )


# ---------------------------------------------------------------------- service areas
def service_areas(
    facilities: gpd.GeoDataFrame,
    *,
    network: WalkNetwork | None = None,
    distance_m: float = DEFAULT_DISTANCE_M,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    buffer_m: float = SERVICE_AREA_BUFFER_M,
    simplify_m: float = SERVICE_AREA_SIMPLIFY_M,
    facility_id_col: str = "facility_id",
) -> gpd.GeoDataFrame:
    """Service-area polygon of each facility, EPSG:4326, for the map.

    On a network: every edge reachable within ``distance_m`` (facility snap leg
    included), with partly reachable edges cut at the remaining distance, plus the snap
    leg itself, buffered by ``buffer_m`` and simplified with ``simplify_m`` (metres).
    Without a network: a circle of radius ``distance_m / detour_factor``
    (``method = straight_line_detour``). Facilities farther than ``max_snap_m`` from the
    network get an empty geometry and ``usable = False``.
    """
    f_lon, f_lat = _lonlat(facilities, what="facilities")
    ids = facilities[facility_id_col].astype(str).to_list()
    if network is None:
        crs = metric_crs_for(f_lon, f_lat)
        xy = np.column_stack(_transformer(settings.STORAGE_CRS, crs).transform(f_lon, f_lat))
        geoms = shapely.buffer(shapely.points(xy), distance_m / detour_factor) if len(xy) else []
        geoms = shapely.simplify(geoms, simplify_m) if len(xy) else []
        out = gpd.GeoDataFrame(
            {"facility_id": ids, "usable": True, "distance_m": distance_m,
             "method": METHOD_STRAIGHT},
            geometry=list(geoms), crs=crs,
        )
        return out.to_crs(settings.STORAGE_CRS)
    f_xy = network.project(f_lon, f_lat)
    node, snap = network.snap(f_xy)
    geoms: list[shapely.Geometry | None] = [None] * len(ids)
    usable = snap <= max_snap_m
    todo = np.flatnonzero(usable & (snap < distance_m))
    batch = max(1, 2_000_000 // max(network.n_nodes, 1))
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        dist = dijkstra(network.graph, directed=False, indices=node[chunk], limit=distance_m)
        dist = np.atleast_2d(dist)
        for row, fi in enumerate(chunk):
            pieces = reachable_pieces(network, dist[row], distance_m - snap[fi])
            leg = shapely.linestrings([f_xy[fi], network.node_xy[node[fi]]])
            pieces.append(leg if snap[fi] > 0 else shapely.points(f_xy[fi]))
            area = shapely.buffer(shapely.union_all(pieces), buffer_m)
            geoms[fi] = shapely.simplify(area, simplify_m)
    out = gpd.GeoDataFrame(
        {"facility_id": ids, "usable": usable, "snap_m": snap, "distance_m": distance_m,
         "method": METHOD_NETWORK, "provenance": network.provenance},
        geometry=geoms, crs=network.crs,
    )
    return out.to_crs(settings.STORAGE_CRS)


def reachable_pieces(net: WalkNetwork, node_dist: np.ndarray, budget_m: float) -> list:
    """Edge pieces reachable within ``budget_m`` given the distance of every node.

    An edge is whole when the budget left at its two ends together spans it; otherwise
    the piece within the remaining budget is cut from each reached end.
    """
    L = net.edge_length_m
    ru = budget_m - node_dist[net.edge_u]
    rv = budget_m - node_dist[net.edge_v]
    ru = np.where(np.isfinite(ru), ru, -1.0)
    rv = np.where(np.isfinite(rv), rv, -1.0)
    ru_pos, rv_pos = np.maximum(ru, 0.0), np.maximum(rv, 0.0)
    whole = (ru >= 0) & (rv >= 0) & (ru_pos + rv_pos >= L) | (ru >= L) | (rv >= L)
    pieces = list(net.edge_geometry[whole])
    for e in np.flatnonzero(~whole & (ru > 0)):
        pieces.append(shapely.ops.substring(net.edge_geometry[e], 0.0, float(ru[e])))
    for e in np.flatnonzero(~whole & (rv > 0)):
        pieces.append(shapely.ops.substring(net.edge_geometry[e], float(L[e] - rv[e]), float(L[e])))
    return pieces


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


# ---------------------------------------------------------------------- targets
def access_params(target) -> dict:
    """The ``[access]`` table of a target with defaults; ``time_min`` × speed → distance."""
    raw = getattr(target, "access", None)
    if raw is None:
        raw = (getattr(target, "params", None) or {}).get("access", {})
    raw = dict(raw or {})
    speed = float(raw.get("speed_m_per_min", DEFAULT_SPEED_M_PER_MIN))
    if raw.get("time_min") is not None:
        distance = float(raw["time_min"]) * speed
    else:
        distance = float(raw.get("distance_m", DEFAULT_DISTANCE_M))
    if not (distance > 0 and speed > 0):
        raise NetworkError(
            f"target {getattr(target, 'id', '?')}: [access] distance_m and speed_m_per_min "
            "must be positive"
        )
    return {
        "distance_m": distance,
        "speed_m_per_min": speed,
        "demand": str(raw.get("demand", "urban")),
        "max_snap_m": float(raw.get("max_snap_m", DEFAULT_MAX_SNAP_M)),
        "detour_factor": float(raw.get("detour_factor", DEFAULT_DETOUR_FACTOR)),
    }


def target_facilities(target, facilities: gpd.GeoDataFrame, default_type: str) -> gpd.GeoDataFrame:
    """Facilities a target counts: ``target.facility`` = {type, tier, level} filter."""
    spec = dict(getattr(target, "facility", None) or {})
    ftype = spec.get("type", default_type)
    sel = facilities[facilities["type"] == ftype]
    for key in ("tier", "level"):
        want = spec.get(key)
        if want is not None and key in sel.columns:
            wanted = [want] if isinstance(want, str) else list(want)
            sel = sel[sel[key].isin(wanted)]
    return sel


def context_network(ctx) -> WalkNetwork | None:
    """The walking network of an evaluation context (loaded once per path and mtime)."""
    from coverage.network import load_network

    net = getattr(ctx, "network", None)
    if isinstance(net, WalkNetwork):
        return net
    if net is None:
        net = getattr(ctx.dataset, "network_path", None)
    if net is None:
        return None
    ds_prov = (getattr(ctx.dataset, "layer_provenance", None) or {}).get("network")
    return load_network(net, provenance=ds_prov)


def _provenance(ds, facilities: gpd.GeoDataFrame, net: WalkNetwork | None) -> str:
    fac = sorted(set(facilities["provenance"].astype(str))) if "provenance" in facilities else []
    fac_p = "|".join(fac) or ds.layer_provenance.get("facilities", "unknown")
    pop_p = "|".join(sorted(set(ds.villages.get("pop_provenance", pd.Series(["estimated"])).astype(str))))
    loc_p = "|".join(sorted(set(ds.villages.get("provenance", pd.Series(["unknown"])).astype(str))))
    return (f"facilities={fac_p};population={pop_p};village_points={loc_p};"
            f"network={net.provenance if net is not None else 'none'}")


def access_result(target, ctx) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per-demand-point results and per-unit coverage of an ``access`` target.

    Returns ``(points, units, info)``; ``info`` holds the parameters, the method, the
    network (or None) and the provenance string.
    """
    ds = ctx.dataset
    prm = access_params(target)
    facilities = getattr(ctx, "facilities", None)
    if facilities is None:
        facilities = ds.facilities_for(getattr(ctx, "year", None))
    fac = target_facilities(target, facilities, default_type="fitness")
    net = context_network(ctx)
    pts = demand_points(ds, prm["demand"])
    near = nearest_facility(pts, fac, network=net, limit_m=prm["distance_m"],
                            max_snap_m=prm["max_snap_m"], detour_factor=prm["detour_factor"])
    points = pd.concat([pts.drop(columns="geometry"), near], axis=1)
    points["lon"], points["lat"] = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    units = coverage_by_unit(points, ds)
    info = dict(prm, method=near["method"].iloc[0] if len(near) else
                (METHOD_NETWORK if net is not None else METHOD_STRAIGHT),
                network=net, facilities=fac, provenance=_provenance(ds, fac, net))
    return points, units, info


def evaluate_access_target(target, ctx) -> pd.DataFrame:
    """Result rows (docs/ARCHITECTURE.md schema) of an ``access`` target, one per unit.

    ``required`` and ``actual`` are covered shares (0–1); ``shortfall`` is the number of
    people still to be brought within the walking distance to reach ``required``
    (unreachable residents count as not covered). Units without any resident point of the
    target's demand (e.g. rural townships for ``demand = "urban"``) are
    ``not_applicable``; units whose resident points are all farther than ``max_snap_m``
    from the network are ``no_data``.
    """
    points, units, info = access_result(target, ctx)
    ds = ctx.dataset
    level = getattr(target, "unit_level", "township") or "township"
    required = float(getattr(target, "threshold", None) if getattr(target, "threshold", None)
                     is not None else 1.0)
    table = ds.units(level) if level != "city" else pd.DataFrame([ds.city])
    table = pd.DataFrame(table).drop(columns="geometry", errors="ignore")
    u = units[units["unit_level"] == level].set_index("unit_code")
    county_names = dict(zip(ds.counties["code"].astype(str), ds.counties["name"].astype(str)))
    d = int(round(info["distance_m"]))
    rows = []
    for rec in table.to_dict("records"):
        code = str(rec["code"])
        county = code if level == "county" else str(rec.get("county_code", "") or "")
        row = {
            "target_id": getattr(target, "id", ""), "kind": "access", "unit_level": level,
            "unit_code": code, "unit_name": str(rec.get("name", "")),
            "county_code": county, "county_name": county_names.get(county, ""),
            "township_code": str(rec.get("township_code", "") or ""),
            "year": getattr(ctx, "year", None), "required": required,
            "shortfall_unit": "people", "is_plan_level": level == "city",
            "clause": getattr(target, "clause", "") or "",
            "source_lines": getattr(target, "source_lines", "") or "",
            "provenance": info["provenance"], "method": info["method"],
        }
        if code not in u.index or not u.at[code, "pop_demand"] > 0:
            row.update(status="not_applicable", actual=np.nan, shortfall=0.0,
                       action="无城镇居民点，不适用" if info["demand"] == "urban" else "无居民点")
        elif u.at[code, "pop_unreachable"] >= u.at[code, "pop_demand"]:
            row.update(status="no_data", actual=np.nan, shortfall=0.0,
                       action=f"居民点距路网均超过{info['max_snap_m']:.0f}米，需补充路网数据")
        else:
            share = float(u.at[code, "covered_share"])
            demand_pop = float(u.at[code, "pop_demand"])
            need = max(0.0, float(np.ceil(required * demand_pop - u.at[code, "pop_covered"] - 1e-9)))
            unreach = float(u.at[code, "pop_unreachable"])
            met = share + 1e-12 >= required
            action = "" if met else (
                f"步行{d}米内未覆盖{int(round(u.at[code, 'pop_uncovered']))}人，"
                "建议在未覆盖社区增设体育健身设施")
            if unreach > 0:
                action += f"（其中{int(round(unreach))}人距路网超过{info['max_snap_m']:.0f}米）"
            row.update(status="met" if met else "not_met", actual=share, shortfall=need,
                       action=action)
        rows.append(row)
    return pd.DataFrame(rows)
