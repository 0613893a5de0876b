"""Safe scenario files: versioned saves, downloads and names taken from uploaded files.

* Saving never overwrites silently: a name already saved (by this or another session)
  gets the next free version ``<name>-v2``, ``-v3``, … and the planner is told.
* A download is the scenario TOML of :func:`scenarios.store.scenario_to_toml` (the same
  text a save writes), named after the scenario.
* An uploaded file names the scenario from its file name (``乡镇补点.toml`` → ``乡镇补点``),
  never from the scenario the session had before.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from dashapp.service import UNNAMED_SCENARIO, get_service
from dashapp.state import ScenarioState, validate_scenario_name
from scenarios._errors import ScenarioError

#: most versions tried for one name before giving up
MAX_VERSIONS: int = 999
_BAD = re.compile(r"[^A-Za-z0-9_\-\u3400-\u4dbf\u4e00-\u9fff]+")


def name_from_filename(filename: Any) -> str:
    """A valid scenario name from an uploaded file's name (stem, unsafe characters → ``_``)."""
    stem = PurePath(str(filename or "")).name
    stem = stem[:-5] if stem.lower().endswith(".toml") else stem
    clean = _BAD.sub("_", stem).strip("_-")[:64]
    return clean or UNNAMED_SCENARIO


def save_versioned(name: str, scenario: Any, year: Any) -> tuple[str, str, bool]:
    """Save under ``name``, or under the first free ``name-vN``; return (where, name, versioned).

    Goes through the app's scenario repository (:func:`dashapp.saved_scenarios.repository`:
    files under ``covplan app``, per-user rows on the city server); the names it lists are
    taken, and a save the repository refuses because the name exists moves on to the next
    version.
    """
    from dashapp.saved_scenarios import repository
    from scenarios import Scenario

    stem = validate_scenario_name(name)
    state = ScenarioState.from_json(scenario)
    svc = get_service()
    repo = repository()
    taken = {str(o.get("value")) for o in repo.options()}
    for n in range(1, MAX_VERSIONS + 1):
        candidate = stem if n == 1 else f"{stem[:58]}-v{n}"
        if candidate in taken:
            continue
        sc = Scenario.from_edits(candidate, list(state.edits), year=svc.year(year), source="<app>")
        try:
            where = repo.save(sc, candidate)
        except ScenarioError as exc:
            if "exists" in str(exc):
                continue
            raise
        return str(where), candidate, n > 1
    raise ScenarioError(f"{stem}: more than {MAX_VERSIONS} saved versions")


def scenario_file(scenario: Any, name: Any, year: Any) -> tuple[str, str]:
    """``(file name, TOML text)`` of the session's scenario, for a download."""
    from scenarios import Scenario
    from scenarios.store import scenario_to_toml

    state = ScenarioState.from_json(scenario)
    stem = str(name or "").strip() or state.name or UNNAMED_SCENARIO
    try:
        stem = validate_scenario_name(stem)
    except ScenarioError:
        stem = name_from_filename(stem)
    sc = Scenario.from_edits(stem, list(state.edits), year=get_service().year(year), source="<app>")
    return f"{stem}.toml", scenario_to_toml(sc)
