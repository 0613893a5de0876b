"""Service areas: the walkable area around each facility as polygons (EPSG:4326).

Each facility's reachable network pieces within the distance budget (one Dijkstra pass,
:func:`coverage.access.graph.reachable_pieces`) are buffered by
:data:`SERVICE_AREA_BUFFER_M` and simplified by :data:`SERVICE_AREA_SIMPLIFY_M` in the
network's metric CRS; without a network, a straight-line disc of the distance divided by the
detour factor stands in, marked ``straight_line_detour``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
import shapely.ops
from scipy.sparse.csgraph import dijkstra

from coverage.access.graph import (
    WalkNetwork,
    _transformer,
    metric_crs_for,
    reachable_pieces,
)
from coverage.access.nearest import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_DISTANCE_M,
    DEFAULT_MAX_SNAP_M,
    METHOD_NETWORK,
    METHOD_STRAIGHT,
    _lonlat,
)
from layers import settings

SERVICE_AREA_BUFFER_M: float = 50.0


SERVICE_AREA_SIMPLIFY_M: float = 10.0


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
    snap: str = "edge",
) -> gpd.GeoDataFrame:
    """Service-area polygon of each facility, EPSG:4326, for the map.

    On a network: every edge reachable within ``distance_m`` from the point where the
    facility joins it (``snap="edge"``: nearest point of the nearest edge, the default;
    ``"node"``: the nearest node), access leg included, with partly reachable edges cut at the remaining distance, plus the snap
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
    js = network.snap_points(f_xy, snap)
    leg = js.leg_m
    if snap == "node":
        ends = np.column_stack([js.node, js.node])
        to_end = np.zeros((len(ids), 2))
    else:
        ends = np.column_stack([network.edge_u[js.edge], network.edge_v[js.edge]])
        to_end = np.column_stack([js.pos_m, network.edge_length_m[js.edge] - js.pos_m])
    geoms: list[shapely.Geometry | None] = [None] * len(ids)
    usable = leg <= max_snap_m
    todo = np.flatnonzero(usable & (leg < distance_m))
    batch = max(1, 1_000_000 // max(network.n_nodes, 1))
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        dist = dijkstra(network.graph, directed=False, indices=ends[chunk].ravel(),
                        limit=distance_m)
        dist = np.atleast_2d(dist).reshape(len(chunk), 2, -1)
        for row, fi in enumerate(chunk):
            # the edge split virtually at the joining point: walk to either end first
            node_dist = np.minimum(dist[row, 0] + to_end[fi, 0], dist[row, 1] + to_end[fi, 1])
            budget = distance_m - leg[fi]
            pieces = reachable_pieces(network, node_dist, budget)
            if snap != "node":  # the facility's own edge, both ways from the joining point
                g = network.edge_geometry[js.edge[fi]]
                p = js.pos_m[fi]
                pieces.append(shapely.ops.substring(g, max(0.0, p - budget),
                                                    min(float(g.length), p + budget)))
            pieces.append(shapely.linestrings([f_xy[fi], js.joint_xy[fi]]) if leg[fi] > 0
                          else shapely.points(f_xy[fi]))
            # quad_segs=2: 5x faster than the default, area within 1 % (a display layer)
            area = shapely.buffer(shapely.union_all(pieces), buffer_m, quad_segs=2)
            geoms[fi] = shapely.simplify(area, simplify_m)
    snap_m = leg
    out = gpd.GeoDataFrame(
        {"facility_id": ids, "usable": usable, "snap_m": snap_m, "distance_m": distance_m,
         "method": METHOD_NETWORK, "provenance": network.provenance},
        geometry=geoms, crs=network.crs,
    )
    return out.to_crs(settings.STORAGE_CRS)
