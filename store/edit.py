"""Single-facility edits (the app's editor, the CLI): edit, add, delete, history.

Each call is one transaction and one batch of kind ``edit`` (so it can be rolled back like a
submission) with one audit row. ``expected_version`` is the ``version`` the editor read; a
mismatch raises :class:`store.ConflictError` (no lost update).
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
from sqlalchemy import and_, select

from layers.dataset import Dataset
import store.changes as C
import store.validate as VAL
from store._errors import StoreError


def _public_places(st, conn, year: int) -> set[str]:
    df = st.facilities(year, statuses=None, conn=conn)
    return set(df.loc[df["type"] == "public_place", "facility_id"])


def _apply_move(values: dict, updates: dict, units: Dataset) -> None:
    """A moved point takes the codes of the township it lands in (unless codes were given)."""
    if ("lon" in updates or "lat" in updates) and "township_code" not in updates:
        where = VAL.locate(units, float(values["lon"]), float(values["lat"]))
        if where and where["township_code"] != values.get("township_code"):
            values.update(where)
            if values.get("village_code") and not values["village_code"].startswith(where["township_code"]):
                values["village_code"] = ""
        values["location_precision"] = "exact"


def edit_facility(st, units: Dataset, facility_id: str, year: int, updates: dict, *,
                  expected_version: int, user: str, reason: str = "") -> dict:
    """Change fields of a facility in ``year`` (and on, until its next recorded state).

    ``updates``: any of :data:`store.changes.EDITABLE`. Returns the new record (dict).
    """
    bad = sorted(set(updates) - set(C.EDITABLE))
    if bad:
        raise StoreError(f"fields {bad} cannot be edited; editable: {', '.join(C.EDITABLE)}")
    with st.engine.begin() as conn:
        rec = st.record_at(conn, facility_id, year)
        if rec is None:
            raise StoreError(f"no facility {facility_id!r} in {year} / 该年度无此设施")
        values = C.record_values(rec)
        values.update(updates)
        values = VAL.normalise(values)
        _apply_move(values, updates, units)
        VAL.require_valid(values, facility_id, year, units, _public_places(st, conn, year))
        bid = C.new_batch(conn, st, "edit", user, year=int(year), county_code=values["county_code"],
                          n_changed=1, note=reason)
        C.supersede(conn, st, rec, int(year), values, batch_id=bid, user=user, action="update",
                    reason=reason, expected_version=expected_version)
        st.ensure_year(conn, year)
        st.bump(conn)
        return st.record_at(conn, facility_id, year)


def new_facility_id(values: dict, year: int) -> str:
    key = "|".join(str(values.get(k, "")) for k in ("type", "name", "county_code", "township_code",
                                                     "lon", "lat")) + f"|{year}"
    return "ED-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def add_facility(st, units: Dataset, year: int, values: dict, *, user: str, reason: str = "",
                 facility_id: str | None = None) -> str:
    """Add a facility valid from ``year``; codes come from the point when not given."""
    vals = VAL.normalise({**{c: None for c in C.ATTRIBUTE_COLUMNS}, **values})
    if vals.get("lon") is not None and vals.get("lat") is not None and not vals.get("township_code"):
        vals.update(VAL.locate(units, vals["lon"], vals["lat"]))
    if not vals.get("location_precision"):
        vals["location_precision"] = "exact"
    if not vals.get("provenance"):
        vals["provenance"] = "real"
    fid = facility_id or new_facility_id(vals, year)
    with st.engine.begin() as conn:
        if st.record_at(conn, fid, year) is not None:
            raise StoreError(f"facility {fid!r} already exists in {year} / 设施编号已存在")
        VAL.require_valid(vals, fid, year, units, _public_places(st, conn, year))
        bid = C.new_batch(conn, st, "edit", user, year=int(year), county_code=vals["county_code"],
                          n_new=1, note=reason)
        C.create(conn, st, fid, year, vals, batch_id=bid, user=user, reason=reason)
        st.ensure_year(conn, year)
        st.bump(conn)
    return fid


def delete_facility(st, facility_id: str, year: int, *, expected_version: int, user: str,
                    reason: str = "") -> None:
    """Remove a facility from ``year`` on (records before ``year`` stay)."""
    with st.engine.begin() as conn:
        rec = st.record_at(conn, facility_id, year)
        if rec is None:
            raise StoreError(f"no facility {facility_id!r} in {year} / 该年度无此设施")
        bid = C.new_batch(conn, st, "edit", user, year=int(year), county_code=rec["county_code"],
                          n_closed=1, note=reason)
        C.supersede(conn, st, rec, int(year), None, batch_id=bid, user=user, action="delete",
                    reason=reason, expected_version=expected_version)
        st.bump(conn)


def history(st, facility_id: str) -> pd.DataFrame:
    """Audit entries of a facility, oldest first: at, user_name, action, year, old, new, reason."""
    a = st.t.audit.c
    with st.engine.connect() as conn:
        rows = conn.execute(select(st.t.audit).where(and_(a.facility_id == facility_id))
                            .order_by(a.audit_id)).mappings().all()
    df = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in st.t.audit.columns])
    for col in ("old_values", "new_values"):
        df[col] = [json.loads(v) if v else {} for v in df[col]]
    return df
