"""Thin runners around HiGHS (through scipy.optimize) shared by the siting models.

* :func:`solve_lp` solves a linear relaxation with the HiGHS interior-point
  method plus crossover (``linprog(method="highs-ipm")``), which returns a
  vertex; on covering models that vertex is very often integral, which proves
  optimality without any branching.
* :func:`solve_milp` calls :func:`scipy.optimize.milp` with a time limit and a
  relative gap, maps HiGHS's status honestly, and shows a ticking
  elapsed / time-limit progress bar (tqdm, on a helper thread) while HiGHS runs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from coverage._errors import SitingError


@dataclass
class SolveOutcome:
    """Result of one LP or MILP call.

    Attributes
    ----------
    x : numpy.ndarray or None
        Best solution found (``None`` when HiGHS found none).
    objective : float
        Objective of ``x`` in the solver's (minimisation) sense; ``nan`` without ``x``.
    dual_bound : float
        Proven lower bound on the minimum (``-inf`` when unknown).
    status : str
        ``optimal``, ``time_limit``, ``infeasible``, ``unbounded`` or ``error``.
    message : str
        HiGHS's message.
    seconds : float
        Wall-clock time of the call.
    reduced_low, reduced_up : numpy.ndarray or None
        LP only: reduced costs of the variables at their lower bound (≥ 0) and at
        their upper bound (≤ 0), from HiGHS's basic solution (``None`` otherwise).
    """

    x: np.ndarray | None
    objective: float
    dual_bound: float
    status: str
    message: str
    seconds: float
    reduced_low: np.ndarray | None = None
    reduced_up: np.ndarray | None = None


_STATUS = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}


class Ticker:
    """A tqdm bar that ticks elapsed seconds up to a time limit, on a thread.

    Parameters
    ----------
    desc : str
        Label of the bar.
    total_s : float
        Time limit in seconds (the bar's length).
    enabled : bool
        When false nothing is shown and no thread is started.
    """

    def __init__(self, desc: str, total_s: float, enabled: bool) -> None:
        self.desc, self.total_s, self.enabled = desc, float(total_s), enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar = None

    def __enter__(self) -> Ticker:
        if self.enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=round(self.total_s, 1), desc=self.desc, unit="s", leave=False,
                             bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s (time limit)")
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        t0 = time.perf_counter()
        while not self._stop.wait(0.5):
            self._bar.n = min(time.perf_counter() - t0, self.total_s)
            self._bar.refresh()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._bar.close()


def solve_lp(c, A_ub=None, b_ub=None, A_eq=None, b_eq=None, *, bounds=(0, 1),
             time_limit_s: float = 60.0) -> SolveOutcome:
    """Solve ``min c·x`` over a polyhedron with HiGHS IPM + crossover.

    Parameters
    ----------
    c, A_ub, b_ub, A_eq, b_eq, bounds
        As :func:`scipy.optimize.linprog` (sparse matrices accepted).
    time_limit_s : float
        Wall-clock limit in seconds.

    Returns
    -------
    SolveOutcome
        ``dual_bound`` equals the optimum when ``status == "optimal"``.
    """
    t0 = time.perf_counter()
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                  method="highs-ipm", options={"time_limit": max(float(time_limit_s), 0.1)})
    seconds = time.perf_counter() - t0
    status = _STATUS.get(res.status, "error")
    x = None if res.x is None else np.asarray(res.x, dtype=float)
    fun = float(res.fun) if (status == "optimal" and res.fun is not None) else np.nan
    bound = fun if status == "optimal" else -np.inf
    low = up = None
    if status == "optimal" and getattr(res, "lower", None) is not None:
        low = np.asarray(res.lower.marginals, dtype=float)
        up = np.asarray(res.upper.marginals, dtype=float)
    return SolveOutcome(x, fun, bound, status, str(res.message), seconds, low, up)


def solve_milp(c, constraints, integrality, bounds: Bounds, *, time_limit_s: float,
               mip_rel_gap: float, progress: bool, desc: str = "MILP") -> SolveOutcome:
    """Run :func:`scipy.optimize.milp` (HiGHS branch and cut) with a time limit.

    Parameters
    ----------
    c, constraints, integrality, bounds
        As :func:`scipy.optimize.milp`.
    time_limit_s : float
        Wall-clock limit in seconds; on reaching it the best solution found is
        returned with ``status == "time_limit"``.
    mip_rel_gap : float
        Relative gap at which HiGHS stops and reports optimal.
    progress : bool
        Show a ticking elapsed / time-limit bar.
    desc : str
        Label of the bar.

    Returns
    -------
    SolveOutcome
    """
    if time_limit_s <= 0:
        raise SitingError(f"time_limit_s must be positive, got {time_limit_s!r}")
    if not 0 <= mip_rel_gap < 1:
        raise SitingError(f"mip_rel_gap must be in [0, 1), got {mip_rel_gap!r}")
    cons = [k for k in constraints if isinstance(k, LinearConstraint) and k.A.shape[0] > 0]
    t0 = time.perf_counter()
    with Ticker(desc, time_limit_s, progress):
        res = milp(c, constraints=cons, integrality=integrality, bounds=bounds,
                   options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap),
                            "disp": False})
    seconds = time.perf_counter() - t0
    status = _STATUS.get(res.status, "error")
    x = None if res.x is None else np.asarray(res.x, dtype=float)
    fun = float(res.fun) if x is not None else np.nan
    bound = getattr(res, "mip_dual_bound", None)
    if bound is None or not np.isfinite(bound):
        bound = fun if status == "optimal" else -np.inf
    return SolveOutcome(x, fun, float(bound), status, str(res.message), seconds)
