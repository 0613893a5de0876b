"""Maximal covering (MCLP) and set covering (LSCP) siting on a sparse coverage matrix.

The coverage matrix ``A`` is a scipy.sparse CSR boolean matrix, demand points ×
candidate sites; ``A[i, j]`` is true when candidate ``j`` serves demand ``i``
(cost ≤ radius). Build it with :func:`coverage_from_cost_matrix` (any cost:
network metres from ``scipy.sparse.csgraph``, minutes…), with
:func:`coverage_from_points` (straight-line metres in EPSG:4549), or pass a
precomputed matrix to the model constructors.

Existing facilities are respected in two ways: ``fixed`` candidate columns are
open already (they do not count towards ``p``), and ``precovered`` flags demand
served by facilities that are not candidates. Demand covered either way is
removed before solving.

Solving (``solve()`` returns the model): reduce the instance (see
:mod:`coverage.siting._reduce`), run a lazy greedy (plus 1-swap local search for
MCLP) for an incumbent, solve the LP relaxation with HiGHS IPM + crossover (an
integral vertex proves optimality at once, the usual case for MCLP on spread-out
demand), else fix variables by reduced cost (MCLP) and run
``scipy.optimize.milp`` (HiGHS branch and cut) with a time limit; the best
solution found is returned with its proven optimality gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint

from coverage.siting._covering import (
    ReductionStats,
    _advance,
    _covered_value,
    _CoveringModel,
    _integral,
    _phases,
    coverage_from_cost_matrix,
    coverage_from_points,
)
from coverage._errors import SitingError
from coverage.siting._milp import solve_lp, solve_milp
from coverage.siting._reduce import drop_redundant, lazy_greedy, swap_search

__all__ = ["MCLP", "LSCP", "ReductionStats", "coverage_from_cost_matrix", "coverage_from_points"]


@dataclass
class _Restricted:
    """An MCLP left after reduced-cost fixing (columns/rows index the reduced model)."""

    A: sp.csr_matrix
    w: np.ndarray
    k: int
    cols: np.ndarray      # kept columns of the reduced model
    forced: np.ndarray    # columns fixed open
    constant: float       # weight covered by the forced columns
    incumbent: float      # the incumbent value the fixing relied on


def _mclp_rows(A: sp.csr_matrix, w: np.ndarray):
    """Objective and rows of ``max Σ w y, y ≤ A x, Σ x = k`` in milp's minimisation form."""
    n_rows, n_cols = A.shape
    c = np.concatenate([np.zeros(n_cols), -w])
    link = sp.hstack([-A.astype(float), sp.identity(n_rows, format="csr")]).tocsr()
    card = sp.csr_matrix(np.concatenate([np.ones(n_cols), np.zeros(n_rows)])[None, :])
    return c, link, card


def _fix_by_reduced_cost(A, w, k, lp, incumbent: float) -> _Restricted:
    """Reduced-cost fixing: variables whose flip costs more than ``LP bound − incumbent``.

    With LP bound ``U`` and incumbent ``L``, a variable at 0 (at 1) in the LP
    basis whose reduced cost exceeds ``U − L`` is 0 (is 1) in every solution
    better than ``L``; the incumbent is kept, so the optimum is unchanged.
    ``x_j`` fixed at 0 drops candidate ``j``; at 1 opens it (its rows count as
    covered, ``k`` drops by one); ``y_i`` fixed at 0 drops demand row ``i``.
    """
    n_rows, n_cols = A.shape
    keep_c, keep_r = np.ones(n_cols, bool), np.ones(n_rows, bool)
    forced = np.zeros(0, dtype=np.int64)
    if lp is not None and lp.status == "optimal" and lp.reduced_low is not None:
        lp_bound = -lp.objective
        slack = lp_bound - incumbent + 1e-7 * max(lp_bound, 1.0)
        low, up = lp.reduced_low, -lp.reduced_up
        one = (up[:n_cols] > slack) & (lp.x[:n_cols] > 0.5)
        zero = (low[:n_cols] > slack) & (lp.x[:n_cols] < 0.5)
        forced = np.flatnonzero(one)
        keep_c = ~(one | zero)
        keep_r = ~((low[n_cols:] > slack) & (lp.x[n_cols:] < 0.5))
    covered = A[:, forced].getnnz(axis=1) > 0 if forced.size else np.zeros(n_rows, bool)
    constant = float(w[covered].sum())
    cols = np.flatnonzero(keep_c)
    rows = np.flatnonzero(keep_r & ~covered)
    sub = A[rows][:, cols].tocsr()
    live = sub.getnnz(axis=1) > 0
    sub, ws = sub[np.flatnonzero(live)], w[rows][live]
    k2 = min(k - forced.size, cols.size)
    return _Restricted(sub, ws, k2, cols, forced, constant, incumbent)


