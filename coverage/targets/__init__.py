"""Plan targets: their files, the rule kinds, evaluation, roll-ups and trends.

This subpackage owns everything from a target's TOML file to its result rows:
:mod:`~coverage.targets.spec` reads and validates the files (``data/targets/*.toml``) into
:class:`PlanTarget` objects, :mod:`~coverage.targets.conditions` parses their applicability
conditions, :mod:`~coverage.targets.index` indexes one inventory year, the rule kinds in
:mod:`~coverage.targets.rules` and :mod:`~coverage.targets.measures` fill rows of the one
schema in :mod:`~coverage.targets.rows`, :mod:`~coverage.targets.registry` maps kinds to
rules, :mod:`~coverage.targets.engine` evaluates (with caching) and
:mod:`~coverage.targets.rollup` rolls units up to counties and the city;
:mod:`~coverage.targets.trends` compares inventory years. A new rule kind goes into
``rules``/``measures`` and ``registry``; a new target is a TOML file, not code.
"""

from coverage.targets.conditions import ConditionSyntaxError, parse_condition
from coverage.targets.engine import (
    EvalContext, EvaluationResult, clear_cache, clear_result_cache, context_for, evaluate, evaluate_target,
    no_data_rows,
)
from coverage.targets.index import unit_tables, year_index
from coverage.targets.registry import RULES
from coverage.targets.rollup import ROLLUP_COLUMNS, SUMMARY_COLUMNS
from coverage.targets.rows import RESULT_COLUMNS, STATUSES, RowBlock
from coverage.targets.spec import (
    DEFAULT_TARGETS_DIR, KINDS, AccessSpec, FacilitySelector, PlanTarget, load_targets, parse_target_file,
    target_from_dict,
)
from coverage.targets.trends import linear_projection, trend

__all__ = [
    "DEFAULT_TARGETS_DIR", "KINDS", "RESULT_COLUMNS", "ROLLUP_COLUMNS", "RULES", "STATUSES", "SUMMARY_COLUMNS",
    "AccessSpec", "ConditionSyntaxError", "EvalContext", "EvaluationResult", "FacilitySelector", "PlanTarget",
    "RowBlock", "clear_cache", "clear_result_cache", "context_for", "evaluate", "evaluate_target",
    "linear_projection", "load_targets", "no_data_rows", "parse_condition", "parse_target_file",
    "target_from_dict", "trend", "unit_tables", "year_index",
]
