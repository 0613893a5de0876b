"""``covplan export inventory``: a county's list of one year as the 台账 layout ``submit`` reads.

One row per facility, Chinese headers the importer recognises (名称, 类型, 等级, 级别, 县市区,
乡镇（街道）, 村（社区）, 经度, 纬度 (WGS84), 托位（学位）, …), the store's ``facility_id``
in a hidden first column 编号 (so a re-submitted file matches by id and changes exactly the
rows that were edited), and 数据来源性质 (真实数据 / 合成演示数据) per row; the second sheet
说明 states the county's provenance. Cells that start with = + - @ are written as text.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from layers.glossary import label
from layers.importers_table import safe_cell
from store._errors import StoreError

LEVEL_ZH = {"city": "市级", "county": "县级", "township": "乡镇级", "village": "村级"}

#: (header, how to fill it)
HEADERS: tuple[str, ...] = (
    "编号", "名称", "类型", "等级", "级别", "县市区", "乡镇（街道）", "村（社区）", "经度", "纬度",
    "托位（学位）", "普惠", "亲子阅读区", "场所类型", "建筑面积（平方米）", "日客流量", "服务场所编号",
    "地址", "年份", "数据来源性质",
)
_PROVENANCE_ZH = {"real": "真实数据", "synthetic": "合成演示数据", "estimated": "估算数据",
                  "derived": "推算数据"}


def _num(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    f = float(v)
    return int(f) if f.is_integer() else f


def _flag(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    return "是" if bool(v) else "否"


def inventory_rows(st, county: str, year: int) -> tuple[str, str, list[list]]:
    """(county code, county name, rows) of a county's open and planned facilities in ``year``."""
    units = st.units()
    c = units.counties
    hit = c[(c["code"] == county) | (c["name"] == county)]
    if hit.empty:
        raise StoreError(f"--county {county!r}: no such county / 无此县（市、区）")
    code, cname = str(hit.iloc[0]["code"]), str(hit.iloc[0]["name"])
    if int(year) not in st.years():
        raise StoreError(f"no inventory year {year} in the store; years: {', '.join(map(str, st.years()))}")
    df = st.facilities(int(year), statuses=("open",), county=code).sort_values(["township_code", "type", "name"])
    twp = dict(zip(units.townships["code"], units.townships["name"]))
    vil = dict(zip(units.villages["code"], units.villages["name"]))
    rows = []
    for r in df.itertuples():
        rows.append([
            r.facility_id, safe_cell(r.name), label(r.type), label(r.tier) if r.tier else "",
            LEVEL_ZH.get(r.level, ""), cname, twp.get(r.township_code, ""), vil.get(r.village_code, ""),
            round(r.geometry.x, 7), round(r.geometry.y, 7), _num(r.capacity), _flag(r.is_inclusive),
            _flag(r.has_reading_area), label(r.place_kind) if r.place_kind else "", _num(r.building_area_m2),
            _num(r.daily_visitors), r.serves_place_id, safe_cell(r.address), int(year),
            _PROVENANCE_ZH.get(r.provenance, r.provenance),
        ])
    return code, cname, rows


def export_inventory(st, county: str, year: int, out: Path | str) -> Path:
    """Write the county's inventory of ``year`` to ``out`` (.xlsx); returns the path."""
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise StoreError(f"{out}: the inventory export is an .xlsx file")
    code, cname, rows = inventory_rows(st, county, year)
    wb = Workbook()
    ws = wb.active
    ws.title = f"{cname}{year}"[:31]
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append(r)
    ws.column_dimensions["A"].hidden = True
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = ws.dimensions
    for col, width in zip("BCDEFGHIJK", (28, 14, 8, 8, 14, 16, 16, 12, 12, 10)):
        ws.column_dimensions[col].width = width
    prov = st.county_provenance(int(year)).get(code, "synthetic")
    note = wb.create_sheet("说明")
    note.append(["县（市、区）", cname])
    note.append(["年份", int(year)])
    note.append(["数据来源性质", {"real": "真实数据（已报送）", "partial": "部分为真实数据，其余为合成演示数据",
                             "synthetic": "合成演示数据（尚未报送真实台账）"}[prov]])
    note.append(["说明", "修改后可用 covplan submit 报送；请勿修改隐藏的“编号”列。经纬度为 WGS84。"])
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
