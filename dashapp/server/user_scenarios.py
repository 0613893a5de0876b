"""Saved scenarios per user on the city server (table ``app_user_scenarios``, store migration 100).

A row is keyed by (owner, name): a save writes only the signed-in user's own row, so no
user can overwrite another's scenario, whatever name they choose. The owner may share a
scenario read-only (``shared``); others then see it in the open list as ``owner/name`` and
can open it into their own session, and saving it again stores their own copy.
The scenario is kept as the same TOML text ``covplan scenario`` reads, checked by loading
it back (with the scenario file limits: ``scenarios.model.MAX_SCENARIO_BYTES`` and nesting)
before it is written and whenever it is opened.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from dashapp.server.roles import AccessDenied, Actor
from scenarios._errors import ScenarioError
from scenarios.model import loads_toml
from scenarios.store import scenario_to_toml, validate_name
from store.server_schema import user_scenarios

def _actor() -> Actor:
    from dashapp.server.auth import current_actor

    actor = current_actor()
    if actor is None:
        raise AccessDenied("saved scenarios need a signed-in user")
    return actor


class UserScenarios:
    """The repository :mod:`dashapp.saved_scenarios` uses on the server."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- the app's three calls ----------------------------------------------------------------
    def options(self) -> list[dict[str, Any]]:
        me = _actor().name
        out = []
        for row in self.visible(me):
            mine = row["owner"] == me
            label = f"{row['name']}（{row['n_edits']}）" if mine else f"{row['name']}（{row['owner']} · 只读）"
            out.append({"label": label, "value": row["name"] if mine else f"{row['owner']}/{row['name']}",
                        "disabled": False})
        return out

    def save(self, scenario: Any, name: str) -> str:
        actor = _actor()
        actor.require_write("save a scenario")
        return self.save_as(actor.name, scenario, name)

    def load(self, value: str) -> Any:
        me = _actor().name
        owner, _, name = str(value).rpartition("/")
        return self.load_for(me, owner or me, name)

    # -- explicit-user API (tests, JSON endpoints) --------------------------------------------
    def visible(self, user: str) -> list[dict[str, Any]]:
        q = (sa.select(user_scenarios.c.owner, user_scenarios.c.name, user_scenarios.c.n_edits,
                       user_scenarios.c.shared, user_scenarios.c.updated_at)
             .where(sa.or_(user_scenarios.c.owner == user, user_scenarios.c.shared.is_(True)))
             .order_by((user_scenarios.c.owner != user), user_scenarios.c.owner, user_scenarios.c.name))
        with self.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(q)]

    def save_as(self, owner: str, scenario: Any, name: str) -> str:
        from scenarios.model import Scenario

        stem = validate_name(name)
        text = scenario_to_toml(scenario)
        # reads back before it is kept, within the file limits (size, nesting: ScenarioError naming it)
        Scenario.from_dict(loads_toml(text, f"{owner}/{stem}"), source=f"{owner}/{stem}")
        now = time.time()
        key = (user_scenarios.c.owner == owner) & (user_scenarios.c.name == stem)
        with self.engine.begin() as con:
            n = con.execute(user_scenarios.update().where(key).values(
                toml=text, n_edits=len(scenario.edits), updated_at=now)).rowcount
            if not n:
                con.execute(user_scenarios.insert().values(
                    owner=owner, name=stem, toml=text, n_edits=len(scenario.edits), shared=False,
                    created_at=now, updated_at=now))
        return f"{owner}/{stem}"

    def load_for(self, user: str, owner: str, name: str) -> Any:
        from scenarios.model import Scenario

        stem = validate_name(name)
        with self.engine.connect() as con:
            row = con.execute(sa.select(user_scenarios).where(
                user_scenarios.c.owner == owner, user_scenarios.c.name == stem)).first()
        if row is None or (owner != user and not row.shared):
            raise ScenarioError(f"saved scenario {owner}/{stem}: not found (or not shared with {user})")
        return Scenario.from_dict(loads_toml(row.toml, f"{owner}/{stem}"), source=f"{owner}/{stem}")

    def set_shared(self, owner: str, name: str, shared: bool) -> None:
        stem = validate_name(name)
        with self.engine.begin() as con:
            n = con.execute(user_scenarios.update().where(
                user_scenarios.c.owner == owner, user_scenarios.c.name == stem).values(
                shared=bool(shared), updated_at=time.time())).rowcount
        if not n:
            raise ScenarioError(f"saved scenario {owner}/{stem}: not found")


def install(server: Any, repo: UserScenarios) -> None:
    """``GET /api/scenarios`` (the list the user may open) and
    ``POST /api/scenarios/<name>/share`` with ``{"shared": true|false}`` (the owner's own only)."""
    from flask import abort, jsonify, request

    @server.get("/api/scenarios")
    def scenarios_list() -> Any:
        me = _actor().name
        return jsonify([{"owner": r["owner"], "name": r["name"], "n_edits": r["n_edits"], "shared": bool(r["shared"]),
                         "mine": r["owner"] == me} for r in repo.visible(me)])

    @server.post("/api/scenarios/<name>/share")
    def scenarios_share(name: str) -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("shared"), bool):
            abort(400, 'send {"shared": true} or {"shared": false}')
        try:
            repo.set_shared(_actor().name, name, body["shared"])
        except ScenarioError:
            abort(404, "no saved scenario of yours with that name")
        return jsonify({"name": name, "shared": body["shared"]})
