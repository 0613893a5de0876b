"""Evaluate plan targets for every unit: one row per target × unit × year.

>>> from layers.load import load_dataset
>>> from coverage.targets import load_targets
>>> from coverage.targets.engine import evaluate
>>> res = evaluate(load_dataset(), load_targets())          # latest inventory year
>>> res.units      # one row per target × unit (columns: RESULT_COLUMNS)
>>> res.rollup     # per target × county and city: counts and the plan-level result
>>> res.summary()  # city-wide, one row per target

Kinds ``presence``, ``unit_share``, ``facility_share``, ``capacity_ratio``,
``capacity_change`` and ``indicator`` are computed here (``coverage.targets.rules*``); ``access``
and ``linkage`` are dispatched to ``coverage.access.evaluate_access_target(target, ctx)``
and ``coverage.access.linkage.evaluate_linkage_target(target, ctx)``. A target that cannot be
evaluated (module missing, column missing) gets ``no_data`` rows whose ``method`` states
why, and the reason is listed in :attr:`EvaluationResult.errors`.
"""

from __future__ import annotations

import importlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from coverage._errors import EvaluationError
from coverage.targets.rows import RESULT_COLUMNS, STATUSES
from layers._errors import CovplanError
from coverage.targets.rows import RowBlock
from coverage.targets.index import UnitTables, YearIndex, unit_tables, year_index
from coverage.targets.index import clear_caches as clear_index_caches
from coverage.targets.index import drop_dead
from coverage.targets.rollup import rollup_table, summary_table
from coverage.targets.spec import PlanTarget, load_targets
from layers.dataset import Dataset


_LOCK = threading.RLock()
_MAX_RESULTS = 512
_RESULTS: OrderedDict[tuple, tuple[weakref.ref, RowBlock]] = OrderedDict()

_EXTERNAL = {
    "access": ("coverage.access.evaluation", "evaluate_access_target"),
    "linkage": ("coverage.access.linkage", "evaluate_linkage_target"),
}


@dataclass
class EvalContext:
    """Everything a rule needs for one dataset and one inventory year.

    Attributes
    ----------
    dataset : Dataset
        The dataset evaluated (EPSG:4326 storage).
    year : int
        The inventory year.
    index : YearIndex
        Facilities of ``year`` (plain DataFrame, no geometry) with memoised per-unit counts.
    units : UnitTables
        Unit tables per level (``ctx.units["township"]``), indexed by unit code.
    """

    dataset: Dataset
    year: int
    index: YearIndex
    units: UnitTables
    _network: Any = field(default=None, repr=False)

    @property
    def facilities(self):
        """GeoDataFrame of the facilities of :attr:`year` (EPSG:4326, all columns)."""
        return self.dataset.facilities_for(self.year)

    @property
    def network(self):
        """The dataset's walking network (``coverage.access.graph.WalkNetwork``), or None.

        Loaded on first use from ``dataset.network_path``; ``load_network`` caches it.
        """
        if self._network is None and self.dataset.network_path is not None:
            from coverage.access.osm import load_network

            self._network = load_network(self.dataset.network_path)
        return self._network

    def index_for(self, year: int) -> YearIndex:
        """The (cached) facility index of another inventory year, e.g. a baseline."""
        return year_index(self.dataset, year)


def context_for(ds: Dataset, year: int | None = None) -> EvalContext:
    """Build the :class:`EvalContext` of ``ds`` for ``year`` (latest when None)."""
    if year is None:
        year = ds.latest_year
        if year is None:
            raise EvaluationError(f"dataset {ds.name!r} has no facility inventory year")
    return EvalContext(dataset=ds, year=int(year), index=year_index(ds, int(year)), units=unit_tables(ds))


def evaluate_target(target: PlanTarget, ctx: EvalContext) -> pd.DataFrame:
    """Rows of one target for one context (columns :data:`RESULT_COLUMNS`).

    Raises
    ------
    EvaluationError
        The target cannot be evaluated on this data (e.g. the access module is not
        available, or a column the target reads is missing).
    """
    return target_block(target, ctx).to_frame()


def target_block(target: PlanTarget, ctx: EvalContext) -> RowBlock:
    """Rows of one target as a :class:`~coverage.targets.rules.RowBlock`, cached.

    Results are cached per (target, dataset object, revision, year): targets are
    frozen, so an overridden target is a different key. The dataset is held weakly: a
    miss drops the results of datasets that no longer exist.
    """
    key = (target, id(ctx.dataset), ctx.dataset.revision, ctx.year)
    with _LOCK:
        hit = _RESULTS.get(key)
        if hit is not None and hit[0]() is ctx.dataset:
            _RESULTS.move_to_end(key)
            return hit[1]
    block = _compute(target, ctx)
    with _LOCK:
        drop_dead(_RESULTS)  # results of datasets that no longer exist (older revisions)
        _RESULTS[key] = (weakref.ref(ctx.dataset), block)
        while len(_RESULTS) > _MAX_RESULTS:
            _RESULTS.popitem(last=False)
    return block


