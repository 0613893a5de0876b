"""Integrity check of a facility store: what every committed state must satisfy.

Every write is one transaction (a batch, its records, its audit rows and the revision bump),
so a crash mid-write — a killed server worker, a lost connection — must leave no trace.
:func:`check_integrity` reads the whole store and lists every violation of the rules below
(an empty list: the store is whole). ``covplan store check`` prints it; the server's fault
test and ``bench/bench_server.py`` run it after killing a worker mid-edit.

Rules
-----
* records: ``valid_from ≤ valid_to``; status one of :data:`store.schema.STATUSES`; the
  geometry a valid, finite point with lon in [-180, 180] and lat in [-90, 90]; the batch exists;
* per facility, at most one record is valid in any year (no overlapping validity);
* audit rows of applied batches (outcome ``ok``): the batch exists, the facility has records,
  ``old_fid``/``new_fid`` exist, and a change links its records — same facility, new
  ``version`` = old ``version`` + 1, new ``valid_from`` = the audit's year, old ``valid_to``
  ≤ that year (a later edit of an earlier year may end it sooner);
* no half-written batch: an applied batch holds exactly the records its audit rows created,
  and its counts agree with them (``n_new`` = creates, ``n_changed`` = updates + planned
  updates, ``n_closed`` = closes + deletes + planned closures); a migration batch counts its
  facilities;
* a rolled-back batch left no record behind and names an existing rollback batch with one
  audit row per change undone;
* ``store_meta.revision`` is a whole number ≥ 1.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import pandas as pd
from sqlalchemy import select

from store.schema import STATUSES

#: kinds of batch whose records and audit rows are checked against each other
_CHANGE_KINDS = ("edit", "submission", "scenario")
#: problems listed at most (a broken store could list thousands)
MAX_PROBLEMS = 200


def _none(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v


def _records(st) -> pd.DataFrame:
    f = st.t.facilities.c
    with st.engine.connect() as c:
        rows = c.execute(select(f.fid, f.facility_id, f.valid_from, f.valid_to, f.status, f.version,
                                f.batch_id, st.t.geom_select()).order_by(f.fid)).all()
    df = pd.DataFrame.from_records(rows, columns=["fid", "facility_id", "valid_from", "valid_to", "status",
                                                  "version", "batch_id", "geom_wkb"])
    df["geometry"] = list(st.t.decode_geoms(df.pop("geom_wkb").to_numpy(dtype=object))) if len(df) else []
    return df


def _int_or_none(v) -> int | None:
    v = _none(v)
    return None if v is None else int(v)


def _geometry_problem(g) -> str | None:
    if g is None or g.is_empty:
        return "no geometry"
    if g.geom_type != "Point":
        return f"geometry is a {g.geom_type}, not a Point"
    x, y = g.x, g.y
    if not (math.isfinite(x) and math.isfinite(y)):
        return "geometry has a non-finite coordinate"
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        return f"geometry ({x:.6g}, {y:.6g}) is outside lon/lat range"
    if not g.is_valid:
        return "geometry is not valid"
    return None


def check_integrity(st) -> list[str]:
    """Every violation of the module's rules in ``st`` (a :class:`store.FacilityStore`), one line each.

    Reads the facilities, batches and audit tables once; cost grows linearly with the store
    (about a second for the embedded dataset's ~17,000 records).
    """
    problems: list[str] = []

    def bad(msg: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(msg)

    recs = _records(st)
    batches = st.batches()
    log = st.audit_log()
    by_fid = {int(r.fid): r for r in recs.itertuples(index=False)}
    batch_ids = set(int(b) for b in batches["batch_id"])

    # records -------------------------------------------------------------------------------
    for r in recs.itertuples(index=False):
        vt = _none(r.valid_to)
        if vt is not None and int(r.valid_from) > int(vt):
            bad(f"record {r.fid} ({r.facility_id}): valid_from {r.valid_from} > valid_to {int(vt)}")
        if r.status not in STATUSES:
            bad(f"record {r.fid} ({r.facility_id}): status {r.status!r} not one of {', '.join(STATUSES)}")
        gp = _geometry_problem(r.geometry)
        if gp:
            bad(f"record {r.fid} ({r.facility_id}): {gp}")
        if int(r.batch_id) not in batch_ids:
            bad(f"record {r.fid} ({r.facility_id}): batch {r.batch_id} does not exist")
    for fid, grp in recs.groupby("facility_id", sort=True):
        spans = sorted((int(v.valid_from), math.inf if _none(v.valid_to) is None else int(v.valid_to), int(v.fid))
                       for v in grp.itertuples(index=False))
        spans = [s for s in spans if s[1] > s[0]]  # an empty span [y, y) was superseded in its own year
        for (f0, t0, a), (f1, _t1, b) in zip(spans, spans[1:]):
            if t0 > f1:
                bad(f"facility {fid}: records {a} [{f0}, {'…' if t0 == math.inf else t0}) and {b} "
                    f"[{f1}, …) overlap")

    # audit rows of applied batches ---------------------------------------------------------
    status = dict(zip(batches["batch_id"].astype(int), batches["status"]))
    ok = log[log["outcome"] == "ok"]
    facility_ids = set(recs["facility_id"])
    created: dict[int, set[int]] = defaultdict(set)
    actions: dict[int, Counter] = defaultdict(Counter)
    for a in ok.itertuples(index=False):
        bid = _none(a.batch_id)
        if bid is None:
            bad(f"audit {a.audit_id} ({a.action} {a.facility_id}): an accepted change without a batch")
            continue
        bid = int(bid)
        actions[bid][a.action] += 1
        if bid not in status:
            bad(f"audit {a.audit_id}: batch {bid} does not exist")
            continue
        new_fid, old_fid = _int_or_none(a.new_fid), _int_or_none(a.old_fid)
        if new_fid is not None:
            created[bid].add(new_fid)
        if status[bid] != "applied" or a.action == "rollback":
            continue
        if a.facility_id and a.facility_id not in facility_ids:
            bad(f"audit {a.audit_id}: facility {a.facility_id} has no record")
        new = by_fid.get(new_fid) if new_fid is not None else None
        old = by_fid.get(old_fid) if old_fid is not None else None
        if new_fid is not None and new is None:
            bad(f"audit {a.audit_id} ({a.facility_id}): its new record {new_fid} is missing")
        if old_fid is not None and old is None:
            bad(f"audit {a.audit_id} ({a.facility_id}): its old record {old_fid} is missing")
        if new is not None:
            if new.facility_id != a.facility_id:
                bad(f"audit {a.audit_id}: record {new_fid} belongs to {new.facility_id}, not {a.facility_id}")
            if _none(a.year) is not None and int(new.valid_from) != int(a.year):
                bad(f"audit {a.audit_id} ({a.facility_id}): record {new_fid} starts {new.valid_from}, not {a.year}")
            if int(new.batch_id) != bid:
                bad(f"audit {a.audit_id} ({a.facility_id}): record {new_fid} is in batch {new.batch_id}, not {bid}")
        if old is not None:
            if old.facility_id != a.facility_id:
                bad(f"audit {a.audit_id}: record {old_fid} belongs to {old.facility_id}, not {a.facility_id}")
            ovt = _none(old.valid_to)
            if ovt is None or (_none(a.year) is not None and int(ovt) > int(a.year)):
                bad(f"audit {a.audit_id} ({a.facility_id}): old record {old_fid} still runs past {a.year}")
            if new is not None and int(new.version) != int(old.version) + 1:
                bad(f"audit {a.audit_id} ({a.facility_id}): version {old.version} → {new.version}, not +1")

    # batches: no half-written one ----------------------------------------------------------
    in_batch = recs.groupby("batch_id")["fid"].agg(lambda s: set(int(x) for x in s)).to_dict()
    fac_in_batch = recs.groupby("batch_id")["facility_id"].nunique().to_dict()
    undo_rows = Counter(int(b) for b in ok.loc[ok["action"] == "rollback", "batch_id"].dropna())
    for b in batches.itertuples(index=False):
        bid = int(b.batch_id)
        held = in_batch.get(bid, set())
        n = actions.get(bid, Counter())
        if b.status not in ("applied", "rolled_back"):
            bad(f"batch {bid}: status {b.status!r}")
        if b.status == "rolled_back":
            if held:
                bad(f"batch {bid} was rolled back but {len(held)} of its records remain")
            rb = _none(b.rolled_back_by)
            if rb is None or int(rb) not in status:
                bad(f"batch {bid} was rolled back by a batch that does not exist ({rb})")
            elif undo_rows.get(int(rb), 0) != sum(v for k, v in n.items() if k != "rollback"):
                bad(f"batch {bid}: {sum(n.values())} changes but rollback batch {rb} undid "
                    f"{undo_rows.get(int(rb), 0)}")
            continue
        if b.kind == "migration":
            if int(b.n_new) != int(fac_in_batch.get(bid, 0)):
                bad(f"batch {bid} (migration): n_new {b.n_new} but {fac_in_batch.get(bid, 0)} facilities")
            continue
        if b.kind not in _CHANGE_KINDS:
            continue
        if held != created.get(bid, set()):
            bad(f"batch {bid} ({b.kind}): holds records {sorted(held)[:5]}… but its audit rows created "
                f"{sorted(created.get(bid, set()))[:5]}… (half-written)")
        counts = (n["create"], n["update"] + n["plan_update"], n["close"] + n["delete"] + n["plan_close"])
        if counts != (int(b.n_new), int(b.n_changed), int(b.n_closed)):
            bad(f"batch {bid} ({b.kind}): counts new/changed/closed {int(b.n_new)}/{int(b.n_changed)}/"
                f"{int(b.n_closed)} but audit rows {counts[0]}/{counts[1]}/{counts[2]}")
        if sum(counts) == 0:
            bad(f"batch {bid} ({b.kind}): no audit row (half-written)")

    try:
        rev = st.revision()
        if rev < 1:
            bad(f"store revision {rev} < 1")
    except Exception as exc:  # noqa: BLE001 - reported, not raised: the check lists problems
        bad(f"store revision unreadable: {type(exc).__name__}")
    return problems