def _solve_restricted(sub: _Restricted, time_limit_s: float, mip_rel_gap: float, progress: bool):
    """MILP on the restricted model; returns (columns of ``sub``, upper bound, status)."""
    n_rows, n_cols = sub.A.shape
    if n_rows == 0 or sub.k <= 0:
        return np.zeros(0, dtype=np.int64), 0.0, "optimal"
    c, link, card = _mclp_rows(sub.A, sub.w)
    out = solve_milp(c, [LinearConstraint(link, -np.inf, 0), LinearConstraint(card, sub.k, sub.k)],
                     np.concatenate([np.ones(n_cols), np.zeros(n_rows)]), Bounds(0, 1),
                     time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, progress=progress,
                     desc="siting: MILP")
    sel = None if out.x is None else np.flatnonzero(out.x[:n_cols] > 0.5)
    ub = -out.dual_bound if np.isfinite(out.dual_bound) else float(sub.w.sum())
    return sel, ub, out.status


class MCLP(_CoveringModel):
    """Maximal covering location: ``p`` new sites covering the most uncovered demand.

    ``max Σ w_i y_i  s.t.  y_i ≤ Σ_j a_ij x_j,  Σ_j x_j = p,  x ∈ {0,1}, 0 ≤ y ≤ 1``
    (``y`` continuous: at an integral ``x`` the optimum sets ``y_i = min(1, Σ a x)``).

    Parameters
    ----------
    coverage : scipy sparse matrix or array, shape (n_demand, n_candidates)
        Boolean coverage matrix (see :func:`coverage_from_cost_matrix`).
    weights : array-like, optional
        Demand weight per row (people); ones when omitted.
    p : int
        Number of new sites to choose (fixed sites do not count).
    fixed : sequence of int, optional
        Candidate columns that are open already (existing facilities).
    precovered : array-like of bool, optional
        Demand already served by facilities that are not candidate columns.
    demand_ids, candidate_ids : sequence, optional
        Labels for reports (``selected_ids``).

    Attributes (after :meth:`solve`)
    --------------------------------
    selected : numpy.ndarray
        Column indices (of the input matrix) of the chosen new sites.
    objective : float
        Demand weight newly covered by ``selected`` (the maximised quantity).
    bound : float
        Proven upper bound on the objective; ``gap = (bound - objective) / bound``.
    covered_weight, covered_share : float
        All covered weight (precovered + fixed + new) and its share of all demand.
    status : str
        ``optimal`` (gap ≤ ``mip_rel_gap``), ``time_limit`` (best found, gap reported),
        ``greedy`` or ``heuristic`` (that answer; gap against the LP bound).
    greedy_objective, greedy_gap : float
        The lazy-greedy answer and its gap to ``bound``.
    heuristic_objective : float
        The greedy answer after 1-swap local search (``nan`` for ``greedy``).
    reduction : ReductionStats
    solve_time_s : float
    """

    kind = "MCLP"

    def __init__(self, coverage, weights=None, *, p: int, **kwargs) -> None:
        super().__init__(coverage, weights, **kwargs)
        n_free = self.A.shape[1] - self.fixed.size
        if not isinstance(p, (int, np.integer)) or isinstance(p, bool) or p < 0:
            raise SitingError(f"p must be an integer ≥ 0, got {p!r}")
        if p > n_free:
            raise SitingError(f"p = {p} exceeds the {n_free} candidate sites that are not fixed")
        self.p = int(p)

    def solve(self, *, method: str = "milp", time_limit_s: float = 60.0, mip_rel_gap: float = 1e-4,
              reduce: bool = True, lp_first: bool = True, progress: bool = True) -> MCLP:
        """Solve the model and return ``self``.

        Parameters
        ----------
        method : {"milp", "greedy", "heuristic"}
            ``milp``: exact (greedy + swap local search for an incumbent, LP
            relaxation, then reduced-cost fixing and HiGHS branch and cut when the
            LP vertex is fractional). ``greedy``: lazy greedy only;
            ``heuristic``: greedy improved by 1-swap local search; both report
            their gap to the LP bound.
        time_limit_s : float
            Wall-clock limit of the whole solve in seconds; on reaching it the best
            solution found is kept and ``status`` is ``time_limit``.
        mip_rel_gap : float
            Relative optimality gap accepted as optimal.
        reduce : bool
            Apply the instance reductions (never change the optimum).
        lp_first : bool
            Solve the LP relaxation with IPM + crossover before branching.
        progress : bool
            Show tqdm progress bars.
        """
        if method not in ("milp", "greedy", "heuristic"):
            raise SitingError(f"method must be 'milp', 'greedy' or 'heuristic', got {method!r}")
        self._reset()
        t0 = time.perf_counter()
        bar = _phases(progress, ["reduce", "greedy", "local search", "LP relaxation", "MILP"])
        Ar, wr, cols = self._prepare(reduce, full_cover=False)
        self.phase_s["reduce"] = time.perf_counter() - t0
        _advance(bar, "greedy")
        n_rows, n_cols = Ar.shape
        k = min(self.p, n_cols)
        t1 = time.perf_counter()
        g_sel, g_val = lazy_greedy(Ar, wr, p=k)
        self.phase_s["greedy"] = time.perf_counter() - t1
        _advance(bar, "local search")
        best_sel, best_val = np.asarray(g_sel, dtype=np.int64), g_val
        if method != "greedy":
            t1 = time.perf_counter()
            s_sel, s_val = swap_search(Ar, wr, g_sel, time_limit_s=0.25 * time_limit_s)
            self.phase_s["local_search"] = time.perf_counter() - t1
            self.heuristic_objective = s_val
            if s_val > best_val:
                best_sel, best_val = np.asarray(s_sel, dtype=np.int64), s_val
        _advance(bar, "LP relaxation")
        bound = float(wr.sum())
        milp_status = "optimal"
        if k < self.p:
            self.message = f"only {k} candidate sites add coverage; the other {self.p - k} add nothing"
        if n_rows and k and best_val < bound:
            c, link, card = _mclp_rows(Ar, wr)
            lp = None
            if lp_first or method != "milp":
                t1 = time.perf_counter()
                lp = solve_lp(c, link, np.zeros(n_rows), card, [k], time_limit_s=time_limit_s)
                self.phase_s["lp"] = time.perf_counter() - t1
                if lp.status == "optimal":
                    bound = min(bound, -lp.objective)
                    xs = lp.x[:n_cols]
                    # the LP vertex itself when integral, else its k largest values rounded up
                    if _integral(xs):
                        sel = np.flatnonzero(xs > 0.5)
                        val = _covered_value(Ar, wr, sel)
                    elif method == "milp":
                        sel, val = swap_search(Ar, wr, np.argsort(-xs, kind="stable")[:k],
                                               time_limit_s=0.1 * time_limit_s)
                        sel = np.asarray(sel, dtype=np.int64)
                    else:
                        val = -np.inf
                    if method == "milp" and val > best_val:
                        best_sel, best_val = sel, val
            _advance(bar, "MILP")
            proven = best_val >= bound * (1 - mip_rel_gap) - 1e-9 * max(bound, 1.0)
            remaining = time_limit_s - (time.perf_counter() - t0)
            if method == "milp" and not proven:
                if remaining <= 0:
                    milp_status = "time_limit"
                else:
                    t1 = time.perf_counter()
                    sub = _fix_by_reduced_cost(Ar, wr, k, lp, best_val)
                    self.reduction.n_candidates_rc_fixed = int(n_cols - sub.cols.size)
                    self.reduction.n_demand_rc_dropped = int(n_rows - sub.A.shape[0])
                    sel_sub, sub_bound, milp_status = _solve_restricted(sub, remaining, mip_rel_gap, progress)
                    self.phase_s["milp"] = time.perf_counter() - t1
                    if sel_sub is not None:
                        sel = np.concatenate([sub.forced, sub.cols[sel_sub]]).astype(np.int64)
                        val = _covered_value(Ar, wr, sel)
                        if val > best_val:
                            best_sel, best_val = sel, val
                    # OPT ≤ max(incumbent used for fixing, bound of the restricted model)
                    bound = min(bound, max(sub.incumbent, sub.constant + sub_bound))
        if bar is not None:
            bar.close()
        bound = max(bound, best_val)
        self._finish(cols[best_sel])
        self.objective = self.covered_weight - float(self.weights[self._pre_mask].sum())
        self.bound = bound
        self.gap = (bound - best_val) / bound if bound > 0 else 0.0
        self.greedy_objective = g_val
        self.greedy_gap = (bound - g_val) / bound if bound > 0 else 0.0
        self.method = method
        if method != "milp":
            self.status = method
        elif self.gap <= mip_rel_gap + 1e-12:
            self.status = "optimal"
        else:
            self.status = milp_status if milp_status != "optimal" else "time_limit"
        self.solve_time_s = time.perf_counter() - t0
        return self


