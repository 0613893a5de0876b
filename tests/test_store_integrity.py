"""``store.integrity.check_integrity`` on both backends: a whole store passes, each damage is named.

The damages are what a write cut short would leave if it were not one transaction (a batch
with records but no audit row, an audit row whose record is missing), and what a bad writer
could leave (overlapping validity, a version jump, an impossible span or point, an audit
row of no batch). Each must be reported, naming the record / batch / audit row.
"""

from __future__ import annotations

import pandas as pd
from shapely import Point
from sqlalchemy import delete, insert, select, update

from store.integrity import check_integrity


def _childcare(st, n: int) -> list[pd.Series]:
    df = st.facilities(2024)
    rows = df[df["type"] == "childcare"].sort_values("facility_id")
    return [rows.iloc[i] for i in range(n)]


def _with_history(st) -> pd.DataFrame:
    """The records of a facility whose seeded state changes between inventory years (two or more
    records; call before any edit)."""
    recs = st.records()
    recs = recs[recs["type"] != "childcare"]  # not one of the _childcare ones
    counts = recs.groupby("facility_id")["fid"].count()
    fid = sorted(counts[counts >= 2].index)[0]
    return recs[recs["facility_id"] == fid].sort_values("valid_from")


def _last_batch(st) -> int:
    return int(st.batches()["batch_id"].max())


def test_a_store_after_every_kind_of_write_passes(store):
    from scenarios import Scenario
    from store.accept import accept_scenario

    hist = _with_history(store)
    a, b, c = _childcare(store, 3)
    store.edit(a["facility_id"], 2024, {"capacity": 31}, expected_version=int(a["version"]), user="甲")
    # a second edit in the same year ends the first one's record in its own year: [2024, 2024)
    store.edit(a["facility_id"], 2024, {"capacity": 32}, expected_version=int(a["version"]) + 1, user="甲")
    first = hist.iloc[0]  # an earlier year's state, ended by a later record: edit inside its span
    store.edit(first["facility_id"], int(first["valid_from"]), {"name": "更名"},
               expected_version=int(first["version"]), user="乙")
    store.delete(b["facility_id"], 2024, expected_version=int(b["version"]), user="丙")
    new_id = store.add(2024, {"type": "childcare", "name": "新托育点", "capacity": 20,
                              "lon": float(c.geometry.x) + 0.001, "lat": float(c.geometry.y)}, user="丁")
    bid = store.edit(c["facility_id"], 2024, {"capacity": 44}, expected_version=int(c["version"]), user="戊")["batch_id"]
    store.rollback(int(bid), user="戊")
    sc = Scenario.from_edits("规划", [{"op": "add_facility", "type": "child_home", "tier": "basic",
                                       "village": str(store.units().villages.iloc[40]["code"]),
                                       "name": "规划儿童之家"}], year=2024)
    accept_scenario(store, sc, user="规划科", year=2025)
    assert new_id in set(store.facilities(2024)["facility_id"])
    assert check_integrity(store) == []


