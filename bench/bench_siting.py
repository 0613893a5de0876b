"""Benchmark: our MCLP / LSCP against PySAL spopt (PuLP + CBC, PuLP + HiGHS), same run.

Instance (as issue 5 asks): random uniform demand points and candidate sites in
a square (EPSG:4549 metres around Lishui), integer weights 1–100, a radius
giving about ``--per-point`` candidates per demand point.

* standard: 20,000 demand × 2,000 candidates, p = 50 (``--quick``: 4,000 × 400, p = 10);
* larger: 60,000 demand × 6,000 candidates, p = 150 (ours and the plain sparse
  MILP only: spopt needs a dense 60,000 × 6,000 cost matrix and builds one PuLP
  term per cell, 360 M terms; ``--no-large`` skips it).

Every peer gets the same dense cost matrix (spopt's input); the time of each
solver counts model building from that matrix plus solving. "plain sparse MILP"
is our model with no reductions and no LP-first step (a single
``scipy.optimize.milp`` call on the sparse formulation).

LSCP (full covering of the demand that some candidate reaches) is hard on
random instances; every solver gets the same ``--lscp-time-limit`` and reports
its status and best value, with our proven lower bound.

Run: ``python bench/bench_siting.py`` (``--quick`` for a smaller instance,
``--skip-cbc`` to leave CBC out). Times are wall-clock seconds on this machine
and CPU seconds (this process's threads plus the CBC child process: robust to
other load on a shared machine); ratios are peer time / our time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coverage.siting import LSCP, MCLP, coverage_from_cost_matrix, coverage_from_points  # noqa: E402

X0, Y0 = 450_000.0, 3_100_000.0   # EPSG:4549 metres, Lishui area


def make_instance(n_demand: int, n_cand: int, per_point: float, seed: int, side_m: float = 50_000.0):
    """Random instance: demand/candidate coordinates (EPSG:4549 m), weights, radius (m)."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, side_m, (n_demand, 2)) + [X0, Y0]
    cands = rng.uniform(0, side_m, (n_cand, 2)) + [X0, Y0]
    weights = rng.integers(1, 101, n_demand).astype(float)
    radius = side_m * np.sqrt(per_point / (n_cand * np.pi))
    return demand, cands, weights, float(radius)


