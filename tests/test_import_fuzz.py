"""Property test of the facility importer (#14): random tables never lose a row or crash.

Hypothesis builds inventories from random header variants (Chinese, English, bilingual),
cell types (text, numbers, blanks, Excel error values, formula-looking text), coordinate
formats (decimal, DMS in its common forms, swapped, garbage, non-finite) and containers
(CSV as UTF-8, UTF-8 with BOM, GBK; .xlsx with typed cells). For every table either the
file is refused as a whole with an :class:`ImportInputError`, or every non-blank row is
imported or rejected with a reason: ``imported + rejected == rows``. Any other exception is
a failure. Runs are derandomised (the same examples every run) and keep no database.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers import load_dataset
from layers._errors import ImportInputError
from layers.importers import import_facilities

MINI = Path(__file__).resolve().parent / "data" / "mini"

HEADERS: dict[str, list[str]] = {
    "name": ["名称", "设施名称", "name", "名称 Name", "Name/名称"],
    "type": ["类型", "设施类型", "type", "类型 Type"],
    "township": ["乡镇", "乡镇（街道）", "township", "所属乡镇 Township"],
    "village": ["村（社区）", "村", "village"],
    "lon": ["经度", "lon", "Longitude", "经度 Longitude", "经度(E)"],
    "lat": ["纬度", "lat", "Latitude", "纬度 Latitude"],
    "capacity": ["托位", "capacity", "托位数（个）"],
    "year": ["年份", "year"],
    "tier": ["等级", "tier"],
}
TOWNSHIPS = ["联城街道", "南明山街道", "太平乡", "联城", "太平", "不存在乡", "莲都区太平乡", ""]
VILLAGES = ["青岗村", "张村", "叶村村委会", "城头", "无此村", ""]
TYPES = ["儿童之家", "托育", "childcare", "幼儿园", "母婴室", "体育健身设施", "未知设施", "", "#N/A"]
TEXT = st.text(alphabet="甲乙丙丁儿童之家托育中心ABCxyz0123456789 -=+@#/.,'\"", max_size=12)


def _dms(value: float, form: int) -> str:
    d = int(value)
    m_float = (value - d) * 60
    m = int(m_float)
    s = round((m_float - m) * 60, 2)
    hemi = "E" if value > 90 else "N"
    zh = "东经" if value > 90 else "北纬"
    return [f"{value:.6f}", f"{d}°{m}′{s}″", f"{d}°{m}'{s}\"", f"{d}°{m}'{s}''", f"{d}度{m}分{s}秒",
            f"{hemi}{d}°{m}′{s}″", f"{d}°{m}′{s}″{hemi}", f"{zh}{value:.5f}", f"{d}°{m_float:.4f}′",
            f"{d} {m} {s}"][form]


@st.composite
def coordinate(draw, axis: str) -> object:
    lo, hi = (119.80, 119.95) if axis == "lon" else (28.38, 28.58)
    value = draw(st.floats(lo, hi))
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return value
    if kind == 1:
        return _dms(value, draw(st.integers(0, 9)))
    if kind == 2:
        return ""
    if kind == 3:
        return draw(st.sampled_from(["nan", "inf", "1e400", "abc", "119°99′", "N119E", "-", "#VALUE!"]))
    if kind == 4:
        return draw(st.floats(-1e6, 1e6, allow_nan=False))
    return draw(TEXT)


@st.composite
def table(draw) -> tuple[list[str], list[list[object]]]:
    fields = draw(st.lists(st.sampled_from(list(HEADERS)), min_size=1, max_size=len(HEADERS), unique=True))
    headers = [draw(st.sampled_from(HEADERS[f])) for f in fields]
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        row = []
        for f in fields:
            if f == "name":
                row.append(draw(st.one_of(TEXT, st.sampled_from(["#N/A", "=1+1", ""]))))
            elif f == "type":
                row.append(draw(st.sampled_from(TYPES)))
            elif f == "township":
                row.append(draw(st.sampled_from(TOWNSHIPS)))
            elif f == "village":
                row.append(draw(st.sampled_from(VILLAGES)))
            elif f in ("lon", "lat"):
                row.append(draw(coordinate(f)))
            elif f == "capacity":
                row.append(draw(st.one_of(st.integers(-5, 500), st.sampled_from(["约80", "80-100", "", "x"]))))
            elif f == "year":
                row.append(draw(st.sampled_from([2022, 2024, "2024年", "", "1800", "abc"])))
            else:
                row.append(draw(st.sampled_from(["示范型", "基础型", "basic", "", "?"])))
        rows.append(row)
    return headers, rows


def _write(tmp: Path, headers: list[str], rows: list[list[object]], container: str) -> Path:
    if container == "xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(headers)
        for r in rows:
            ws.append([None if c == "" else c for c in r])
        path = tmp / "t.xlsx"
        wb.save(path)
        return path
    buf = io.StringIO()
    import csv

    csv.writer(buf).writerows([headers, *[[str(c) for c in r] for r in rows]])
    enc = {"utf8": "utf-8", "bom": "utf-8-sig", "gbk": "gbk"}[container]
    path = tmp / "t.csv"
    path.write_bytes(buf.getvalue().encode(enc, errors="replace"))
    return path


@pytest.fixture(scope="module")
def ds():
    return load_dataset(MINI)


@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(data=table(), container=st.sampled_from(["utf8", "bom", "gbk", "xlsx"]))
def test_every_row_is_imported_or_rejected_with_a_reason(ds, data, container) -> None:
    headers, rows = data
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), headers, rows, container)
        try:
            res = import_facilities(path, ds)
        except ImportInputError as exc:  # the file as a whole is refused, with a message
            assert str(exc).strip()
            return
    assert res.n_imported + res.n_rejected == res.n_input
    assert res.n_input + res.n_blank == len(rows)
    assert res.rejects["reason"].str.len().gt(0).all() and res.rejects["原因"].str.len().gt(0).all()
    assert res.facilities["township_code"].str.len().eq(9).all()
    assert res.facilities.geometry.x.between(118.6, 120.6).all()
