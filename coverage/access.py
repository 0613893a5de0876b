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
