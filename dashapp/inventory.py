"""The inventory editor's queries: read, save, add and delete one facility in the store.

Callbacks (``dashapp/callbacks/inventory_cb.py``) call one function here; every write goes
through :class:`store.FacilityStore` (validation like an import, optimistic version, audit row).
The store is the service's (``StoreAppService.store`` on the city server) or the active one
(``store.active.active_store``: ``$COVPLAN_STORE`` or ``data/inventory.gpkg``) under
``covplan app``. On the city server the signed-in user's name is the audit's ``user_name`` and
a county editor may only write facilities of their county (checked again here for additions,
whose county the guard cannot know beforehand).
"""

from __future__ import annotations

import getpass
import math
from typing import Any

from dashapp.service import get_service
from store import ConflictError, StoreError, ValidationFailed
from store.active import active_store
from store.changes import record_values
from store.validate import locate

FORM_FIELDS: tuple[str, ...] = ("name", "type", "tier", "capacity", "status", "lon", "lat")


def app_store():
    """The store the app edits, or None (no store: the editor is disabled)."""
    svc = get_service()
    st = getattr(svc, "store", None)
    if st is not None:
        return st
    try:
        return active_store(svc.data_dir)
    except StoreError:
        return None


def _actor():
    """The signed-in actor on the city server, else None (single-user ``covplan app``)."""
    try:
        from flask import current_app, has_request_context
    except ImportError:  # pragma: no cover - flask ships with dash
        return None
    if not has_request_context() or not hasattr(current_app, "login_manager"):
        return None
    from dashapp.server import auth

    return auth.current_actor()


def current_user() -> str:
    actor = _actor()
    if actor is not None:
        return actor.name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "covplan app"


def may_edit_county(county_code: str | None) -> bool:
    actor = _actor()
    return True if actor is None else bool(actor.may_edit_county(county_code))


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    try:
        if v != v:  # pd.NA and friends
            return None
    except (TypeError, ValueError):
        return None
    return v


def open_record(facility_id: str, year: int) -> dict | None:
    """The editable view of a facility in ``year`` plus version and history; None if absent."""
    st = app_store()
    if st is None or not facility_id:
        return None
    with st.engine.connect() as conn:
        rec = st.record_at(conn, facility_id.strip(), int(year))
    if rec is None:
        return None
    values = {k: _plain(v) for k, v in record_values(rec).items()}
    return {"facility_id": rec["facility_id"], "year": int(year), "version": int(rec["version"]),
            "values": values, "history": history(rec["facility_id"])}


def history(facility_id: str) -> list[dict]:
    st = app_store()
    if st is None:
        return []
    df = st.history(facility_id)
    keep = ["at", "user_name", "action", "outcome", "year", "old_values", "new_values", "reason"]
    return [{k: _plain(r[k]) if k not in ("old_values", "new_values") else r[k] for k in keep}
            for r in df.to_dict("records")]


def form_updates(form: dict, current: dict) -> dict:
    """Only the fields the planner changed (numbers compared as numbers)."""
    out = {}
    for k in FORM_FIELDS:
        if k not in form:
            continue
        new, old = form[k], current.get(k)
        if new in ("", None) and old in ("", None):
            continue
        if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(new, bool):
            if abs(float(old) - float(new)) <= 1e-9:
                continue
        elif new == old:
            continue
        out[k] = new
    if out.get("type") and out["type"] != "child_home" and "tier" not in out:
        out["tier"] = ""
    return out


def save(record: dict, form: dict, reason: str) -> tuple[str, str, dict]:
    """Save the form's changes; returns (outcome, message, details).

    outcome: ``saved`` | ``unchanged`` | ``conflict`` (details = the other's change) |
    ``invalid`` (details["problems"]) | ``forbidden`` | ``error``.
    """
    st = app_store()
    cur = open_record(record["facility_id"], record["year"])
    if st is None or cur is None:
        return "error", "not found", {}
    updates = form_updates(form, cur["values"])
    if not updates:
        return "unchanged", "", {}
    target_county = cur["values"].get("county_code")
    if "lon" in updates or "lat" in updates:
        where = locate(st.units(), float(form["lon"]), float(form["lat"]))
        target_county = where.get("county_code", target_county)
    if not (may_edit_county(cur["values"].get("county_code")) and may_edit_county(target_county)):
        st.write_audit(user=current_user(), action="update", outcome="forbidden",
                       facility_id=record["facility_id"], year=record["year"], new=updates,
                       reason="county rights (app editor)")
        return "forbidden", "", {}
    try:
        st.edit(record["facility_id"], record["year"], updates, expected_version=int(record["version"]),
                user=current_user(), reason=reason)
    except ConflictError as exc:
        return "conflict", str(exc), exc.other
    except ValidationFailed as exc:
        return "invalid", str(exc), {"problems": exc.problems}
    except StoreError as exc:
        return "error", str(exc), {}
    return "saved", "", updates


