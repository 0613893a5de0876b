"""Instance reductions and lazy-greedy heuristics for covering models.

Private helpers of :mod:`coverage.siting`. Everything works on a boolean
coverage matrix ``A`` (scipy.sparse CSR, demand rows × candidate columns,
``A[i, j]`` true when candidate ``j`` covers demand ``i``) and a non-negative
demand weight vector ``w`` (people, or any additive demand measure).

The reductions keep the optimum of the models they are used for:

* rows with identical candidate sets are merged and their weights summed
  (valid for MCLP and LSCP: the two rows are covered by exactly the same
  site sets);
* a column whose covered set is a subset of another column's covered set is
  *dominated* and dropped (valid for MCLP, where sites are all worth one of
  the ``p`` slots, and for unit-cost set covering: swapping the dominated site
  for its dominator never uncovers anything); among identical columns the one
  with the lowest index is kept;
* for *full* set covering only, a row whose candidate set is a superset of
  another row's set is implied by that row and dropped.
"""

from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sp


def as_bool_csr(A) -> sp.csr_matrix:
    """Return ``A`` as a canonical boolean CSR matrix (sorted indices, no zeros).

    Parameters
    ----------
    A : array-like or scipy sparse matrix
        Coverage matrix, demand × candidate; any non-zero entry means "covers".

    Returns
    -------
    scipy.sparse.csr_matrix
        Boolean matrix with sorted indices and no stored ``False`` entries.
    """
    M = sp.csr_matrix(A)
    M = sp.csr_matrix((M.data != 0, M.indices, M.indptr), shape=M.shape)
    M.eliminate_zeros()
    M.sum_duplicates()
    M.sort_indices()
    return M.astype(bool)


