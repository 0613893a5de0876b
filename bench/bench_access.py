"""Benchmark: walking access end to end, minutes on slopes, PBF clipping, 2SFCA (issue 15).

Prints the issue's table as ratios against peers timed in the same run on the same inputs:

1. **nearest facility, edge snapping, one pass** on a generated street grid
   (``--nodes``, default 250,000; the issue's 1,000,000 with ``--nodes 1000000``;
   facilities and demand points scale with it: 5,000 and 200,000 per million nodes).
   Ours: :func:`coverage.access.nearest_on_network` (edge snapping with the STRtree,
   virtual sources, one ``csgraph.dijkstra``, reading the homes) after loading.
   Peer: ``networkx.multi_source_dijkstra_path_length`` on the same snapped graph (an
   ``nx.Graph`` of the edges plus one virtual node per facility joined to its edge ends by
   the same partial lengths; graph built outside the timing; the same per-home read).
   Memory: tracemalloc peak at two sizes (``--nodes`` / 4 and ``--nodes``).
2. **minutes on a directed, slope-weighted graph** (Tobler over a generated hilly DEM)
   vs the flat-distance pass above, same points, both after loading.
3. **network from a PBF** 10× larger than the area's network (generated with pyosmium: a
   grid whose area is a tenth of the file). Ours: ``clip_pbf`` + ``network_from_clip``.
   Peer: osmnx ``graph_from_xml`` (bidirectional, simplified) on the clipped area's XML.
   Peak memory (``VmHWM`` of a child process) for the 10× file and a 20× file.
4. **2SFCA**, demand × supply of instance 1 with capacities, on the same (home, site, cost)
   pairs: ours :func:`coverage.access.fca.two_step_fca` (2SFCA + E2SFCA) vs PySAL
   ``access`` (``two_stage_fca`` + ``enhanced_two_stage_fca``); the routing of the pairs
   (:func:`coverage.access.route.pair_costs`) is timed separately.

Times are the best of ``--repeat`` runs (wall clock) on whatever the machine gives (the
development machine is 2 shared cores). Run: ``python bench/bench_access.py [--nodes N]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coverage.access import WalkNetwork, nearest_on_network  # noqa: E402
from coverage.access.fca import step_decay, two_step_fca  # noqa: E402
from coverage.access.graph import _csr_from_edges  # noqa: E402
from coverage.access.route import pair_costs  # noqa: E402
from coverage.access.terrain import Dem, terrain_cost  # noqa: E402
from layers import settings  # noqa: E402

X0, Y0 = 450_000.0, 3_100_000.0  # EPSG:4549 metres, Lishui area
LIMIT_M = 1000.0
ROWS: list[tuple[str, str, str, str]] = []


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


def timed(fn, repeat: int, memory: bool = False) -> tuple[float, float, object]:
    """(best wall time s, tracemalloc peak MB of one run or nan, last result)."""
    best, out = np.inf, None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    peak = np.nan
    if memory:
        gc.collect()
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return best, peak, out


def row(what: str, goal: str, measured: str, verdict: str) -> None:
    ROWS.append((what, goal, measured, verdict))
    print(f"   → {what}: {measured} ({goal}: {verdict})")


# ---------------------------------------------------------------------- 1 + 2
def nx_peer(net: WalkNetwork, f_xy: np.ndarray, d_xy: np.ndarray):
    """networkx multi-source on the same snapped graph (virtual nodes per facility)."""
    G = nx.Graph()  # parallel edges: add the longest first, so the shortest stays
    by_len = np.argsort(-net.edge_length_m, kind="stable")
    G.add_weighted_edges_from(zip(net.edge_u[by_len].tolist(), net.edge_v[by_len].tolist(),
                                  net.edge_length_m[by_len].tolist()), weight="length")
    fs, ds = net.snap_points(f_xy), net.snap_points(d_xy)
    n = net.n_nodes
    for j in range(len(f_xy)):
        e = fs.edge[j]
        G.add_edge(("f", j), int(net.edge_u[e]), length=fs.leg_m[j] + fs.pos_m[j])
        G.add_edge(("f", j), int(net.edge_v[e]),
                   length=fs.leg_m[j] + net.edge_length_m[e] - fs.pos_m[j])
    hu, hv = net.edge_u[ds.edge].tolist(), net.edge_v[ds.edge].tolist()
    cu = (ds.pos_m + ds.leg_m).tolist()
    cv = (net.edge_length_m[ds.edge] - ds.pos_m + ds.leg_m).tolist()
    srcs = {("f", j) for j in range(len(f_xy))}
    on_edge: dict[int, list[tuple[float, float]]] = {}
    for j in range(len(f_xy)):  # a home and a facility on one edge meet along it
        on_edge.setdefault(int(fs.edge[j]), []).append((fs.pos_m[j], fs.leg_m[j]))
    same = [(i, on_edge[e]) for i, e in enumerate(ds.edge.tolist()) if e in on_edge]

    def run():
        d = nx.multi_source_dijkstra_path_length(G, srcs, cutoff=LIMIT_M, weight="length")
        inf = np.inf
        out = np.array([min(d.get(a, inf) + x, d.get(b, inf) + y)
                        for a, x, b, y in zip(hu, cu, hv, cv)])
        for i, fl in same:
            out[i] = min(out[i], min(abs(ds.pos_m[i] - p) + lg for p, lg in fl) + ds.leg_m[i])
        return out

    del n
    return run


def hilly_dem(net: WalkNetwork) -> Dem:
    """A generated DEM over the network: rolling hills, 150 m amplitude, 2 km wavelength."""
    lo, hi = net.node_xy.min(0) - 500, net.node_xy.max(0) + 500
    step = 90.0
    xs = np.arange(lo[0], hi[0] + step, step)
    ys = np.arange(hi[1], lo[1] - step, -step)
    X, Y = np.meshgrid(xs, ys)
    z = 300 + 150 * np.sin(X / 2000.0 * 2 * np.pi) * np.cos(Y / 2600.0 * 2 * np.pi)
    return Dem(z=z, x0=float(xs[0]), y0=float(ys[0]), dx=step, dy=step, crs=net.crs,
               source="generated hills")


def bench_nearest(n_nodes: int, repeat: int) -> None:
    per = n_nodes / 1e6
    out = {}
    for n in (n_nodes // 4, n_nodes):
        net = grid_network(n, seed=1)
        f = random_points(net, max(10, int(5000 * per * n / n_nodes)), seed=2)
        d = random_points(net, max(100, int(200_000 * per * n / n_nodes)), seed=3)
        net.edge_tree  # loading: the STRtree is built once per network (as the CSR matrix)
        print(f"\n== nearest facility: {net.n_nodes:,} nodes, {net.n_edges:,} edges, "
              f"{len(f):,} facilities, {len(d):,} demand points, limit {LIMIT_M:.0f} m")

        def ours():
            return nearest_on_network(net, d, f, limit_m=LIMIT_M, max_snap_m=500.0)

        t, m, res = timed(ours, repeat, memory=True)
        out[n] = (t, m, net.n_nodes)
        print(f"   ours (edge snapping, one pass): {t:.3f} s, peak {m:.1f} MB; covered "
              f"{np.isfinite(res.distance_m).mean():.1%}")
    (t_s, m_s, n_s), (t_b, m_b, n_b) = out[n_nodes // 4], out[n_nodes]
    run = nx_peer(net, f, d)
    t_nx, _, d_nx = timed(run, 1)
    ok = np.isfinite(res.distance_m) & np.isfinite(d_nx) & (d_nx <= LIMIT_M)
    assert np.allclose(res.distance_m[ok], d_nx[ok], atol=1e-6), "peer disagrees"
    print(f"   networkx multi-source, same snapped graph: {t_nx:.3f} s")
    r = t_nx / t_b
    row(f"{n_b:,}-node grid, {len(f):,} facilities, {len(d):,} demand, edge snapping",
        "≥10× networkx", f"networkx/ours = {r:.1f}× ({t_b:.2f} s vs {t_nx:.2f} s)",
        "met" if r >= 10 else "not met")
    grow = m_b / m_s
    row("memory, nodes ×4", "linear", f"peak ×{grow:.2f} ({m_s:.0f} → {m_b:.0f} MB), "
        f"time ×{t_b / t_s:.2f}", "met" if grow <= 4 * 1.25 else "not met")
    # 2: minutes on slopes
    t0 = time.perf_counter()
    terr = terrain_cost(net, hilly_dem(net), 100.0)
    t_build = time.perf_counter() - t0
    terr.cost.reverse  # loading: the reversed CSR matrix is built once per cost model
    t_min, _, rm = timed(lambda: nearest_on_network(net, d, f, limit_m=LIMIT_M, max_snap_m=500.0,
                                                    cost=terr.cost, limit_min=10.0), repeat)
    print(f"   minutes on slopes: {t_min:.3f} s (terrain model built once in {t_build:.1f} s); "
          f"covered {np.isfinite(rm.time_min).mean():.1%}")
    row("minutes on a directed slope-weighted graph", "≤1.5× the flat pass",
        f"{t_min / t_b:.2f}× ({t_min:.2f} s vs {t_b:.2f} s)",
        "met" if t_min / t_b <= 1.5 else "not met")
    bench_fca(net, f, d, repeat)


# ---------------------------------------------------------------------- 4
def bench_fca(net: WalkNetwork, f: np.ndarray, d: np.ndarray, repeat: int) -> None:
    import access

    rng = np.random.default_rng(4)
    pop = rng.integers(10, 300, len(d)).astype(float)
    cap = rng.integers(20, 200, len(f)).astype(float)
    hs, fs = net.snap_points(d), net.snap_points(f)
    t_route, _, pairs = timed(lambda: pair_costs(net, hs, fs, limit=LIMIT_M,
                                                 home_ok=np.ones(len(d), bool),
                                                 cand_ok=np.ones(len(f), bool)), 1)
    h, s, c = pairs
    w = step_decay(LIMIT_M)

    def ours():
        return (two_step_fca(h, s, c, pop, cap, max_cost=LIMIT_M),
                two_step_fca(h, s, c, pop, cap, max_cost=LIMIT_M, weight=w))

    t_ours, _, (r2, re) = timed(ours, repeat)
    demand = pd.DataFrame({"geoid": np.arange(len(pop)), "pop": pop})
    supply = pd.DataFrame({"geoid": np.arange(len(cap)), "cap": cap})
    costs = pd.DataFrame({"origin": h, "dest": s, "cost": c})
    fn = access.weights.step_fn({LIMIT_M / 3: 1, 2 * LIMIT_M / 3: 0.68, LIMIT_M: 0.22})

    def pysal():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = access.Access(demand_df=demand, demand_index="geoid", demand_value="pop",
                              supply_df=supply, supply_index="geoid", supply_value="cap",
                              cost_df=costs, cost_origin="origin", cost_dest="dest",
                              cost_name="cost")
            return (a.two_stage_fca(name="two", max_cost=LIMIT_M)["two_cap"],
                    a.enhanced_two_stage_fca(name="enh", max_cost=LIMIT_M, weight_fn=fn)["enh_cap"])

    t_py, _, (p2, pe) = timed(pysal, 1)
    np.testing.assert_allclose(r2[0], p2.reindex(np.arange(len(pop))).fillna(0), atol=1e-9)
    np.testing.assert_allclose(re[0], pe.reindex(np.arange(len(pop))).fillna(0), atol=1e-9)
    print(f"\n== 2SFCA: {len(d):,} demand × {len(f):,} supply, {len(h):,} pairs within "
          f"{LIMIT_M:.0f} m (routing the pairs: {t_route:.2f} s); ours {t_ours:.3f} s, "
          f"PySAL access {t_py:.3f} s (same values within 1e-9)")
    row(f"2SFCA + E2SFCA, {len(d):,} demand × {len(f):,} supply", "≥10× PySAL access",
        f"PySAL/ours = {t_py / t_ours:.0f}×", "met" if t_py / t_ours >= 10 else "not met")


# ---------------------------------------------------------------------- 3
def grid_pbf(path: Path, k: int, x0: float = 119.5, y0: float = 28.0, step: float = 0.001) -> None:
    """A k×k street grid written as PBF (nodes; ways of 10 blocks along rows and columns)."""
    import osmium
    from osmium.osm.mutable import Node, Way

    with osmium.SimpleWriter(str(path), overwrite=True) as w:
        for i in range(k):
            for j in range(k):
                w.add_node(Node(id=i * k + j + 1, location=(x0 + j * step, y0 + i * step)))
        wid = 1  # ways of 10 blocks, as real streets are cut into short ways
        for i in range(k):
            for j0 in range(0, k - 1, 10):
                w.add_way(Way(id=wid, nodes=[i * k + j + 1 for j in range(j0, min(j0 + 11, k))],
                              tags={"highway": "residential"}))
                wid += 1
        for j in range(k):
            for i0 in range(0, k - 1, 10):
                w.add_way(Way(id=wid, nodes=[i * k + j + 1 for i in range(i0, min(i0 + 11, k))],
                              tags={"highway": "footway"}))
                wid += 1


def area_for(k: int, frac: float, x0: float = 119.5, y0: float = 28.0, step: float = 0.001):
    side = np.sqrt(frac) * (k - 1) * step
    return shapely.box(x0, y0, x0 + side, y0 + side)


def pbf_child(path: str, k: int, frac: float) -> None:
    """Child process: build the network and print its peak RSS (MB)."""
    from coverage.access.netfile import network_from_clip
    from coverage.access.pbf import clip_pbf

    net = network_from_clip(clip_pbf(path, area_for(k, frac), buffer_m=0))
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's over fork/exec)
    try:
        hwm = [ln for ln in Path("/proc/self/status").read_text().splitlines()
               if ln.startswith("VmHWM:")][0]
        rss = float(hwm.split()[1]) / 1024
    except (OSError, IndexError):
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{rss:.1f} {net.n_nodes}")


def bench_pbf(area_nodes: int, repeat: int) -> None:
    import osmnx as ox

    from coverage.access.netfile import network_from_clip
    from coverage.access.pbf import clip_pbf, write_clip_xml

    with tempfile.TemporaryDirectory(prefix="bench_pbf_") as tmp:
        res = {}
        for mult in (10, 20):
            k = int(round(np.sqrt(area_nodes * mult)))
            pbf = Path(tmp) / f"grid{mult}.osm.pbf"
            grid_pbf(pbf, k)
            out = subprocess.run([sys.executable, __file__, "--pbf-child", str(pbf), str(k),
                                  str(1 / mult)], capture_output=True, text=True, check=True,
                                 env=dict(os.environ, PYTHONWARNINGS="ignore"))
            rss, n = out.stdout.split()
            res[mult] = (float(rss), int(n), pbf, k, pbf.stat().st_size / 1e3)
        rss10, n10, pbf, k, mb10 = res[10]
        area = area_for(k, 0.1)
        t_ours, _, net = timed(lambda: network_from_clip(clip_pbf(pbf, area, buffer_m=0)), repeat)
        xml = write_clip_xml(clip_pbf(pbf, area, buffer_m=0), Path(tmp) / "clip.osm")
        t_ox, _, G = timed(lambda: ox.graph_from_xml(xml, bidirectional=True, simplify=True,
                                                     retain_all=True), 1)
        print(f"\n== network from a PBF: area {net.n_nodes:,} nodes / file {k * k:,} nodes "
              f"({mb10:,.0f} kB); ours {t_ours:.2f} s, osmnx graph_from_xml on the clipped XML "
              f"{t_ox:.2f} s ({G.number_of_nodes():,} nodes)")
        row(f"network from a PBF 10× the area ({k * k:,} nodes)", "≥5× osmnx graph_from_xml",
            f"osmnx/ours = {t_ox / t_ours:.2f}×", "met" if t_ox / t_ours >= 5 else "not met")
        rss20, n20, _, k20, mb20 = res[20]
        row("peak memory of the PBF build, file ×2", "independent of the file size",
            f"max RSS {rss10:.0f} MB ({mb10:,.0f} kB file) → {rss20:.0f} MB ({mb20:,.0f} kB file)",
            "met" if rss20 <= rss10 * 1.15 else "not met")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=250_000,
                    help="generated network size (the issue's instance: 1000000)")
    ap.add_argument("--pbf-area-nodes", type=int, default=40_000,
                    help="nodes of the area cut out of the generated PBF (file: 10× and 20×)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="small instances (CI smoke run)")
    ap.add_argument("--only", choices=("nearest", "pbf"), help="run one part only")
    ap.add_argument("--pbf-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.pbf_child:
        pbf_child(args.pbf_child[0], int(args.pbf_child[1]), float(args.pbf_child[2]))
        return 0
    nodes = 40_000 if args.quick else args.nodes
    area_nodes = 4_000 if args.quick else args.pbf_area_nodes
    print(f"scale: {nodes:,}-node network (issue: 1,000,000), {area_nodes:,}-node PBF area")
    if args.only != "pbf":
        bench_nearest(nodes, args.repeat)
    if args.only != "nearest":
        bench_pbf(area_nodes, args.repeat)
    print("\n| what | goal | measured | verdict |\n|---|---|---|---|")
    for r in ROWS:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
