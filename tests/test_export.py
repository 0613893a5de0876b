"""Gap-list exports (coverage/export.py): every format reopens with its headers and provenance."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

from coverage.outputs import ExportError, export_bytes, provenance_lines, provenance_statement, write_gap_list
from coverage.outputs import township_gaps
from layers._errors import CovplanError
from tests.test_gaps import LIANDU, T_HECHENG, T_YANQUAN, T_ZIJIN, make_dataset, make_result

GAP_HEADERS_ZH = [
    "缺口类别", "评估层级", "统计代码", "单位名称", "县（市、区）代码", "县（市、区）", "乡镇代码", "乡镇（街道）",
    "目标编号", "规划目标", "行类型", "评估单位数", "未达标单位数", "目标值", "现状值", "缺口量", "缺口单位",
    "建议措施", "状态", "是否规划考核口径", "年份", "条款", "规划原文行号", "数据来源性质", "设施数据来源",
]
LEVEL_SHEET_HEADERS = GAP_HEADERS_ZH[1:]
SUMMARY_HEADERS_ZH = [
    "目标编号", "规划目标", "层级", "评估单位数", "达标单位数", "未达标单位数", "无数据单位数",
    "不适用单位数", "缺口量", "缺口单位", "规划层面结论", "数据来源性质",
]
SYNTHETIC_SENTENCE = "监测指标数据、设施数据（2024年）：合成演示数据，非真实数据"


@pytest.fixture
def case():
    ds, res = make_dataset(), make_result()
    return ds, res, township_gaps(res, ds, targets=res.targets)


def _write(case, tmp_path, name, **kw):
    ds, res, gaps = case
    path = write_gap_list(gaps, tmp_path / name, dataset=ds, result=res, targets=res.targets, **kw)
    assert path.exists()
    return path


def test_provenance_statement_names_each_kind():
    ds = make_dataset()
    lines = provenance_lines(ds)
    assert lines == [
        "县（市、区）边界、村（社区）名称代码及点位：真实数据",
        "乡镇（街道）边界：估算数据",
        SYNTHETIC_SENTENCE,
        "据此得出的缺口仅用于演示方法，不能作为实际考核结论",
    ]
    assert provenance_statement(ds) == "数据来源说明：" + "；".join(lines) + "。"
    en = provenance_statement(ds, "en")
    assert "Facility data (2024): Synthetic (demo), not real data" in en


def test_provenance_counts_real_and_synthetic_village_points():
    ds = make_dataset()
    ds.villages = gpd.GeoDataFrame(
        {"code": ["1", "2", "3"], "provenance": ["real", "synthetic", "synthetic"]},
        geometry=gpd.points_from_xy([119.85] * 3, [28.4] * 3), crs="EPSG:4326",
    )
    ds.townships["pop_provenance"] = "estimated"
    lines = provenance_lines(ds)
    assert lines[-2:] == ["村（社区）点位：1个为真实位置，2个为合成位置", "据此得出的缺口仅用于演示方法，不能作为实际考核结论"]
    assert "乡镇（街道）边界、乡镇（街道）及村（社区）人口：估算数据" in lines


def test_xlsx_sheets_headers_frozen_panes_and_provenance(case, tmp_path):
    wb = openpyxl.load_workbook(_write(case, tmp_path, "gaps.xlsx"))
    assert wb.sheetnames == ["汇总", "县市级", "乡镇级", "村级", "乡镇宽表"]
    ws = wb["汇总"]
    assert ws["A1"].value == "丽水市乡镇缺口清单（2024年）"
    assert ws["A2"].value == "数据来源说明"
    col_a = [c.value for c in ws["A"]]
    assert SYNTHETIC_SENTENCE in col_a
    header_row = col_a.index("目标编号") + 1
    assert [c.value for c in ws[header_row]] == SUMMARY_HEADERS_ZH
    assert ws.freeze_panes == f"A{header_row + 1}"  # provenance stays visible on scroll
    first = [c.value for c in ws[header_row + 1]]
    assert first[:8] == ["child_home_every_village", "儿童之家应建尽建", "村（社区）", 5, 2, 3, 1, 0]
    assert "合成演示数据" in ws.oddFooter.center.text

    heads = LEVEL_SHEET_HEADERS
    county = wb["县市级"]
    assert [c.value for c in county[1]] == heads
    assert [county.cell(row=r, column=2).value for r in range(2, 6)] == ["331121", "331100", LIANDU, LIANDU]
    town = wb["乡镇级"]
    assert [c.value for c in town[1]] == heads and town.freeze_panes == "A2"
    rows = [{h: c for h, c in zip(heads, r)} for r in town.iter_rows(min_row=2)]
    # demo per township: 岩泉 (莲都区) then its 合计, 鹤城 (青田县) then its 合计; slots: 紫金 + 莲都区's row
    assert [(r["统计代码"].value, r["行类型"].value) for r in rows] == [
        (T_YANQUAN, None), (LIANDU, "合计"), (T_HECHENG, None), ("331121", "合计"), (T_ZIJIN, None), (LIANDU, "合计")]
    total = rows[-1]  # the slots total is 莲都区's own plan-level row
    assert (total["目标值"].value, total["现状值"].value, total["缺口量"].value) == (2250, 2150, 100)
    assert total["缺口量"].number_format == "#,##0" and total["统计代码"].font.bold
    vil = wb["村级"]
    vrows = [{h: c for h, c in zip(heads, r)} for r in vil.iter_rows(min_row=2)]
    first = vrows[0]
    assert (first["单位名称"].value, first["乡镇（街道）"].value, first["评估层级"].value) == ("乙村", "紫金街道", "村（社区）")
    assert (first["缺口量"].value, first["缺口单位"].value, first["建议措施"].value) == (1, "个设施", "新建1个儿童之家")
    women = [r for r in vrows if r["目标编号"].value == "women_village_committee_30"]
    # a rate reads as a percentage, its gap in points with one decimal
    assert (women[0]["目标值"].value, women[0]["目标值"].number_format) == (0.3, "0.0%")
    assert (women[0]["缺口量"].value, women[0]["缺口量"].number_format) == (10, "0.0")
    wtotal = [r for r in vrows if r["行类型"].value == "合计" and r["目标编号"].value == "women_village_committee_30"][0]
    assert wtotal["缺口量"].value is None and wtotal["未达标单位数"].value == 2  # points never add
    # print setup: A4 landscape, one page wide, header row repeated
    assert town.page_setup.orientation == "landscape"
    assert int(town.page_setup.paperSize) == 9
    assert (town.page_setup.fitToWidth, town.page_setup.fitToHeight) == (1, 0)
    assert town.sheet_properties.pageSetUpPr.fitToPage
    assert town.print_title_rows == "$1:$1"
    widths = {k: v.width for k, v in town.column_dimensions.items()}
    assert max(widths.values()) <= 30 and min(widths.values()) >= 6
    wide = wb["乡镇宽表"]
    assert [c.value for c in wide[1]] == [
        "乡镇代码", "乡镇（街道）", "县（市、区）代码", "县（市、区）", "儿童之家应建尽建",
        "每个乡镇（街道）1家以上示范型儿童之家", "村委员会成员中女性比例达到30%以上",
        "每千人拥有3岁以下婴幼儿托位数达到4.5个", "未达标目标数",
    ]
    assert [c.value for c in wide[3]] == [T_YANQUAN, "岩泉街道", LIANDU, "莲都区", "无数据", "未达标", None, "达标", 1]
    # statuses are shaded: not met orange, met blue, no data grey, not evaluated blank
    shades = [c.fill.fgColor.rgb if c.fill.fill_type == "solid" else None for c in wide[3]][4:8]
    assert shades == ["00E7E7E7", "00FBE0C8", None, "00DCE9F5"]


def test_xlsx_for_one_county(tmp_path):
    ds, res = make_dataset(), make_result()
    gaps = township_gaps(res, ds, county="青田县", targets=res.targets)
    path = write_gap_list(gaps, tmp_path / "q.xlsx", dataset=ds, result=res, targets=res.targets)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["汇总", "县市级", "乡镇级", "村级", "乡镇宽表"]
    assert wb["汇总"]["A1"].value == "青田县乡镇缺口清单（2024年）"
    assert wb["乡镇宽表"].max_row == 2  # header + 鹤城街道
    summary = wb["汇总"]
    col_a = [c.value for c in summary["A"]]
    row = col_a.index("mch_institution_city_county") + 1
    # 青田县 only: its county row is not met; the city row is not counted
    assert [summary.cell(row=row, column=c).value for c in (4, 5, 6)] == [1, 0, 1]


def test_csv_bom_headers_and_provenance_column(case, tmp_path):
    path = _write(case, tmp_path, "gaps.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(df.columns) == GAP_HEADERS_ZH + ["数据集说明"]
    assert len(df) == 12
    assert df["数据集说明"].str.contains("合成演示数据，非真实数据").all()
    r = df[(df["统计代码"] == "331102001001") & (df["目标编号"] == "women_village_committee_30")].iloc[0]
    assert (r["目标值"], r["现状值"], r["缺口量"], r["缺口单位"]) == ("30.0%", "20.0%", "10.0", "个百分点")
    assert set(df["缺口类别"]) == {"村（社区）缺口", "乡镇（街道）缺口", "县市级缺口"}


def test_geojson_reloads_with_geometry(case, tmp_path):
    path = _write(case, tmp_path, "gaps.geojson")
    gdf = gpd.read_file(path)
    assert len(gdf) == 12 and gdf.crs.to_epsg() == 4326
    zijin = gdf[gdf["统计代码"] == T_ZIJIN].geometry.iloc[0]
    assert zijin.equals(box(119.8, 28.3, 119.9, 28.5))
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "非真实数据" in doc["provenance"]
    assert doc["features"][0]["properties"]["目标编号"] == "mch_institution_city_county"


def test_gpkg_layers_gaps_wide_metadata(case, tmp_path):
    path = _write(case, tmp_path, "gaps.gpkg")
    layers = {name: gtype for name, gtype in pyogrio.list_layers(path)}
    assert layers == {"gaps": "MultiPolygon", "gaps_village": "Point", "wide": "MultiPolygon", "metadata": None}
    gaps = gpd.read_file(path, layer="gaps")
    assert len(gaps) == 7 and gaps.crs.to_epsg() == 4326
    assert len(gpd.read_file(path, layer="gaps_village")) == 5
    city = gaps[gaps["统计代码"] == "331100"].geometry.iloc[0]
    assert city.area == pytest.approx(box(119.8, 28.3, 120.2, 28.5).area)
    wide = gpd.read_file(path, layer="wide")
    assert list(wide["乡镇代码"]) == [T_ZIJIN, T_YANQUAN, T_HECHENG]
    meta = pyogrio.read_dataframe(path, layer="metadata")
    values = dict(zip(meta["key"], meta["value"]))
    assert SYNTHETIC_SENTENCE in values["数据来源说明"]
    assert values["数据来源性质: facilities_2024"] == "合成演示数据"
    assert values["设施清单年份"] == "2024"


def test_export_bytes_equal_written_files(case, tmp_path):
    ds, res, gaps = case
    for fmt in ("csv", "geojson"):
        path = _write(case, tmp_path, f"same.{fmt}")
        assert export_bytes(gaps, fmt, dataset=ds, result=res, targets=res.targets) == path.read_bytes()
    path = _write(case, tmp_path, "same.xlsx")
    data = export_bytes(gaps, ".xlsx", dataset=ds, result=res, targets=res.targets)
    a, b = openpyxl.load_workbook(path), openpyxl.load_workbook(io.BytesIO(data))
    assert a.sheetnames == b.sheetnames
    for name in a.sheetnames:
        assert [[c.value for c in r] for r in a[name].iter_rows()] == [
            [c.value for c in r] for r in b[name].iter_rows()
        ]


def test_english_headers(case, tmp_path):
    path = _write(case, tmp_path, "gaps_en.csv", lang="en")
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert list(df.columns[:4]) == ["Gap section", "Level evaluated", "Code", "Unit"]
    assert df["Status"].eq("Not met").all()
    # target labels in English too (plan clauses and place names stay Chinese)
    assert set(df["Target"]) == {k.replace("_", " ") for k in set(df["Target id"])}
    assert df.loc[0, "Unit"] == "青田县"


def test_empty_gap_list_still_exports(tmp_path):
    ds, res = make_dataset(), make_result()
    gaps = township_gaps(res, ds, county="青田县", target="childcare_slots_per_1000")
    for ext in ("xlsx", "csv", "geojson", "gpkg"):
        write_gap_list(gaps, tmp_path / f"empty.{ext}", dataset=ds, result=res)
    assert len(gpd.read_file(tmp_path / "empty.gpkg", layer="gaps")) == 0
    df = pd.read_csv(tmp_path / "empty.csv", encoding="utf-8-sig")
    assert list(df.columns) == GAP_HEADERS_ZH + ["数据集说明"] and df.empty
    wb = openpyxl.load_workbook(tmp_path / "empty.xlsx")
    assert [c.value for c in wb["乡镇级"][1]] == LEVEL_SHEET_HEADERS and wb["乡镇级"].max_row == 1


def test_written_file_is_readable_by_others(case, tmp_path):
    path = _write(case, tmp_path, "shared.csv")
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["shared.csv"]  # no temporary file left


def test_bad_extension_format_and_folder(case, tmp_path):
    ds, res, gaps = case
    with pytest.raises(ExportError, match=r"gaps\.docx.*unknown extension '\.docx'.*\.xlsx") as exc:
        write_gap_list(gaps, tmp_path / "gaps.docx", dataset=ds, result=res)
    assert isinstance(exc.value, CovplanError)
    with pytest.raises(ExportError, match="unknown export format 'pdf'"):
        export_bytes(gaps, "pdf", dataset=ds, result=res)
    with pytest.raises(ExportError, match="does not exist"):
        write_gap_list(gaps, tmp_path / "missing" / "g.csv", dataset=ds, result=res)
    with pytest.raises(ExportError, match="unknown language"):
        export_bytes(gaps, "csv", dataset=ds, result=res, lang="fr")
    assert list(tmp_path.iterdir()) == []  # nothing half-written
