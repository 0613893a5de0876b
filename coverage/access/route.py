"""Routing from snapped points: home → nearest facility in one csgraph pass.

A :class:`CostModel` says what one metre of each edge costs, in each direction: metres
on the flat network (:func:`flat_cost`, symmetric) or minutes on slopes
(:mod:`coverage.access.terrain`, directed: uphill ≠ downhill). :func:`route_nearest`
joins snapped points (:class:`coverage.access.snap.EdgeSnap`) to the graph:

* each facility becomes a virtual source node with an edge to each end of its snapped
  edge, weighted by its access leg plus the partial cost from that end to the joining
  point (the edge is split virtually, the graph is not copied); one
  ``csgraph.dijkstra(min_only=True, limit=…)`` pass on the **reversed** graph gives,
  for every node, the cost of walking from it to the nearest facility;
* each home then reads its cost as the cheaper of its two partial edges (home → end
  node) plus that node's cost, plus its own leg;
* a home and a facility on the same edge may also meet directly along the edge
  (``same-edge`` case), checked per pair sharing an edge.

Access legs cost ``leg_per_m`` per metre (1 for metres, ``1 / flat speed`` for minutes):
they are walked on the flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from coverage.access.graph import WalkNetwork, multi_source_dijkstra
from coverage.access.snap import EdgeSnap


@dataclass
class CostModel:
    """Cost of walking along the network's edges.

    Attributes
    ----------
    graph : csr_matrix
        ``graph[i, j]`` = cost of walking the edge from node i to node j.
    unit : str
        ``m`` (metres) or ``min`` (minutes).
    leg_per_m : float
        Cost of one metre of straight access leg.
    directed : bool
        Whether ``graph`` differs by direction (then routing uses its transpose).
    cum_pos, cum_fwd, cum_bwd : ndarray or None
        Piecewise-linear cost profile along every edge (None on the flat, where cost =
        length): sample positions as one increasing "global" coordinate
        ``edge_start[e] + position``, the forward (u → v) cost accumulated up to each
        sample, and the backward (v → u) cost accumulated the same way.
    edge_start : ndarray or None
        Global coordinate of each edge's ``u`` end (cumulative edge lengths).
    """

    graph: csr_matrix
    unit: str
    leg_per_m: float
    directed: bool = False
    cum_pos: np.ndarray | None = None
    cum_fwd: np.ndarray | None = None
    cum_bwd: np.ndarray | None = None
    edge_start: np.ndarray | None = None
    _reverse: csr_matrix | None = None

    @property
    def reverse(self) -> csr_matrix:
        """The graph with every edge turned round (itself when undirected)."""
        if not self.directed:
            return self.graph
        if self._reverse is None:
            self._reverse = self.graph.T.tocsr()
        return self._reverse

    def along(self, edge: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cost of walking along ``edge`` from position ``a`` to position ``b`` (metres)."""
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
        if self.cum_pos is None:
            return np.abs(b - a)
        ga = self.edge_start[edge] + a
        gb = self.edge_start[edge] + b
        fwd = np.interp(gb, self.cum_pos, self.cum_fwd) - np.interp(ga, self.cum_pos, self.cum_fwd)
        bwd = np.interp(ga, self.cum_pos, self.cum_bwd) - np.interp(gb, self.cum_pos, self.cum_bwd)
        return np.where(b >= a, fwd, bwd)


def flat_cost(net: WalkNetwork) -> CostModel:
    """Metres on the flat: the network's symmetric length matrix."""
    return CostModel(graph=net.graph, unit="m", leg_per_m=1.0)


