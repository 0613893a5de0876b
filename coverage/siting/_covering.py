"""Coverage matrices and the shared base of the covering models (MCLP, LSCP).

Private to :mod:`coverage.siting`, which re-exports the public names
(:func:`coverage_from_cost_matrix`, :func:`coverage_from_points`,
:class:`ReductionStats`). Coordinates are EPSG:4549 metres, never degrees.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from coverage._errors import SitingError
from coverage.siting._reduce import as_bool_csr, dominated_columns, merge_identical_rows, superset_rows
_INT_TOL = 1e-6


def coverage_from_cost_matrix(cost, radius: float) -> sp.csr_matrix:
    """Boolean coverage matrix from a cost matrix: ``cost ≤ radius``.

    Parameters
    ----------
    cost : numpy.ndarray or scipy sparse matrix, shape (n_demand, n_candidates)
        Travel cost in any unit (metres, minutes). For a sparse matrix the
        stored entries are the costs (explicit zeros mean cost 0) and absent
        entries mean unreachable. ``nan`` and ``inf`` mean unreachable.
    radius : float
        Service standard in the same unit as ``cost``.

    Returns
    -------
    scipy.sparse.csr_matrix of bool
    """
    if not np.isfinite(radius) or radius < 0:
        raise SitingError(f"radius must be a finite number ≥ 0, got {radius!r}")
    if sp.issparse(cost):
        C = sp.coo_matrix(cost)
        if np.any(C.data < 0):
            raise SitingError("cost matrix has negative entries")
        ok = np.isfinite(C.data) & (C.data <= radius)
        M = sp.csr_matrix((np.ones(int(ok.sum()), bool), (C.row[ok], C.col[ok])), shape=C.shape)
        return as_bool_csr(M)
    C = np.asarray(cost, dtype=float)
    if C.ndim != 2:
        raise SitingError(f"cost matrix must be 2-D, got shape {C.shape}")
    if np.any(C < 0):
        raise SitingError("cost matrix has negative entries")
    return as_bool_csr(sp.csr_matrix(np.isfinite(C) & (C <= radius)))


def _check_metres(xy: np.ndarray, what: str) -> None:
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise SitingError(f"{what} must have shape (n, 2), got {xy.shape}")
    if not np.all(np.isfinite(xy)):
        bad = int(np.flatnonzero(~np.isfinite(xy).all(axis=1))[0])
        raise SitingError(f"{what} row {bad} has a non-finite coordinate")
    if len(xy) and np.all((xy[:, 0] >= 73) & (xy[:, 0] <= 136) & (xy[:, 1] >= 3) & (xy[:, 1] <= 54)):
        raise SitingError(f"{what} look like lon/lat degrees; project them to EPSG:4549 metres first")


def coverage_from_points(demand_xy, cand_xy, radius_m: float) -> sp.csr_matrix:
    """Boolean coverage matrix from straight-line distance ≤ ``radius_m``.

    Parameters
    ----------
    demand_xy, cand_xy : array-like, shape (n, 2)
        Projected coordinates in metres (EPSG:4549, ``layers.settings.WORKING_CRS``);
        never degrees (an array that looks like lon/lat in China is rejected).
    radius_m : float
        Service radius in metres.

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape (n_demand, n_candidates)
    """
    D = np.asarray(demand_xy, dtype=float).reshape(-1, 2) if len(demand_xy) else np.zeros((0, 2))
    C = np.asarray(cand_xy, dtype=float).reshape(-1, 2) if len(cand_xy) else np.zeros((0, 2))
    _check_metres(D, "demand coordinates")
    _check_metres(C, "candidate coordinates")
    if not np.isfinite(radius_m) or radius_m < 0:
        raise SitingError(f"radius_m must be a finite number ≥ 0, got {radius_m!r}")
    if len(D) == 0 or len(C) == 0:
        return sp.csr_matrix((len(D), len(C)), dtype=bool)
    lists = cKDTree(C).query_ball_point(D, r=radius_m)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    rows = np.repeat(np.arange(len(D)), counts)
    cols = np.fromiter((j for x in lists for j in x), dtype=np.int64, count=int(counts.sum()))
    M = sp.csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(len(D), len(C)))
    return as_bool_csr(M)


@dataclass
class ReductionStats:
    """What the reductions removed (counts refer to the input instance).

    Attributes
    ----------
    n_demand, n_candidates : int
        Input size.
    n_fixed : int
        Candidates open already (``fixed``).
    n_precovered : int
        Demand rows covered by fixed candidates or flagged ``precovered``.
    n_unreachable : int
        Demand rows no candidate can cover (excluded, reported).
    n_zero_weight : int
        Remaining rows of weight 0 (dropped).
    n_rows_merged : int
        Rows folded into an identical row.
    n_rows_implied : int
        Rows implied by a subset row (full set covering only).
    n_candidates_dominated : int
        Candidates dropped as empty or dominated.
    n_demand_model, n_candidates_model : int
        Size of the model actually solved.
    n_candidates_rc_fixed, n_demand_rc_dropped : int
        MCLP only, when the LP vertex is fractional: candidates fixed open or
        shut and demand rows dropped by reduced-cost fixing before branching.
    """

    n_demand: int = 0
    n_candidates: int = 0
    n_fixed: int = 0
    n_precovered: int = 0
    n_unreachable: int = 0
    n_zero_weight: int = 0
    n_rows_merged: int = 0
    n_rows_implied: int = 0
    n_candidates_dominated: int = 0
    n_demand_model: int = 0
    n_candidates_model: int = 0
    n_candidates_rc_fixed: int = 0
    n_demand_rc_dropped: int = 0

    def as_dict(self) -> dict:
        """Return the counts as a plain dict."""
        return asdict(self)


class _CoveringModel:
    """Shared input handling and result attributes of MCLP and LSCP."""

    kind = ""

    def __init__(self, coverage, weights=None, *, fixed=None, precovered=None,
                 demand_ids=None, candidate_ids=None) -> None:
        A = as_bool_csr(coverage)
        n, m = A.shape
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=float).ravel()
        if w.shape != (n,):
            raise SitingError(f"weights has {w.size} values for {n} demand rows")
        bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
        if bad.size:
            raise SitingError(f"weights row {int(bad[0])}: value {w[bad[0]]!r} is not a finite number ≥ 0")
        fixed_idx = np.unique(np.asarray([] if fixed is None else fixed, dtype=np.int64))
        if fixed_idx.size and (fixed_idx.min() < 0 or fixed_idx.max() >= m):
            raise SitingError(f"fixed candidate index out of range 0..{m - 1}: {fixed_idx.tolist()}")
        pre = np.zeros(n, bool) if precovered is None else np.asarray(precovered, dtype=bool).ravel()
        if pre.shape != (n,):
            raise SitingError(f"precovered has {pre.size} values for {n} demand rows")
        for ids, size, what in ((demand_ids, n, "demand_ids"), (candidate_ids, m, "candidate_ids")):
            if ids is not None and len(ids) != size:
                raise SitingError(f"{what} has {len(ids)} values for {size} rows")
        self.A, self.weights, self.fixed, self.precovered = A, w, fixed_idx, pre
        self.demand_ids = None if demand_ids is None else list(demand_ids)
        self.candidate_ids = None if candidate_ids is None else list(candidate_ids)
        self._reset()

    def _reset(self) -> None:
        self.selected = np.zeros(0, dtype=np.int64)
        self.objective = np.nan
        self.bound = np.nan
        self.gap = np.nan
        self.covered_weight = np.nan
        self.covered_share = np.nan
        self.covered = np.zeros(self.A.shape[0], bool)
        self.unreachable = np.zeros(0, dtype=np.int64)
        self.status = "not_solved"
        self.method = ""
        self.message = ""
        self.solve_time_s = np.nan
        self.phase_s: dict[str, float] = {}
        self.greedy_objective = np.nan
        self.greedy_gap = np.nan
        self.heuristic_objective = np.nan
        self.reduction = ReductionStats()

    @classmethod
    def from_cost_matrix(cls, cost, radius: float, weights=None, **kwargs):
        """Build the model from a cost matrix (covered when ``cost ≤ radius``).

        Parameters
        ----------
        cost : numpy.ndarray or scipy sparse matrix, shape (n_demand, n_candidates)
            See :func:`coverage_from_cost_matrix`.
        radius : float
            Service standard, same unit as ``cost``.
        weights : array-like, optional
            Demand weight per row (people); ones when omitted.
        **kwargs
            Passed to the constructor (``p``, ``share``, ``fixed``, ``precovered``…).
        """
        return cls(coverage_from_cost_matrix(cost, radius), weights, **kwargs)

    @classmethod
    def from_points(cls, demand_xy, cand_xy, radius_m: float, weights=None, **kwargs):
        """Build the model from EPSG:4549 coordinates in metres (straight-line radius).

        Parameters
        ----------
        demand_xy, cand_xy : array-like, shape (n, 2)
            Projected coordinates in metres (EPSG:4549).
        radius_m : float
            Service radius in metres.
        weights : array-like, optional
            Demand weight per row; ones when omitted.
        **kwargs
            Passed to the constructor.
        """
        return cls(coverage_from_points(demand_xy, cand_xy, radius_m), weights, **kwargs)

    # ------------------------------------------------------------------ reductions
    def _prepare(self, reduce: bool, full_cover: bool):
        """Return (A_model, w_model, model_cols) after removing covered/unreachable demand."""
        A, w = self.A, self.weights
        n, m = A.shape
        st = ReductionStats(n_demand=n, n_candidates=m, n_fixed=int(self.fixed.size))
        pre = self.precovered.copy()
        if self.fixed.size:
            pre |= A[:, self.fixed].getnnz(axis=1) > 0
        choice = np.setdiff1d(np.arange(m), self.fixed)
        Ac = A[:, choice]
        reach = Ac.getnnz(axis=1) > 0
        unreachable = ~pre & ~reach
        keep = ~pre & reach & (w > 0)
        st.n_precovered = int(pre.sum())
        st.n_unreachable = int(unreachable.sum())
        st.n_zero_weight = int((~pre & reach & (w <= 0)).sum())
        self.unreachable = np.flatnonzero(unreachable)
        self._pre_mask = pre
        Ar, wr, cols = Ac[np.flatnonzero(keep)], w[keep], choice
        if reduce:
            for _ in range(10):
                before = Ar.shape
                n_rows = Ar.shape[0]
                Ar, wr, _ = merge_identical_rows(Ar, wr)
                st.n_rows_merged += n_rows - Ar.shape[0]
                if full_cover:
                    implied = superset_rows(Ar)
                    if implied is not None and implied.any():
                        st.n_rows_implied += int(implied.sum())
                        Ar, wr = Ar[np.flatnonzero(~implied)], wr[~implied]
                dom = dominated_columns(Ar)
                if dom.any():
                    st.n_candidates_dominated += int(dom.sum())
                    Ar, cols = Ar[:, np.flatnonzero(~dom)].tocsr(), cols[~dom]
                    Ar.sort_indices()
                if Ar.shape == before:
                    break
        st.n_demand_model, st.n_candidates_model = Ar.shape
        self.reduction = st
        return Ar, wr, cols

    def _finish(self, chosen_cols: np.ndarray) -> None:
        """Set ``selected``, ``covered``, ``covered_weight`` and shares from the original matrix."""
        self.selected = np.sort(np.asarray(chosen_cols, dtype=np.int64))
        open_cols = np.union1d(self.selected, self.fixed).astype(np.int64)
        cov = self._pre_mask.copy()
        if open_cols.size:
            cov |= self.A[:, open_cols].getnnz(axis=1) > 0
        self.covered = cov
        self.covered_weight = float(self.weights[cov].sum())
        total = float(self.weights.sum())
        self.covered_share = self.covered_weight / total if total > 0 else 1.0

    @property
    def selected_ids(self) -> list:
        """Ids (``candidate_ids``) of the selected new sites, else their indices."""
        if self.candidate_ids is None:
            return self.selected.tolist()
        return [self.candidate_ids[j] for j in self.selected]

    def summary(self) -> dict:
        """Return the result as a flat dict (for logs, CLI and benchmarks)."""
        return {"model": self.kind, "status": self.status, "method": self.method,
                "n_selected": int(self.selected.size), "objective": self.objective,
                "bound": self.bound, "gap": self.gap, "covered_weight": self.covered_weight,
                "covered_share": self.covered_share, "greedy_objective": self.greedy_objective,
                "greedy_gap": self.greedy_gap, "heuristic_objective": self.heuristic_objective,
                "solve_time_s": self.solve_time_s,
                "n_unreachable": int(self.unreachable.size), "message": self.message,
                **{f"reduction_{k}": v for k, v in self.reduction.as_dict().items()}}


def _phases(progress: bool, names: list[str]):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=len(names), desc=f"siting: {names[0]}", leave=False)


def _advance(bar, name: str | None) -> None:
    if bar is not None:
        bar.update(1)
        if name:
            bar.set_description(f"siting: {name}")


def _integral(x: np.ndarray) -> bool:
    return bool(np.all((x < _INT_TOL) | (x > 1 - _INT_TOL)))


def _covered_value(A: sp.csr_matrix, w: np.ndarray, sel: np.ndarray) -> float:
    if len(sel) == 0:
        return 0.0
    return float(w[A[:, np.asarray(sel, dtype=np.int64)].getnnz(axis=1) > 0].sum())
