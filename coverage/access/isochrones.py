"""Isochrones: the streets from which a facility is reached within a time budget, as polygons.

The minutes counterpart of :func:`coverage.access.areas.service_areas`: on a
:class:`~coverage.access.route.CostModel` (minutes on slopes,
:mod:`coverage.access.terrain`) the service area of a facility is every piece of street
from which walking **to** the facility takes at most ``budget`` (home → facility, uphill ≠
downhill, so the area is not symmetric). Per facility: one ``csgraph.dijkstra`` on the
reversed graph from the two ends of its edge (the edge split virtually at the joining
point), then each edge is cut where its remaining budget runs out, by inverting the
edge's cumulative cost profile (exact: the cost is piecewise linear along the edge).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
import shapely.ops
from scipy.sparse.csgraph import dijkstra

from coverage.access.areas import SERVICE_AREA_BUFFER_M, SERVICE_AREA_SIMPLIFY_M
from coverage.access.graph import WalkNetwork
from coverage.access.nearest import DEFAULT_MAX_SNAP_M, METHOD_NETWORK, _lonlat
from coverage.access.route import CostModel, _attachments, _take
from layers import settings


def _cum(cost: CostModel, which: str, g: np.ndarray) -> np.ndarray:
    """Cumulative cost at global positions ``g`` (identity on the flat)."""
    if cost.cum_pos is None:
        return np.asarray(g, dtype=float)
    return np.interp(g, cost.cum_pos, cost.cum_fwd if which == "f" else cost.cum_bwd)


def _inv(cost: CostModel, which: str, y: np.ndarray) -> np.ndarray:
    """Global position where the cumulative cost reaches ``y``."""
    if cost.cum_pos is None:
        return np.asarray(y, dtype=float)
    return np.interp(y, cost.cum_fwd if which == "f" else cost.cum_bwd, cost.cum_pos)


def reachable_pieces_cost(net: WalkNetwork, cost: CostModel, node_cost: np.ndarray,
                          budget: float) -> list:
    """Pieces of edges from which some node with known cost-to-facility is within budget."""
    start = (cost.edge_start if cost.edge_start is not None
             else np.concatenate([[0.0], np.cumsum(net.edge_length_m)[:-1]]))
    L = net.edge_length_m
    ru = budget - node_cost[net.edge_u]
    rv = budget - node_cost[net.edge_v]
    ru = np.where(np.isfinite(ru), ru, -1.0)
    rv = np.where(np.isfinite(rv), rv, -1.0)
    # from u: x ≤ x_u (walking back to u); from v: x ≥ x_v (walking on to v)
    x_u = np.where(ru >= 0, _inv(cost, "b", _cum(cost, "b", start) + np.maximum(ru, 0)) - start, -1.0)
    x_v = np.where(rv >= 0, _inv(cost, "f", _cum(cost, "f", start + L) - np.maximum(rv, 0)) - start,
                   L + 1.0)
    x_u = np.minimum(x_u, L)
    x_v = np.maximum(x_v, 0.0)
    whole = x_u >= x_v
    pieces = list(net.edge_geometry[whole])
    for e in np.flatnonzero(~whole & (x_u > 0)):
        pieces.append(shapely.ops.substring(net.edge_geometry[e], 0.0, float(x_u[e])))
    for e in np.flatnonzero(~whole & (x_v < L)):
        pieces.append(shapely.ops.substring(net.edge_geometry[e], float(x_v[e]), float(L[e])))
    return pieces


def isochrones(
    facilities: gpd.GeoDataFrame, *, network: WalkNetwork, cost: CostModel, budget: float,
    max_snap_m: float = DEFAULT_MAX_SNAP_M, buffer_m: float = SERVICE_AREA_BUFFER_M,
    simplify_m: float = SERVICE_AREA_SIMPLIFY_M, facility_id_col: str = "facility_id",
) -> gpd.GeoDataFrame:
    """Isochrone polygon of each facility (EPSG:4326): home → facility within ``budget``.

    ``budget`` is in ``cost.unit`` (minutes for a terrain model). Edge snapping; the
    facility's access leg is walked on the flat. Facilities off the network get an empty
    geometry and ``usable = False``.
    """
    f_lon, f_lat = _lonlat(facilities, what="facilities")
    ids = facilities[facility_id_col].astype(str).to_list()
    f_xy = network.project(f_lon, f_lat)
    js = network.snap_points(f_xy, "edge")
    usable = js.leg_m <= max_snap_m
    geoms: list[shapely.Geometry | None] = [None] * len(ids)
    todo = np.flatnonzero(usable & (js.leg_m * cost.leg_per_m < budget))
    if len(todo):
        nodes, att = _attachments(network, cost, _take(js, todo), to_point=True)
        batch = max(1, 1_000_000 // max(network.n_nodes, 1))
        for start in range(0, len(todo), batch):
            rows = np.arange(start, min(start + batch, len(todo)))
            dist = dijkstra(cost.reverse, directed=True, indices=nodes[rows].ravel(), limit=budget)
            dist = np.atleast_2d(dist).reshape(len(rows), 2, -1)
            for r, row in enumerate(rows):
                fi = todo[row]
                node_cost = np.minimum(dist[r, 0] + att[row, 0], dist[r, 1] + att[row, 1])
                pieces = reachable_pieces_cost(network, cost, node_cost, budget)
                e, p = js.edge[fi], js.pos_m[fi]
                r0 = budget - js.leg_m[fi] * cost.leg_per_m
                g0 = (cost.edge_start[e] if cost.edge_start is not None
                      else float(np.concatenate([[0.0], np.cumsum(network.edge_length_m)])[e]))
                lo = _inv(cost, "f", _cum(cost, "f", g0 + p) - r0) - g0
                hi = _inv(cost, "b", _cum(cost, "b", g0 + p) + r0) - g0
                g = network.edge_geometry[e]
                pieces.append(shapely.ops.substring(g, max(0.0, float(lo)),
                                                    min(float(g.length), float(hi))))
                pieces.append(shapely.linestrings([f_xy[fi], js.joint_xy[fi]]) if js.leg_m[fi] > 0
                              else shapely.points(f_xy[fi]))
                area = shapely.buffer(shapely.union_all(pieces), buffer_m, quad_segs=2)
                geoms[fi] = shapely.simplify(area, simplify_m)
    out = gpd.GeoDataFrame(
        {"facility_id": ids, "usable": usable, "snap_m": js.leg_m, "budget": budget,
         "unit": cost.unit, "method": METHOD_NETWORK, "provenance": network.provenance},
        geometry=geoms, crs=network.crs,
    )
    return out.to_crs(settings.STORAGE_CRS)
