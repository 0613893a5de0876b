"""Writing to the store: batches, audit entries, edits with optimistic versions, rollback.

Every change of a facility in year Y ends the record valid in Y at Y (``valid_to = Y``) and
inserts the new state ``[Y, old valid_to)`` with ``version + 1``: years before Y never change,
and a change holds until the facility's next recorded state. The end-the-old-record UPDATE is
guarded by the version the editor saw (``WHERE fid = … AND version = … AND valid_to`` still
open at Y), so of two editors of the same state only the first succeeds; the second gets a
:class:`store.ConflictError` carrying the winner's audit entry. Each change writes one
``audit`` row (who, when, old and new values as JSON, reason) inside the same transaction.
"""

from __future__ import annotations

import json
import math

from sqlalchemy import and_, delete, desc, insert, or_, select, update
from sqlalchemy.engine import Connection

from store._errors import ConflictError, StoreError
from store.migrations import now_iso
from store.schema import ATTRIBUTE_COLUMNS, STATUSES

#: fields an edit may change (``lon``/``lat`` move the point)
EDITABLE: tuple[str, ...] = (*ATTRIBUTE_COLUMNS, "status", "lon", "lat")


def _json_value(v):
    if v is None:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if hasattr(v, "item"):
        return v.item()
    return v


def dumps(values: dict | None) -> str:
    if not values:
        return ""
    return json.dumps({k: _json_value(v) for k, v in values.items()}, ensure_ascii=False, sort_keys=True)


def new_batch(conn: Connection, st, kind: str, user: str, **meta) -> int:
    """Insert a batch row and return its id (``meta``: year, source, county_code, file_name,
    file_sha256, note, n_new, n_changed, n_closed)."""
    if not user:
        raise StoreError("a batch needs a submitter / 缺少提交人")
    res = conn.execute(insert(st.t.batches).values(kind=kind, submitted_by=user, created_at=now_iso(),
                                                   **meta).returning(st.t.batches.c.batch_id))
    return int(res.scalar_one())


def write_audit(conn: Connection, st, *, user: str, action: str, outcome: str = "ok",
                facility_id: str = "", year: int | None = None, batch_id: int | None = None,
                old: dict | None = None, new: dict | None = None, reason: str = "",
                old_fid: int | None = None, new_fid: int | None = None,
                old_valid_to: int | None = None) -> int:
    """Append one audit row; return its id."""
    res = conn.execute(insert(st.t.audit).values(
        batch_id=batch_id, at=now_iso(), user_name=user or "", action=action, outcome=outcome,
        facility_id=facility_id or "", year=year, old_fid=old_fid, new_fid=new_fid,
        old_valid_to=old_valid_to, old_values=dumps(old), new_values=dumps(new), reason=reason or "",
    ).returning(st.t.audit.c.audit_id))
    return int(res.scalar_one())


def last_change(conn: Connection, st, facility_id: str) -> dict:
    """The newest successful audit entry of a facility (what a refused editor is shown)."""
    a = st.t.audit.c
    row = conn.execute(select(st.t.audit).where(and_(a.facility_id == facility_id, a.outcome == "ok"))
                       .order_by(desc(a.audit_id)).limit(1)).mappings().first()
    if row is None:
        return {}
    out = dict(row)
    out["old_values"] = json.loads(out["old_values"] or "{}")
    out["new_values"] = json.loads(out["new_values"] or "{}")
    return out


def record_values(rec: dict) -> dict:
    """The editable view of a record: attributes, status, lon/lat."""
    out = {c: rec.get(c) for c in ATTRIBUTE_COLUMNS}
    out["status"] = rec.get("status")
    g = rec.get("geometry")
    out["lon"] = None if g is None else round(float(g.x), 7)
    out["lat"] = None if g is None else round(float(g.y), 7)
    return out


def supersede(conn: Connection, st, rec: dict, year: int, new_values: dict | None, *,
              batch_id: int, user: str, action: str, reason: str = "",
              expected_version: int | None = None) -> int | None:
    """End ``rec`` at ``year`` and (unless ``new_values`` is None: a delete) insert its next state.

    ``new_values`` is the full editable view (:func:`record_values`) of the new state, already
    validated. Returns the new record's fid. Raises ConflictError when the record changed since
    the caller read it (its version differs from ``expected_version`` or it no longer runs
    through ``year``).
    """
    f = st.t.facilities.c
    version = rec["version"] if expected_version is None else int(expected_version)
    guard = and_(f.fid == int(rec["fid"]), f.version == version, f.valid_from <= year,
                 or_(f.valid_to.is_(None), f.valid_to > year))
    res = conn.execute(update(st.t.facilities).where(guard).values(valid_to=int(year)))
    if res.rowcount != 1:
        other = last_change(conn, st, rec["facility_id"])
        who = other.get("user_name", "?")
        when = other.get("at", "?")
        msg = (f"facility {rec['facility_id']} ({year}) was changed by {who} at {when} after you opened it "
               f"(version {version} → newer); reload and re-apply your change / 该设施已被他人修改，请刷新后重试")
        raise ConflictError(msg, other)
    old_vals = record_values(rec)
    new_fid = None
    if new_values is not None:
        row = {c: new_values[c] for c in ATTRIBUTE_COLUMNS}
        status = new_values.get("status") or "open"
        if status not in STATUSES:
            raise StoreError(f"status {status!r} must be one of {', '.join(STATUSES)}")
        from shapely import Point
        geom = Point(float(new_values["lon"]), float(new_values["lat"]))
        # int(): a numpy integer would reach SQLite as an 8-byte BLOB, not a number
        valid_to = None if rec["valid_to"] is None else int(rec["valid_to"])
        row.update(facility_id=rec["facility_id"], valid_from=int(year), valid_to=valid_to,
                   status=status, version=int(rec["version"]) + 1, batch_id=batch_id,
                   geom=st.t.geom_value(geom))
        new_fid = int(conn.execute(insert(st.t.facilities).values(**row)
                                   .returning(f.fid)).scalar_one())
        changed = {k for k in new_values if _differs(old_vals.get(k), new_values.get(k))}
        old_out = {k: old_vals.get(k) for k in sorted(changed)}
        new_out = {k: new_values.get(k) for k in sorted(changed)}
    else:
        old_out, new_out = old_vals, None
    write_audit(conn, st, user=user, action=action, facility_id=rec["facility_id"], year=int(year),
                batch_id=batch_id, old=old_out, new=new_out, reason=reason, old_fid=int(rec["fid"]),
                new_fid=new_fid, old_valid_to=None if rec["valid_to"] is None else int(rec["valid_to"]))
    return new_fid


