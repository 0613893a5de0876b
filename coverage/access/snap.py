"""Snapping points to the walking network.

Two rules, both with a straight access leg from the point to where it joins the network:

* ``edge`` (the default): the nearest point on the nearest walkable edge (shapely
  ``STRtree.query_nearest`` in the metric CRS, EPSG:4549 for Lishui), the edge split
  virtually into two partial lengths (:class:`EdgeSnap`, :func:`snap_to_edges`);
* ``node``: the nearest network node (junction or dead end, KD-tree,
  :func:`snap_to_nodes`), kept for comparison. On sparse real OSM it moves routes by
  hundreds of metres (issue 15: West Oakland, −749 to +1,618 m).

A point whose leg exceeds ``max_snap_m`` is *off the network* (status ``unreachable``).
This module is where every snapping rule lives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

#: batches at least this large are snapped in spatial order (see :func:`snap_to_nodes`)
SNAP_SORT_MIN: int = 4096


def _spatial_order(xy: np.ndarray, cell_m: float = 200.0) -> np.ndarray:
    """Permutation putting points in 200 m strips, ordered along each strip."""
    cell = np.floor((xy - xy.min(0)) / cell_m).astype(np.int64)
    return np.argsort((cell[:, 0] << 32) | cell[:, 1], kind="stable")


def snap_to_nodes(tree: cKDTree, tree_order: np.ndarray, xy: np.ndarray,
                  max_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Nearest node of each point (exact, KD-tree).

    Large batches (≥ ``SNAP_SORT_MIN`` points) are queried in spatial order (200 m
    strips) for memory locality, which about halves the query time, and on every
    core (``workers=-1``). With ``max_m`` the search is first bounded to
    that distance; the few points beyond it are queried again without a bound, so
    the answer is exact either way.

    Parameters
    ----------
    tree : cKDTree
        KD-tree over the network's nodes, built in ``tree_order``.
    tree_order : ndarray of int64
        Tree index ``i`` is node ``tree_order[i]``.
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
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    k = len(xy)
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    order = _spatial_order(xy) if k >= SNAP_SORT_MIN else np.arange(k)
    q = xy[order]
    bound = np.inf if max_m is None else float(max_m) * (1 + 1e-9)
    workers = -1 if k >= SNAP_SORT_MIN else 1
    d_s, i_s = tree.query(q, k=1, distance_upper_bound=bound, workers=workers)
    miss = ~np.isfinite(d_s)
    if miss.any():
        d_s[miss], i_s[miss] = tree.query(q[miss], k=1, workers=workers)
    node = np.empty(k, dtype=np.int64)
    dist = np.empty(k)
    node[order] = tree_order[i_s]
    dist[order] = d_s
    return node, dist


# ---------------------------------------------------------------------- edge snapping
#: snapping modes: ``edge`` (default: nearest point on the nearest walkable edge) or
#: ``node`` (nearest junction or dead end, the old rule, kept for comparison)
SNAP_MODES: tuple[str, ...] = ("edge", "node")


@dataclass
class EdgeSnap:
    """Where each point joins the network.

    A point joins at ``pos_m`` along edge ``edge`` (measured from the edge's ``edge_u``
    end along its geometry); the edge is split *virtually*: ``to_u_m = pos_m`` and
    ``to_v_m = length − pos_m`` are the two partial lengths, the graph itself is not
    copied. Node snapping is the special case ``pos_m ∈ {0, length}``.

    Attributes
    ----------
    edge : ndarray of int64
        Edge index (into ``WalkNetwork.edge_u``); -1 for an empty network.
    pos_m : ndarray of float64
        Position of the joining point along the edge, metres from ``edge_u``.
    leg_m : ndarray of float64
        Straight access leg from the point to the joining point, metres (the reported
        "snap distance"; points with ``leg_m > max_snap_m`` are off the network).
    joint_xy : ndarray, shape (k, 2)
        The joining point, in the network's metric CRS.
    mode : str
        ``edge`` or ``node``.
    node : ndarray of int64 or None
        Node snapping only: the node each point joins at (``edge`` is then -1).
    """

    edge: np.ndarray
    pos_m: np.ndarray
    leg_m: np.ndarray
    joint_xy: np.ndarray
    mode: str
    #: node snapping only: the node each point joins at (``edge`` is then -1)
    node: np.ndarray | None = None


def snap_to_edges(tree: shapely.STRtree, geoms: np.ndarray, xy: np.ndarray,
                  node_dist: np.ndarray | None = None, grid: SegmentGrid | None = None,
                  chunk: int = 16384, node_dist_fn=None) -> EdgeSnap:
    """Nearest point on the nearest edge of each point (exact).

    With a :class:`SegmentGrid` the nearest straight segment among those bucketed in the
    3 × 3 cells around each point is taken (numpy, in chunks of ``chunk`` points): exact
    for every point within one cell size of the network. The other points ask the
    shapely STRtree: for edges within ``node_dist`` (each point's distance to its nearest
    node, an upper bound of the distance to the nearest edge, ``predicate="dwithin"``),
    else ``query_nearest``. Ties go to the lower edge index.

    Parameters
    ----------
    tree : shapely.STRtree
        Tree over ``geoms`` (the network's edge geometries, metric CRS).
    geoms : ndarray of LineString
        Edge geometries in the network's CRS (EPSG:4549 for Lishui), oriented u → v.
    xy : ndarray, shape (k, 2)
        Points in the same CRS, metres.
    node_dist : ndarray, optional
        Distance of each point to its nearest network node, metres.
    grid : SegmentGrid, optional
        The network's segment grid.
    node_dist_fn : callable, optional
        ``xy → node_dist`` for the points the grid leaves to the tree.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    k = len(xy)
    if k == 0 or len(geoms) == 0:
        return EdgeSnap(np.full(k, -1, dtype=np.int64), np.zeros(k), np.full(k, np.inf),
                        xy.copy(), "edge")
    order = _spatial_order(xy) if k >= SNAP_SORT_MIN else np.arange(k)
    edge = np.full(k, -1, dtype=np.int64)
    leg_m = np.full(k, np.inf)
    pos = np.zeros(k)
    joint = np.zeros((k, 2))
    todo = order
    if grid is not None:
        found_all = np.zeros(k, dtype=bool)
        for start in range(0, k, chunk):
            idx = order[start:start + chunk]
            e, p, d, q, found = grid.nearest(xy[idx])
            idx, e, p, d, q = idx[found], e[found], p[found], d[found], q[found]
            edge[idx], pos[idx], leg_m[idx], joint[idx] = e, p, d, q
            found_all[idx] = True
        todo = order[~found_all[order]]
    if len(todo):
        pts = shapely.points(xy[todo])
        e_t = np.full(len(todo), -1, dtype=np.int64)
        d_t = np.full(len(todo), np.inf)
        if node_dist is None and node_dist_fn is not None:
            bound = np.asarray(node_dist_fn(xy[todo]), dtype=float)
        elif node_dist is not None:
            bound = np.asarray(node_dist, dtype=float)[todo]
        else:
            bound = None
        if bound is not None:
            qi, ti = tree.query(pts, predicate="dwithin", distance=bound * (1 + 1e-9) + 1e-6)
            dist = shapely.distance(pts[qi], geoms[ti])
            best = np.lexsort((ti, dist, qi))
            qi, ti, dist = qi[best], ti[best], dist[best]
            first = np.ones(len(qi), dtype=bool)
            first[1:] = qi[1:] != qi[:-1]
            e_t[qi[first]] = ti[first]
            d_t[qi[first]] = dist[first]
        miss = np.flatnonzero(e_t < 0)
        if len(miss):
            (qi, ti), leg = tree.query_nearest(pts[miss], return_distance=True, all_matches=False)
            e_t[miss[qi]] = ti
            d_t[miss[qi]] = leg
        p_t = shapely.line_locate_point(geoms[e_t], pts)
        edge[todo], leg_m[todo], pos[todo] = e_t, d_t, p_t
        joint[todo] = shapely.get_coordinates(shapely.line_interpolate_point(geoms[e_t], p_t))
    return EdgeSnap(edge, pos, leg_m, joint, "edge")


def node_snap(node: np.ndarray, snap_m: np.ndarray, node_xy: np.ndarray) -> EdgeSnap:
    """Express node snapping as an :class:`EdgeSnap` (``edge = -1``, joined at ``node``)."""
    node = np.asarray(node, dtype=np.int64)
    return EdgeSnap(np.full(len(node), -1, dtype=np.int64), np.zeros(len(node)),
                    np.asarray(snap_m, dtype=float), node_xy[node].copy(), "node", node)


# ---------------------------------------------------------------------- segment grid
@dataclass
class SegmentGrid:
    """Every straight segment of the edge geometries, bucketed in square cells.

    Built once per network (:attr:`coverage.access.graph.WalkNetwork.segment_grid`).
    A point's nearest segment is exact when it lies within one cell size: any segment
    that close crosses the 3 × 3 block of cells around the point.
    """

    cell_m: float
    x0: float
    y0: float
    ncol: int
    a: np.ndarray          # (s, 2) segment starts
    b: np.ndarray          # (s, 2) segment ends
    edge: np.ndarray       # edge of each segment
    offset: np.ndarray     # distance along the edge to the segment start
    cell_ptr: np.ndarray   # CSR over cells → segment ids in cell_seg
    cell_seg: np.ndarray

    @classmethod
    def build(cls, geoms: np.ndarray, cell_m: float = 100.0) -> "SegmentGrid":
        coords, gi = shapely.get_coordinates(geoms, return_index=True)
        same = gi[1:] == gi[:-1]
        a, b, edge = coords[:-1][same], coords[1:][same], gi[:-1][same]
        seg_len = np.hypot(*(b - a).T)
        first = np.ones(len(edge), dtype=bool)
        first[1:] = edge[1:] != edge[:-1]
        csum = np.cumsum(seg_len)
        start_of_edge = np.maximum.accumulate(np.where(first, np.arange(len(edge)), 0))
        offset = csum - seg_len - (csum - seg_len)[start_of_edge]
        lo = np.minimum(a, b)
        hi = np.maximum(a, b)
        x0, y0 = lo.min(0) - cell_m
        c0 = np.floor((lo - [x0, y0]) / cell_m).astype(np.int64)
        c1 = np.floor((hi - [x0, y0]) / cell_m).astype(np.int64)
        ncol = int(c1[:, 0].max()) + 2
        nx_ = c1[:, 0] - c0[:, 0] + 1
        ny_ = c1[:, 1] - c0[:, 1] + 1
        cnt = nx_ * ny_
        seg = np.repeat(np.arange(len(edge)), cnt)
        k = np.arange(len(seg)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        cx = c0[seg, 0] + k % nx_[seg]
        cy = c0[seg, 1] + k // nx_[seg]
        cell = cy * ncol + cx
        order = np.argsort(cell, kind="stable")
        cell, seg = cell[order], seg[order]
        n_cells = int(cell.max()) + ncol + 2
        ptr = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=n_cells))])
        return cls(cell_m, float(x0), float(y0), ncol, a, b, edge, offset, ptr, seg)

    def nearest(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(edge, position along it, distance, joining point, found) of each point;
        ``found`` is False when the nearest segment is farther than one cell (the caller
        then asks the STRtree)."""
        k = len(xy)
        cx = np.floor((xy[:, 0] - self.x0) / self.cell_m).astype(np.int64)
        cy = np.floor((xy[:, 1] - self.y0) / self.cell_m).astype(np.int64)
        n_cells = len(self.cell_ptr) - 1
        dx = np.array([-1, 0, 1, -1, 0, 1, -1, 0, 1])
        dy = np.array([-1, -1, -1, 0, 0, 0, 1, 1, 1])
        ccx = cx[:, None] + dx
        c9 = (cy[:, None] + dy) * self.ncol + ccx
        ok = (c9 >= 0) & (c9 < n_cells) & (ccx >= 0) & (ccx < self.ncol)
        c9 = np.where(ok, c9, 0).ravel()
        lo = self.cell_ptr[c9]
        n = np.where(ok.ravel(), self.cell_ptr[c9 + 1] - lo, 0)
        # candidates in point order: (point, cell) blocks laid out row by row
        j = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
        per_point = n.reshape(k, 9).sum(1)
        p = np.repeat(np.arange(k), per_point)
        s = self.cell_seg[j]
        a = self.a[s]
        ab = self.b[s] - a
        l2 = np.einsum("ij,ij->i", ab, ab)
        rel = xy[p] - a
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip(np.einsum("ij,ij->i", rel, ab) / l2, 0.0, 1.0)
        t = np.where(l2 > 0, t, 0.0)
        q = a + t[:, None] * ab
        diff = rel - t[:, None] * ab
        d = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        e = self.edge[s]
        edge = np.full(k, -1, dtype=np.int64)
        pos = np.zeros(k)
        dist = np.full(k, np.inf)
        joint = np.zeros((k, 2))
        has = np.flatnonzero(per_point > 0)
        if len(p):
            starts = (np.cumsum(per_point) - per_point)[has]
            dmin = np.minimum.reduceat(d, starts)
            at_min = d <= np.repeat(dmin, per_point[has])
            big = np.iinfo(np.int64).max
            emin = np.minimum.reduceat(np.where(at_min, e, big), starts)
            pick = np.flatnonzero(at_min & (e == np.repeat(emin, per_point[has])))
            first = np.ones(len(pick), dtype=bool)
            first[1:] = p[pick[1:]] != p[pick[:-1]]
            pick = pick[first]
            pf, sf = p[pick], s[pick]
            edge[pf] = e[pick]
            dist[pf] = d[pick]
            pos[pf] = self.offset[sf] + t[pick] * np.sqrt(l2[pick])
            joint[pf] = q[pick]
        return edge, pos, dist, joint, dist <= self.cell_m