def _attachments(net: WalkNetwork, cost: CostModel, snap: EdgeSnap, *, to_point: bool
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, costs) joining each snapped point to the graph, shape (k, 2) or (k,).

    ``to_point``: cost of walking from each end node *to* the point (facilities, on the
    reversed graph); otherwise from the point to each end node (homes).
    """
    leg = snap.leg_m * cost.leg_per_m
    if snap.mode == "node":
        return snap.node, leg
    e = snap.edge
    L = net.edge_length_m[e]
    zero = np.zeros(len(e))
    if to_point:
        cu = cost.along(e, zero, snap.pos_m)
        cv = cost.along(e, L, snap.pos_m)
    else:
        cu = cost.along(e, snap.pos_m, zero)
        cv = cost.along(e, snap.pos_m, L)
    nodes = np.column_stack([net.edge_u[e], net.edge_v[e]])
    return nodes, np.column_stack([cu + leg, cv + leg])


def route_nearest(
    net: WalkNetwork, cost: CostModel, home: EdgeSnap, fac: EdgeSnap, *, limit: float,
    home_ok: np.ndarray, fac_ok: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Cost from each home to its nearest facility (one Dijkstra pass).

    Parameters
    ----------
    home, fac : EdgeSnap
        Snapped homes and facilities (same mode).
    limit : float
        Search bound in the cost unit; costs above it are ``inf``.
    home_ok, fac_ok : ndarray of bool
        Points on the network (leg within the snapping bound); the others are skipped.

    Returns
    -------
    cost : ndarray
        Cost (``cost.unit``), access legs included; ``inf`` when not reached.
    facility : ndarray of int64
        Index into the facility arrays of the nearest facility; -1 when none.
    """
    k = len(home.leg_m)
    out = np.full(k, np.inf)
    who = np.full(k, -1, dtype=np.int64)
    fidx = np.flatnonzero(fac_ok)
    if k == 0 or len(fidx) == 0:
        return out, who
    f_nodes, f_cost = _attachments(net, cost, _take(fac, fidx), to_point=True)
    node_cost, source = multi_source_dijkstra(cost.reverse, f_nodes, f_cost, limit_m=limit)
    h_nodes, h_cost = _attachments(net, cost, home, to_point=False)
    if h_nodes.ndim == 1:
        h_nodes, h_cost = h_nodes[:, None], h_cost[:, None]
    tot = node_cost[h_nodes] + h_cost
    best = np.argmin(tot, axis=1)
    rows = np.arange(k)
    out = tot[rows, best]
    src = source[h_nodes[rows, best]]
    if home.mode == "edge":
        out, src = _same_edge(net, cost, home, _take(fac, fidx), out, src)
    ok = home_ok & np.isfinite(out) & (out <= limit) & (src >= 0)
    res = np.where(ok, out, np.inf)
    who = np.where(ok, fidx[np.clip(src, 0, None)], -1)
    return res, who


def _take(s: EdgeSnap, idx: np.ndarray) -> EdgeSnap:
    return EdgeSnap(s.edge[idx], s.pos_m[idx], s.leg_m[idx], s.joint_xy[idx], s.mode,
                    None if s.node is None else s.node[idx])