def create(conn: Connection, st, facility_id: str, year: int, values: dict, *, batch_id: int,
           user: str, action: str = "create", reason: str = "") -> int:
    """Insert a facility that has no record in ``year`` (validated values); return its fid."""
    f = st.t.facilities.c
    from shapely import Point
    row = {c: values[c] for c in ATTRIBUTE_COLUMNS}
    row.update(facility_id=facility_id, valid_from=int(year), valid_to=None,
               status=values.get("status") or "open", version=1, batch_id=batch_id,
               geom=st.t.geom_value(Point(float(values["lon"]), float(values["lat"]))))
    fid = int(conn.execute(insert(st.t.facilities).values(**row).returning(f.fid)).scalar_one())
    write_audit(conn, st, user=user, action=action, facility_id=facility_id, year=int(year),
                batch_id=batch_id, new=dict(values), reason=reason, new_fid=fid)
    return fid


def _differs(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        a = None
    if b is None or (isinstance(b, float) and math.isnan(b)):
        b = None
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return abs(a - float(b)) > 1e-7
    if isinstance(b, float) and isinstance(a, (int, float)) and not isinstance(a, bool):
        return abs(b - float(a)) > 1e-7
    return a != b


def rollback(st, batch_id: int, user: str, reason: str = "") -> int:
    """Undo every change of a batch as a whole; return the id of the rollback batch.

    Refused (StoreError naming the later batch) when a later, still applied batch changed a
    record this batch wrote: roll that one back first.
    """
    b, a, f = st.t.batches.c, st.t.audit.c, st.t.facilities.c
    with st.engine.begin() as conn:
        batch = conn.execute(select(st.t.batches).where(b.batch_id == int(batch_id))).mappings().first()
        if batch is None:
            raise StoreError(f"no batch {batch_id} / 批次不存在")
        if batch["status"] != "applied":
            raise StoreError(f"batch {batch_id} is already rolled back / 该批次已撤销")
        if batch["kind"] in ("migration", "rollback"):
            raise StoreError(f"batch {batch_id} ({batch['kind']}) cannot be rolled back")
        entries = conn.execute(select(st.t.audit).where(and_(a.batch_id == int(batch_id), a.outcome == "ok"))
                               .order_by(desc(a.audit_id))).mappings().all()
        new_fids = [e["new_fid"] for e in entries if e["new_fid"] is not None]
        if new_fids:
            later = conn.execute(
                select(a.batch_id, a.facility_id).join(st.t.batches, b.batch_id == a.batch_id)
                .where(and_(a.old_fid.in_(new_fids), a.outcome == "ok", b.status == "applied",
                            a.batch_id != int(batch_id))).limit(1)).first()
            if later is not None:
                raise StoreError(f"batch {batch_id} cannot be rolled back: batch {later[0]} changed facility "
                                 f"{later[1]} afterwards; roll back batch {later[0]} first / 请先撤销后续批次")
        rb = new_batch(conn, st, "rollback", user, year=batch["year"], county_code=batch["county_code"],
                       note=f"rollback of batch {batch_id}" + (f": {reason}" if reason else ""))
        for e in entries:
            if e["new_fid"] is not None:
                conn.execute(delete(st.t.facilities).where(f.fid == e["new_fid"]))
            if e["old_fid"] is not None:
                conn.execute(update(st.t.facilities).where(f.fid == e["old_fid"])
                             .values(valid_to=e["old_valid_to"]))
            write_audit(conn, st, user=user, action="rollback", facility_id=e["facility_id"], year=e["year"],
                        batch_id=rb, old=json.loads(e["new_values"] or "{}") or None,
                        new=json.loads(e["old_values"] or "{}") or None,
                        reason=reason or f"rollback of batch {batch_id}")
        conn.execute(update(st.t.batches).where(b.batch_id == int(batch_id))
                     .values(status="rolled_back", rolled_back_by=rb))
        st.bump(conn)
    return rb
