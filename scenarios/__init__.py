"""Scenarios: what-if edits to a copy of a dataset, and their effect on every plan target.

>>> from scenarios import load_scenario, apply_scenario, run_scenario
>>> sc = load_scenario("scenarios/examples/stricter_childcare_standard.toml")
>>> diff = run_scenario(sc, ds, targets)       # base vs scenario, every target
>>> diff.write("out/diff.xlsx")

See ``docs/ARCHITECTURE.md`` "Scenarios" for the file schema.
"""

from __future__ import annotations

from typing import Any

from scenarios._errors import ScenarioError
from scenarios.apply import apply_scenario, new_facility_id
from scenarios.model import EDIT_OPS, Edit, Scenario, load_scenario
from scenarios.store import list_saved, load_saved, save_scenario

__all__ = [
    "EDIT_OPS",
    "Edit",
    "Scenario",
    "ScenarioDiff",
    "ScenarioError",
    "apply_scenario",
    "list_saved",
    "load_saved",
    "load_scenario",
    "new_facility_id",
    "run_scenario",
    "save_scenario",
]


def __getattr__(name: str) -> Any:
    # the diff needs coverage.targets.engine; import it only when asked for
    if name in {"run_scenario", "ScenarioDiff"}:
        from scenarios import diff

        return getattr(diff, name)
    raise AttributeError(name)
