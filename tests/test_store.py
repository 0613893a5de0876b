"""The facility store on both backends: years, evaluation equality, edits, audit, conflicts.

Every test runs against a GeoPackage file and a real PostGIS server (tests/pg.py); the store
is seeded from the embedded data/ and copied fresh for each test.
"""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pyogrio
import pytest
from sqlalchemy import insert, select

from layers import load_dataset
from store import ConflictError, FacilityStore, StoreError, ValidationFailed, resolve_url
from store.migrations import MIGRATIONS, migrate

YEARS = [2020, 2022, 2024]
KEY = ["target_id", "unit_level", "unit_code", "year"]
_FILE_RESULTS: dict = {}


def _file_units():
    if "units" not in _FILE_RESULTS:
        from coverage.targets import evaluate

        res = evaluate(load_dataset(), year=YEARS).units
        _FILE_RESULTS["units"] = res.sort_values(KEY).reset_index(drop=True)
    return _FILE_RESULTS["units"]


def _basic_home(st: FacilityStore, year: int = 2024) -> pd.Series:
    df = st.facilities(year)
    homes = df[(df["type"] == "child_home") & (df["tier"] == "basic")].sort_values("facility_id")
    return homes.iloc[0]


def test_years_and_counts_match_the_files(store):
    ds = load_dataset()
    assert store.years() == YEARS
    for y in YEARS:
        got = store.facilities(y)
        want = ds.facilities_for(y)
        assert len(got) == len(want)
        assert set(got["facility_id"]) == set(want["facility_id"])
        merged = got.merge(pd.DataFrame({"facility_id": want["facility_id"], "cap": want["capacity"],
                                         "x": want.geometry.x}), on="facility_id")
        assert (merged["capacity"].fillna(-1) == merged["cap"].fillna(-1)).all()
        assert (merged.geometry.x - merged["x"]).abs().max() < 1e-9


def test_evaluation_from_the_store_equals_the_files(store):
    from coverage.targets import evaluate

    got = evaluate(store.dataset(), year=YEARS).units.sort_values(KEY).reset_index(drop=True)
    want = _file_units()
    assert set(got["target_id"]) == set(want["target_id"])
    for tid, w in want.groupby("target_id"):
        g = got[got["target_id"] == tid].reset_index(drop=True)
        pd.testing.assert_frame_equal(g, w.reset_index(drop=True), obj=f"target {tid}")


def test_edit_writes_audit_and_leaves_other_years(store):
    home = _basic_home(store)
    fid = home["facility_id"]
    new = store.edit(fid, 2024, {"tier": "demonstration"}, expected_version=int(home["version"]),
                     user="张三", reason="验收为示范型")
    assert new["tier"] == "demonstration" and new["version"] == home["version"] + 1
    now = store.facilities(2024).set_index("facility_id")
    assert now.loc[fid, "tier"] == "demonstration"
    before = store.facilities(2022).set_index("facility_id")
    if fid in before.index:
        assert before.loc[fid, "tier"] == "basic" or before.loc[fid, "tier"] != "demonstration"
    hist = store.history(fid)
    last = hist.iloc[-1]
    assert (last["user_name"], last["action"], last["reason"]) == ("张三", "update", "验收为示范型")
    assert last["old_values"] == {"tier": "basic"} and last["new_values"] == {"tier": "demonstration"}


def test_editing_2025_never_changes_2024(store):
    df = store.facilities(2024)
    cc = df[df["type"] == "childcare"].sort_values("facility_id").iloc[0]
    store.edit(cc["facility_id"], 2025, {"capacity": cc["capacity"] + 15},
               expected_version=int(cc["version"]), user="李四", reason="2025年扩班")
    assert store.years() == [*YEARS, 2025]
    y24 = store.facilities(2024).set_index("facility_id").loc[cc["facility_id"]]
    y25 = store.facilities(2025).set_index("facility_id").loc[cc["facility_id"]]
    assert y24["capacity"] == cc["capacity"]
    assert y25["capacity"] == cc["capacity"] + 15
    assert len(store.facilities(2025)) == len(df)