def merge_identical_rows(A: sp.csr_matrix, w: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Merge rows with identical candidate sets, summing their weights.

    Parameters
    ----------
    A : scipy.sparse.csr_matrix
        Boolean coverage matrix with sorted indices.
    w : numpy.ndarray
        Weight per row.

    Returns
    -------
    A2 : scipy.sparse.csr_matrix
        One row per distinct candidate set, in order of first appearance.
    w2 : numpy.ndarray
        Summed weights of the merged rows.
    inverse : numpy.ndarray
        ``inverse[i]`` is the row of ``A2`` that row ``i`` of ``A`` went into.
    """
    indptr, indices = A.indptr, A.indices
    keys = {}
    inverse = np.empty(A.shape[0], dtype=np.int64)
    firsts = []
    for i in range(A.shape[0]):
        key = indices[indptr[i]:indptr[i + 1]].tobytes()
        g = keys.get(key)
        if g is None:
            g = len(firsts)
            keys[key] = g
            firsts.append(i)
        inverse[i] = g
    w2 = np.bincount(inverse, weights=w, minlength=len(firsts)).astype(float)
    A2 = A[np.asarray(firsts, dtype=np.int64)]
    return A2, w2, inverse


def dominated_columns(A: sp.csr_matrix) -> np.ndarray:
    """Flag columns whose covered row set is contained in another column's set.

    Empty columns are flagged too. Among identical columns, all but the one
    with the lowest index are flagged, so every flagged column has a kept
    column that covers at least the same rows.

    Parameters
    ----------
    A : scipy.sparse.csr_matrix
        Boolean coverage matrix.

    Returns
    -------
    numpy.ndarray of bool
        One flag per column.
    """
    n = A.shape[1]
    B = A.astype(np.int32)
    size = np.asarray(B.sum(axis=0)).ravel()
    flag = size == 0
    overlap = (B.T @ B).tocoo()
    j, k, o = overlap.row, overlap.col, overlap.data
    off = j != k
    j, k, o = j[off], k[off], o[off]
    # j ⊆ k  ⇔  |j ∩ k| = |j|; strict order (size, -index) keeps one of equals
    sub = (o == size[j]) & ((size[k] > size[j]) | ((size[k] == size[j]) & (k < j)))
    flag[np.unique(j[sub])] = True
    return flag[:n]


def superset_rows(A: sp.csr_matrix, max_pairs: float = 3e7) -> np.ndarray | None:
    """Flag rows whose candidate set contains another row's set (full covering only).

    Covering the smaller row covers the larger one, so the larger row is
    implied. Among identical rows all but the first are flagged (merge rows
    first to avoid this case).

    Parameters
    ----------
    A : scipy.sparse.csr_matrix
        Boolean coverage matrix.
    max_pairs : float
        Skip the test (return ``None``) when the row-overlap product would
        exceed this many entries, to bound memory.

    Returns
    -------
    numpy.ndarray of bool or None
        One flag per row, or ``None`` when the test was skipped.
    """
    col_size = np.diff(A.tocsc().indptr).astype(float)
    if float((col_size ** 2).sum()) > max_pairs:
        return None
    B = A.astype(np.int32)
    size = np.diff(B.indptr)
    overlap = (B @ B.T).tocoo()
    i, k, o = overlap.row, overlap.col, overlap.data
    off = i != k
    i, k, o = i[off], k[off], o[off]
    # row k ⊆ row i  ⇒ i implied; order (size, index) keeps one of equals
    sup = (o == size[k]) & ((size[i] > size[k]) | ((size[i] == size[k]) & (i > k)))
    flag = np.zeros(A.shape[0], dtype=bool)
    flag[np.unique(i[sup])] = True
    return flag


def lazy_greedy(
    A: sp.csr_matrix,
    w: np.ndarray,
    *,
    p: int | None = None,
    required: float | None = None,
) -> tuple[list[int], float]:
    """Lazy greedy maximum coverage (heap of stale gains).

    Picks, one at a time, the column that covers the most not-yet-covered
    weight, until ``p`` columns are picked (MCLP) or the covered weight
    reaches ``required`` (set covering), or no column adds weight.
    Gains only shrink as rows get covered, so a popped column whose
    recomputed gain still tops the heap is the true best (lazy evaluation).

    Parameters
    ----------
    A : scipy.sparse.csr_matrix
        Boolean coverage matrix.
    w : numpy.ndarray
        Non-negative weight per row.
    p : int, optional
        Number of columns to pick.
    required : float, optional
        Covered weight to reach.

    Returns
    -------
    selected : list of int
        Picked columns, in order of picking.
    covered_weight : float
        Weight covered by the picked columns.
    """
    C = A.tocsc()
    ptr, idx = C.indptr, C.indices
    covered = np.zeros(A.shape[0], dtype=bool)
    gains = np.asarray(C.T @ w).ravel() if A.shape[0] else np.zeros(A.shape[1])
    heap = [(-g, j) for j, g in enumerate(gains) if g > 0]
    heapq.heapify(heap)
    selected: list[int] = []
    total = 0.0
    limit = p if p is not None else A.shape[1]
    goal = required if required is not None else np.inf
    while heap and len(selected) < limit and total < goal:
        neg, j = heapq.heappop(heap)
        rows = idx[ptr[j]:ptr[j + 1]]
        fresh = rows[~covered[rows]]
        g = float(w[fresh].sum())
        if g <= 0:
            continue
        if heap and g < -heap[0][0]:
            heapq.heappush(heap, (-g, j))
            continue
        covered[fresh] = True
        total += g
        selected.append(j)
    return selected, total


def drop_redundant(A: sp.csr_matrix, w: np.ndarray, selected: list[int], required: float) -> list[int]:
    """Remove picked columns (latest first) while the covered weight stays ≥ ``required``.

    The classic clean-up of a greedy set cover: a column picked early may have
    become redundant once later columns cover its rows.

    Parameters
    ----------
    A : scipy.sparse.csr_matrix
        Boolean coverage matrix.
    w : numpy.ndarray
        Weight per row.
    selected : list of int
        Picked columns.
    required : float
        Covered weight that must be kept.

    Returns
    -------
    list of int
        The kept columns, in their original order.
    """
    C = A.tocsc()
    ptr, idx = C.indptr, C.indices
    count = np.zeros(A.shape[0], dtype=np.int64)
    for j in selected:
        count[idx[ptr[j]:ptr[j + 1]]] += 1
    total = float(w[count > 0].sum())
    kept = list(selected)
    for j in reversed(selected):
        rows = idx[ptr[j]:ptr[j + 1]]
        loss = float(w[rows[count[rows] == 1]].sum())
        if total - loss >= required:
            count[rows] -= 1
            total -= loss
            kept.remove(j)
    return kept


def swap_search(A: sp.csr_matrix, w: np.ndarray, selected, *, max_iter: int = 10_000,
                time_limit_s: float = 30.0) -> tuple[list[int], float]:
    """Best-improvement 1-swap local search for maximum coverage.

    Repeatedly exchanges the open column ``i`` and closed column ``j`` with the
    largest gain ``add(j) − loss(i) + both(i, j)`` (``add``: uncovered weight
    ``j`` covers; ``loss``: weight only ``i`` covers; ``both``: weight only
    ``i`` covers that ``j`` covers too) until no swap gains.

    Parameters
    ----------
    A : scipy.sparse.csr_matrix
        Boolean coverage matrix.
    w : numpy.ndarray
        Non-negative weight per row.
    selected : sequence of int
        Starting columns (e.g. the greedy answer).
    max_iter : int
        Most swaps.
    time_limit_s : float
        Wall-clock limit in seconds.

    Returns
    -------
    selected : list of int
        Improved columns.
    covered_weight : float
        Weight they cover.
    """
    import time

    t0 = time.perf_counter()
    sel = [int(j) for j in selected]
    n, m = A.shape
    if not sel or len(sel) >= m:
        cov = A[:, sel].getnnz(axis=1) > 0 if sel else np.zeros(n, bool)
        return sel, float(w[cov].sum())
    Af = A.astype(float).tocsc()
    AfT = Af.T.tocsr()
    count = np.asarray(Af[:, sel].sum(axis=1)).ravel()
    for _ in range(max_iter):
        if time.perf_counter() - t0 > time_limit_s:
            break
        add = AfT @ (w * (count == 0))
        only = w * (count == 1)
        S = Af[:, sel]
        loss = S.T @ only
        both = (S.T.multiply(only[None, :])).tocsr() @ Af          # k × m
        gain = add[None, :] - loss[:, None] + both.toarray()
        gain[:, sel] = -np.inf
        i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
        if gain[i, j] <= 1e-9 * max(1.0, float(w.sum())):
            break
        out = sel[i]
        count -= np.asarray(Af[:, out].todense()).ravel()
        count += np.asarray(Af[:, j].todense()).ravel()
        sel[i] = int(j)
    return sel, float(w[count > 0].sum())
