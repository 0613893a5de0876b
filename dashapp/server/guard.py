"""Role and county checks on every Dash callback request (``POST /_dash-update-component``).

Dash sends every callback as a POST naming its output; the guard finds the Python function
behind that output (``app.callback_map``) and applies the function's policy *before* Dash
runs it, with the values the browser sent:

* ``read`` (the default) — any signed-in user; the view callbacks reveal only what every
  role may see;
* ``write`` — city admins and county editors; a viewer gets 403 and an audit entry;
* ``facility`` — a write of one facility's record: the facility's county, looked up in the
  store (never taken from the browser), must be the editor's county (city admins: any);
  a forged request for another county's facility gets 403 and an audit entry.

Any callback that receives an upload (an input property ``contents``) also counts against
the user's daily upload caps (``COVPLAN_UPLOADS_PER_DAY``, ``COVPLAN_UPLOAD_MB_PER_DAY``);
each accepted upload is recorded in the security audit.

Register a new writing callback by its ``module.function`` name in :data:`POLICIES` (and a
facility callback's way of finding the facility id in :data:`FACILITY_ID_FROM`).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from dash import Dash
from flask import Flask, abort, request

from dashapp.server import auth
from dashapp.server.accounts import UPLOAD
from dashapp.server.config import ServerSettings

READ, WRITE, FACILITY = "read", "write", "facility"

#: callback function (module.qualname) → policy; unlisted callbacks are ``read``
POLICIES: dict[str, str] = {
    "dashapp.callbacks.scenario_cb.save_scenario": WRITE,
    # the inventory editor also checks the county of the stored record and of a new point
    "dashapp.callbacks.inventory_cb.write_inventory": WRITE,
    "dashapp.callbacks.inventory_cb.accept_scenario": WRITE,
    "dashapp.callbacks.inventory_cb.apply_submission": WRITE,
}
#: facility callbacks: function → how to find the facility id among the values sent
FACILITY_ID_FROM: dict[str, Callable[[dict[str, Any]], str | None]] = {}
#: how the guard finds a facility's county (installed by the server from the store)
CountyOf = Callable[[str], "str | None"]


def _values(body: dict[str, Any]) -> dict[str, Any]:
    """``{"component-id.property": value}`` of every input and state sent."""
    out: dict[str, Any] = {}
    for group in ("inputs", "state"):
        for item in body.get(group) or []:
            items = item if isinstance(item, list) else [item]  # pattern-matching ALL/ALLSMALLER
            for it in items:
                if isinstance(it, dict) and "property" in it:
                    cid = it.get("id")
                    key = cid if isinstance(cid, str) else repr(sorted(cid.items())) if isinstance(cid, dict) else str(cid)
                    out[f"{key}.{it['property']}"] = it.get("value")
    return out


def _function_name(dash_app: Dash, output: str) -> str | None:
    entry = dash_app.callback_map.get(output)
    if entry is None:
        return None
    fn = entry.get("callback")
    fn = getattr(fn, "__wrapped__", fn)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"


def _upload_size(values: dict[str, Any]) -> int:
    size = 0
    for key, value in values.items():
        if key.endswith(".contents") and value:
            for v in value if isinstance(value, list) else [value]:
                size += len(v) if isinstance(v, str) else 0
    return size


def check_callback(dash_app: Dash, settings: ServerSettings, county_of: CountyOf, body: Any) -> None:
    """Abort with 400/403/429 unless the signed-in user may run this callback with these values."""
    actor = auth.current_actor()
    if actor is None:
        abort(401)
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        abort(400, "not a Dash callback request")
    name = _function_name(dash_app, body["output"])
    if name is None:
        abort(400, "unknown callback")
    policy = POLICIES.get(name, READ)
    values = _values(body)
    if policy in (WRITE, FACILITY) and not actor.can_write:
        auth.forbid(f"{actor.name} ({actor.role}) ran the writing callback {name}")
    if policy == FACILITY:
        fid = FACILITY_ID_FROM[name](values)
        if fid:
            county = county_of(str(fid))
            if not actor.may_edit_county(county):
                auth.forbid(f"{actor.name} ({actor.role}, county {actor.county}) tried {name} on facility "
                            f"{fid} of county {county}")
    size = _upload_size(values)
    if size:
        accts = auth.accounts()
        since = time.time() - 86400
        if accts.count_events(UPLOAD, user_name=actor.name, since=since) >= settings.uploads_per_day:
            abort(429, "upload count cap reached")
        if accts.sum_event_size(UPLOAD, actor.name, since) + size > settings.upload_bytes_per_day:
            abort(429, "upload volume cap reached")
        accts.record(UPLOAD, actor.name, auth.client_ip(), path=request.path, detail=name, size=size)


def install(server: Flask, dash_app: Dash, settings: ServerSettings, county_of: CountyOf) -> None:
    @server.before_request
    def _guard_callbacks() -> None:
        if request.method == "POST" and request.path.endswith("/_dash-update-component"):
            check_callback(dash_app, settings, county_of, request.get_json(silent=True))
