"""The CSR walking network: :class:`WalkNetwork` and the shortest-path passes on it.

A :class:`WalkNetwork` is what every access computation uses: node coordinates in the
working CRS (EPSG:4549, metres), one undirected edge list with projected edge geometries,
a symmetric ``scipy.sparse`` CSR matrix of edge lengths (metres) and a KD-tree over the
nodes for snapping (:mod:`coverage.access.snap`). :func:`multi_source_dijkstra` is the one
``scipy.sparse.csgraph`` pass every nearest-facility computation makes. Reading OSM files
into a network is :mod:`coverage.access.osm`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import shapely
import shapely.ops
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from coverage._errors import NetworkError
from coverage.access.snap import (
    SNAP_MODES,
    EdgeSnap,
    SegmentGrid,
    _spatial_order,
    node_snap,
    snap_to_edges,
    snap_to_nodes,
)
from layers import settings

#: lon/lat area in which EPSG:4549 (Gauss-Kruger CM 120E) is valid
WORKING_CRS_LON_RANGE: tuple[float, float] = (118.5, 121.5)


@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def metric_crs_for(lon: np.ndarray, lat: np.ndarray) -> str:
    """Metric CRS for a network: EPSG:4549 inside its zone (all of Lishui), else local UTM.

    The real OSM test extracts (California, Bavaria) lie far outside the Gauss-Kruger
    zone of EPSG:4549, where its scale error would be huge; they use their UTM zone.
    """
    lo, hi = WORKING_CRS_LON_RANGE
    if len(lon) == 0 or (np.min(lon) >= lo and np.max(lon) <= hi and np.min(lat) > 0):
        return settings.WORKING_CRS
    lon_c, lat_c = float(np.median(lon)), float(np.median(lat))
    zone = int((lon_c + 180.0) // 6.0) % 60 + 1
    return f"EPSG:{32600 + zone if lat_c >= 0 else 32700 + zone}"


@dataclass
class WalkNetwork:
    """An undirected walking network in EPSG:4549 (metres).

    Attributes
    ----------
    crs : str
        Metric CRS of every coordinate and length: EPSG:4549 for Lishui (always for the
        embedded network), the local UTM zone for networks outside its zone.
    source : str
        File path or ``download:<hash>`` the network came from.
    provenance : str
        ``real`` for OpenStreetMap data, ``synthetic`` for the generated Lishui network.
    node_osmid : ndarray of int64
        OSM node id of each node (index = node number used everywhere else).
    node_xy : ndarray, shape (n, 2)
        Node coordinates in ``crs`` (EPSG:4549 for Lishui), metres.
    edge_u, edge_v : ndarray of int64
        End nodes of each undirected edge; the geometry runs from ``edge_u`` to ``edge_v``.
    edge_length_m : ndarray of float64
        Length of each edge's projected geometry, metres.
    edge_geometry : ndarray of shapely LineString
        Edge geometries in ``crs``, oriented ``edge_u`` → ``edge_v``.
    graph : scipy.sparse.csr_matrix, shape (n, n)
        Symmetric matrix of the shortest edge length between each pair of adjacent nodes.
    edge_steps : ndarray of bool or None
        ``highway=steps`` on the edge (any of its merged OSM ways); None when unknown.
    """

    crs: str
    source: str
    provenance: str
    node_osmid: np.ndarray
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_geometry: np.ndarray
    graph: csr_matrix
    edge_steps: np.ndarray | None = None
    _tree: cKDTree | None = field(default=None, repr=False)
    _tree_order: np.ndarray | None = field(default=None, repr=False)
    _edge_tree: shapely.STRtree | None = field(default=None, repr=False)
    _segment_grid: SegmentGrid | None = field(default=None, repr=False)

    @property
    def n_nodes(self) -> int:
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.edge_u.shape[0])

    @property
    def tree(self) -> cKDTree:
        """KD-tree over the node coordinates, built once on a spatially sorted copy.

        Tree index ``i`` is node ``self._tree_order[i]``; :meth:`snap` translates.
        """
        if self._tree is None:
            self._tree_order = _spatial_order(self.node_xy)
            self._tree = cKDTree(self.node_xy[self._tree_order])
        return self._tree

    def project(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """lon/lat (EPSG:4326) → (k, 2) array of metres in the network's CRS."""
        x, y = _transformer(settings.STORAGE_CRS, self.crs).transform(
            np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        )
        return np.column_stack([x, y])

    def unproject(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(k, 2) metres in the network's CRS → (lon, lat) arrays, EPSG:4326."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        return _transformer(self.crs, settings.STORAGE_CRS).transform(xy[:, 0], xy[:, 1])

    def snap(self, xy: np.ndarray, max_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point (exact, KD-tree).

        Large batches (≥ ``SNAP_SORT_MIN`` points) are queried in spatial order (200 m
        strips) for memory locality, which about halves the query time, and on every
        core (``workers=-1``). With ``max_m`` the search is first bounded to
        that distance; the few points beyond it are queried again without a bound, so
        the answer is exact either way.

        Parameters
        ----------
        xy : ndarray, shape (k, 2)
            Points in the network's CRS (EPSG:4549 for Lishui), metres.
        max_m : float, optional
            Expected snapping bound (a speed hint only).

        Returns
        -------
        node : ndarray of int64
            Index of the nearest network node.
        snap_m : ndarray of float64
            Straight-line distance from the point to that node, metres.
        """
        return snap_to_nodes(self.tree, self._tree_order, xy, max_m)

    @property
    def edge_tree(self) -> shapely.STRtree:
        """shapely STRtree over the edge geometries (metric CRS), built once."""
        if self._edge_tree is None:
            self._edge_tree = shapely.STRtree(self.edge_geometry)
        return self._edge_tree

    @property
    def segment_grid(self) -> SegmentGrid:
        """Edge segments bucketed in 100 m cells for fast exact snapping, built once."""
        if self._segment_grid is None:
            self._segment_grid = SegmentGrid.build(self.edge_geometry)
        return self._segment_grid

    def snap_points(self, xy: np.ndarray, mode: str = "edge") -> EdgeSnap:
        """Where each point joins the network: nearest edge point (default) or node.

        See :mod:`coverage.access.snap`. ``xy`` is in the network's CRS (metres).
        """
        if mode not in SNAP_MODES:
            raise NetworkError(f"snap mode must be one of {', '.join(SNAP_MODES)} (got {mode!r})")
        if mode == "node":
            node, leg = self.snap(xy)
            return node_snap(node, leg, self.node_xy)
        snap = snap_to_edges(self.edge_tree, self.edge_geometry, xy, grid=self.segment_grid,
                             node_dist_fn=lambda p: self.snap(p)[1])
        if len(snap.edge) and self.n_edges:
            snap.pos_m = np.clip(snap.pos_m, 0.0, self.edge_length_m[snap.edge])
        return snap

    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the nodes, EPSG:4326."""
        lon, lat = self.unproject(self.node_xy)
        return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))

    def total_length_m(self) -> float:
        return float(self.edge_length_m.sum())

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_osmnx(cls, G: nx.MultiDiGraph, *, source: str, provenance: str) -> "WalkNetwork":
        """Convert an osmnx graph (EPSG:4326, unprojected) into a :class:`WalkNetwork`.

        Parallel directed edges (both directions of a street) become one undirected edge;
        edge lengths are recomputed from the projected geometry (EPSG:4549 in Lishui).
        """
        if G.number_of_nodes() == 0 or G.number_of_edges() == 0:
            raise NetworkError(f"{source}: the walking network is empty (no walkable ways)")
        osmids = np.fromiter(G.nodes, dtype=np.int64, count=G.number_of_nodes())
        index = {int(o): i for i, o in enumerate(osmids)}
        lon = np.array([float(G.nodes[o]["x"]) for o in osmids])
        lat = np.array([float(G.nodes[o]["y"]) for o in osmids])
        crs = metric_crs_for(lon, lat)
        to_metric = _transformer(settings.STORAGE_CRS, crs)
        x, y = to_metric.transform(lon, lat)
        node_xy = np.column_stack([x, y])

        seen: set[tuple[int, int, float]] = set()
        us: list[int] = []
        vs: list[int] = []
        steps: list[bool] = []
        coord_chunks: list[np.ndarray] = []
        for u, v, data in G.edges(data=True):
            iu, iv = index[int(u)], index[int(v)]
            if iu == iv:
                continue
            geom = data.get("geometry")
            if geom is not None:
                coords = np.asarray(shapely.get_coordinates(geom), dtype=float)
            else:
                coords = np.array([[lon[iu], lat[iu]], [lon[iv], lat[iv]]])
            if iu > iv:  # orient every edge from the smaller to the larger node number
                iu, iv, coords = iv, iu, coords[::-1]
            key = (iu, iv, round(float(data.get("length", 0.0)), 2))
            if key in seen:
                continue
            seen.add(key)
            us.append(iu)
            vs.append(iv)
            hw = data.get("highway")
            steps.append(hw == "steps" or isinstance(hw, list) and "steps" in hw)
            coord_chunks.append(coords)
        if not us:
            raise NetworkError(f"{source}: the walking network has no usable edges")
        sizes = np.array([len(c) for c in coord_chunks])
        all_lonlat = np.concatenate(coord_chunks)
        px, py = to_metric.transform(all_lonlat[:, 0], all_lonlat[:, 1])
        proj = np.column_stack([px, py])
        # pin the ends exactly on the projected node coordinates
        ends = np.cumsum(sizes)
        starts = ends - sizes
        edge_u = np.asarray(us, dtype=np.int64)
        edge_v = np.asarray(vs, dtype=np.int64)
        proj[starts] = node_xy[edge_u]
        proj[ends - 1] = node_xy[edge_v]
        geoms = shapely.linestrings(proj, indices=np.repeat(np.arange(len(sizes)), sizes))
        length = shapely.length(geoms)
        graph = _csr_from_edges(len(osmids), edge_u, edge_v, length)
        return cls(
            crs=crs,
            source=source,
            provenance=provenance,
            node_osmid=osmids,
            node_xy=node_xy,
            edge_u=edge_u,
            edge_v=edge_v,
            edge_length_m=length,
            edge_geometry=geoms,
            graph=graph,
            edge_steps=np.asarray(steps, dtype=bool),
        )


