""""Accept" a what-if scenario: its new facilities become a planned-facility batch in the store.

The scenario is applied (``scenarios.apply_scenario``) to the store's dataset; every facility
it adds in its year becomes a record with ``status = "planned"`` valid from the chosen year
(default: the scenario's year), ``provenance = "derived"`` (derived from an accepted
scenario), validated like any change, in one batch of kind ``scenario`` (rollback undoes
it). Planned records are kept but not evaluated (only ``open`` ones are). Edits of existing
facilities (upgrades, capacities, closures) are not written: they are listed in the result
as skipped — a planned upgrade of an open facility has no state of its own in a year's
inventory; make it in the editor or a submission when it happens.
"""

from __future__ import annotations

import hashlib

import store.changes as C
import store.validate as VAL
from scenarios import apply_scenario
from store._errors import StoreError, ValidationFailed
from store.schema import ATTRIBUTE_COLUMNS


def accept_scenario(st, scenario, *, user: str, year: int | None = None, reason: str = "") -> dict:
    """Write the scenario's added facilities as planned; returns {batch_id, planned, skipped}."""
    base = st.dataset()
    sy = scenario.year if scenario.year is not None else base.latest_year
    y = int(year) if year is not None else int(sy)
    ds2, _ = apply_scenario(scenario, base, None)
    before = set(base.facilities_for(sy)["facility_id"])
    after = ds2.facilities_for(sy)
    added = after[~after["facility_id"].isin(before)]
    skipped = [{"op": e.op, **dict(e.params)} for e in scenario.edits if e.op != "add_facility"]
    if added.empty:
        raise StoreError("the scenario adds no facility; nothing to accept / 情景未新增设施")
    units = st.units()
    rows = []
    problems: list[str] = []
    for rec, geom in zip(added.to_dict("records"), added.geometry.to_numpy()):
        values = {c: rec.get(c) for c in ATTRIBUTE_COLUMNS}
        values.update(status="planned", provenance="derived", lon=geom.x, lat=geom.y)
        values = VAL.normalise(values)
        key = f"{scenario.name}|{rec['facility_id']}|{geom.x:.6f}|{geom.y:.6f}|{y}"
        fid = "PL-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
        problems += [f"{rec.get('name') or fid}: {p}" for p in VAL.check(values, fid, y, units, None)]
        rows.append((fid, values))
    if problems:
        raise ValidationFailed("scenario not accepted / 情景未写入", problems)
    with st.engine.begin() as conn:
        for fid, _ in rows:
            if st.record_at(conn, fid, y) is not None:
                raise StoreError(f"scenario {scenario.name!r} was already accepted for {y} ({fid})")
        bid = C.new_batch(conn, st, "scenario", user, year=y, source=f"情景 {scenario.name}",
                          n_new=len(rows), note=reason or f"accepted scenario {scenario.name}")
        for fid, values in rows:
            C.create(conn, st, fid, y, values, batch_id=bid, user=user, action="create",
                     reason=reason or f"情景 {scenario.name}")
        st.ensure_year(conn, y)
        st.bump(conn)
    return {"batch_id": bid, "planned": [fid for fid, _ in rows], "skipped": skipped}
