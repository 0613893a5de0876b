"""JSON endpoints for one facility's record, with the county rights checked on the server.

``GET  /api/facilities/<facility_id>?year=Y`` — the record valid in year Y (default: the
latest inventory year): attributes, ``status``, ``version``, ``lon``/``lat``.

``POST /api/facilities/<facility_id>`` with ``{"year", "changes", "expected_version",
"reason"}`` — saves the change through ``FacilityStore.edit`` (one transaction, one batch,
one audit row; a stale ``expected_version`` → 409 with the other editor's change; a value
that fails the import checks → 422 listing the problems).

Rights: viewers may not edit; a county editor may edit only a facility whose record in the
store — not anything the browser sends — lies in their county, and may not move it, or
re-code it, into another county. A refused edit answers 403 and is written to the store's
audit log (``outcome = "forbidden"``) and to the server's security events.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, jsonify, request

from dashapp.server import auth
from dashapp.server.roles import Actor
from store import ConflictError, StoreError, ValidationFailed
from store.changes import record_values
from store.validate import locate

#: longest reason text kept
MAX_REASON = 500


def _plain(values: dict) -> dict:
    """JSON-safe values (numpy scalars → Python, missing → None)."""
    out = {}
    for k, v in values.items():
        if hasattr(v, "item"):
            v = v.item()
        try:
            missing = v is None or (not isinstance(v, (str, bool, int)) and v != v)
        except (TypeError, ValueError):
            missing = True
        out[k] = None if missing else v
    return out


def _year(st: Any, raw: Any) -> int:
    years = st.years()
    if raw in (None, ""):
        if not years:
            abort(404, "the store has no inventory year")
        return years[-1]
    try:
        return int(raw)
    except (TypeError, ValueError):
        abort(400, "year: not a whole number")


def counties_touched(st: Any, rec: dict, changes: dict) -> set[str]:
    """Every county a change reaches: the record's own, and any it would move or re-code it to."""
    out = {str(rec.get("county_code") or "")}
    for key in ("county_code", "township_code", "village_code"):
        if changes.get(key):
            out.add(str(changes[key])[:6])
    if "lon" in changes or "lat" in changes:
        vals = record_values(rec)
        try:
            lon, lat = float(changes.get("lon", vals["lon"])), float(changes.get("lat", vals["lat"]))
        except (TypeError, ValueError):
            abort(400, "lon/lat: not numbers")
        where = locate(st.units(), lon, lat)
        out.add(str(where.get("county_code", "")) if where else "")
    return out


def _refuse(st: Any, actor: Actor, fid: str, year: int, changes: dict, detail: str) -> None:
    try:
        st.write_audit(user=actor.name, action="update", outcome="forbidden", reason=detail[:MAX_REASON],
                       facility_id=fid, year=year, new={k: changes[k] for k in list(changes)[:40]})
    except StoreError:
        pass
    auth.forbid(detail)


def install(server: Flask, st: Any) -> None:
    @server.get("/api/facilities/<facility_id>")
    def facility_get(facility_id: str) -> Any:
        year = _year(st, request.args.get("year"))
        with st.engine.connect() as conn:
            rec = st.record_at(conn, facility_id, year)
        if rec is None:
            abort(404, "no such facility in that year")
        return jsonify({"facility_id": facility_id, "year": year, "version": int(rec["version"]),
                        **_plain(record_values(rec))})

    @server.post("/api/facilities/<facility_id>")
    def facility_edit(facility_id: str) -> Any:
        actor = auth.current_actor()
        body = request.get_json(silent=True)
        if actor is None:
            abort(401)
        if not isinstance(body, dict) or not isinstance(body.get("changes"), dict) or not body["changes"]:
            abort(400, "send {year, changes, expected_version, reason}")
        changes: dict = body["changes"]
        year = _year(st, body.get("year"))
        try:
            expected = int(body.get("expected_version"))
        except (TypeError, ValueError):
            abort(400, "expected_version: the version you read")
        reason = str(body.get("reason") or "")[:MAX_REASON]
        if not actor.can_write:
            _refuse(st, actor, facility_id, year, changes, f"{actor.name} ({actor.role}) may not edit facilities")
        with st.engine.connect() as conn:
            rec = st.record_at(conn, facility_id, year)
        if rec is None:
            abort(404, "no such facility in that year")
        for county in sorted(counties_touched(st, rec, changes)):
            if not actor.may_edit_county(county):
                _refuse(st, actor, facility_id, year, changes,
                        f"{actor.name} ({actor.role}, county {actor.county}) may not edit facility {facility_id} "
                        f"of county {rec.get('county_code')} (change reaches county {county or 'outside Lishui'})")
        try:
            new = st.edit(facility_id, year, changes, expected_version=expected, user=actor.name, reason=reason)
        except ConflictError as exc:
            other = {k: exc.other.get(k) for k in ("user_name", "at", "old_values", "new_values", "reason")}
            return jsonify({"error": str(exc), "other": other}), 409
        except ValidationFailed as exc:
            return jsonify({"error": "validation failed", "problems": exc.problems}), 422
        except StoreError as exc:
            return jsonify({"error": str(exc).splitlines()[0]}), 400
        return jsonify({"facility_id": facility_id, "year": year, "version": int(new["version"]),
                        **_plain(record_values(new))})