def test_second_conflicting_save_is_refused_with_the_other_change(store):
    home = _basic_home(store)
    fid, v = home["facility_id"], int(home["version"])
    store.edit(fid, 2024, {"name": "第一位的名称"}, expected_version=v, user="甲", reason="更名")
    with pytest.raises(ConflictError, match="甲") as err:
        store.edit(fid, 2024, {"name": "第二位的名称"}, expected_version=v, user="乙", reason="更名")
    assert err.value.other["new_values"] == {"name": "第一位的名称"}
    assert store.facilities(2024).set_index("facility_id").loc[fid, "name"] == "第一位的名称"


def test_edits_are_validated_like_an_import(store):
    df = store.facilities(2024)
    cc = df[df["type"] == "childcare"].iloc[0]
    v = int(cc["version"])
    with pytest.raises(ValidationFailed, match="capacity"):
        store.edit(cc["facility_id"], 2024, {"capacity": -3}, expected_version=v, user="u")
    with pytest.raises(ValidationFailed, match="capacity"):
        store.edit(cc["facility_id"], 2024, {"capacity": 2.5}, expected_version=v, user="u")
    with pytest.raises(ValidationFailed, match="type"):
        store.edit(cc["facility_id"], 2024, {"type": "casino"}, expected_version=v, user="u")
    twp = load_dataset().townships
    other = twp[twp["code"] != cc["township_code"]].iloc[0]
    pt = other.geometry.representative_point()
    with pytest.raises(ValidationFailed, match="township"):
        store.edit(cc["facility_id"], 2024, {"lon": pt.x, "lat": pt.y, "township_code": cc["township_code"]},
                   expected_version=v, user="u")
    moved = store.edit(cc["facility_id"], 2024, {"lon": pt.x, "lat": pt.y}, expected_version=v, user="u",
                       reason="位置更正")
    assert moved["township_code"] == other["code"] and moved["county_code"] == other["county_code"]
    assert store.history(cc["facility_id"]).iloc[-1]["new_values"]["township_code"] == other["code"]


def test_add_and_delete(store):
    vil = load_dataset().villages.iloc[10]
    fid = store.add(2024, {"type": "child_home", "tier": "basic", "name": "新建儿童之家",
                           "lon": vil.geometry.x, "lat": vil.geometry.y, "village_code": vil["code"]},
                    user="王五", reason="新建")
    row = store.facilities(2024).set_index("facility_id").loc[fid]
    assert row["township_code"] == vil["township_code"] and row["provenance"] == "real"
    assert fid not in set(store.facilities(2022)["facility_id"])
    old = store.facilities(2022).sort_values("facility_id").iloc[0]
    cur = store.facilities(2024).set_index("facility_id").loc[old["facility_id"]]
    store.delete(old["facility_id"], 2024, expected_version=int(cur["version"]), user="王五", reason="撤并")
    assert old["facility_id"] not in set(store.facilities(2024)["facility_id"])
    assert old["facility_id"] in set(store.facilities(2022)["facility_id"])


def test_rollback_of_an_edit_and_refusal_when_changed_later(store):
    home = _basic_home(store)
    fid = home["facility_id"]
    store.edit(fid, 2024, {"name": "改名一"}, expected_version=int(home["version"]), user="u", reason="r1")
    b1 = int(store.batches()["batch_id"].max())
    cur = store.facilities(2024).set_index("facility_id").loc[fid]
    store.edit(fid, 2024, {"name": "改名二"}, expected_version=int(cur["version"]), user="u", reason="r2")
    b2 = int(store.batches()["batch_id"].max())
    with pytest.raises(StoreError, match=f"batch {b2}"):
        store.rollback(b1, user="u")
    store.rollback(b2, user="u", reason="撤销")
    assert store.facilities(2024).set_index("facility_id").loc[fid, "name"] == "改名一"
    store.rollback(b1, user="u")
    back = store.facilities(2024).set_index("facility_id").loc[fid]
    assert back["name"] == home["name"] and back["version"] == home["version"]
    b = store.batches().set_index("batch_id")
    assert b.loc[b1, "status"] == "rolled_back" and b.loc[b2, "status"] == "rolled_back"
    with pytest.raises(StoreError, match="already"):
        store.rollback(b1, user="u")


