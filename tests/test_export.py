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
    "缺口类别", "层级", "统计代码", "单位名称", "县（市、区）代码", "县（市、区）", "目标编号",
    "规划目标", "评估层级", "评估单位数", "未达标单位数", "未达标村（社区）", "目标值", "现状值",
    "缺口量", "缺口单位", "建议措施", "状态", "是否规划考核口径", "年份", "条款", "规划原文行号",
    "数据来源性质",
]
TOWNSHIP_SHEET_HEADERS = [
    "乡镇代码", "乡镇（街道）", "规划目标", "评估层级", "评估单位数", "未达标单位数", "未达标村（社区）", "目标值",
    "现状值", "缺口量", "缺口单位", "建议措施", "是否规划考核口径", "条款", "规划原文行号", "数据来源性质",
    "状态", "年份", "目标编号",
]
COUNTY_SHEET_HEADERS = [
    "统计代码", "单位名称", "层级", "规划目标", "目标值", "现状值", "缺口量", "缺口单位", "建议措施",
    "是否规划考核口径", "条款", "规划原文行号", "数据来源性质", "状态", "年份", "目标编号",
]
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
    assert wb.sheetnames == ["汇总", "莲都区", "青田县", "县市级缺口", "乡镇宽表"]
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

    lian = wb["莲都区"]
    assert [c.value for c in lian[1]] == TOWNSHIP_SHEET_HEADERS
    assert lian.freeze_panes == "A2"
    assert lian.auto_filter.ref == "A1:S5"
    assert [lian.cell(row=r, column=1).value for r in range(2, 6)] == [T_ZIJIN, T_ZIJIN, T_ZIJIN, T_YANQUAN]
    row2 = {h: lian.cell(row=2, column=j + 1).value for j, h in enumerate(TOWNSHIP_SHEET_HEADERS)}
    assert (row2["乡镇（街道）"], row2["规划目标"], row2["评估层级"], row2["评估单位数"], row2["未达标单位数"]) == (
        "紫金街道", "儿童之家应建尽建", "村（社区）", 3, 2)
    assert (row2["未达标村（社区）"], row2["缺口量"], row2["缺口单位"]) == ("乙村、丙社区", 2, "个设施")
    assert (row2["建议措施"], row2["是否规划考核口径"], row2["规划原文行号"]) == ("新建1个儿童之家", "是", "C L721")
    assert (row2["状态"], row2["年份"], row2["目标编号"]) == ("未达标", 2024, "child_home_every_village")
    # a share in a percentage-point row is shown as a percentage
    women = {h: lian.cell(row=3, column=j + 1) for j, h in enumerate(TOWNSHIP_SHEET_HEADERS)}
    assert (women["目标值"].value, women["目标值"].number_format) == (0.3, "0.0%")
    assert women["缺口量"].number_format == "General"
    # print setup: A4 landscape, one page wide, header row repeated
    assert lian.page_setup.orientation == "landscape"
    assert int(lian.page_setup.paperSize) == 9
    assert (lian.page_setup.fitToWidth, lian.page_setup.fitToHeight) == (1, 0)
    assert lian.sheet_properties.pageSetUpPr.fitToPage
    assert lian.print_title_rows == "$1:$1"
    widths = {k: v.width for k, v in lian.column_dimensions.items()}
    assert max(widths.values()) <= 30 and min(widths.values()) >= 6
    assert lian["G1"].value == "未达标村（社区）" and lian["G2"].alignment.wrap_text is not True  # fits
    assert lian["N1"].value == "条款" and lian["N2"].alignment.wrap_text  # 33 columns of text wrap at 30
    assert [wb["青田县"].cell(row=r, column=1).value for r in (2, 3)] == [T_HECHENG, T_HECHENG]
    county = wb["县市级缺口"]
    assert [c.value for c in county[1]] == COUNTY_SHEET_HEADERS
    assert [county.cell(row=r, column=1).value for r in range(2, 6)] == [LIANDU, LIANDU, "331121", "331100"]
    assert [county.cell(row=r, column=3).value for r in range(2, 6)] == ["县（市、区）"] * 3 + ["市"]
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
    assert wb.sheetnames == ["汇总", "青田县", "县市级缺口", "乡镇宽表"]
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
    assert len(df) == 10
    assert df["数据集说明"].str.contains("合成演示数据，非真实数据").all()
    r = df[(df["统计代码"] == T_ZIJIN) & (df["目标编号"] == "women_village_committee_30")].iloc[0]
    assert (r["目标值"], r["现状值"], r["缺口量"], r["缺口单位"]) == ("0.3", "0.2", "10", "个百分点")
    assert set(df["缺口类别"]) == {"乡镇（街道）缺口", "县市级缺口"}


def test_geojson_reloads_with_geometry(case, tmp_path):
    path = _write(case, tmp_path, "gaps.geojson")
    gdf = gpd.read_file(path)
    assert len(gdf) == 10 and gdf.crs.to_epsg() == 4326
    zijin = gdf[gdf["统计代码"] == T_ZIJIN].geometry.iloc[0]
    assert zijin.equals(box(119.8, 28.3, 119.9, 28.5))
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "非真实数据" in doc["provenance"]
    assert doc["features"][0]["properties"]["目标编号"] == "child_home_every_village"


def test_gpkg_layers_gaps_wide_metadata(case, tmp_path):
    path = _write(case, tmp_path, "gaps.gpkg")
    layers = {name: gtype for name, gtype in pyogrio.list_layers(path)}
    assert layers == {"gaps": "MultiPolygon", "wide": "MultiPolygon", "metadata": None}
    gaps = gpd.read_file(path, layer="gaps")
    assert len(gaps) == 10 and gaps.crs.to_epsg() == 4326
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
    assert list(df.columns[:4]) == ["Gap section", "Level", "Code", "Unit"]
    assert df["Status"].eq("Not met").all()
    # target labels in English too (plan clauses and place names stay Chinese)
    assert set(df["Target"]) == {k.replace("_", " ") for k in set(df["Target id"])}
    assert df.loc[0, "Unit"] == "紫金街道"


def test_empty_gap_list_still_exports(tmp_path):
    ds, res = make_dataset(), make_result()
    gaps = township_gaps(res, ds, county="青田县", target="childcare_slots_per_1000")
    for ext in ("xlsx", "csv", "geojson", "gpkg"):
        write_gap_list(gaps, tmp_path / f"empty.{ext}", dataset=ds, result=res)
    assert len(gpd.read_file(tmp_path / "empty.gpkg", layer="gaps")) == 0
    df = pd.read_csv(tmp_path / "empty.csv", encoding="utf-8-sig")
    assert list(df.columns) == GAP_HEADERS_ZH + ["数据集说明"] and df.empty
    wb = openpyxl.load_workbook(tmp_path / "empty.xlsx")
    assert [c.value for c in wb["青田县"][1]] == TOWNSHIP_SHEET_HEADERS and wb["青田县"].max_row == 1


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