def _cpu() -> float:
    """CPU seconds of this process (all threads) plus its finished children (the CBC binary)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _row(name, model, build_s, solve_s, objective, status, note="", cpu_s=float("nan")):
    return {"solver": name, "model": model, "build_s": build_s, "solve_s": solve_s,
            "total_s": build_s + solve_s, "cpu_s": cpu_s, "objective": objective, "status": status,
            "note": note}


def run_ours(cost, radius, weights, p=None, share=None, *, time_limit_s, points=None, **solve_kw):
    """Our model from the dense cost matrix (or from ``points`` = (demand, cands)); returns (row, model)."""
    c0, t0 = _cpu(), time.perf_counter()
    A = coverage_from_cost_matrix(cost, radius) if points is None else coverage_from_points(*points, radius)
    model = MCLP(A, weights, p=p) if p is not None else LSCP(A, weights, share=share)
    t1 = time.perf_counter()
    model.solve(time_limit_s=time_limit_s, progress=False, **solve_kw)
    t2 = time.perf_counter()
    plain = solve_kw.get("reduce") is False
    name = "plain sparse MILP (scipy/HiGHS)" if plain else "ours (reduce+greedy+LP-first)"
    note = "" if plain else (f"gap {model.gap:.2e}, greedy gap {model.greedy_gap:.2e}, "
                             f"model {model.reduction.n_demand_model}×{model.reduction.n_candidates_model}")
    if model.kind == "LSCP":
        note += f" bound {model.bound}"
    return _row(name, model.kind, t1 - t0, t2 - t1, float(model.objective), model.status, note,
                _cpu() - c0), model


def run_spopt(cost, radius, weights, p=None, *, solver_name, time_limit_s):
    """spopt MCLP (p given) or LSCP with a PuLP solver; returns a row."""
    import pulp
    from spopt.locate import LSCP as SpLSCP
    from spopt.locate import MCLP as SpMCLP

    if solver_name == "CBC":
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s)
    else:
        solver = pulp.HiGHS(msg=False, timeLimit=time_limit_s)
    c0, t0 = _cpu(), time.perf_counter()
    if p is not None:
        model = SpMCLP.from_cost_matrix(cost, weights, service_radius=radius, p_facilities=p)
    else:
        model = SpLSCP.from_cost_matrix(cost, service_radius=radius)
    t1 = time.perf_counter()
    status = "optimal"
    try:
        model.solve(solver, results=False)
    except RuntimeError as exc:
        status = f"failed: {exc}"
    t2 = time.perf_counter()
    prob = model.problem
    if status == "optimal" and prob.sol_status != pulp.LpSolutionOptimal:
        status = "time_limit" if prob.sol_status == pulp.LpSolutionIntegerFeasible else pulp.LpSolution[prob.sol_status]
    value = prob.objective.value() if prob.objective is not None else float("nan")
    return _row(f"spopt + PuLP/{solver_name}", "MCLP" if p is not None else "LSCP", t1 - t0, t2 - t1,
                float(value) if value is not None else float("nan"), status, cpu_s=_cpu() - c0)


def _print(rows, ours):
    print(f"{'solver':34s} {'model':5s} {'build s':>8s} {'solve s':>9s} {'total s':>9s} {'cpu s':>9s} "
          f"{'objective':>12s} {'wall ratio':>10s} {'cpu ratio':>9s}  status / note")
    for r in rows:
        wall = r["total_s"] / ours["total_s"] if ours["total_s"] > 0 else float("nan")
        cpu = r["cpu_s"] / ours["cpu_s"] if ours["cpu_s"] > 0 else float("nan")
        print(f"{r['solver']:34s} {r['model']:5s} {r['build_s']:8.2f} {r['solve_s']:9.2f} {r['total_s']:9.2f} "
              f"{r['cpu_s']:9.2f} {r['objective']:12.1f} {wall:9.1f}x {cpu:8.1f}x  {r['status']} {r['note']}")


def _check_match(rows, label):
    proven = [r for r in rows if r["status"] == "optimal"]
    vals = sorted({round(r["objective"], 6) for r in proven})
    same = len(vals) <= 1 or (max(vals) - min(vals)) <= 1e-4 * max(abs(max(vals)), 1.0)
    print(f"{label}: objectives of the solvers that proved optimality: {vals} -> "
          f"{'MATCH' if same else 'MISMATCH'}")
    return same


def bench_mclp(n_demand, n_cand, p, args, peers=True):
    """Run the MCLP comparison on one instance; return (rows, ours model)."""
    demand, cands, w, radius = make_instance(n_demand, n_cand, args.per_point, args.seed)
    t0 = time.perf_counter()
    A = coverage_from_points(demand, cands, radius)
    pts_s = time.perf_counter() - t0
    print(f"\n== MCLP {n_demand} demand x {n_cand} candidates, p = {p}, radius {radius:.0f} m, "
          f"{A.nnz / n_demand:.2f} candidates per point (coverage from points: {pts_s:.2f} s)")
    # peers need spopt's dense input; without peers everyone starts from the points (sparse)
    cost = cdist(demand, cands) if peers else None
    pts = None if peers else (demand, cands)
    rows = []
    ours, model = run_ours(cost, radius, w, p=p, time_limit_s=args.time_limit, points=pts)
    rows.append(ours)
    c0 = _cpu()
    greedy = MCLP(A, w, p=p).solve(method="greedy", progress=False, time_limit_s=args.time_limit)
    greedy_cpu = _cpu() - c0
    rows.append(_row("ours, greedy only (+LP bound)", "MCLP", 0.0, greedy.solve_time_s, greedy.objective, "greedy",
                     f"gap to optimum {(model.objective - greedy.objective) / model.objective:.2e}, "
                     f"to LP bound {greedy.gap:.2e}; greedy alone {greedy.phase_s['greedy']:.3f} s", greedy_cpu))
    c0 = _cpu()
    heur = MCLP(A, w, p=p).solve(method="heuristic", progress=False, time_limit_s=args.time_limit)
    rows.append(_row("ours, greedy + swap (+LP bound)", "MCLP", 0.0, heur.solve_time_s, heur.objective,
                     "heuristic", f"gap to optimum {(model.objective - heur.objective) / model.objective:.2e}, "
                     f"to LP bound {heur.gap:.2e}", _cpu() - c0))
    if not args.skip_plain:
        limit = args.peer_time_limit if peers else args.large_time_limit
        rows.append(run_ours(cost, radius, w, p=p, time_limit_s=limit, points=pts,
                             reduce=False, lp_first=False)[0])
    if peers:
        if not args.skip_highs:
            rows.append(run_spopt(cost, radius, w, p, solver_name="HiGHS", time_limit_s=args.peer_time_limit))
        if not args.skip_cbc:
            rows.append(run_spopt(cost, radius, w, p, solver_name="CBC", time_limit_s=args.peer_time_limit))
    _print(rows, ours)
    _check_match(rows, "MCLP")
    print(f"greedy variant: {model.greedy_objective:.0f} vs optimum {model.objective:.0f} "
          f"(gap {model.greedy_gap:.3%}); reduction {model.reduction.as_dict()}")
    cbc = [r for r in rows if r["solver"].endswith("CBC") and r["status"] == "optimal"]
    if cbc:
        print(f"speed-up vs spopt+CBC at the same optimum: wall {cbc[0]['total_s'] / ours['total_s']:.1f}x, "
              f"cpu {cbc[0]['cpu_s'] / ours['cpu_s']:.1f}x (goal >= 10x)")
    return rows, model


def bench_lscp(n_demand, n_cand, args):
    """Run the LSCP comparison (full covering, same time limit for every solver)."""
    demand, cands, w, radius = make_instance(n_demand, n_cand, args.per_point, args.seed)
    cost = cdist(demand, cands)
    reach = (cost <= radius).any(axis=1)
    cost, w = cost[reach], w[reach]   # spopt's LSCP is infeasible with unreachable demand
    print(f"\n== LSCP full cover, {cost.shape[0]} demand x {n_cand} candidates "
          f"({int((~reach).sum())} unreachable rows removed), time limit {args.lscp_time_limit:.0f} s each")
    rows = []
    ours, model = run_ours(cost, radius, w, share=1.0, time_limit_s=args.lscp_time_limit)
    rows.append(ours)
    if not args.skip_highs:
        rows.append(run_spopt(cost, radius, w, solver_name="HiGHS", time_limit_s=args.lscp_time_limit))
    if not args.skip_cbc:
        rows.append(run_spopt(cost, radius, w, solver_name="CBC", time_limit_s=args.lscp_time_limit))
    _print(rows, ours)
    _check_match(rows, "LSCP")
    worse = [r for r in rows[1:] if r["objective"] < model.bound - 1e-9]
    print(f"our proven lower bound: {model.bound} sites; greedy {model.greedy_objective} "
          f"(gap {model.greedy_gap:.2%}); any peer below the bound would be an error: {bool(worse)}")
    return rows


def main(argv=None) -> int:
    """Run the siting benchmark; return 0 (1 if a proven optimum differs between solvers)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="4,000 x 400, p = 10; no larger instance")
    ap.add_argument("--no-large", action="store_true", help="skip the larger instance")
    ap.add_argument("--no-lscp", action="store_true", help="skip the LSCP comparison")
    ap.add_argument("--no-standard", action="store_true", help="skip the standard MCLP comparison")
    ap.add_argument("--skip-cbc", action="store_true", help="leave spopt + CBC out")
    ap.add_argument("--skip-highs", action="store_true", help="leave spopt + HiGHS out")
    ap.add_argument("--skip-plain", action="store_true", help="leave the plain sparse MILP out")
    ap.add_argument("--per-point", type=float, default=10.0, help="mean candidates per demand point")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=600.0, help="our time limit, s")
    ap.add_argument("--peer-time-limit", type=float, default=1800.0, help="peers' MCLP time limit, s")
    ap.add_argument("--large-time-limit", type=float, default=900.0,
                    help="plain sparse MILP time limit on the larger instance, s")
    ap.add_argument("--lscp-time-limit", type=float, default=120.0, help="every solver's LSCP time limit, s")
    args = ap.parse_args(argv)
    if args.quick:
        n_d, n_c, p = 4_000, 400, 10
    else:
        n_d, n_c, p = 20_000, 2_000, 50
    ok = True
    if not args.no_standard:
        rows, _ = bench_mclp(n_d, n_c, p, args)
        ok = _check_match(rows, "MCLP (standard)")
    if not args.no_lscp:
        bench_lscp(n_d, n_c, args)
    if not (args.quick or args.no_large):
        large_rows, _ = bench_mclp(60_000, 6_000, 150, args, peers=False)
        ok = _check_match(large_rows, "MCLP (larger)") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
