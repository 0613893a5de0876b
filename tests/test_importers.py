"""Facility importer: messy planners' files against tests/data/mini; name matching; parsers."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from layers import importers_table as T
from layers import load_dataset
from layers._errors import ImportInputError
from layers.crs import wgs84_to_bd09, wgs84_to_gcj02
from layers.importers import import_facilities
from layers.names import UnitNameIndex, normalise_name
from layers.vocab import FACILITY_COLUMNS

HERE = Path(__file__).resolve().parent
MINI = HERE / "data" / "mini"
IMPORTS = HERE / "data" / "imports"
QINGGANG = (119.884916, 28.494587)  # the real village point in the mini dataset


@pytest.fixture(scope="module")
def ds():
    return load_dataset(MINI)


def _csv(tmp_path: Path, text: str, name: str = "in.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


# ---------------------------------------------------------------------------- names
@pytest.mark.parametrize(("raw", "level", "key"), [
    ("永晖社区居民委员会", "village", "永晖"),
    ("永晖社区居委会", "village", "永晖"),
    ("永晖社区", "village", "永晖"),
    ("张村村民委员会", "village", "张"),
    ("张村", "village", "张"),
    ("  青岗 村委会 ", "village", "青岗"),
    ("ＡＢ村", "village", "AB"),  # full-width letters
    ("联城街道办事处", "township", "联城"),
    ("太平乡人民政府", "township", "太平"),
    ("老竹镇", "township", "老竹"),
    ("老竹畲族镇", "township", "老竹"),
    ("景宁畲族自治县", "county", "景宁"),
    ("景宁县", "county", "景宁"),
    ("龙泉市", "county", "龙泉"),
    ("村", "village", "村"),  # never stripped to nothing
])
def test_normalise_name(raw: str, level: str, key: str) -> None:
    assert normalise_name(raw, level) == key


def _villages() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["331102001001", "331102002001", "331121001001", "331121001002", "331102001002"],
        "name": ["新华村委会", "新华村委会", "新华村委会", "下村村委会", "张村村委会"],
        "township_code": ["331102001", "331102002", "331121001", "331121001", "331102001"],
        "county_code": ["331102", "331102", "331121", "331121", "331102"],
    })


def test_match_unique_ambiguous_unknown() -> None:
    idx = UnitNameIndex(_villages(), "village", {"331102": "莲都区", "331121": "青田县"})
    m = idx.match("下村")
    assert (m.status, m.code) == ("unique", "331121001002")
    m = idx.match("新华村")
    assert m.status == "ambiguous" and [c[0] for c in m.candidates] == [
        "331102001001", "331102002001", "331121001001"]
    assert "青田县" in m.describe()
    # the county breaks the tie only partly, the township fully
    assert idx.match("新华", county="331121").code == "331121001001"
    assert idx.match("新华社区", county="331102").status == "ambiguous"
    assert idx.match("新华村委会", county="331102", township="331102002").code == "331102002001"
    m = idx.match("新花村")
    assert m.status == "unknown" and m.suggestions[0] == "新华村委会"
    assert idx.match("").status == "unknown"
    assert idx.match("331102001002").code == "331102001002"  # a code typed as a name


def test_exact_spelling_wins_over_stripped_key() -> None:
    units = pd.DataFrame({"code": ["1", "2"], "name": ["张村", "张村村委会"]})
    idx = UnitNameIndex(units, "village")
    assert idx.match("张村").code == "1"
    assert idx.match("张村村委会").code == "2"
    assert idx.match("张村村").code == "2"  # 张村村委会 is the committee of the village 张村


def test_short_forms_on_the_real_village_list(shared_data) -> None:
    """Spellings planners use, against the 2008 real 2023 names (independent of the dataset)."""
    v = pd.read_csv(shared_data / "lishui_villages.csv", dtype=str).rename(columns={"parent_code": "township_code"})
    idx = UnitNameIndex(v, "village")
    assert idx.match("青岗").code == idx.match("青岗村").code == "331102007211"
    assert idx.match("永晖社区").code == idx.match("永晖社区居民委员会").code == "331102001001"
    assert idx.match("七村").name == "七村村委会"
    assert {c[1] for c in idx.match("七").candidates} == {"七居委会", "七村村委会"}
    xinhua = idx.match("新华")
    assert xinhua.status == "ambiguous" and len(xinhua.candidates) == (v["name"].str.match("新华(村|社区)")).sum()
    # the county breaks ties between equal names in different counties
    zhangcun = v[v["name"] == "张村村委会"]
    assert len(zhangcun) > 1 and idx.match("张村").status == "ambiguous"
    for _, row in zhangcun.iterrows():
        if (zhangcun["county_code"] == row["county_code"]).sum() == 1:
            assert idx.match("张村", county=row["county_code"]).code == row["code"]


# ---------------------------------------------------------------------------- parsers
def test_value_parsers() -> None:
    assert T.parse_type("儿童之家") == "child_home"
    assert T.parse_type("托育") == "childcare"
    assert T.parse_type("Children's home") == "child_home"
    assert T.parse_type("妇幼保健院") == "mch_institution"
    assert T.parse_type("游泳馆") is None
    assert T.parse_tier_or_level("示范型") == ("tier", "demonstration")
    assert T.parse_tier_or_level("县级") == ("level", "county")
    assert T.parse_tier_or_level("乡镇级") == ("level", "township")
    assert T.parse_tier_or_level("金牌") is None
    assert T.parse_place_kind("客运站") == "transport_hub"
    assert [T.parse_bool(v) for v in ("是", "否", "Y", "no", "√", "×", "")] == [True, False, True, False, True, False, None]
    with pytest.raises(ValueError):
        T.parse_bool("可能")
    assert [T.parse_number(v) for v in ("120", "1,200", "约80", "120个", "１２", "")] == [120, 1200, 80, 120, 12, None]
    for bad in ("很多", "80-100"):
        with pytest.raises(ValueError):
            T.parse_number(bad)
    assert T.parse_coordinate("119.92") == 119.92
    assert T.parse_coordinate("119°55'12\"") == pytest.approx(119 + 55 / 60 + 12 / 3600)
    assert T.parse_coordinate("28度27分36秒N") == pytest.approx(28.46)
    assert T.parse_coordinate("") is None
    with pytest.raises(ValueError):
        T.parse_coordinate("abc")


def test_header_mapping() -> None:
    cols = T.map_headers(["序号", "名称", "设施类型", "县(市、区)", "乡镇（街道）", "村(社区)", "经度", "纬度",
                          "托位数（个）", "建筑面积(m²)", "是否普惠", "Longitude"])
    assert cols == {"name": 1, "type": 2, "county": 3, "township": 4, "village": 5, "lon": 6, "lat": 7,
                    "capacity": 8, "building_area_m2": 9, "is_inclusive": 10}
    assert T.map_headers(["Name", "TYPE", "lat", "LNG", "address"]) == {
        "name": 0, "type": 1, "lat": 2, "lon": 3, "address": 4}


# ---------------------------------------------------------------------------- the GBK fixture
def test_gbk_fixture_outcome_row_by_row(ds, tmp_path: Path) -> None:
    res = import_facilities(IMPORTS / "inventory_gbk.csv", ds)
    assert (res.n_input, res.n_imported, res.n_rejected, res.n_flagged, res.n_blank) == (15, 7, 8, 3, 1)
    assert res.n_imported + res.n_rejected == res.n_input
    fac = res.facilities.set_index("facility_id")
    assert sorted(fac.index) == ["LD-001", "LD-002", "LD-003", "LD-004", "LD-005", "LD-011", "LD-012"]
    assert fac.loc["LD-001", ["type", "tier", "township_code", "village_code", "location_precision"]].tolist() == [
        "child_home", "demonstration", "331102007", "331102007211", "exact"]
    # no coordinates: placed at the village point / the township seat
    assert fac.loc["LD-002", "location_precision"] == "village"
    assert (fac.loc["LD-002"].geometry.x, fac.loc["LD-002"].geometry.y) == (119.9, 28.4)
    assert fac.loc["LD-003", "location_precision"] == "township"
    assert (fac.loc["LD-003"].geometry.x, fac.loc["LD-003"].geometry.y) == (119.86033, 28.528641)
    assert fac.loc["LD-003", "tier"] == "basic"  # 基础 → basic
    # swapped lat/lon fixed and flagged
    assert (fac.loc["LD-004"].geometry.x, fac.loc["LD-004"].geometry.y) == (119.8681, 28.4281)
    assert "swapped" in fac.loc["LD-004", "import_flags"]
    assert fac.loc["LD-004", "capacity"] == 80 and bool(fac.loc["LD-004", "is_inclusive"]) is True
    assert fac.loc["LD-005", "capacity"] == 270
    assert fac.loc["LD-011", "type"] == "community_library" and bool(fac.loc["LD-011", "has_reading_area"])
    assert fac.loc["LD-012", ["type", "level"]].tolist() == ["fitness", "township"]
    assert (fac["provenance"] == "real").all() and (fac["year"] == 2024).all()
    assert fac["source_file"].eq("inventory_gbk.csv").all()
    assert fac.loc["LD-005", "source_row"] == 7
    rej = res.rejects.set_index("源文件行号")
    assert rej.index.tolist() == [8, 9, 10, 11, 12, 16, 17, 18]
    expected_fields = {8: "lon", 9: "type", 10: "facility_id", 11: "village", 12: "lon",
                       16: "capacity", 17: "is_inclusive", 18: "lat"}
    assert rej["字段"].to_dict() == expected_fields
    assert "outside Lishui" in rej.loc[8, "reason"] and "不在丽水市范围内" in rej.loc[8, "原因"]
    assert "unknown facility type '游泳馆'" in rej.loc[9, "reason"]
    assert "first used in row 3" in rej.loc[10, "reason"]
    assert "unknown village name '新华村'" in rej.loc[11, "reason"]
    assert "outside the stated township 太平乡" in rej.loc[12, "reason"]
    # the original cells travel with the reason
    assert rej.loc[16, "托位"] == "很多" and rej.loc[17, "普惠"] == "可能" and rej.loc[8, "名称"] == "上海某托育"
    assert sorted(res.flagged["源文件行号"]) == [4, 5, 6]
    assert any("序号" in n for n in res.notes)


def test_written_layer_and_reports_round_trip(ds, tmp_path: Path) -> None:
    res = import_facilities(IMPORTS / "inventory_gbk.csv", ds, year=2024)
    paths = res.write(tmp_path / "out" / "inventory.geojson")
    assert paths["rejects"].name == "inventory.rejects.csv" and paths["flags"].name == "inventory.flags.csv"
    assert paths["rejects"].read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    back = pd.read_csv(paths["rejects"], encoding="utf-8-sig", dtype=str)
    assert len(back) == 8 and back.columns[:4].tolist() == ["源文件行号", "字段", "原因", "reason"]
    layer = gpd.read_file(paths["layer"])
    assert layer.crs.to_epsg() == 4326 and len(layer) == 7
    assert '"is_inclusive": true' in paths["layer"].read_text(encoding="utf-8")  # a JSON boolean
    assert set(FACILITY_COLUMNS) <= set(layer.columns)
    # the imported layer is a valid facility layer of a dataset folder
    root = tmp_path / "ds"
    shutil.copytree(MINI, root)
    shutil.copy(paths["layer"], root / "facilities" / "facilities_2024.geojson")
    ds2 = load_dataset(root)
    got = ds2.facilities_for(2024).sort_values("facility_id")
    assert got["facility_id"].tolist() == sorted(res.facilities["facility_id"])
    assert got["provenance"].eq("real").all()


def test_xlsx_with_title_row_english_headers_dms_and_sheets(ds, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "notes"
    ws.append(["this sheet is not the inventory"])
    inv = wb.create_sheet("inventory")
    inv.append(["Lishui inventory (test)"])
    inv.append([])
    inv.append(["Name", "Type", "Level", "Township", "Longitude", "Latitude", "Capacity", "Year", "Inclusive"])
    inv.append(["Nursery A", "托育", None, "Liancheng", "119°51'10\"", "28°28'12\"", 40, 2022, "Y"])
    inv.append(["Nursery B", "childcare", None, "联城", 119.853, 28.471, "60", "2024", "no"])
    inv.append(["MCH hospital", "妇幼保健院", "县级", "南明山街道", 119.874, 28.43, None, None, None])
    p = tmp_path / "inv.xlsx"
    wb.save(p)
    # the first sheet is not the inventory: the only sheet with a header row is read (#14)
    picked = import_facilities(p, ds)
    assert picked.n_input == 3 and any("worksheet 'inventory' read" in n for n in picked.notes)
    res = import_facilities(p, ds, sheet="inventory")
    assert res.n_input == 3 and res.n_blank == 0
    assert any("other worksheets not imported" in n and "notes" in n for n in res.notes)
    # "Liancheng" is not a Chinese name: flagged, placed by its point
    fac = res.facilities.set_index("name")
    assert fac.loc["Nursery A", "year"] == 2022
    assert fac.loc["Nursery A"].geometry.x == pytest.approx(119 + 51 / 60 + 10 / 3600)
    assert fac.loc["Nursery A", "township_code"] == "331102007"
    assert "unknown township name 'Liancheng'" in fac.loc["Nursery A", "import_flags"]
    assert fac.loc["Nursery B", "is_inclusive"] == False  # noqa: E712 (nullable boolean)
    assert fac.loc["MCH hospital", ["type", "level"]].tolist() == ["mch_institution", "county"]
    assert fac.loc["MCH hospital", "year"] == 2024  # blank year → the dataset's latest, flagged
    assert fac.loc["MCH hospital", "import_flags"] == "year: year is empty; taken as 2024"
    assert res.facilities["facility_id"].str.startswith("imp-").all()
    with pytest.raises(ImportInputError, match="no sheet 'nope'"):
        import_facilities(p, ds, sheet="nope")


# ---------------------------------------------------------------------------- CRS
def test_gcj02_declared_as_wgs84_is_detected(ds) -> None:
    res = import_facilities(IMPORTS / "inventory_gcj02.csv", ds)  # declared wgs84 (default)
    assert (res.n_imported, res.n_rejected, res.n_flagged) == (3, 1, 1)
    rej = res.rejects.iloc[0]
    assert rej["id"] == "G2" and "look gcj02" in rej["reason"] and "--crs gcj02" in rej["reason"]
    assert "疑似 GCJ-02" in rej["原因"]
    flag = res.flagged.iloc[0]
    assert flag["id"] == "G1" and "looks gcj02" in flag["reason"]
    assert any("re-import with --crs gcj02" in n and "2 row(s)" in n for n in res.notes)


def test_gcj02_declared_correctly_lands_on_the_true_points(ds) -> None:
    res = import_facilities(IMPORTS / "inventory_gcj02.csv", ds, crs="gcj02")
    assert (res.n_imported, res.n_rejected, res.n_flagged) == (4, 0, 0)
    g1 = res.facilities.set_index("facility_id").loc["G1"].geometry
    # the file holds the GCJ-02 form of the real 青岗 point, rounded to 6 decimals
    assert abs(g1.x - QINGGANG[0]) < 1e-6 and abs(g1.y - QINGGANG[1]) < 1e-6
    g2 = res.facilities.set_index("facility_id").loc["G2"]
    assert g2["township_code"] == "331102200"
    assert abs(g2.geometry.y - 28.512) < 1e-6


def test_bd09_and_crs_column(ds, tmp_path: Path) -> None:
    blon, blat = wgs84_to_bd09(119.868, 28.428)
    glon, glat = wgs84_to_gcj02(119.861, 28.531)
    p = _csv(tmp_path, "名称,类型,经度,纬度,坐标系\n"
                       f"甲,托育,{blon:.7f},{blat:.7f},百度\n"
                       f"乙,健身设施,{glon:.7f},{glat:.7f},高德\n"
                       "丙,幼儿园,119.853,28.471,\n"
                       "丁,幼儿园,119.853,28.471,墨卡托\n")
    res = import_facilities(p, ds, crs="wgs84")
    fac = res.facilities.set_index("name")
    assert fac.loc["甲"].geometry.x == pytest.approx(119.868, abs=1e-7)
    assert fac.loc["甲"].geometry.y == pytest.approx(28.428, abs=1e-7)
    assert fac.loc["乙"].geometry.x == pytest.approx(119.861, abs=1e-7)
    assert fac.loc["丙"].geometry.x == 119.853
    assert res.rejects["字段"].tolist() == ["crs"]


# ---------------------------------------------------------------------------- bad input
def test_file_level_errors(ds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImportInputError, match="file not found"):
        import_facilities(tmp_path / "nope.csv", ds)
    with pytest.raises(ImportInputError, match="the file is empty"):
        import_facilities(_csv(tmp_path, "", "empty.csv"), ds)
    with pytest.raises(ImportInputError, match="no rows"):
        import_facilities(_csv(tmp_path, "\n,,\n", "blank.csv"), ds)
    with pytest.raises(ImportInputError, match="a header row but no data rows"):
        import_facilities(_csv(tmp_path, "名称,类型,经度,纬度\n", "header.csv"), ds)
    with pytest.raises(ImportInputError, match=r"no header row found \(first row: foo, bar\)"):
        import_facilities(_csv(tmp_path, "foo,bar\n1,2\n", "nohead.csv"), ds)
    with pytest.raises(ImportInputError, match=r"missing.*类型/type \(or --type\)"):
        import_facilities(_csv(tmp_path, "名称,乡镇,地址\n甲,联城,x\n", "notype.csv"), ds)
    with pytest.raises(ImportInputError, match="经度\\+纬度/lon\\+lat"):
        import_facilities(_csv(tmp_path, "名称,类型,地址\n甲,托育,x\n", "noloc.csv"), ds)
    with pytest.raises(ImportInputError, match="must come together"):
        import_facilities(_csv(tmp_path, "名称,类型,经度\n甲,托育,119.9\n", "lononly.csv"), ds)
    with pytest.raises(ImportInputError, match="old .xls format"):
        import_facilities(_csv(tmp_path, "x", "old.xls"), ds)
    with pytest.raises(ImportInputError, match="not a readable .xlsx"):
        import_facilities(_csv(tmp_path, "not a zip", "fake.xlsx"), ds)
    with pytest.raises(ImportInputError, match="unsupported file type"):
        import_facilities(_csv(tmp_path, "x", "a.pdf"), ds)
    with pytest.raises(ImportInputError, match="--type 'pool'"):
        import_facilities(IMPORTS / "inventory_gbk.csv", ds, facility_type="pool")
    with pytest.raises(ImportInputError, match="unknown coordinate system"):
        import_facilities(IMPORTS / "inventory_gbk.csv", ds, crs="utm")
    monkeypatch.setattr(T, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(ImportInputError, match="above the 0 MB limit"):
        import_facilities(IMPORTS / "inventory_gbk.csv", ds)


def test_type_option_fills_blank_types(ds, tmp_path: Path) -> None:
    p = _csv(tmp_path, "名称,村(社区)\n青岗村儿童之家,青岗\n太平村儿童之家,太平村\n")
    res = import_facilities(p, ds, facility_type="儿童之家", provenance="synthetic", year=2022)
    assert res.facilities["type"].tolist() == ["child_home", "child_home"]
    assert res.facilities["provenance"].eq("synthetic").all() and res.facilities["year"].eq(2022).all()
    assert res.facilities["location_precision"].tolist() == ["village", "village"]
    # 青岗 has a real point: its flag does not call it synthetic; 太平村's does
    flags = res.facilities["import_flags"].tolist()
    assert "synthetic" not in flags[0] and "synthetic" in flags[1]


def test_ambiguous_names_resolved_by_unit_or_point(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(MINI, root)
    v = gpd.read_file(root / "units" / "villages.geojson")
    v.loc[v["code"] == "331102200212", "name"] = "张村村委会"  # 城头 renamed: two 张村 now
    v.to_file(root / "units" / "villages.geojson", driver="GeoJSON")
    ds2 = load_dataset(root)
    p = _csv(tmp_path, "名称,类型,乡镇,村,经度,纬度\n"
                       "A,儿童之家,,张村,,\n"  # ambiguous, no coordinates: rejected
                       "B,儿童之家,太平乡,张村,,\n"  # the township decides
                       "C,儿童之家,,张村,119.9005,28.5605\n")  # the point decides
    res = import_facilities(p, ds2)
    assert res.rejects["名称"].tolist() == ["A"]
    reason = res.rejects.iloc[0]["reason"]
    assert "ambiguous village name '张村'" in reason and "331102008201" in reason and "331102200212" in reason
    fac = res.facilities.set_index("name")
    assert fac.loc["B", "village_code"] == "331102200212" and fac.loc["C", "village_code"] == "331102200212"
    assert fac.loc["C", "import_flags"] == ""


def test_prefer_point_keeps_conflicting_rows(ds, tmp_path: Path) -> None:
    p = _csv(tmp_path, "名称,类型,乡镇,经度,纬度\n甲,幼儿园,太平乡,119.85,28.47\n")
    assert import_facilities(p, ds).n_rejected == 1
    res = import_facilities(p, ds, prefer_point=True)
    assert res.n_imported == 1 and res.facilities.iloc[0]["township_code"] == "331102007"
    assert "the point was kept" in res.facilities.iloc[0]["import_flags"]
    # a wider tolerance accepts a point 33 m outside
    p2 = _csv(tmp_path, "名称,类型,乡镇,经度,纬度\n甲,幼儿园,太平乡,119.86,28.5097\n", "near.csv")
    res2 = import_facilities(p2, ds)
    assert res2.n_imported == 1 and res2.facilities.iloc[0]["township_code"] == "331102200"


def test_point_outside_the_dataset_counties(ds, tmp_path: Path) -> None:
    # inside Lishui's bounding box but outside the mini dataset's single county
    p = _csv(tmp_path, "名称,类型,经度,纬度\n甲,幼儿园,120.3,28.1\n乙,幼儿园,486500.2,3150210.7\n")
    res = import_facilities(p, ds)
    assert res.n_rejected == 2 and "outside the dataset's counties" in res.rejects.iloc[0]["reason"]
    assert "look like projected metres" in res.rejects.iloc[1]["reason"]


def test_links_ids_and_duplicates(ds, tmp_path: Path) -> None:
    p = _csv(tmp_path, "编号,名称,类型,乡镇,经度,纬度,服务场所编号,场所类型,日客流量,建筑面积\n"
                       "P1,客运站,公共场所,联城,119.856,28.468,,客运站,8000,12000\n"
                       "M1,母婴室,母婴室,联城,119.856,28.468,P1,,,\n"
                       "M2,母婴室,母婴室,联城,119.856,28.468,P9,,,\n"
                       ",儿童之家,儿童之家,联城,119.86,28.47,,,,\n"
                       ",儿童之家,儿童之家,联城,119.86,28.47,,,,\n")
    res = import_facilities(p, ds)
    assert res.n_imported == 5 and res.n_rejected == 0
    fac = res.facilities.set_index("source_row")
    assert fac.loc[2, ["place_kind", "daily_visitors", "building_area_m2"]].tolist() == ["transport_hub", 8000, 12000]
    assert fac.loc[3, "serves_place_id"] == "P1"
    assert fac.loc[4, "serves_place_id"] == "" and "P9" in fac.loc[4, "import_flags"]
    id5, id6 = fac.loc[5, "facility_id"], fac.loc[6, "facility_id"]
    assert id5.startswith("imp-") and id6 == f"{id5}-6"
    assert "possible duplicate of row 5" in fac.loc[6, "import_flags"]
    # generated ids are stable: same rows, same ids
    assert import_facilities(p, ds).facilities["facility_id"].tolist() == res.facilities["facility_id"].tolist()


def test_nothing_is_lost_on_random_garbage(ds, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    types = ["儿童之家", "托育", "游泳馆", "", "幼儿园"]
    lines = ["名称,类型,乡镇,村,经度,纬度,托位"]
    for i in range(60):
        lon, lat = str(rng.choice(["119.86,28.47", "28.47,119.86", ",", "abc,28.4", "121.5,31.2",
                                   "119.83,28.53", "119.86,"])).split(",")
        lines.append(",".join([
            rng.choice([f"F{i}", f"F{i}", ""]), rng.choice(types), rng.choice(["联城", "太平乡", "", "无此乡"]),
            rng.choice(["", "青岗", "张村", "新华"]), lon, lat, rng.choice(["", "5", "5", "-1", "多"])]))
    res = import_facilities(_csv(tmp_path, "\n".join(lines) + "\n"), ds)
    assert res.n_input == 60
    assert res.n_imported + res.n_rejected == 60
    assert res.n_imported > 0 and res.n_rejected > 0
    got = set(res.facilities["source_row"]) | set(res.rejects["源文件行号"])
    assert got == set(range(2, 62))


def test_invalid_coordinates_are_rejected(ds, tmp_path: Path) -> None:
    p = _csv(tmp_path, "名称,类型,经度,纬度\n甲,幼儿园,inf,28.47\n乙,幼儿园,119.86,nan\n丙,幼儿园,1e400,28.47\n"
                       "丁,幼儿园,119.86,28.47\n戊,幼儿园,119°99',28.47\n")
    res = import_facilities(p, ds)
    assert res.facilities["name"].tolist() == ["丁"]
    rej = res.rejects.set_index("名称")
    assert set(rej.index) == {"甲", "乙", "丙", "戊"}
    assert all("not finite" in rej.loc[n, "reason"] for n in ("甲", "乙", "丙"))
    assert "minutes/seconds must be below 60" in rej.loc["戊", "reason"]


def test_township_placement_says_when_the_seat_is_estimated(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(MINI, root)
    t = gpd.read_file(root / "boundaries" / "townships.geojson")
    t.loc[t["code"] == "331102200", "seat_provenance"] = "estimated"
    t.to_file(root / "boundaries" / "townships.geojson", driver="GeoJSON")
    p = _csv(tmp_path, "名称,类型,乡镇\n甲,儿童之家,太平乡\n乙,儿童之家,联城街道\n")
    res = import_facilities(p, load_dataset(root))
    flags = res.facilities.set_index("name")["import_flags"]
    assert flags["甲"].endswith("placed at the township seat (an estimated seat)")
    assert flags["乙"].endswith("placed at the township seat")
    assert res.facilities.set_index("name").loc["乙"].geometry.coords[0] == (119.852161, 28.465462)


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_round_trip_of_the_mini_inventory(ds, tmp_path: Path, crs: str) -> None:
    """Export the 2024 inventory as a planner's sheet (Chinese labels, names, converted
    coordinates), import it back: every code and attribute comes back unchanged."""
    from layers.crs import wgs84_to_bd09, wgs84_to_gcj02
    from layers.glossary import label

    f = ds.facilities_for(2024)
    names = {**dict(zip(ds.townships["code"], ds.townships["name"])), **dict(zip(ds.villages["code"], ds.villages["name"]))}
    lon, lat = f.geometry.x.to_numpy(), f.geometry.y.to_numpy()
    if crs == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    elif crs == "bd09":
        lon, lat = wgs84_to_bd09(lon, lat)
    sheet = pd.DataFrame({
        "编号": f["facility_id"], "名称": f["name"], "类型": f["type"].map(label),
        "等级": f["tier"].map(lambda t: label(t) if t else ""), "级别": f["level"].map(lambda t: label(t) if t else ""),
        "乡镇(街道)": f["township_code"].map(names), "村(社区)": f["village_code"].map(lambda c: names.get(c, "")),
        "经度": np.round(lon, 8), "纬度": np.round(lat, 8), "托位": f["capacity"],
        "普惠": f["is_inclusive"].map(lambda v: "" if pd.isna(v) else ("是" if v else "否")),
        "亲子阅读区": f["has_reading_area"].map(lambda v: "" if pd.isna(v) else ("有" if v else "无")),
        "场所类型": f["place_kind"].map(lambda t: label(t) if t else ""), "服务场所编号": f["serves_place_id"],
        "建筑面积": f["building_area_m2"], "日客流量": f["daily_visitors"], "年份": f["year"],
    })
    path = tmp_path / "sheet.csv"
    sheet.to_csv(path, index=False, encoding="utf-8-sig")
    res = import_facilities(path, ds, crs=crs, provenance="synthetic")
    assert (res.n_imported, res.n_rejected, res.n_flagged) == (11, 0, 0)
    got = res.facilities.set_index("facility_id").sort_index()
    want = f.set_index("facility_id").sort_index()
    for col in ("type", "tier", "level", "place_kind", "serves_place_id", "county_code", "township_code",
                "village_code", "provenance"):
        assert got[col].tolist() == want[col].tolist(), col
    for col in ("capacity", "building_area_m2", "daily_visitors"):
        assert np.allclose(got[col].to_numpy(float), want[col].to_numpy(float), equal_nan=True), col
    for col in ("is_inclusive", "has_reading_area"):
        assert got[col].astype(object).where(got[col].notna(), None).tolist() == \
            want[col].astype(object).where(want[col].notna(), None).tolist()
    assert np.abs(got.geometry.x.to_numpy() - want.geometry.x.to_numpy()).max() < 1e-7
    assert np.abs(got.geometry.y.to_numpy() - want.geometry.y.to_numpy()).max() < 1e-7
    assert got["location_precision"].eq("exact").all()


def test_reports_neutralise_formulas(ds, tmp_path: Path) -> None:
    p = _csv(tmp_path, "名称,类型,经度,纬度,地址\n=HYPERLINK(\"http://x\"),游泳馆,119.86,28.47,-1\n"
                       "甲,游泳馆,119.86,28.47,-A1+B1\n")
    res = import_facilities(p, ds)
    assert res.rejects["名称"].tolist() == ["'=HYPERLINK(\"http://x\")", "甲"]
    assert res.rejects["地址"].tolist() == ["-1", "'-A1+B1"]


def test_names_written_with_their_parents(ds, tmp_path: Path) -> None:
    """Planners often write 县+乡镇+村 in one cell, or 丽水市 in the county column."""
    p = _csv(tmp_path, "名称,类型,县(市、区),乡镇(街道),村(社区)\n"
                       "甲,儿童之家,丽水市,莲都区联城街道,青岗村\n"
                       "乙,儿童之家,,,丽水市莲都区南明山街道张村\n"
                       "丙,儿童之家,莲都区,,太平乡 城头村\n"
                       "丁,儿童之家,,浙江省丽水市莲都区太平乡,\n"
                       "戊,儿童之家,,青田县太平乡,\n")  # not this dataset's county: unknown
    res = import_facilities(p, ds)
    got = res.facilities.set_index("name")[["township_code", "village_code", "location_precision"]]
    assert got.to_dict("index") == {
        "甲": {"township_code": "331102007", "village_code": "331102007211", "location_precision": "village"},
        "乙": {"township_code": "331102008", "village_code": "331102008201", "location_precision": "village"},
        "丙": {"township_code": "331102200", "village_code": "331102200212", "location_precision": "village"},
        "丁": {"township_code": "331102200", "village_code": "", "location_precision": "township"},
    }
    assert res.rejects["名称"].tolist() == ["戊"]
    assert "unknown township name '青田县太平乡'" in res.rejects.iloc[0]["reason"]


def test_single_coordinate_column(ds, tmp_path: Path) -> None:
    p = _csv(tmp_path, "名称,类型,经纬度\n甲,幼儿园,\"119.853,28.471\"\n乙,幼儿园,119.853 28.471\n"
                       "丙,幼儿园,119.853；28.471\n丁,幼儿园,119.853\n")
    res = import_facilities(p, ds)
    assert res.facilities["name"].tolist() == ["甲", "乙", "丙"]
    assert {(g.x, g.y) for g in res.facilities.geometry} == {(119.853, 28.471)}
    assert res.rejects.iloc[0]["字段"] == "coords" and "must be 'lon,lat'" in res.rejects.iloc[0]["reason"]
