"""Snapping points to the walking network.

Today a point snaps to its nearest network **node** (junction or dead end) with a
straight access leg; :meth:`coverage.access.graph.WalkNetwork.snap` calls
:func:`snap_to_nodes`. This module is where every snapping rule lives.
"""

from __future__ import annotations

import numpy as np
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