def _same_edge(net: WalkNetwork, cost: CostModel, home: EdgeSnap, fac: EdgeSnap,
               out: np.ndarray, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Homes sharing an edge with a facility: walk straight along the edge if cheaper."""
    fe = pd.DataFrame({"edge": fac.edge, "f": np.arange(len(fac.edge))})
    he = pd.DataFrame({"edge": home.edge, "h": np.arange(len(home.edge))})
    pairs = he.merge(fe, on="edge", how="inner")
    if pairs.empty:
        return out, src
    h = pairs["h"].to_numpy()
    f = pairs["f"].to_numpy()
    c = (cost.along(home.edge[h], home.pos_m[h], fac.pos_m[f])
         + (home.leg_m[h] + fac.leg_m[f]) * cost.leg_per_m)
    order = np.lexsort((f, c, h))  # per home: cheapest first, then lowest facility index
    h, f, c = h[order], f[order], c[order]
    first = np.ones(len(h), dtype=bool)
    first[1:] = h[1:] != h[:-1]
    h, f, c = h[first], f[first], c[first]
    better = c < out[h]
    out = out.copy()
    src = src.copy()
    out[h[better]] = c[better]
    src[h[better]] = f[better]
    return out, src


def pair_costs(net: WalkNetwork, home: EdgeSnap, cand: EdgeSnap, *, limit: float,
               home_ok: np.ndarray, cand_ok: np.ndarray, cost: CostModel | None = None,
               batch: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (home, candidate) pair within ``limit``: home → candidate cost, legs included.

    The routes of :func:`route_nearest` (edge split virtually, same-edge pairs walked
    along their edge, minutes on a directed ``cost``), for every candidate instead of the
    nearest one: one ``csgraph.dijkstra`` call per ``batch`` candidates, from the
    candidates' edge ends on the reversed graph. Memory: the batch's node rows plus the
    pairs found (no home × candidate matrix).

    Returns
    -------
    home_idx, cand_idx : ndarray of int64
    cost : ndarray of float
        Metres (flat) or minutes (``cost.unit``); 0 is a real cost (home on the site).
    """
    from scipy.sparse.csgraph import dijkstra

    model = cost if cost is not None else flat_cost(net)
    h_nodes, h_cost = _attachments(net, model, home, to_point=False)
    c_nodes, c_cost = _attachments(net, model, cand, to_point=True)
    if h_nodes.ndim == 1:
        h_nodes, h_cost = h_nodes[:, None], h_cost[:, None]
        c_nodes, c_cost = c_nodes[:, None], c_cost[:, None]
    usable = np.flatnonzero(cand_ok & (cand.leg_m * model.leg_per_m <= limit))
    if batch is None:
        batch = int(max(1, min(256, 2e7 // max(net.n_nodes * c_nodes.shape[1], 1))))
    hs, cs, vals = [], [], []
    hk = np.flatnonzero(home_ok)
    for start in range(0, len(usable), batch):
        js = usable[start:start + batch]
        ends = c_nodes[js]
        dist = dijkstra(model.reverse, directed=True, indices=ends.ravel(), limit=limit)
        dist = dist.reshape(len(js), ends.shape[1], -1) + c_cost[js][:, :, None]
        node_best = dist.min(axis=1)  # (batch, nodes): node → the candidate's joining point
        total = np.min(node_best[:, h_nodes[hk]] + h_cost[hk][None, :, :], axis=2)
        jj, ii = np.nonzero(total <= limit)
        hs.append(hk[ii])
        cs.append(js[jj])
        vals.append(total[jj, ii])
    if home.mode == "edge" and len(usable):
        pairs = pd.DataFrame({"edge": home.edge[hk], "h": hk}).merge(
            pd.DataFrame({"edge": cand.edge[usable], "c": usable}), on="edge")
        h, c = pairs["h"].to_numpy(), pairs["c"].to_numpy()
        direct = (model.along(home.edge[h], home.pos_m[h], cand.pos_m[c])
                  + (home.leg_m[h] + cand.leg_m[c]) * model.leg_per_m)
        keep = direct <= limit
        hs.append(h[keep])
        cs.append(c[keep])
        vals.append(direct[keep])
    if not hs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    h, c, v = np.concatenate(hs), np.concatenate(cs), np.concatenate(vals)
    # a same-edge pair also found through the graph: keep the cheaper cost
    order = np.lexsort((v, c, h))
    h, c, v = h[order], c[order], v[order]
    first = np.ones(len(h), dtype=bool)
    first[1:] = (h[1:] != h[:-1]) | (c[1:] != c[:-1])
    return h[first], c[first], v[first]


def coverage_pairs(net: WalkNetwork, home: EdgeSnap, cand: EdgeSnap, *, limit_m: float,
                   home_ok: np.ndarray, cand_ok: np.ndarray, batch: int = 64):
    """Boolean home × candidate ``scipy.sparse.csr_matrix``: route ≤ ``limit_m`` (flat)."""
    import scipy.sparse as sp

    h, c, _ = pair_costs(net, home, cand, limit=limit_m, home_ok=home_ok, cand_ok=cand_ok,
                         batch=batch)
    return sp.csr_matrix((np.ones(len(h), bool), (h, c)), shape=(len(home.leg_m), len(cand.leg_m)))