def test_each_damage_is_reported(store):
    st = store
    f, a = st.t.facilities.c, st.t.audit.c
    hist = _with_history(st)
    x, y, z = _childcare(st, 3)
    problems_before = check_integrity(st)
    assert problems_before == []

    # 1. an edit whose audit row is gone: the batch holds a record no audit row created
    st.edit(x["facility_id"], 2024, {"capacity": 51}, expected_version=int(x["version"]), user="甲")
    b1 = _last_batch(st)
    # 2. an edit whose new record is gone: the audit row points at nothing
    new_y = st.edit(y["facility_id"], 2024, {"capacity": 52}, expected_version=int(y["version"]), user="甲")
    b2 = _last_batch(st)
    # 3. an edit whose new record skipped a version
    new_z = st.edit(z["facility_id"], 2024, {"capacity": 53}, expected_version=int(z["version"]), user="甲")
    early, late = hist.iloc[0], hist.iloc[1]
    recs = st.records()
    open_ones = recs[recs["valid_to"].isna() & ~recs["facility_id"].isin(
        [x["facility_id"], y["facility_id"], z["facility_id"], early["facility_id"]])].sort_values("fid")
    p, q = open_ones.iloc[0], open_ones.iloc[1]
    with st.engine.begin() as conn:
        conn.execute(delete(st.t.audit).where(a.batch_id == b1))
        conn.execute(delete(st.t.facilities).where(f.fid == int(new_y["fid"])))
        conn.execute(update(st.t.facilities).where(f.fid == int(new_z["fid"])).values(version=int(z["version"]) + 2))
        # 4. an earlier record re-opened: it overlaps the later one
        conn.execute(update(st.t.facilities).where(f.fid == int(early["fid"])).values(valid_to=None))
        # 5. an impossible span and 6. a point outside lon/lat on other facilities
        conn.execute(update(st.t.facilities).where(f.fid == int(p["fid"]))
                     .values(valid_to=int(p["valid_from"]) - 1))
        conn.execute(update(st.t.facilities).where(f.fid == int(q["fid"]))
                     .values(geom=st.t.geom_value(Point(200.0, 28.0))))
        # 7. an accepted change of a batch that does not exist
        aid = conn.execute(insert(st.t.audit).values(batch_id=99999, at="2025-01-01T00:00:00Z", user_name="?",
                                                     action="update", outcome="ok", facility_id=str(p["facility_id"]),
                                                     year=2024, old_values="", new_values="", reason="")
                           .returning(a.audit_id)).scalar_one()
        n_batches = conn.execute(select(st.t.batches.c.batch_id)).all()
    got = check_integrity(st)

    def named(*parts: str) -> list[str]:
        return [g for g in got if all(s in g for s in parts)]

    assert named(f"batch {b1} (edit)", "half-written"), got                       # 1
    assert named(f"batch {b1} (edit)", "counts new/changed/closed 0/1/0 but audit rows 0/0/0")
    assert named(f"({y['facility_id']}): its new record {int(new_y['fid'])} is missing")   # 2
    assert named(f"batch {b2} (edit)", "half-written")
    assert named(f"({z['facility_id']}): version {int(z['version'])} → {int(z['version']) + 2}, not +1")  # 3
    assert named(f"facility {early['facility_id']}: records {int(early['fid'])}", "overlap")  # 4
    assert named(f"record {int(p['fid'])}", f"valid_from {int(p['valid_from'])} > valid_to")  # 5
    assert named(f"record {int(q['fid'])}", "(200, 28) is outside lon/lat range")              # 6
    assert named(f"audit {aid}: batch 99999 does not exist")                                  # 7
    # nothing else is reported: each line belongs to one of the damages
    keys = [f"batch {b1} ", f"batch {b2} ", f"({y['facility_id']})", f"({z['facility_id']})",
            f"facility {early['facility_id']}", f"record {int(p['fid'])} ", f"record {int(q['fid'])} ",
            f"audit {aid}:"]
    assert [g for g in got if not any(k in g for k in keys)] == [], got
    assert len(n_batches) >= 4 and late["facility_id"] == early["facility_id"]


def test_covplan_store_check(_seeded_gpkg, tmp_path, capsys):
    from covplan.cli import main as covplan_main
    from tests.store_helpers import gpkg_copy

    st = gpkg_copy(_seeded_gpkg, tmp_path / "inventory.gpkg")
    assert covplan_main(["--store", str(st.path), "store", "check"]) == 0
    assert "integrity check passed" in capsys.readouterr().out
    (x,) = _childcare(st, 1)
    with st.engine.begin() as conn:  # a record ending before it starts
        conn.execute(update(st.t.facilities).where(st.t.facilities.c.fid == int(x["fid"])).values(valid_to=2000))
    st.engine.dispose()
    assert covplan_main(["--store", str(tmp_path / "inventory.gpkg"), "store", "check"]) == 1
    out = capsys.readouterr().out
    assert "1 integrity problem(s)" in out
    assert f"record {int(x['fid'])} ({x['facility_id']}): valid_from 2024 > valid_to 2000" in out
