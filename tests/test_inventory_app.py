"""The app's inventory editor queries (dashapp/inventory.py) on a GeoPackage store."""

from __future__ import annotations

import shutil

import pytest

from dashapp import inventory, service
from store.active import forget_stores


@pytest.fixture()
def app_store(_seeded_gpkg, tmp_path, monkeypatch):
    path = tmp_path / "inventory.gpkg"
    shutil.copyfile(_seeded_gpkg, path)
    monkeypatch.setenv("COVPLAN_STORE", str(path))
    forget_stores()
    service.configure(None, None)
    st = inventory.app_store()
    yield st
    forget_stores()


def _basic_home(st):
    df = st.facilities(2024)
    return df[(df["type"] == "child_home") & (df["tier"] == "basic")].sort_values("facility_id").iloc[0]


def test_open_save_conflict_and_history(app_store):
    home = _basic_home(app_store)
    rec = inventory.open_record(home["facility_id"], 2024)
    assert rec["version"] == home["version"] and rec["values"]["tier"] == "basic"
    record = {"facility_id": rec["facility_id"], "year": 2024, "version": rec["version"]}
    form = dict(rec["values"], tier="demonstration")
    assert inventory.save(record, form, "验收")[0] == "saved"
    assert service.get_service().ds.facilities_for(2024).set_index("facility_id").loc[
        home["facility_id"], "tier"] == "demonstration"
    outcome, _, other = inventory.save(record, dict(rec["values"], name="另一个名字"), "并发")
    assert outcome == "conflict" and other["new_values"] == {"tier": "demonstration"}
    hist = inventory.history(home["facility_id"])
    assert hist[-1]["reason"] == "验收" and hist[-1]["new_values"] == {"tier": "demonstration"}
    assert inventory.save({**record, "version": rec["version"] + 1}, form, "没改")[0] == "unchanged"


def test_invalid_values_are_not_saved(app_store):
    df = app_store.facilities(2024)
    cc = df[df["type"] == "childcare"].iloc[0]
    rec = inventory.open_record(cc["facility_id"], 2024)
    record = {"facility_id": rec["facility_id"], "year": 2024, "version": rec["version"]}
    outcome, _, details = inventory.save(record, dict(rec["values"], capacity=-5), "错")
    assert outcome == "invalid" and any("capacity" in p for p in details["problems"])
    assert app_store.facilities(2024).set_index("facility_id").loc[cc["facility_id"], "capacity"] == cc["capacity"]


def test_add_and_delete(app_store):
    from layers import load_dataset

    vil = load_dataset().villages.iloc[20]
    form = {"name": "新儿童之家", "type": "child_home", "tier": "basic", "capacity": None, "status": "open",
            "lon": vil.geometry.x, "lat": vil.geometry.y}
    outcome, fid, _ = inventory.add(2024, form, "新建")
    assert outcome == "added"
    rec = inventory.open_record(fid, 2024)
    assert rec["values"]["township_code"] == vil["township_code"]
    record = {"facility_id": fid, "year": 2024, "version": rec["version"]}
    assert inventory.delete(record, "录错")[0] == "deleted"
    assert inventory.open_record(fid, 2024) is None
    assert [h["action"] for h in inventory.history(fid)] == ["create", "delete"]


def test_county_provenance_is_demo_before_any_submission(app_store):
    pairs = inventory.county_provenance(2024)
    assert len(pairs) == 9 and {p for _, p in pairs} == {"synthetic"}
    assert pairs[0][0] == "莲都区"


def test_no_store_disables_the_editor(tmp_path, monkeypatch):
    monkeypatch.delenv("COVPLAN_STORE", raising=False)
    forget_stores()
    service.configure(tmp_path, None)
    try:
        assert inventory.app_store() is None
    finally:
        service.configure(None, None)


def test_accepting_the_session_scenario(app_store):
    from layers import load_dataset

    vil = load_dataset().villages.iloc[40]
    fac = app_store.facilities(2024)
    cc = fac[fac["type"] == "childcare"].sort_values("facility_id").iloc[0]
    scenario = {"name": "会话情景", "edits": [
        {"op": "add_facility", "type": "childcare", "capacity": 60, "lon": vil.geometry.x, "lat": vil.geometry.y,
         "name": "规划托育园", "facility_id": "APP-1"},
        {"op": "set_capacity", "facility_id": cc["facility_id"], "capacity": int(cc["capacity"]) + 10}]}
    outcome, text, out = inventory.accept(scenario, 2024)
    assert outcome == "accepted", text
    assert text == f"1 · 规划调整 / planned changes 1 · batch {out['batch_id']}"
    planned = app_store.facilities(2024, statuses=("planned",))
    assert list(planned["name"]) == ["规划托育园"] and planned["capacity"].iloc[0] == 60
    assert app_store.batches().iloc[-1]["kind"] == "scenario"
    # the capacity change is a planned change in the facility's history, its record unchanged
    assert app_store.facilities(2024).set_index("facility_id").loc[cc["facility_id"], "capacity"] == cc["capacity"]
    assert [h["action"] for h in inventory.history(cc["facility_id"])][-1] == "plan_update"


def test_submitting_a_list_in_the_app(app_store, tmp_path):
    import base64

    import openpyxl

    from dashapp import inventory_submit
    from store.inventory_xlsx import export_inventory

    path = export_inventory(app_store, "莲都区", 2024, tmp_path / "莲都区民政.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    row = next(r for r in ws.iter_rows(min_row=2) if r[2].value == "儿童之家")
    fid = row[0].value
    row[1].value = "网页报送改名"
    wb.save(path)
    contents = "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode()
    p = inventory_submit.preview(contents, "莲都区民政.xlsx", 2024, "民政", "莲都区", "wgs84")
    assert p["counts"]["changed"] == 1 and p["changed"][0]["facility_id"] == fid
    assert p["counts"]["rejected"] > 0          # the list holds other units' types: rejected, named
    assert app_store.facilities(2024).set_index("facility_id").loc[fid, "name"] != "网页报送改名"
    bid, _ = inventory_submit.apply(contents, "莲都区民政.xlsx", 2024, "民政", "莲都区", "wgs84", False)
    assert app_store.facilities(2024).set_index("facility_id").loc[fid, "name"] == "网页报送改名"
    assert app_store.batches().set_index("batch_id").loc[bid, "file_name"] == "莲都区民政.xlsx"
    with pytest.raises(Exception, match=".xlsx or .csv"):
        inventory_submit.preview(contents, "x.exe", 2024, "民政", "", "wgs84")
