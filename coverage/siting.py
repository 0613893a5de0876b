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
:mod:`coverage._reduce`), run a lazy greedy for an incumbent, solve the LP
relaxation with HiGHS IPM + crossover (an integral vertex proves optimality at
once, the usual case for these models), else run ``scipy.optimize.milp``
(HiGHS branch and cut) with a time limit; the best solution found is returned
with its proven optimality gap.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint

from coverage._covering import (ReductionStats, _advance, _covered_value, _CoveringModel, _integral,
                                _phases, coverage_from_cost_matrix, coverage_from_points)
from coverage._errors import SitingError
from coverage._milp import solve_lp, solve_milp
from coverage._reduce import drop_redundant, lazy_greedy

__all__ = ["MCLP", "LSCP", "ReductionStats", "coverage_from_cost_matrix", "coverage_from_points"]


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
        ``optimal`` (gap ≤ ``mip_rel_gap``), ``time_limit`` (best found, gap reported)
        or ``greedy`` (greedy answer; gap against the LP bound).
    greedy_objective, greedy_gap : float
        The lazy-greedy answer and its gap to ``bound``.
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
        method : {"milp", "greedy"}
            ``milp``: exact (LP relaxation first, then HiGHS branch and cut when
            the LP vertex is fractional). ``greedy``: lazy greedy only, with its
            gap to the LP bound.
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
        if method not in ("milp", "greedy"):
            raise SitingError(f"method must be 'milp' or 'greedy', got {method!r}")
        self._reset()
        t0 = time.perf_counter()
        bar = _phases(progress, ["reduce", "greedy", "LP relaxation", "MILP"])
        Ar, wr, cols = self._prepare(reduce, full_cover=False)
        self.phase_s["reduce"] = time.perf_counter() - t0
        _advance(bar, "greedy")
        n_rows, n_cols = Ar.shape
        k = min(self.p, n_cols)
        t1 = time.perf_counter()
        g_sel, g_val = lazy_greedy(Ar, wr, p=k)
        self.phase_s["greedy"] = time.perf_counter() - t1
        _advance(bar, "LP relaxation")
        best_sel, best_val = np.asarray(g_sel, dtype=np.int64), g_val
        bound = float(wr.sum())
        milp_status = "optimal"
        if k < self.p:
            self.message = f"only {k} candidate sites add coverage; the other {self.p - k} add nothing"
        if n_rows and k and best_val < bound:
            c = np.concatenate([np.zeros(n_cols), -wr])
            link = sp.hstack([-Ar.astype(float), sp.identity(n_rows, format="csr")]).tocsr()
            card = sp.csr_matrix(np.concatenate([np.ones(n_cols), np.zeros(n_rows)])[None, :])
            if lp_first or method == "greedy":
                t1 = time.perf_counter()
                lp = solve_lp(c, link, np.zeros(n_rows), card, [k], time_limit_s=time_limit_s)
                self.phase_s["lp"] = time.perf_counter() - t1
                if lp.status == "optimal":
                    bound = min(bound, -lp.objective)
                    xs = lp.x[:n_cols]
                    if method == "milp" and _integral(xs):
                        sel = np.flatnonzero(xs > 0.5)
                        val = _covered_value(Ar, wr, sel)
                        if val > best_val:
                            best_sel, best_val = sel, val
            _advance(bar, "MILP")
            proven = best_val >= bound * (1 - mip_rel_gap) - 1e-9 * max(bound, 1.0)
            remaining = time_limit_s - (time.perf_counter() - t0)
            if method == "milp" and not proven:
                if remaining <= 0:
                    milp_status = "time_limit"
                else:
                    t1 = time.perf_counter()
                    out = solve_milp(c, [LinearConstraint(link, -np.inf, 0), LinearConstraint(card, k, k)],
                                     np.concatenate([np.ones(n_cols), np.zeros(n_rows)]), Bounds(0, 1),
                                     time_limit_s=remaining, mip_rel_gap=mip_rel_gap,
                                     progress=progress, desc="siting: MILP")
                    self.phase_s["milp"] = time.perf_counter() - t1
                    milp_status = out.status
                    if out.x is not None:
                        sel = np.flatnonzero(out.x[:n_cols] > 0.5)
                        val = _covered_value(Ar, wr, sel)
                        if val > best_val:
                            best_sel, best_val = sel, val
                    if np.isfinite(out.dual_bound):
                        bound = min(bound, -out.dual_bound)
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
        if method == "greedy":
            self.status = "greedy"
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
