"""Where the app keeps saved scenarios: files for ``covplan app``, per-user rows on the city server.

The app's save / open / list go through :func:`repository`. ``covplan app`` (one planner,
no login) uses :class:`FileScenarios`: ``scenarios/saved/<name>.toml`` as before. The city
server installs ``dashapp.server.user_scenarios.UserScenarios`` with :func:`set_repository`:
each scenario belongs to its author, may be shared read-only, and is never overwritten by
another user.

A repository has ``options() -> [{label, value, disabled}]`` (what the open dropdown lists),
``save(scenario, name) -> str`` (a message naming where it went) and ``load(value) -> Scenario``.
"""

from __future__ import annotations

from typing import Any, Protocol


class ScenarioRepository(Protocol):
    def options(self) -> list[dict[str, Any]]: ...

    def save(self, scenario: Any, name: str) -> str: ...

    def load(self, value: str) -> Any: ...


class FileScenarios:
    """``scenarios/saved/*.toml`` (the single-user app and the CLI)."""

    def options(self) -> list[dict[str, Any]]:
        from scenarios import list_saved

        return [
            {"label": f"{e['name']}（{e.get('n_edits', 0)}）", "value": e["name"], "disabled": bool(e.get("error"))}
            for e in list_saved()
        ]

    def save(self, scenario: Any, name: str) -> str:
        from scenarios import save_scenario

        return str(save_scenario(scenario, name))

    def load(self, value: str) -> Any:
        from scenarios import load_saved

        return load_saved(value)


_REPOSITORY: ScenarioRepository = FileScenarios()


def repository() -> ScenarioRepository:
    return _REPOSITORY


def set_repository(repo: ScenarioRepository) -> None:
    global _REPOSITORY
    _REPOSITORY = repo