def test_forbidden_attempts_can_be_audited(store):
    aid = store.write_audit(user="访客", action="update", outcome="forbidden", facility_id="X",
                            reason="no edit role")
    log = store.audit_log(limit=1)
    assert int(log.iloc[0]["audit_id"]) == aid and log.iloc[0]["outcome"] == "forbidden"


def test_dataset_is_cached_per_revision(store):
    ds1 = store.dataset()
    assert store.dataset() is ds1
    home = _basic_home(store)
    store.edit(home["facility_id"], 2024, {"tier": "featured"}, expected_version=int(home["version"]),
               user="u")
    ds2 = store.dataset()
    assert ds2 is not ds1
    f = ds2.facilities
    assert f.loc[(f["facility_id"] == home["facility_id"]) & (f["year"] == 2024), "tier"].item() == "featured"


def test_migrations_are_versioned(store):
    with store.engine.connect() as c:
        versions = sorted(c.execute(select(store.t.schema_migrations.c.version)).scalars())
    assert versions == sorted(MIGRATIONS)
    assert migrate(store.engine) == []
    with store.engine.begin() as c:
        c.execute(insert(store.t.schema_migrations).values(version=9999, name="future", applied_at="x"))
    with pytest.raises(StoreError, match="9999"):
        FacilityStore(store.url)


def test_the_geopackage_opens_in_gdal(_seeded_gpkg, tmp_path):
    path = tmp_path / "copy.gpkg"
    shutil.copyfile(_seeded_gpkg, path)
    layers = dict(pyogrio.list_layers(path))
    assert layers["facilities"] == "Point"
    assert {"batches", "audit", "inventory_years"} <= set(layers)
    gdf = pyogrio.read_dataframe(path, layer="facilities")
    st = FacilityStore(path)
    assert len(gdf) == len(st.records())
    assert gdf.crs.to_epsg() == 4326
    y24 = gdf[(gdf["valid_from"] <= 2024) & (gdf["valid_to"].isna() | (gdf["valid_to"] > 2024))]
    assert len(y24) == len(load_dataset().facilities_for(2024))
    ogrinfo = shutil.which("ogrinfo")
    assert ogrinfo, "ogrinfo (GDAL, Debian's gdal-bin) is required; `make test` installs it"
    out = subprocess.run([ogrinfo, "-ro", "-q", str(path)], capture_output=True, text=True, check=True)
    assert "facilities (Point)" in out.stdout and "audit" in out.stdout
    assert "Warning" not in out.stderr


def test_store_urls(tmp_path, monkeypatch):
    assert resolve_url(tmp_path / "a.gpkg") == f"sqlite:///{tmp_path / 'a.gpkg'}"
    assert resolve_url(f"gpkg://{tmp_path}/a.gpkg") == f"sqlite:///{tmp_path / 'a.gpkg'}"
    assert resolve_url("postgresql://u@h/db").startswith("postgresql+psycopg://u@h/db")
    monkeypatch.setenv("COVPLAN_STORE", str(tmp_path / "env.gpkg"))
    assert resolve_url(None).endswith("env.gpkg")
    with pytest.raises(StoreError, match=".gpkg"):
        resolve_url(tmp_path / "a.sqlite")


