"""Joint cheapest-action model: one integer program for all selected targets at once.

The planner selects several targets; each failing unit of each target becomes a
*requirement* ``Σ_a c_ra · x_a ≥ rhs_r``, and every possible *action* (upgrade an
existing facility, build a new one, add capacity) has a cost and contributes to
one or more requirements. The model chooses the cheapest set of actions that
meets every requirement together::

    min Σ_a cost_a · x_a
    s.t. Σ_a c_ra · x_a ≥ rhs_r          for every requirement r
         Σ_{a ∈ G} x_a ≤ 1                for every exclusive group G
         x_a ≤ upper_a · x_b              for every (a requires b)
         x_a ∈ {0, 1} (binary) or {0, …, upper_a} (integer)

A single action may appear in several requirements (a new community service
centre that houses a 儿童之家 counts for the presence requirement *and* adds
托位 to the capacity requirement), which is where the joint model saves money
over closing each target separately. Ratio requirements such as "示范型 ≥ 15 % of
all 儿童之家" are linear once the existing counts are moved to the right-hand
side; :func:`ratio_requirement` builds them.

Costs are in whatever unit the caller uses (万元 in ``data/siting_costs.toml``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint

from coverage._errors import SitingError
from coverage.siting._milp import solve_milp

ACTION_KINDS: tuple[str, ...] = ("upgrade", "new_build", "add_capacity")
_TOL = 1e-6


@dataclass(frozen=True)
class Action:
    """One possible action.

    Parameters
    ----------
    id : str
        Unique id (e.g. ``"upgrade:F0012"``).
    kind : {"upgrade", "new_build", "add_capacity"}
    cost : float
        Cost per unit of the decision variable (per action when binary, per
        slot for an integer ``add_capacity``), ≥ 0.
    site_id : str
        Where it happens (facility id, village code, candidate id).
    integer : bool
        ``False``: binary (0/1) decision; ``True``: integer amount in ``0..upper``.
    upper : float
        Upper bound of an integer amount (must be 1 for a binary action).
    label : str
        Display text.
    unit_code : str
        Unit (township/village code) where the site lies.
    """

    id: str
    kind: str
    cost: float
    site_id: str = ""
    integer: bool = False
    upper: float = 1.0
    label: str = ""
    unit_code: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise SitingError("action with an empty id")
        if self.kind not in ACTION_KINDS:
            raise SitingError(f"action {self.id!r}: kind {self.kind!r} is not one of {ACTION_KINDS}")
        for name in ("cost", "upper"):
            object.__setattr__(self, name, _number(getattr(self, name), f"action {self.id!r}: {name}"))
        if not np.isfinite(self.cost) or self.cost < 0:
            raise SitingError(f"action {self.id!r}: cost {self.cost!r} is not a finite number ≥ 0")
        if not np.isfinite(self.upper) or self.upper < 0:
            raise SitingError(f"action {self.id!r}: upper {self.upper!r} is not a finite number ≥ 0")
        if not self.integer and self.upper != 1:
            raise SitingError(f"action {self.id!r}: a binary action has upper = 1, got {self.upper!r}")


@dataclass(frozen=True)
class Requirement:
    """One requirement ``Σ_a c_ra · x_a ≥ rhs`` (one failing unit of one target).

    Parameters
    ----------
    id : str
        Unique id (e.g. ``"demo_child_home:331102001"``).
    target_id : str
        Plan target it comes from.
    unit_code : str
        Unit (string code) it is about.
    rhs : float
        Right-hand side: the shortfall, with any constants from existing
        facilities already moved here.
    label : str
        Display text.
    """

    id: str
    target_id: str
    unit_code: str
    rhs: float
    label: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise SitingError("requirement with an empty id")
        object.__setattr__(self, "rhs", _number(self.rhs, f"requirement {self.id!r}: rhs"))
        if not np.isfinite(self.rhs):
            raise SitingError(f"requirement {self.id!r}: rhs {self.rhs!r} is not finite")


def ratio_requirement(*, id: str, target_id: str, unit_code: str, ratio: float,
                      numerator: Mapping[str, float], denominator: Mapping[str, float],
                      existing_numerator: float, existing_denominator: float,
                      label: str = "") -> tuple[Requirement, list[tuple[str, str, float]]]:
    """Linearise ``(N0 + Σ n_a x_a) ≥ ratio · (D0 + Σ d_a x_a)``.

    Rearranged: ``Σ (n_a − ratio · d_a) x_a ≥ ratio · D0 − N0``.

    Parameters
    ----------
    id, target_id, unit_code, label
        Requirement identity (see :class:`Requirement`).
    ratio : float
        Required share (e.g. 0.15 for "示范型 ≥ 15 % of all 儿童之家").
    numerator, denominator : mapping of action id → coefficient
        How much each action adds to the numerator count and to the denominator count.
    existing_numerator, existing_denominator : float
        Counts before any action.

    Returns
    -------
    requirement : Requirement
    contributions : list of (requirement_id, action_id, coefficient)
    """
    if not np.isfinite(ratio) or ratio < 0:
        raise SitingError(f"requirement {id!r}: ratio {ratio!r} is not a finite number ≥ 0")
    coef: dict[str, float] = {}
    for a, v in numerator.items():
        coef[a] = coef.get(a, 0.0) + float(v)
    for a, v in denominator.items():
        coef[a] = coef.get(a, 0.0) - ratio * float(v)
    rhs = ratio * float(existing_denominator) - float(existing_numerator)
    req = Requirement(id=id, target_id=target_id, unit_code=unit_code, rhs=rhs, label=label)
    return req, [(id, a, v) for a, v in coef.items() if v != 0]


class JointModel:
    """Cheapest set of actions meeting every requirement together.

    Parameters
    ----------
    actions : sequence of Action
    requirements : sequence of Requirement
    contributions : iterable of (requirement_id, action_id, coefficient) or sparse matrix
        Coefficients ``c_ra``; a sparse matrix must have shape
        ``(len(requirements), len(actions))`` in the given orders.
    exclusive : iterable of sequences of action ids, optional
        Groups of binary actions of which at most one may be chosen (e.g.
        upgrading a home or building a new one in the same village).
    requires : iterable of (action_id, prerequisite_action_id), optional
        ``x_a ≤ upper_a · x_b``: capacity at a new site needs the site built.

    Attributes (after :meth:`solve`)
    --------------------------------
    x : numpy.ndarray
        Amount per action (0/1 or integer).
    total_cost : float
    chosen : pandas.DataFrame
        One row per action with ``x > 0``: ``action_id``, ``kind``, ``site_id``,
        ``unit_code``, ``label``, ``amount``, ``cost``, and the requirements it
        helps to meet (``requirement_ids``, ``target_ids``, ``unit_codes``;
        lists joined with ``;``): those it contributes positively to that are
        unmet without any action (``rhs > 0``) or without this action.
    status, gap, bound, solve_time_s
        As the covering models (``bound`` is a proven lower bound on the cost).
    """

    def __init__(self, actions: Sequence[Action], requirements: Sequence[Requirement], contributions,
                 *, exclusive: Iterable[Sequence[str]] = (), requires: Iterable[tuple[str, str]] = ()) -> None:
        self.actions, self.requirements = list(actions), list(requirements)
        self._a_index = _unique_index([a.id for a in self.actions], "action")
        self._r_index = _unique_index([r.id for r in self.requirements], "requirement")
        n_r, n_a = len(self.requirements), len(self.actions)
        if sp.issparse(contributions):
            if contributions.shape != (n_r, n_a):
                raise SitingError(f"contribution matrix has shape {contributions.shape}, expected {(n_r, n_a)}")
            C = sp.csr_matrix(contributions, dtype=float)
        else:
            rows, cols, vals = [], [], []
            for k, item in enumerate(contributions):
                if len(item) != 3:
                    raise SitingError(f"contribution {k}: expected (requirement_id, action_id, coefficient)")
                r, a, v = item
                if r not in self._r_index:
                    raise SitingError(f"contribution {k}: unknown requirement {r!r}")
                if a not in self._a_index:
                    raise SitingError(f"contribution {k}: unknown action {a!r}")
                rows.append(self._r_index[r])
                cols.append(self._a_index[a])
                vals.append(float(v))
            C = sp.csr_matrix((vals, (rows, cols)), shape=(n_r, n_a), dtype=float)
        if not np.all(np.isfinite(C.data)):
            raise SitingError("contribution coefficients must be finite")
        C.sum_duplicates()
        self.C = C
        self.exclusive = [self._ids(g, f"exclusive group {k}", binary=True) for k, g in enumerate(exclusive)]
        self.requires = []
        for k, pair in enumerate(requires):
            if len(pair) != 2:
                raise SitingError(f"requires {k}: expected (action_id, prerequisite_action_id)")
            a, b = self._ids(pair, f"requires {k}")
            if self.actions[b].integer:
                raise SitingError(f"requires {k}: prerequisite {pair[1]!r} must be a binary action")
            self.requires.append((a, b))
        self._reset()

    def _ids(self, ids: Sequence[str], what: str, binary: bool = False) -> list[int]:
        out = []
        for a in ids:
            if a not in self._a_index:
                raise SitingError(f"{what}: unknown action {a!r}")
            j = self._a_index[a]
            if binary and self.actions[j].integer:
                raise SitingError(f"{what}: action {a!r} is not binary")
            out.append(j)
        return out

    def _reset(self) -> None:
        self.x = np.zeros(len(self.actions))
        self.total_cost = np.nan
        self.bound = np.nan
        self.gap = np.nan
        self.status = "not_solved"
        self.message = ""
        self.solve_time_s = np.nan
        self.chosen = pd.DataFrame(columns=["action_id", "kind", "site_id", "unit_code", "label", "amount",
                                            "cost", "requirement_ids", "target_ids", "unit_codes"])

    # ------------------------------------------------------------------ helpers
    def _describe(self, rows: Iterable[int]) -> str:
        parts = []
        for i in rows:
            r = self.requirements[i]
            parts.append(f"{r.id} (target {r.target_id}, unit {r.unit_code}, needs {r.rhs:g})")
        return "; ".join(parts)

    def _bounds_and_rows(self):
        """Costs, upper bounds, rhs and the extra rows (exclusive groups, requires) as one sparse block."""
        n_a = len(self.actions)
        cost = np.array([a.cost for a in self.actions], dtype=float)
        upper = np.array([a.upper for a in self.actions], dtype=float)
        rhs = np.array([r.rhs for r in self.requirements], dtype=float)
        rows, cols, vals, hi = [], [], [], []
        for g in self.exclusive:
            rows += [len(hi)] * len(g)
            cols += list(g)
            vals += [1.0] * len(g)
            hi.append(1.0)
        for a, b in self.requires:
            rows += [len(hi), len(hi)]
            cols += [a, b]
            vals += [1.0, -upper[a]]
            hi.append(0.0)
        E = sp.csr_matrix((vals, (rows, cols)), shape=(len(hi), n_a))
        E.sum_duplicates()
        return cost, upper, rhs, (E, np.asarray(hi, dtype=float))

    def _check_each(self, upper: np.ndarray, rhs: np.ndarray) -> None:
        """Raise when a requirement cannot be met even with every action at its best."""
        C = self.C
        best = np.asarray(C.maximum(0) @ upper).ravel()
        bad = np.flatnonzero(best < rhs - _TOL)
        if bad.size:
            raise SitingError("infeasible: no combination of actions can meet "
                              f"{bad.size} requirement(s): {self._describe(bad)}")

    def _explain_infeasible(self, cost, upper, rhs, extra, time_limit_s: float) -> str:
        """Elastic re-solve: minimise total scaled slack; name requirements left unmet."""
        n_r, n_a = self.C.shape
        scale = np.maximum(np.abs(rhs), 1.0)
        c = np.concatenate([np.zeros(n_a), 1.0 / scale])
        M = sp.hstack([self.C, sp.identity(n_r, format="csr")]).tocsr()
        E, hi = extra
        cons = [LinearConstraint(M, rhs, np.inf),
                LinearConstraint(sp.hstack([E, sp.csr_matrix((E.shape[0], n_r))]).tocsr(), -np.inf, hi)]
        integ = np.concatenate([np.ones(n_a), np.zeros(n_r)])
        out = solve_milp(c, cons, integ, Bounds(np.zeros(n_a + n_r), np.concatenate([upper, np.full(n_r, np.inf)])),
                         time_limit_s=time_limit_s, mip_rel_gap=1e-6, progress=False)
        if out.x is None:
            return "infeasible (the elastic re-solve found no answer either)"
        unmet = np.flatnonzero(out.x[n_a:] > _TOL)
        return ("infeasible: the requirements cannot all be met together; with the best mix of actions "
                f"these remain unmet: {self._describe(unmet)}")

    # ------------------------------------------------------------------ solve
    def solve(self, *, time_limit_s: float = 60.0, mip_rel_gap: float = 1e-6, progress: bool = True) -> JointModel:
        """Choose the cheapest actions meeting every requirement; return ``self``.

        Parameters
        ----------
        time_limit_s : float
            Wall-clock limit in seconds; the best solution found is kept on reaching it.
        mip_rel_gap : float
            Relative optimality gap accepted as optimal.
        progress : bool
            Show a ticking elapsed / time-limit bar.

        Raises
        ------
        SitingError
            When the requirements cannot be met; the message names them.
        """
        self._reset()
        t0 = time.perf_counter()
        cost, upper, rhs, extra = self._bounds_and_rows()
        self._check_each(upper, rhs)
        n_a = len(self.actions)
        if n_a == 0:
            self.total_cost, self.bound, self.gap, self.status = 0.0, 0.0, 0.0, "optimal"
            self.solve_time_s = time.perf_counter() - t0
            return self
        cons = [LinearConstraint(self.C, rhs, np.inf), LinearConstraint(extra[0], -np.inf, extra[1])]
        out = solve_milp(cost, cons, np.ones(n_a), Bounds(np.zeros(n_a), upper), time_limit_s=time_limit_s,
                         mip_rel_gap=mip_rel_gap, progress=progress, desc="joint model: MILP")
        if out.status == "infeasible":
            raise SitingError(self._explain_infeasible(cost, upper, rhs, extra, time_limit_s))
        if out.x is None:
            raise SitingError(f"joint model: no feasible answer found within {time_limit_s:g} s ({out.message})")
        x = np.round(out.x)
        achieved = self.C @ x
        if np.any(achieved < rhs - _TOL):
            raise SitingError("joint model: HiGHS returned an answer that misses "
                              f"{self._describe(np.flatnonzero(achieved < rhs - _TOL))}")
        self.x = x
        self.total_cost = float(cost @ x)
        bound = out.dual_bound if np.isfinite(out.dual_bound) else 0.0
        self.bound = min(float(bound), self.total_cost)
        self.gap = (self.total_cost - self.bound) / self.total_cost if self.total_cost > 0 else 0.0
        self.status = "optimal" if self.gap <= mip_rel_gap + 1e-12 else "time_limit"
        self.message = out.message
        self.chosen = self._chosen_table(x, achieved, rhs)
        self.solve_time_s = time.perf_counter() - t0
        return self

    def _chosen_table(self, x: np.ndarray, achieved: np.ndarray, rhs: np.ndarray) -> pd.DataFrame:
        Cc = self.C.tocsc()
        rows = []
        for j in np.flatnonzero(x > 0.5):
            a = self.actions[j]
            lo, hi = Cc.indptr[j], Cc.indptr[j + 1]
            helps = [int(i) for i, v in zip(Cc.indices[lo:hi], Cc.data[lo:hi])
                     if v > 0 and (rhs[i] > _TOL or achieved[i] - v * x[j] < rhs[i] - _TOL)]
            reqs = [self.requirements[i] for i in helps]
            rows.append({"action_id": a.id, "kind": a.kind, "site_id": a.site_id, "unit_code": a.unit_code,
                         "label": a.label, "amount": int(x[j]), "cost": float(a.cost * x[j]),
                         "requirement_ids": ";".join(r.id for r in reqs),
                         "target_ids": ";".join(dict.fromkeys(r.target_id for r in reqs)),
                         "unit_codes": ";".join(dict.fromkeys(r.unit_code for r in reqs))})
        return pd.DataFrame(rows, columns=self.chosen.columns)

    def requirement_table(self) -> pd.DataFrame:
        """One row per requirement: ``requirement_id``, ``target_id``, ``unit_code``, ``rhs``, ``achieved``, ``met``."""
        achieved = self.C @ self.x
        return pd.DataFrame({"requirement_id": [r.id for r in self.requirements],
                             "target_id": [r.target_id for r in self.requirements],
                             "unit_code": [r.unit_code for r in self.requirements],
                             "rhs": [r.rhs for r in self.requirements],
                             "achieved": achieved,
                             "met": achieved >= np.array([r.rhs for r in self.requirements]) - _TOL})


def _number(value, what: str) -> float:
    """``float(value)`` or a SitingError naming ``what``."""
    if isinstance(value, bool):
        raise SitingError(f"{what} {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SitingError(f"{what} {value!r} is not a number") from None


def _unique_index(ids: list[str], what: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for k, i in enumerate(ids):
        if i in index:
            raise SitingError(f"{what} {k}: duplicate id {i!r} (also {what} {index[i]})")
        index[i] = k
    return index