def _compute(target: PlanTarget, ctx: EvalContext) -> RowBlock:
    if target.kind in _EXTERNAL:
        modname, funcname = _EXTERNAL[target.kind]
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                raise
            raise EvaluationError(f"{target.id}: kind {target.kind!r} needs {modname}, which is not available") from exc
        func = getattr(module, funcname, None)
        if func is None:
            raise EvaluationError(f"{target.id}: {modname} has no {funcname}()")
        return RowBlock.from_frame(conform(func(target, ctx)))
    from coverage.targets.registry import RULES

    return RULES[target.kind](target, ctx)


def clear_cache() -> None:
    """Forget cached results and indexes (benchmarks use this to time a cold run)."""
    with _LOCK:
        _RESULTS.clear()
    clear_index_caches()


def clear_result_cache() -> None:
    """Forget cached result rows only (indexes stay): a warm recompute follows."""
    with _LOCK:
        _RESULTS.clear()


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Check rows from another module carry every result column; return them in order."""
    missing = [c for c in RESULT_COLUMNS if c not in df.columns]
    if missing:
        raise EvaluationError(f"result rows lack column(s) {', '.join(missing)}")
    bad = set(df["status"].unique()) - set(STATUSES)
    if bad:
        raise EvaluationError(f"result rows have unknown status(es) {sorted(bad)}")
    return df.loc[:, list(RESULT_COLUMNS)]


def no_data_rows(target: PlanTarget, ctx: EvalContext, reason: str) -> RowBlock:
    """``no_data`` rows for every unit of the target's levels, with the reason as method."""
    from coverage.targets.rows import make_rows

    blocks = []
    for level in target.unit_levels:
        units = ctx.units[level]
        blocks.append(make_rows(
            target, ctx, level, units, status="no_data", required=target.threshold,
            actual=float("nan"), shortfall=0.0, shortfall_unit="", action="",
            provenance="", method=f"未能评估: {reason}",
        ))
    return RowBlock.concat(blocks)


@dataclass
class EvaluationResult:
    """Rows of an evaluation plus roll-ups.

    Attributes
    ----------
    units : DataFrame
        One row per target × unit × year (:data:`RESULT_COLUMNS`).
    targets : list of PlanTarget
    years : list of int
    errors : dict
        ``(target_id, year)`` → why that target got ``no_data`` rows.
    """

    units: pd.DataFrame
    targets: list[PlanTarget]
    years: list[int]
    errors: dict[tuple[str, int], str] = field(default_factory=dict)

    @cached_property
    def rollup(self) -> pd.DataFrame:
        """Per target × year × (each county, the city): unit counts and plan-level status.

        Columns: ``target_id``, ``year``, ``level`` (county/city), ``unit_code``,
        ``unit_name``, ``count_level`` (the unit level counted), ``n_units``, ``met``,
        ``not_met``, ``no_data``, ``not_applicable``, ``plan_status`` (met / not_met /
        no_data / not_applicable, or empty where the plan states no result at that
        level), ``required``, ``actual``, ``shortfall``, ``shortfall_unit``.
        """
        return rollup_table(self.units, self.targets)

    def summary(self) -> pd.DataFrame:
        """City-wide result per target and year: counts and the plan-level result."""
        return summary_table(self.rollup, self.targets, self.errors)

    def for_target(self, target_id: str) -> pd.DataFrame:
        """Rows of one target."""
        return self.units[self.units["target_id"] == target_id]


def evaluate(
    ds: Dataset,
    targets: PlanTarget | Sequence[PlanTarget] | None = None,
    year: int | str | Sequence[int] | None = None,
) -> EvaluationResult:
    """Evaluate targets for every unit of ``ds``.

    Parameters
    ----------
    ds : Dataset
    targets : PlanTarget or sequence of PlanTarget, optional
        ``None`` → every target of ``data/targets`` (:func:`~coverage.targets.load_targets`).
    year : int, "all", sequence of int, or None
        Inventory year(s); ``None`` → the latest, ``"all"`` → each inventory year.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    EvaluationError
        A requested year is not an inventory year of ``ds``.
    """
    if targets is None:
        targets = load_targets()
    elif isinstance(targets, PlanTarget):
        targets = [targets]
    targets = list(targets)
    if year is None:
        years = [ds.latest_year] if ds.latest_year is not None else []
    elif isinstance(year, str):
        if year != "all":
            raise EvaluationError(f"year must be an inventory year or 'all', not {year!r}")
        years = list(ds.years)
    elif isinstance(year, int):
        years = [year]
    else:
        years = [int(y) for y in year]
    if not years:
        raise EvaluationError(f"dataset {ds.name!r} has no facility inventory year")
    blocks, errors = [], {}
    for y in years:
        ctx = context_for(ds, y)
        for target in targets:
            try:
                blocks.append(target_block(target, ctx))
            except CovplanError as exc:  # EvaluationError, NetworkError, …: recorded, not fatal
                errors[(target.id, y)] = str(exc)
                blocks.append(no_data_rows(target, ctx, str(exc)))
    if blocks:
        units = RowBlock.concat(blocks).to_frame()
    else:
        units = pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS})
    return EvaluationResult(units=units, targets=targets, years=years, errors=errors)


__all__ = [
    "RESULT_COLUMNS", "STATUSES", "EvalContext", "EvaluationResult", "UnitTables", "YearIndex",
    "clear_cache", "clear_result_cache", "context_for", "evaluate", "evaluate_target", "no_data_rows", "target_block",
]