def test_accepting_a_scenario_writes_planned_facilities(store):
    from scenarios import Scenario
    from store.accept import accept_scenario

    vil = load_dataset().villages.iloc[30]
    home = _basic_home(store)
    sc = Scenario.from_edits("规划新建", [
        {"op": "add_facility", "type": "child_home", "tier": "demonstration", "village": vil["code"],
         "name": "规划儿童之家"},
        {"op": "upgrade_facility", "facility_id": home["facility_id"], "tier": "demonstration"},
    ], year=2024)
    n_open = len(store.facilities(2025))
    out = accept_scenario(store, sc, user="规划科", year=2025)
    assert len(out["planned"]) == 1 and out["skipped"] == []
    assert out["changes"] == [{"facility_id": home["facility_id"], "op": "upgrade_facility", "action": "plan_update",
                               "county_code": home["county_code"], "old": {"tier": "basic"},
                               "new": {"tier": "demonstration"}}]
    planned = store.facilities(2025, statuses=("planned",))
    assert list(planned["name"]) == ["规划儿童之家"] and planned["provenance"].iloc[0] == "derived"
    assert planned["township_code"].iloc[0] == vil["township_code"]
    assert len(store.facilities(2025)) == n_open            # planned ones are not evaluated
    assert len(store.facilities(2024, statuses=None)) == len(load_dataset().facilities_for(2024))
    # the upgrade is a planned change: in the batch and the home's history, not in the inventory
    assert store.facilities(2025).set_index("facility_id").loc[home["facility_id"], "tier"] == "basic"
    last = store.history(home["facility_id"]).iloc[-1]
    assert (last["action"], last["year"], last["batch_id"]) == ("plan_update", 2025, out["batch_id"])
    assert last["new_values"] == {"tier": "demonstration"}
    with pytest.raises(StoreError, match="already accepted"):
        accept_scenario(store, sc, user="规划科", year=2025)
    store.rollback(out["batch_id"], user="规划科")
    assert store.facilities(2025, statuses=("planned",)).empty


def test_accepting_carries_closures_and_capacities_as_planned_changes(store):
    from scenarios import Scenario
    from store.accept import accept_scenario, planned_changes
    from store.integrity import check_integrity

    df = store.facilities(2024)
    cc = df[df["type"] == "childcare"].sort_values("facility_id")
    a, b = cc.iloc[0], cc.iloc[1]
    n_audit, n_batches = len(store.audit_log()), len(store.batches())
    sc = Scenario.from_edits("调整", [
        {"op": "set_capacity", "facility_id": a["facility_id"], "capacity": int(a["capacity"]) + 20},
        {"op": "close_facility", "facility_id": b["facility_id"]},
        {"op": "scale_population", "county": "331102", "factor": 1.1},
    ], year=2024)
    out = accept_scenario(store, sc, user="规划科", year=2026)
    assert out["planned"] == [] and [s["op"] for s in out["skipped"]] == ["scale_population"]
    assert [(c["facility_id"], c["action"], c["old"], c["new"]) for c in out["changes"]] == [
        (a["facility_id"], "plan_update", {"capacity": float(a["capacity"])}, {"capacity": float(a["capacity"]) + 20}),
        (b["facility_id"], "plan_close", {"status": "open"}, {"status": "closed"})]
    batch = store.batches().set_index("batch_id").loc[out["batch_id"]]
    assert (batch["kind"], batch["year"], batch["n_new"], batch["n_changed"], batch["n_closed"]) == ("scenario", 2026, 0, 1, 1)
    assert len(store.audit_log()) == n_audit + 2 and len(store.batches()) == n_batches + 1
    # the inventory of 2026 is the current one: both facilities open, capacity unchanged
    now = store.facilities(2026).set_index("facility_id")
    assert now.loc[a["facility_id"], "capacity"] == a["capacity"] and b["facility_id"] in now.index
    plan = planned_changes(store, 2026)
    assert sorted(plan["action"]) == ["plan_close", "plan_update"] and planned_changes(store, 2025).empty
    assert check_integrity(store) == []
    with pytest.raises(StoreError, match="already accepted for 2026"):
        accept_scenario(store, sc, user="规划科", year=2026)
    # a planned change of a facility that has no record in the chosen year is refused, nothing written
    store.delete(b["facility_id"], 2027, expected_version=int(b["version"]), user="甲")
    later = Scenario.from_edits("关闭", [{"op": "close_facility", "facility_id": b["facility_id"]}], year=2024)
    with pytest.raises(ValidationFailed) as err:
        accept_scenario(store, later, user="规划科", year=2027)
    assert err.value.problems == [f"{b['facility_id']}: no record in 2027 to plan a change of / 该年度无此设施"]
    store.rollback(out["batch_id"], user="规划科")
    assert planned_changes(store).empty and check_integrity(store) == []
    with pytest.raises(StoreError, match="neither adds nor changes"):
        accept_scenario(store, Scenario.from_edits("空", [{"op": "scale_population", "county": "331102",
                                                           "factor": 1.1}], year=2024), user="规划科")
