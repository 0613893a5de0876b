"""Benchmark: walking access (nearest facility within 1,000 m for every demand point).

Instances
---------
(a) generated: a jittered street grid of about 200,000 nodes (100 m blocks, 5 % of the
    segments removed), 2,000 facilities and 100,000 demand points, uniform at random;
    plus a 50,000-node version (same densities) to show how memory grows;
(b) embedded: the SYNTHETIC Lishui walking network of ``data/`` with the dataset's
    fitness facilities and every village/community point as demand.

Peers, same run, same instance
------------------------------
* **ours**: :func:`coverage.access.nearest_on_network`, the whole computation: snapping
  of demand points and facilities (KD-tree queries), the facility snap legs as virtual
  sources, one ``csgraph.dijkstra(min_only=True, limit=…)`` pass, demand snap legs added,
  nearest facility read off. Snapping queries of large batches use every core
  (``cKDTree.query(workers=-1)``; csgraph's Dijkstra is single-threaded). The network object (its CSR matrix and KD-tree) is built
  once per network and cached, as the bare call's CSR matrix is; a second row,
  "ours, KD-tree rebuilt too", also times the KD-tree build;
* **bare csgraph**: the single ``scipy.sparse.csgraph.dijkstra(graph, indices=facility
  nodes, min_only=True, limit=…)`` call on pre-snapped nodes, nothing else (the floor);
* **networkx multi-source**: ``nx.multi_source_dijkstra_path_length(G, facility nodes,
  cutoff=…)`` on an ``nx.Graph`` of the same edges (graph built outside the timing), plus
  the dictionary look-up for the demand nodes;
* **ego_graph per facility**: the osmnx-examples isochrone approach
  (``nx.ego_graph(G, node, radius=…, distance="length")`` per facility, then the min over
  facilities per node). Timed on a **sample** of facilities and **extrapolated** linearly
  to all of them; the report says so.

Time is the best of ``--repeat`` runs (wall clock); peak memory is ``tracemalloc``'s peak
during one run (Python and numpy allocations). Ratios are peer / ours. Goals (issue 4):
networkx multi-source ≥ 10× our time; ours ≤ 1.5× the bare csgraph call; memory linear
in size (no demand × facility matrix).

Run: ``python bench/bench_access.py`` (``--quick`` for smaller instances).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import networkx as nx
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coverage.access import nearest_on_network  # noqa: E402
from coverage.access import WalkNetwork  # noqa: E402
from coverage.access.graph import _csr_from_edges
from layers import settings  # noqa: E402

X0, Y0 = 450_000.0, 3_100_000.0  # EPSG:4549 metres, Lishui area
LIMIT_M = 1000.0


def grid_network(n_nodes: int, seed: int, block_m: float = 100.0) -> WalkNetwork:
    """A jittered square street grid of about ``n_nodes`` nodes (EPSG:4549 metres)."""
    rng = np.random.default_rng(seed)
    k = int(round(np.sqrt(n_nodes)))
    ii, jj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    xy = np.column_stack([ii.ravel(), jj.ravel()]).astype(float) * block_m
    xy += rng.normal(0, block_m * 0.15, xy.shape) + [X0, Y0]
    idx = np.arange(k * k).reshape(k, k)
    u = np.concatenate([idx[:-1, :].ravel(), idx[:, :-1].ravel()])
    v = np.concatenate([idx[1:, :].ravel(), idx[:, 1:].ravel()])
    keep = rng.random(len(u)) > 0.05
    u, v = u[keep], v[keep]
    length = np.hypot(*(xy[u] - xy[v]).T)
    geoms = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    return WalkNetwork(crs=settings.WORKING_CRS, source=f"generated grid {k}x{k}",
                       provenance="synthetic", node_osmid=np.arange(k * k), node_xy=xy,
                       edge_u=u, edge_v=v, edge_length_m=length, edge_geometry=geoms,
                       graph=_csr_from_edges(k * k, u, v, length))


def random_points(net: WalkNetwork, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = net.node_xy.min(0), net.node_xy.max(0)
    return lo + rng.random((n, 2)) * (hi - lo)


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """(best wall time s, tracemalloc peak MB of one run, last result)."""
    best, out = np.inf, None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return best, peak, out


def run_instance(name: str, net: WalkNetwork, fac_xy: np.ndarray, dem_xy: np.ndarray, *,
                 repeat: int, ego_sample: int, with_nx: bool = True) -> dict:
    print(f"\n== {name}: {net.n_nodes:,} nodes, {net.n_edges:,} edges, "
          f"{len(fac_xy):,} facilities, {len(dem_xy):,} demand points, limit {LIMIT_M:.0f} m")

    def ours():
        return nearest_on_network(net, dem_xy, fac_xy, limit_m=LIMIT_M, max_snap_m=500.0)

    def ours_cold():
        net._tree = None  # also rebuild the network's KD-tree
        return nearest_on_network(net, dem_xy, fac_xy, limit_m=LIMIT_M, max_snap_m=500.0)

    t_cold, m_cold, _ = timed(ours_cold, repeat)
    t_ours, m_ours, res = timed(ours, repeat)
    f_node, f_snap = net.snap(fac_xy)
    d_node, _ = net.snap(dem_xy)
    t_bare, m_bare, bare = timed(lambda: dijkstra(net.graph, directed=True, indices=f_node,
                                                  min_only=True, limit=LIMIT_M), repeat)
    rows = {"ours": (t_ours, m_ours), "ours, KD-tree rebuilt too": (t_cold, m_cold),
            "bare csgraph": (t_bare, m_bare)}
    covered = np.isfinite(res.distance_m).mean()
    print(f"   covered share of demand points: {covered:.1%}")
    if with_nx:
        G = nx.Graph()  # parallel edges: add the longest first, so the shortest stays
        by_len = np.argsort(-net.edge_length_m, kind="stable")
        G.add_weighted_edges_from(zip(net.edge_u[by_len].tolist(), net.edge_v[by_len].tolist(),
                                      net.edge_length_m[by_len].tolist()), weight="length")
        srcs = set(f_node.tolist())

        def nx_multi():
            d = nx.multi_source_dijkstra_path_length(G, srcs, cutoff=LIMIT_M, weight="length")
            return np.array([d.get(n, np.inf) for n in d_node.tolist()])

        t_nx, m_nx, d_nx = timed(nx_multi, 1)
        # same node distances as the bare call (no snap legs in either)
        np.testing.assert_allclose(d_nx, bare[d_node], rtol=1e-9)
        rows["networkx multi-source"] = (t_nx, m_nx)
        sample = np.random.default_rng(0).choice(len(f_node), min(ego_sample, len(f_node)),
                                                 replace=False)

        def ego():
            best: dict[int, float] = {}
            for s in f_node[sample].tolist():
                sub = nx.ego_graph(G, s, radius=LIMIT_M, distance="length")
                dist = nx.single_source_dijkstra_path_length(sub, s, weight="length")
                for n, dd in dist.items():
                    if dd < best.get(n, np.inf):
                        best[n] = dd
            return best

        t_ego, m_ego, _ = timed(ego, 1)
        scale = len(f_node) / len(sample)
        rows[f"ego_graph per facility (extrapolated ×{scale:.0f} from {len(sample)})"] = (
            t_ego * scale, m_ego)
    print(f"   {'method':<52} {'time s':>9} {'peer/ours':>10} "
          f"{'peak MB':>9} {'mem peer/ours':>13}")
    for k, (t, m) in rows.items():
        print(f"   {k:<52} {t:9.3f} {t / t_ours:10.2f} {m:9.1f} {m / max(m_ours, 1e-9):13.2f}")
    print(f"   → ours / bare csgraph = {t_ours / t_bare:.2f} (goal ≤ 1.5)")
    if "networkx multi-source" in rows:
        print(f"   → networkx multi-source / ours = {rows['networkx multi-source'][0] / t_ours:.1f}"
              " (goal ≥ 10)")
    return {"t_ours": t_ours, "m_ours": m_ours, "nodes": net.n_nodes, "demand": len(dem_xy),
            "t_bare": t_bare}


def embedded_instance() -> tuple[WalkNetwork, np.ndarray, np.ndarray] | None:
    from coverage.access import load_network
    from layers.load import load_dataset

    ds = load_dataset()
    if ds.network_path is None:
        return None
    net = load_network(ds.network_path, provenance=ds.layer_provenance.get("network"))
    fac = ds.facilities_for(ds.latest_year)
    fac = fac[fac["type"] == "fitness"]
    f_xy = net.project(fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy())
    v = ds.villages
    d_xy = net.project(v.geometry.x.to_numpy(), v.geometry.y.to_numpy())
    return net, f_xy, d_xy


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller generated instances")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ego-sample", type=int, default=40)
    args = ap.parse_args(argv)
    big = 20_000 if args.quick else 200_000
    scale = big / 200_000
    results = []
    for n in (big // 4, big):
        net = grid_network(n, seed=1)
        f = random_points(net, int(2_000 * scale * n / big), seed=2)
        d = random_points(net, int(100_000 * scale * n / big), seed=3)
        results.append(run_instance(f"(a) generated grid, {n:,} nodes", net, f, d,
                                    repeat=args.repeat, ego_sample=args.ego_sample,
                                    with_nx=(n == big)))
    small, large = results
    print("\nMemory growth (ours, peak MB per 1,000 nodes): "
          f"{small['m_ours'] / small['nodes'] * 1000:.2f} at {small['nodes']:,} nodes, "
          f"{large['m_ours'] / large['nodes'] * 1000:.2f} at {large['nodes']:,} nodes; "
          f"size ×{large['nodes'] / small['nodes']:.1f} → memory ×"
          f"{large['m_ours'] / small['m_ours']:.2f}, time ×{large['t_ours'] / small['t_ours']:.2f}")
    emb = embedded_instance()
    if emb is None:
        print("\n(b) embedded network: the dataset has no network; skipped")
    else:
        net, f, d = emb
        run_instance("(b) embedded SYNTHETIC Lishui network, fitness facilities, all villages",
                     net, f, d, repeat=args.repeat, ego_sample=args.ego_sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())
