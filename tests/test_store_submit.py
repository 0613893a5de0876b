"""Submissions and the round-trip 台账 on both backends (GeoPackage and PostGIS)."""

from __future__ import annotations

import hashlib

import openpyxl
import pytest

from covplan.cli import main as covplan_main
from layers import load_dataset
from store import ConflictError
from store.inventory_xlsx import HEADERS, export_inventory
from store.submit import apply_submission, preview_submission

LIANDU = "331102"


def _other_counties(st, year):
    df = st.facilities(year, statuses=None)
    other = df[df["county_code"] != LIANDU].drop(columns=["geometry"])
    return other.sort_values("facility_id").reset_index(drop=True)


def _edit_cells(path, edits):
    """edits: {facility_id: {header: value}} applied to the exported sheet."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    col = {c.value: c.column for c in ws[1]}
    for row in ws.iter_rows(min_row=2):
        fid = row[0].value
        for header, value in edits.get(fid, {}).items():
            ws.cell(row=row[0].row, column=col[header], value=value)
    wb.save(path)


def test_export_layout(store, tmp_path):
    path = export_inventory(store, "莲都区", 2024, tmp_path / "莲都区.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == list(HEADERS)
    assert ws.column_dimensions["A"].hidden
    n = len(load_dataset().facilities_for(2024).query("county_code == @LIANDU"))
    assert ws.max_row - 1 == n
    assert wb["说明"]["B3"].value == "合成演示数据（尚未报送真实台账）"
    assert {ws.cell(row=r, column=len(HEADERS)).value for r in range(2, ws.max_row + 1)} == {"合成演示数据"}


def test_round_trip_changes_exactly_the_edited_rows(store, tmp_path):
    path = export_inventory(store, "莲都区", 2024, tmp_path / "ld.xlsx")
    df = store.facilities(2024, county=LIANDU)
    home = df[(df["type"] == "child_home") & (df["tier"] == "basic")].sort_values("facility_id").iloc[0]
    cc = df[df["type"] == "childcare"].sort_values("facility_id").iloc[0]
    _edit_cells(path, {home["facility_id"]: {"等级": "示范型"},
                       cc["facility_id"]: {"托位（学位）": int(cc["capacity"]) + 20}})
    others_before = _other_counties(store, 2024)
    pv = preview_submission(store, path, 2024, "妇儿工委办", county="莲都区")
    assert len(pv.new) == 0 and len(pv.missing) == 0 and len(pv.rejected) == 0
    assert sorted(pv.changed["facility_id"]) == sorted([home["facility_id"], cc["facility_id"]])
    assert len(pv.unchanged) == len(df) - 2
    by_id = pv.changed.set_index("facility_id")
    assert by_id.loc[home["facility_id"], "new"]["tier"] == "demonstration"
    assert by_id.loc[cc["facility_id"], "new"]["capacity"] == cc["capacity"] + 20
    assert set(by_id["match"]) == {"id"}
    bid = apply_submission(store, pv, user="莲都区民政局", reason="2024年核对")
    after = store.facilities(2024).set_index("facility_id")
    assert after.loc[home["facility_id"], "tier"] == "demonstration"
    assert after.loc[cc["facility_id"], "capacity"] == cc["capacity"] + 20
    assert after.loc[cc["facility_id"], "provenance"] == "real"
    unchanged = df[~df["facility_id"].isin([home["facility_id"], cc["facility_id"]])]
    assert (after.loc[unchanged["facility_id"], "version"].to_numpy() == unchanged["version"].to_numpy()).all()
    assert _other_counties(store, 2024).equals(others_before)
    batch = store.batches().set_index("batch_id").loc[bid]
    assert batch["file_name"] == "ld.xlsx" and batch["submitted_by"] == "莲都区民政局"
    assert batch["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (batch["n_changed"], batch["n_new"]) == (2, 0)
    assert store.county_provenance(2024)[LIANDU] == "partial"
    # exporting again and re-submitting unchanged changes nothing
    again = export_inventory(store, "莲都区", 2024, tmp_path / "ld2.xlsx")
    pv2 = preview_submission(store, again, 2024, "妇儿工委办", county="莲都区")
    assert len(pv2.changed) == 0 and len(pv2.new) == 0
    store.rollback(bid, user="u")
    back = store.facilities(2024).set_index("facility_id")
    assert back.loc[home["facility_id"], "tier"] == "basic"
    assert back.loc[cc["facility_id"], "capacity"] == cc["capacity"]


def _write_csv(path, rows):
    header = ["名称", "类型", "等级", "县市区", "乡镇（街道）", "村（社区）", "经度", "纬度", "托位"]
    lines = [",".join(header)] + [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")


def test_submission_preview_apply_and_rollback(store, tmp_path):
    ds = load_dataset()
    vil = ds.villages.set_index("code")
    twp = ds.townships.set_index("code")
    f24 = store.facilities(2024, county=LIANDU)
    home = f24[f24["type"] == "child_home"].sort_values("facility_id").iloc[0]
    hv = vil.loc[home["village_code"]]
    new_v = vil[(vil["county_code"] == LIANDU)].iloc[5]
    far = vil[vil["county_code"] == "331122"].iloc[0]       # 缙云县
    rows = [
        [home["name"] + "站", "儿童之家", "示范型", "莲都区", twp.loc[hv["township_code"], "name"], hv["name"],
         home.geometry.x, home.geometry.y, ""],
        ["新建儿童之家一号", "儿童之家", "基础型", "莲都区", twp.loc[new_v["township_code"], "name"], new_v["name"],
         new_v.geometry.x, new_v.geometry.y, ""],
        ["邻县儿童之家", "儿童之家", "基础型", "缙云县", twp.loc[far["township_code"], "name"], far["name"],
         far.geometry.x, far.geometry.y, ""],
        ["某幼儿园", "幼儿园", "", "莲都区", twp.loc[new_v["township_code"], "name"], new_v["name"],
         new_v.geometry.x, new_v.geometry.y, 90],
        ["坏坐标儿童之家", "儿童之家", "基础型", "莲都区", twp.loc[new_v["township_code"], "name"], new_v["name"],
         "abc", new_v.geometry.y, ""],
    ]
    path = tmp_path / "民政局_莲都区_2025.csv"
    _write_csv(path, rows)
    before_batches = len(store.batches())
    pv = preview_submission(store, path, 2025, "民政局", county="莲都区")
    assert store.years() == [2020, 2022, 2024]                       # preview writes nothing
    assert len(store.batches()) == before_batches
    assert list(pv.changed["facility_id"]) == [home["facility_id"]]
    ch = pv.changed.iloc[0]
    assert ch["match"] == "name" and 0.8 <= ch["match_score"] < 1
    assert ch["new"]["tier"] == "demonstration"
    assert list(pv.new["name"]) == ["新建儿童之家一号"]
    assert sorted(pv.rejected["源文件行号"]) == [4, 5, 6]
    reasons = " ".join(pv.rejected["reason"])
    assert "331122" in reasons and "kindergarten" in reasons
    mz = {"child_home", "elderly_care_centre", "minor_protection_station", "minor_rescue_centre",
          "child_welfare_facility", "mental_health_welfare"}
    assert len(pv.missing) == int(f24["type"].isin(mz).sum()) - 1
    assert set(pv.missing["county_code"]) == {LIANDU}
    others = _other_counties(store, 2024)
    bid = apply_submission(store, pv, user="tester", close_missing=True)
    assert store.years() == [2020, 2022, 2024, 2025]
    y25 = store.facilities(2025, statuses=None).set_index("facility_id")
    assert y25.loc[home["facility_id"], "tier"] == "demonstration"
    assert (y25.loc[pv.missing["facility_id"], "status"] == "closed").all()
    new_id = pv.new["facility_id"].iloc[0]
    assert y25.loc[new_id, "provenance"] == "real"
    y24 = store.facilities(2024).set_index("facility_id")
    assert y24.loc[home["facility_id"], "tier"] == home["tier"] and new_id not in y24.index
    assert _other_counties(store, 2024).equals(others)
    store.rollback(bid, user="tester", reason="报错了")
    y25b = store.facilities(2025, statuses=None)
    assert new_id not in set(y25b["facility_id"]) and set(y25b["status"]) == {"open"}
    assert len(y25b) == len(store.facilities(2024))


def test_submission_rejects_another_countys_id(store, tmp_path):
    other = store.facilities(2024, county="331122").iloc[0]
    path = tmp_path / "x.csv"
    path.write_text("编号,名称,类型,经度,纬度\n"
                    f"{other['facility_id']},{other['name']},{other['type']},{other.geometry.x},{other.geometry.y}\n",
                    encoding="utf-8")
    pv = preview_submission(store, path, 2024, "妇儿工委办", county="莲都区")
    assert len(pv.changed) == 0 and len(pv.new) == 0 and len(pv.rejected) == 1


def test_changes_between_preview_and_apply_refuse_the_batch(store, tmp_path):
    path = export_inventory(store, "莲都区", 2024, tmp_path / "ld.xlsx")
    df = store.facilities(2024, county=LIANDU)
    home = df[(df["type"] == "child_home")].sort_values("facility_id").iloc[0]
    _edit_cells(path, {home["facility_id"]: {"名称": "改过的名称"}})
    pv = preview_submission(store, path, 2024, "妇儿工委办", county="莲都区")
    store.edit(home["facility_id"], 2024, {"name": "别人先改"}, expected_version=int(home["version"]), user="甲")
    n = len(store.batches())
    with pytest.raises(ConflictError):
        apply_submission(store, pv, user="乙")
    assert len(store.batches()) == n
    assert store.facilities(2024).set_index("facility_id").loc[home["facility_id"], "name"] == "别人先改"


def test_cli_submit_and_export(store, tmp_path, capsys):
    out = tmp_path / "莲都区.xlsx"
    assert covplan_main(["--store", store.url, "export", "inventory", "--county", "莲都区", "--year", "2024",
                         "-o", str(out)]) == 0
    df = store.facilities(2024, county=LIANDU)
    home = df[(df["type"] == "child_home")].sort_values("facility_id").iloc[0]
    _edit_cells(out, {home["facility_id"]: {"名称": "命令行改名"}})
    assert covplan_main(["--store", store.url, "submit", str(out), "--year", "2024", "--source", "民政局",
                         "--county", "莲都区", "--dry-run"]) == 0
    assert "changed 1" in capsys.readouterr().out
    assert covplan_main(["--store", store.url, "submit", str(out), "--year", "2024", "--source", "民政局",
                         "--county", "莲都区", "--yes", "--user", "cli"]) == 0
    assert "batch" in capsys.readouterr().out
    assert store.facilities(2024).set_index("facility_id").loc[home["facility_id"], "name"] == "命令行改名"
    assert covplan_main(["--store", store.url, "submit", str(out), "--year", "2024", "--source", "某局"]) == 2