def _csr_from_edges(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray,
                    w_back: np.ndarray | None = None) -> csr_matrix:
    """CSR matrix keeping the cheapest of parallel edges (no summing).

    Symmetric with ``w`` both ways; with ``w_back`` the matrix is directed:
    ``[u, v] = w`` and ``[v, u] = w_back`` (uphill ≠ downhill).
    """
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    wts = np.concatenate([w, w if w_back is None else w_back])
    order = np.lexsort((wts, cols, rows))
    rows, cols, wts = rows[order], cols[order], wts[order]
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, wts = rows[keep], cols[keep], wts[keep]
    # a zero-length edge would vanish from a sparse matrix: give it a millimetre
    wts = np.maximum(wts, 1e-3)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    indptr = np.cumsum(indptr)
    return csr_matrix((wts, cols.astype(np.int32), indptr), shape=(n, n))


# ---------------------------------------------------------------------- shortest paths
def multi_source_dijkstra(
    graph: csr_matrix, source_nodes: np.ndarray, source_offset_m: np.ndarray, *, limit_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cost from the nearest source to every node, each source joined at one or two nodes.

    One virtual node per source is appended to the CSR matrix (rows only, so existing
    rows are reused untouched) with directed edges to its node(s): ``source_nodes`` of
    shape ``(m,)`` (node snapping: one edge, weight ``source_offset_m``) or ``(m, 2)``
    (edge snapping: the two end nodes of the source's edge, weights = access leg +
    partial length to each end, the edge split virtually). One
    ``csgraph.dijkstra(min_only=True)`` pass then solves all sources at once.

    Returns
    -------
    dist : ndarray, shape (n,)
        Cost (metres, or minutes on a time graph); ``inf`` beyond ``limit_m``.
    source : ndarray, shape (n,)
        Index into ``source_nodes`` of the nearest source; -1 where not reached.
    """
    n = graph.shape[0]
    nodes = np.asarray(source_nodes)
    offs = np.asarray(source_offset_m, dtype=float)
    m = nodes.shape[0]
    j = 1 if nodes.ndim == 1 else nodes.shape[1]
    indptr = np.concatenate([graph.indptr, graph.indptr[-1] + j * np.arange(1, m + 1)])
    indices = np.concatenate([graph.indices, nodes.reshape(-1).astype(graph.indices.dtype)])
    data = np.concatenate([graph.data, offs.reshape(-1)])  # explicit zeros stay edges
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
