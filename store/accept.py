""""Accept" a what-if scenario: every facility edit of it becomes part of a planned batch in the store.

The scenario is applied (``scenarios.apply_scenario``) to the store's dataset, then, in one
batch of kind ``scenario`` (rollback undoes it as a whole), valid from the chosen year
(default: the scenario's year):

* every facility it **adds** becomes a record with ``status = "planned"`` and ``provenance =
  "derived"`` (derived from an accepted scenario), validated like any change — planned
  records are kept but not evaluated (only ``open`` ones are);
* every **change of an existing facility** — an upgrade, a new capacity, a closure — becomes
  a *planned change*: an audit row of the batch (action ``plan_update``, or ``plan_close``
  for a closure) with the facility's old and new values. The facility's record is not
  touched: a year's inventory holds what is, the plan what is intended, and a planned
  change has no state of its own in the inventory (one record per facility and year). The
  facility's history shows it; :func:`planned_changes` lists them; when the change is made,
  the editor or a submission writes it;
* edits that are not facility plans (``scale_population``, ``override_target``: assumptions
  of the what-if, not intentions for a facility) are listed as ``skipped``.

A scenario accepted for a year once is refused the second time.
"""

from __future__ import annotations

import hashlib

import pandas as pd
from sqlalchemy import and_, select

import store.changes as C
import store.validate as VAL
from scenarios import apply_scenario
from store._errors import StoreError, ValidationFailed
from store.schema import ATTRIBUTE_COLUMNS

#: scenario edits of an existing facility that become planned changes
CHANGE_OPS: tuple[str, ...] = ("upgrade_facility", "set_capacity", "close_facility")


def _plain(v):
    """A cell as a JSON-able Python value (missing → None)."""
    if v is None or (not isinstance(v, (str, bytes)) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def _changes(scenario, base, ds2, sy: int, added_ids: set[str]) -> list[dict]:
    """Planned changes of existing facilities: [{facility_id, op, action, county_code, old, new}]."""
    before = base.facilities_for(sy).set_index("facility_id", drop=False)
    after = ds2.facilities_for(sy).set_index("facility_id", drop=False)
    out: dict[str, dict] = {}
    for e in scenario.edits:
        fid = str(e.params.get("facility_id") or "")
        if e.op not in CHANGE_OPS or fid in added_ids or fid not in before.index or fid in out:
            continue  # an edit of a facility the scenario adds is already in its planned record
        old = before.loc[fid]
        if fid not in after.index:
            out[fid] = {"facility_id": fid, "op": "close_facility", "action": "plan_close",
                        "county_code": str(old["county_code"]), "old": {"status": "open"},
                        "new": {"status": "closed"}}
            continue
        new = after.loc[fid]
        diff = [c for c in ATTRIBUTE_COLUMNS if C._differs(_plain(old[c]), _plain(new[c]))]
        if diff:
            out[fid] = {"facility_id": fid, "op": e.op, "action": "plan_update",
                        "county_code": str(old["county_code"]),
                        "old": {c: _plain(old[c]) for c in diff}, "new": {c: _plain(new[c]) for c in diff}}
    return list(out.values())


def accept_scenario(st, scenario, *, user: str, year: int | None = None, reason: str = "") -> dict:
    """Write the scenario's facility edits as a planned batch.

    Returns ``{batch_id, planned: [new ids "PL-…"], changes: [{facility_id, op, action, county_code,
    old, new}], skipped: [edits that are not facility plans]}``. Raises ValidationFailed (nothing
    written) when an added facility fails validation or a changed facility has no record in the
    chosen year, StoreError when the scenario has no facility edit or was accepted for that year.
    """
    base = st.dataset()
    sy = scenario.year if scenario.year is not None else base.latest_year
    y = int(year) if year is not None else int(sy)
    ds2, _ = apply_scenario(scenario, base, None)
    before = set(base.facilities_for(sy)["facility_id"])
    after = ds2.facilities_for(sy)
    added = after[~after["facility_id"].isin(before)]
    changes = _changes(scenario, base, ds2, sy, set(added["facility_id"]))
    skipped = [{"op": e.op, **dict(e.params)} for e in scenario.edits
               if e.op not in CHANGE_OPS and e.op != "add_facility"]
    if added.empty and not changes:
        raise StoreError("the scenario neither adds nor changes a facility; nothing to accept / 情景未新增或调整设施")
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
    source = f"情景 {scenario.name}"
    b = st.t.batches.c
    with st.engine.begin() as conn:
        for ch in changes:
            if st.record_at(conn, ch["facility_id"], y) is None:
                problems.append(f"{ch['facility_id']}: no record in {y} to plan a change of / 该年度无此设施")
        if problems:
            raise ValidationFailed("scenario not accepted / 情景未写入", problems)
        for fid, _ in rows:
            if st.record_at(conn, fid, y) is not None:
                raise StoreError(f"scenario {scenario.name!r} was already accepted for {y} ({fid})")
        done = conn.execute(select(b.batch_id).where(and_(b.kind == "scenario", b.source == source, b.year == y,
                                                          b.status == "applied"))).first()
        if done is not None:
            raise StoreError(f"scenario {scenario.name!r} was already accepted for {y} (batch {done[0]}); "
                             "roll that batch back first / 该情景已采纳")
        n_close = sum(ch["action"] == "plan_close" for ch in changes)
        bid = C.new_batch(conn, st, "scenario", user, year=y, source=source, n_new=len(rows),
                          n_changed=len(changes) - n_close, n_closed=n_close,
                          note=reason or f"accepted scenario {scenario.name}")
        why = reason or source
        for fid, values in rows:
            C.create(conn, st, fid, y, values, batch_id=bid, user=user, action="create", reason=why)
        for ch in changes:
            C.write_audit(conn, st, user=user, action=ch["action"], facility_id=ch["facility_id"], year=y,
                          batch_id=bid, old=ch["old"], new=ch["new"], reason=why)
        st.ensure_year(conn, y)
        st.bump(conn)
    return {"batch_id": bid, "planned": [fid for fid, _ in rows], "changes": changes, "skipped": skipped}


def planned_changes(st, year: int | None = None) -> pd.DataFrame:
    """Planned changes of applied scenario batches (newest first): batch_id, at, user_name, action
    (``plan_update``/``plan_close``), facility_id, year, old_values, new_values (JSON), reason."""
    log = st.audit_log()
    applied = set(st.batches().query("status == 'applied'")["batch_id"])
    out = log[log["action"].isin(["plan_update", "plan_close"]) & log["batch_id"].isin(applied)
              & (log["outcome"] == "ok")]
    if year is not None:
        out = out[out["year"] == int(year)]
    return out.reset_index(drop=True)
