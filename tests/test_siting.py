"""MCLP / LSCP: hand-worked optima, brute-force cross-checks, reductions, greedy, limits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from coverage._errors import SitingError
from coverage.siting._reduce import (
    dominated_columns,
    drop_redundant,
    lazy_greedy,
    merge_identical_rows,
    superset_rows,
    swap_search,
)
from coverage.siting import LSCP, MCLP, coverage_from_cost_matrix, coverage_from_points

# Hand instance: 5 demand rows (weights), 4 candidates.
#   c0 covers {0,1} = 30   c1 covers {1,2,3} = 90   c2 covers {3,4} = 95   c3 covers {0,4} = 65
W = np.array([10, 20, 30, 40, 55], dtype=float)
A_HAND = np.array([
    [1, 0, 0, 1],
    [1, 1, 0, 0],
    [0, 1, 0, 0],
    [0, 1, 1, 0],
    [0, 0, 1, 1],
], dtype=bool)


def test_mclp_hand_p1_and_p2():
    m1 = MCLP(A_HAND, W, p=1).solve(progress=False)
    assert m1.selected.tolist() == [2] and m1.objective == 95 and m1.status == "optimal"
    # p = 2, all six pairs by hand: 01→100, 02→125, 03→85, 12→145, 13→155, 23→105
    m2 = MCLP(A_HAND, W, p=2).solve(progress=False)
    assert m2.selected.tolist() == [1, 3]
    assert m2.objective == 155 and m2.covered_share == 1.0 and m2.gap == 0.0
    assert m2.covered.all()


def test_greedy_is_suboptimal_on_hand_instance_and_gap_is_reported():
    # greedy takes c2 (95), then c1 adds {1,2} = 50 → 145 < 155
    m = MCLP(A_HAND, W, p=2).solve(progress=False)
    assert m.greedy_objective == 145
    assert m.greedy_gap == pytest.approx(10 / 155)
    g = MCLP(A_HAND, W, p=2).solve(method="greedy", progress=False)
    assert g.status == "greedy" and g.selected.tolist() == [1, 2] and g.objective == 145
    # the LP bound is at most the total weight 155 and at least the optimum 155
    assert g.bound == pytest.approx(155) and g.gap == pytest.approx(10 / 155)


def test_fixed_and_precovered_demand_are_respected():
    # c3 open already: rows 0 and 4 covered; left: c0 {1}=20, c1 {1,2,3}=90, c2 {3}=40
    m = MCLP(A_HAND, W, p=1, fixed=[3]).solve(progress=False)
    assert m.selected.tolist() == [1] and m.objective == 90 and m.covered_weight == 155
    assert m.reduction.n_precovered == 2 and m.reduction.n_fixed == 1
    # rows 2 and 3 served by a non-candidate facility: c0 30, c1 20, c2 55, c3 65
    pre = np.array([0, 0, 1, 1, 0], dtype=bool)
    m = MCLP(A_HAND, W, p=1, precovered=pre).solve(progress=False)
    assert m.selected.tolist() == [3] and m.objective == 65 and m.covered_weight == 135


def test_lscp_hand_full_and_share():
    full = LSCP(A_HAND, W, share=1.0).solve(progress=False)
    assert full.objective == 2 and full.selected.tolist() == [1, 3] and full.covered.all()
    # 60 % of 155 = 93: only c2 (95) reaches it alone
    s60 = LSCP(A_HAND, W, share=0.6).solve(progress=False)
    assert s60.objective == 1 and s60.selected.tolist() == [2]
    # 62 % = 96.1: no single site, two needed
    s62 = LSCP(A_HAND, W, share=0.62).solve(progress=False)
    assert s62.objective == 2 and s62.covered_weight >= 0.62 * 155


def test_lscp_unreachable_demand_is_excluded_and_reported():
    A = np.vstack([A_HAND, np.zeros((1, 4), bool)])
    w = np.append(W, 100.0)
    s = LSCP(A, w, share=1.0).solve(progress=False)
    assert s.objective == 2 and s.unreachable.tolist() == [5]
    assert s.covered_share == pytest.approx(155 / 255)
    with pytest.raises(SitingError, match="at most 0.6078"):
        LSCP(A, w, share=1.0, share_of="all").solve(progress=False)
    # 60 % of all demand = 153 ≤ 155 coverable: feasible, two sites
    assert LSCP(A, w, share=0.6, share_of="all").solve(progress=False).objective == 2


def test_coverage_from_points_metres_and_degree_guard():
    demand = [(0.0, 0.0), (100.0, 0.0), (400.0, 0.0)]
    cands = [(50.0, 0.0), (400.0, 30.0)]
    A = coverage_from_points(demand, cands, radius_m=60.0)
    assert A.toarray().tolist() == [[True, False], [True, False], [False, True]]
    lonlat = [(119.9, 28.4), (120.1, 28.5)]
    with pytest.raises(SitingError, match="EPSG:4549"):
        coverage_from_points(lonlat, lonlat, radius_m=1000)


def test_coverage_from_cost_matrix_dense_and_sparse():
    dense = np.array([[0.0, 5.0], [np.inf, 3.0]])
    assert coverage_from_cost_matrix(dense, 4.0).toarray().tolist() == [[True, False], [False, True]]
    # sparse: absent = unreachable, explicit 0 = cost 0 (covered)
    S = sp.csr_matrix((np.array([0.0, 5.0, 3.0]), (np.array([0, 0, 1]), np.array([0, 1, 1]))), shape=(2, 2))
    assert coverage_from_cost_matrix(S, 4.0).toarray().tolist() == [[True, False], [False, True]]
    with pytest.raises(SitingError, match="negative"):
        coverage_from_cost_matrix(np.array([[-1.0]]), 1.0)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(SitingError, match="weights row 1"):
        MCLP(A_HAND, [1, -2, 3, 4, 5], p=1)
    with pytest.raises(SitingError, match="exceeds"):
        MCLP(A_HAND, W, p=4, fixed=[0])
    with pytest.raises(SitingError, match="share"):
        LSCP(A_HAND, W, share=1.5)
    with pytest.raises(SitingError, match="method"):
        MCLP(A_HAND, W, p=1).solve(method="tabu", progress=False)


def test_reduction_helpers_by_hand():
    A = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 1, 0], [0, 1, 0]], dtype=bool))
    A2, w2, inv = merge_identical_rows(A, np.array([1.0, 2.0, 3.0, 4.0]))
    assert A2.toarray().astype(int).tolist() == [[1, 1, 0], [0, 1, 1], [0, 1, 0]]
    assert w2.tolist() == [4.0, 2.0, 4.0] and inv.tolist() == [0, 1, 0, 2]
    # column 0 ⊆ column 1, column 2 ⊆ column 1
    assert dominated_columns(A).tolist() == [True, False, True]
    # identical columns: keep the lowest index
    B = sp.csr_matrix(np.array([[1, 1], [1, 1]], dtype=bool))
    assert dominated_columns(B).tolist() == [False, True]
    # row 0 {0,1} ⊇ row 3 {1}, row 1 {1,2} ⊇ row 3, row 2 = row 0 (later copy flagged)
    assert superset_rows(A).tolist() == [True, True, True, False]


def _brute_mclp(A, w, p, fixed=()):
    best = -1.0
    free = [j for j in range(A.shape[1]) if j not in fixed]
    for combo in itertools.combinations(free, p):
        cols = list(combo) + list(fixed)
        cov = A[:, cols].any(axis=1)
        best = max(best, float(w[cov].sum()))
    pre = A[:, list(fixed)].any(axis=1) if fixed else np.zeros(A.shape[0], bool)
    return best - float(w[pre].sum())


def _brute_lscp(A, w, share):
    reach = A.any(axis=1)
    need = share * w[reach].sum()
    for k in range(A.shape[1] + 1):
        for combo in itertools.combinations(range(A.shape[1]), k):
            if w[A[:, list(combo)].any(axis=1)].sum() >= need - 1e-9:
                return k
    raise AssertionError("unreachable")


@pytest.mark.parametrize("seed", range(12))
def test_mclp_matches_brute_force_on_random_tiny_instances(seed):
    rng = np.random.default_rng(seed)
    A = rng.random((25, 9)) < 0.22
    w = rng.integers(1, 20, 25).astype(float)
    fixed = [int(rng.integers(9))] if seed % 3 == 0 else []
    opt = _brute_mclp(A, w, 3, tuple(fixed))
    for reduce, lp_first in ((True, True), (False, False), (True, False)):
        m = MCLP(A, w, p=3, fixed=fixed).solve(reduce=reduce, lp_first=lp_first, progress=False)
        assert m.status == "optimal"
        assert m.objective == pytest.approx(opt)
        assert m.greedy_objective <= m.objective + 1e-9
        assert not set(m.selected) & set(fixed)


@pytest.mark.parametrize("seed", range(12))
def test_lscp_matches_brute_force_on_random_tiny_instances(seed):
    rng = np.random.default_rng(100 + seed)
    A = rng.random((25, 9)) < 0.25
    w = rng.integers(1, 20, 25).astype(float)
    share = (1.0, 0.8, 0.5)[seed % 3]
    opt = _brute_lscp(A, w, share)
    for reduce, lp_first in ((True, True), (False, False)):
        s = LSCP(A, w, share=share).solve(reduce=reduce, lp_first=lp_first, progress=False)
        assert s.status == "optimal" and s.objective == opt
        assert s.greedy_objective >= s.objective
        assert s.covered_weight >= share * w[A.any(axis=1)].sum() - 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_reductions_never_change_the_optimum(seed):
    rng = np.random.default_rng(200 + seed)
    pts = rng.uniform(0, 3000, (600, 2))
    cands = np.vstack([rng.uniform(0, 3000, (70, 2)), pts[:10]])   # some demand points double as candidates
    w = rng.integers(0, 50, 600).astype(float)                        # zero weights too
    A = coverage_from_points(pts, cands, 350.0)
    fixed = [3, 7]
    a = MCLP(A, w, p=8, fixed=fixed).solve(reduce=True, progress=False)
    b = MCLP(A, w, p=8, fixed=fixed).solve(reduce=False, lp_first=False, progress=False)
    assert a.status == b.status == "optimal"
    assert a.objective == pytest.approx(b.objective, rel=1e-4)
    assert a.reduction.n_rows_merged > 0 and a.reduction.n_demand_model < b.reduction.n_demand_model
    c = LSCP(A, w, share=1.0).solve(reduce=True, progress=False)
    d = LSCP(A, w, share=1.0).solve(reduce=False, lp_first=False, progress=False)
    assert c.objective == d.objective and c.status == d.status == "optimal"
    assert c.reduction.n_rows_implied > 0


def test_time_limit_returns_feasible_solution_with_honest_gap():
    rng = np.random.default_rng(7)
    pts = rng.uniform(0, 20000, (6000, 2))
    cands = rng.uniform(0, 20000, (600, 2))
    w = rng.integers(1, 100, 6000).astype(float)
    A = coverage_from_points(pts, cands, 20000 * np.sqrt(10 / (600 * np.pi)))
    opt = MCLP(A, w, p=15).solve(progress=False, time_limit_s=120)
    assert opt.status == "optimal"
    lim = MCLP(A, w, p=15).solve(progress=False, lp_first=False, time_limit_s=0.3)
    assert lim.status == "time_limit"
    assert lim.selected.size == 15
    # objective recomputed independently from the input matrix
    covered = np.asarray(A[:, lim.selected].sum(axis=1)).ravel() > 0
    assert lim.objective == pytest.approx(w[covered].sum())
    assert lim.bound >= opt.objective - 1e-6 >= lim.objective - 1e-6
    assert lim.gap == pytest.approx((lim.bound - lim.objective) / lim.bound)
    assert lim.gap > 0


def test_lp_bound_matches_independent_dual_simplex():
    rng = np.random.default_rng(11)
    A = rng.random((40, 12)) < 0.2
    w = rng.integers(1, 30, 40).astype(float)
    g = MCLP(A, w, p=3).solve(method="greedy", reduce=False, progress=False)
    n, m = A.shape
    res = linprog(np.concatenate([np.zeros(m), -w]),
                  A_ub=np.hstack([-A.astype(float), np.eye(n)]), b_ub=np.zeros(n),
                  A_eq=np.concatenate([np.ones(m), np.zeros(n)])[None, :], b_eq=[3],
                  bounds=(0, 1), method="highs-ds")
    keep = A.any(axis=1)
    assert g.bound == pytest.approx(min(-res.fun, w[keep].sum()), rel=1e-7)
    sel, val = lazy_greedy(sp.csr_matrix(A), w, p=3)
    assert g.objective == pytest.approx(val) and g.gap == pytest.approx((g.bound - val) / g.bound)


def test_progress_bars_run(capsys):
    m = MCLP(A_HAND, W, p=2).solve(progress=True)
    assert m.objective == 155
    assert "siting" in capsys.readouterr().err


def test_drop_redundant_by_hand():
    # col0 {0,1}, col1 {1,2}, col2 {0}; picked 2, 1, 0 → col0 is redundant once 2 and 1 are in
    A = sp.csr_matrix(np.array([[1, 0, 1], [1, 1, 0], [0, 1, 0]], dtype=bool))
    w = np.array([1.0, 1.0, 1.0])
    assert drop_redundant(A, w, [2, 1, 0], required=3.0) == [2, 1]
    # with a share target of 2 of 3, col2 goes too (col1 covers rows 1, 2)
    assert drop_redundant(A, w, [2, 1, 0], required=2.0) == [1]


def test_swap_search_repairs_the_greedy_answer_by_hand():
    # greedy {c2, c1} = 145; swapping c2 → c3 gives {c1, c3} = 155 (all rows)
    sel, val = swap_search(sp.csr_matrix(A_HAND), W, [2, 1])
    assert sorted(sel) == [1, 3] and val == 155
    h = MCLP(A_HAND, W, p=2).solve(method="heuristic", progress=False)
    assert h.status == "heuristic" and h.objective == 155 and h.gap == pytest.approx(0.0)
    assert h.greedy_objective == 145 and h.heuristic_objective == 155


def _clustered(seed, n=400, m=60):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 10000, (8, 2))
    d = np.vstack([centres[rng.integers(0, 8, n // 2)] + rng.normal(0, 600, (n // 2, 2)),
                   rng.uniform(0, 10000, (n - n // 2, 2))])
    A = coverage_from_points(d, rng.uniform(0, 10000, (m, 2)), 1300.0)
    return A, rng.integers(1, 100, n).astype(float), int(rng.integers(3, 12))


@pytest.mark.parametrize("seed", [0, 7, 32, 39])
def test_reduced_cost_fixing_keeps_the_optimum_on_fractional_lps(seed):
    # these clustered instances have a fractional LP vertex, so branching (after fixing) runs
    A, w, p = _clustered(seed)
    a = MCLP(A, w, p=p).solve(progress=False, mip_rel_gap=0)
    assert "milp" in a.phase_s and a.status == "optimal"
    b = MCLP(A, w, p=p).solve(progress=False, reduce=False, lp_first=False, mip_rel_gap=0)
    assert a.objective == pytest.approx(b.objective)
    assert a.reduction.n_candidates_rc_fixed > 0


def test_nothing_left_to_cover_is_reported_not_padded():
    # c1 + c3 open already cover every row: no new site adds anything
    m = MCLP(A_HAND, W, p=1, fixed=[1, 3]).solve(progress=False)
    assert m.selected.size == 0 and m.objective == 0 and m.covered_weight == 155
    assert m.status == "optimal" and "only 0 candidate sites add coverage" in m.message
    s = LSCP(A_HAND, W, share=1.0, fixed=[1, 3]).solve(progress=False)
    assert s.objective == 0 and s.covered.all()