def add(year: int, form: dict, reason: str) -> tuple[str, str, dict]:
    """Add a facility from the form (type, name, tier, capacity, lon/lat required)."""
    st = app_store()
    if st is None:
        return "error", "no store", {}
    values = {k: form.get(k) for k in FORM_FIELDS if form.get(k) not in (None, "")}
    if values.get("lon") is None or values.get("lat") is None:
        return "invalid", "", {"problems": ["lon/lat: a position is required / 缺少坐标"]}
    where = locate(st.units(), float(values["lon"]), float(values["lat"]))
    if not may_edit_county(where.get("county_code")):
        st.write_audit(user=current_user(), action="create", outcome="forbidden", year=int(year),
                       new=values, reason="county rights (app editor)")
        return "forbidden", "", {}
    try:
        fid = st.add(int(year), values, user=current_user(), reason=reason)
    except ValidationFailed as exc:
        return "invalid", str(exc), {"problems": exc.problems}
    except StoreError as exc:
        return "error", str(exc), {}
    return "added", fid, {"facility_id": fid}


def delete(record: dict, reason: str) -> tuple[str, str, dict]:
    st = app_store()
    cur = open_record(record["facility_id"], record["year"])
    if st is None or cur is None:
        return "error", "not found", {}
    if not may_edit_county(cur["values"].get("county_code")):
        st.write_audit(user=current_user(), action="delete", outcome="forbidden",
                       facility_id=record["facility_id"], year=record["year"], reason="county rights (app editor)")
        return "forbidden", "", {}
    try:
        st.delete(record["facility_id"], record["year"], expected_version=int(record["version"]),
                  user=current_user(), reason=reason)
    except ConflictError as exc:
        return "conflict", str(exc), exc.other
    except StoreError as exc:
        return "error", str(exc), {}
    return "deleted", "", {}


def county_provenance(year: int) -> list[tuple[str, str]]:
    """[(county name, real|partial|synthetic)] for the editor card and exports."""
    st = app_store()
    if st is None or year is None:
        return []
    names = dict(zip(st.units().counties["code"], st.units().counties["name"]))
    return [(names.get(c, c), p) for c, p in st.county_provenance(int(year)).items()]


def accept(scenario_json: dict, year: int | None) -> tuple[str, str, dict]:
    """Write the session's scenario as a planned batch: additions as planned facilities, changes of
    existing ones as planned changes (store.accept); every county touched must be the user's."""
    from scenarios import Scenario
    from scenarios._errors import ScenarioError
    from store.accept import accept_scenario

    st = app_store()
    if st is None:
        return "error", "no store", {}
    edits = list((scenario_json or {}).get("edits") or [])
    name = (scenario_json or {}).get("name") or "未命名情景"
    try:
        sc = Scenario.from_edits(name, edits, year=year)
        adds = [e for e in edits if e.get("op") == "add_facility"]
        counties = {locate(st.units(), float(e["lon"]), float(e["lat"])).get("county_code")
                    for e in adds if e.get("lon") is not None and e.get("lat") is not None}
        # planned changes of existing facilities: the county of the facility's record in the store
        from store.accept import CHANGE_OPS

        for e in edits:
            if e.get("op") in CHANGE_OPS and e.get("facility_id"):
                recs = st.records(facility_id=str(e["facility_id"]))
                counties |= set(recs["county_code"].astype(str))
        if not all(may_edit_county(c) for c in counties):
            st.write_audit(user=current_user(), action="accept_scenario", outcome="forbidden",
                           reason=f"county rights (scenario {name})")
            return "forbidden", "", {}
        out = accept_scenario(st, sc, user=current_user(), year=year)
    except ValidationFailed as exc:
        return "invalid", str(exc), {"problems": exc.problems}
    except (StoreError, ScenarioError) as exc:
        return "error", str(exc), {}
    text = f"{len(out['planned'])} · 规划调整 / planned changes {len(out['changes'])} · batch {out['batch_id']}"
    if out["skipped"]:
        text += f" · 未写入（非设施修改）/ not written (not facility edits): {len(out['skipped'])}"
    return "accepted", text, out