class LSCP(_CoveringModel):
    """Set covering: the fewest new sites so that the covered share reaches ``share``.

    Full covering (``share = 1``): ``min Σ x_j  s.t.  Σ_j a_ij x_j ≥ 1`` for every
    coverable demand row. Share covering (``share < 1``):
    ``min Σ x_j  s.t.  y_i ≤ Σ_j a_ij x_j,  Σ_i w_i y_i ≥ share · W − W_covered``
    with ``x`` binary and ``0 ≤ y ≤ 1``. ``W`` is the weight of *coverable*
    demand (``share_of="coverable"``: demand no candidate reaches is excluded and
    listed in ``unreachable``) or of all demand (``share_of="all"``; an
    unreachable share raises :class:`SitingError`).

    Parameters
    ----------
    coverage, weights, fixed, precovered, demand_ids, candidate_ids
        As :class:`MCLP`.
    share : float
        Target covered share of demand weight, in (0, 1].
    share_of : {"coverable", "all"}
        Denominator of the share.

    Attributes (after :meth:`solve`)
    --------------------------------
    selected : numpy.ndarray
        Column indices of the chosen new sites.
    objective : int
        Number of new sites.
    bound : int
        Proven lower bound on the number of sites; ``gap = (objective - bound) / objective``.
    covered_weight, covered_share, status, greedy_objective, greedy_gap, reduction,
    unreachable, solve_time_s
        As :class:`MCLP` (``covered_share`` is against all demand).
    required_weight : float
        The weight that had to be covered (``share · W``).
    """

    kind = "LSCP"

    def __init__(self, coverage, weights=None, *, share: float = 1.0, share_of: str = "coverable",
                 **kwargs) -> None:
        super().__init__(coverage, weights, **kwargs)
        if not (isinstance(share, (int, float, np.floating)) and 0 < share <= 1):
            raise SitingError(f"share must be a number in (0, 1], got {share!r}")
        if share_of not in ("coverable", "all"):
            raise SitingError(f"share_of must be 'coverable' or 'all', got {share_of!r}")
        self.share, self.share_of = float(share), share_of
        self.required_weight = np.nan

    def solve(self, *, method: str = "milp", time_limit_s: float = 60.0, mip_rel_gap: float = 1e-4,
              reduce: bool = True, lp_first: bool = True, progress: bool = True) -> LSCP:
        """Solve the model and return ``self`` (parameters as :meth:`MCLP.solve`)."""
        if method not in ("milp", "greedy"):
            raise SitingError(f"method must be 'milp' or 'greedy', got {method!r}")
        self._reset()
        t0 = time.perf_counter()
        full = self.share >= 1.0
        bar = _phases(progress, ["reduce", "greedy", "LP relaxation", "MILP"])
        Ar, wr, cols = self._prepare(reduce, full_cover=full)
        self.phase_s["reduce"] = time.perf_counter() - t0
        w = self.weights
        w_total = float(w.sum())
        w_pre = float(w[self._pre_mask].sum())
        w_unreach = float(w[self.unreachable].sum())
        base = w_total - w_unreach if self.share_of == "coverable" else w_total
        eps = 1e-9 * max(base, 1.0)
        self.required_weight = self.share * base
        need = float(wr.sum()) if full and self.share_of == "coverable" else self.required_weight - w_pre
        if need > float(wr.sum()) + eps:
            best = (w_total - w_unreach) / w_total if w_total > 0 else 1.0
            raise SitingError(f"share {self.share:.4f} of all demand is unreachable: at most {best:.4f} "
                              f"can be covered ({self.unreachable.size} demand rows no candidate reaches)")
        _advance(bar, "greedy")
        t1 = time.perf_counter()
        n_rows, n_cols = Ar.shape
        if need <= eps or n_rows == 0:
            g_sel, g_val = [], 0.0
        else:
            g_sel, g_val = lazy_greedy(Ar, wr, required=need - eps)
            g_sel = drop_redundant(Ar, wr, g_sel, need - eps)
        self.phase_s["greedy"] = time.perf_counter() - t1
        _advance(bar, "LP relaxation")
        best_sel = np.asarray(g_sel, dtype=np.int64)
        bound = 0 if len(best_sel) == 0 else 1
        milp_status = "optimal"
        if len(best_sel) > bound:
            if full:
                c = np.ones(n_cols)
                cons = [LinearConstraint(Ar.astype(float), 1, np.inf)]
                lp_args = (-Ar.astype(float), -np.ones(n_rows), None, None)
                integ = np.ones(n_cols)
            else:
                c = np.concatenate([np.ones(n_cols), np.zeros(n_rows)])
                link = sp.hstack([-Ar.astype(float), sp.identity(n_rows, format="csr")]).tocsr()
                cover = sp.csr_matrix(np.concatenate([np.zeros(n_cols), wr])[None, :])
                cons = [LinearConstraint(link, -np.inf, 0), LinearConstraint(cover, need - eps, np.inf)]
                lp_args = (sp.vstack([link, -cover]).tocsr(), np.concatenate([np.zeros(n_rows), [-(need - eps)]]),
                           None, None)
                integ = np.concatenate([np.ones(n_cols), np.zeros(n_rows)])
            if lp_first or method == "greedy":
                t1 = time.perf_counter()
                lp = solve_lp(c, *lp_args, time_limit_s=time_limit_s)
                self.phase_s["lp"] = time.perf_counter() - t1
                if lp.status == "optimal":
                    bound = max(bound, int(np.ceil(lp.objective - 1e-6)))
                    xs = lp.x[:n_cols]
                    if method == "milp" and _integral(xs):
                        sel = np.flatnonzero(xs > 0.5)
                        if len(sel) < len(best_sel) and _covered_value(Ar, wr, sel) >= need - eps:
                            best_sel = sel
            _advance(bar, "MILP")
            remaining = time_limit_s - (time.perf_counter() - t0)
            proven = len(best_sel) - bound <= mip_rel_gap * len(best_sel)
            if method == "milp" and not proven:
                if remaining <= 0:
                    milp_status = "time_limit"
                else:
                    t1 = time.perf_counter()
                    out = solve_milp(c, cons, integ, Bounds(0, 1), time_limit_s=remaining,
                                     mip_rel_gap=mip_rel_gap, progress=progress, desc="siting: MILP")
                    self.phase_s["milp"] = time.perf_counter() - t1
                    milp_status = out.status
                    if out.x is not None:
                        sel = np.flatnonzero(out.x[:n_cols] > 0.5)
                        if len(sel) < len(best_sel) and _covered_value(Ar, wr, sel) >= need - eps:
                            best_sel = sel
                    if np.isfinite(out.dual_bound):
                        bound = max(bound, int(np.ceil(out.dual_bound - 1e-6)))
        if bar is not None:
            bar.close()
        n_best = len(best_sel)
        bound = min(bound, n_best)
        self._finish(cols[best_sel])
        self.objective = n_best
        self.bound = bound
        self.gap = (n_best - bound) / n_best if n_best else 0.0
        self.greedy_objective = len(g_sel)
        self.greedy_gap = (len(g_sel) - bound) / len(g_sel) if len(g_sel) else 0.0
        self.method = method
        if method == "greedy":
            self.status = "greedy"
        elif self.gap <= mip_rel_gap + 1e-12:
            self.status = "optimal"
        else:
            self.status = milp_status if milp_status != "optimal" else "time_limit"
        self.solve_time_s = time.perf_counter() - t0
        return self
