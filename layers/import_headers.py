"""Recognise the header row of a planner's table and map its cells onto the contract fields.

Header cells are matched after :func:`normalise_header` (NFKC, lower case, no spaces or
punctuation) against :data:`FIELD_ALIASES`; a bracketed unit (``托位数（个）``) is dropped
and retried, and a bilingual cell (``名称 Name``, ``经度 Longitude``, ``Name/名称``) is
matched by its Chinese and its Latin part. :func:`find_header` finds the header row among
the first 10 rows and reads a merged two-row header (``坐标`` over ``经度 | 纬度``) as one.
:func:`resolve_columns` maps fields to columns and deals with a field given twice: the
filled column is used when exactly one is filled, otherwise the import stops naming both.
"""

from __future__ import annotations

import re
from pathlib import Path

from layers._errors import ImportInputError
from layers.import_xlsx import column_letter
from layers.names import clean_text

__all__ = ["FIELD_ALIASES", "field_of", "find_header", "map_headers", "normalise_header", "resolve_columns"]

#: canonical field → accepted headers (compared after :func:`normalise_header`)
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "facility_id": ("编号", "设施编号", "机构编号", "站点编号", "id", "facility_id", "facilityid"),
    "name": ("名称", "设施名称", "机构名称", "站点名称", "场所名称", "单位名称", "name", "facility_name"),
    "type": ("类型", "设施类型", "类别", "设施类别", "机构类型", "type", "facility_type", "category"),
    "tier": ("等级", "类型等级", "建设等级", "建设类型", "tier", "grade"),
    "level": ("级别", "层级", "管理级别", "设施级别", "level"),
    "county": ("县市区", "县区", "区县", "县", "所属县市区", "所在县市区", "county", "county_name"),
    "township": ("乡镇街道", "乡镇", "街道", "所属乡镇", "所在乡镇", "所属乡镇街道", "所在乡镇街道",
                 "township", "town", "township_name"),
    "village": ("村社区", "村", "社区", "行政村", "所属村", "所在村", "所属村社区", "所在村社区",
                "village", "community", "village_name"),
    "county_code": ("县代码", "县市区代码", "county_code"),
    "township_code": ("乡镇代码", "乡镇街道代码", "township_code"),
    "village_code": ("村代码", "村社区代码", "village_code"),
    "lon": ("经度", "lon", "lng", "long", "longitude", "x", "经度e"),
    "lat": ("纬度", "lat", "latitude", "y", "纬度n"),
    "coords": ("经纬度", "坐标", "coordinates", "lonlat", "lnglat"),
    "crs": ("坐标系", "坐标系统", "crs"),
    "capacity": ("托位", "托位数", "学位", "学位数", "容量", "capacity", "slots", "places"),
    "address": ("地址", "详细地址", "所在地址", "address"),
    "is_inclusive": ("普惠", "是否普惠", "普惠性", "普惠托位", "is_inclusive", "inclusive"),
    "has_reading_area": ("亲子阅读区", "是否设有亲子阅读区", "有无亲子阅读区", "是否有亲子阅读区",
                         "has_reading_area", "reading_area"),
    "building_area_m2": ("建筑面积", "建筑面积m2", "建筑面积平方米", "building_area_m2", "building_area"),
    "daily_visitors": ("日客流量", "日均客流量", "日均客流", "日客流", "daily_visitors"),
    "place_kind": ("场所类型", "场所类别", "place_kind"),
    "serves_place_id": ("服务场所编号", "所在场所编号", "所在场所", "serves_place_id", "place_id"),
    "year": ("年份", "年度", "year"),
    "provenance": ("数据性质", "provenance"),
}

_HEADER_PUNCT = re.compile(r"[\s\u3000*＊:：/\\、,，.。()（）\[\]【】_\-—'\"“”]+")
_PAREN = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_LATIN = re.compile(r"[a-z][a-z0-9_ ]*[a-z0-9]|[a-z]")


def normalise_header(text: object) -> str:
    """Header key: NFKC, lower case, no spaces/punctuation (``县(市、区)`` → ``县市区``)."""
    return _HEADER_PUNCT.sub("", clean_text(text).lower())


_ALIAS_INDEX: dict[str, str] = {
    normalise_header(a): f for f, aliases in FIELD_ALIASES.items() for a in aliases
}


def field_of(header: object) -> str | None:
    """Contract field of a header cell; None when it is not a known header."""
    key = normalise_header(header)
    if key in _ALIAS_INDEX:
        return _ALIAS_INDEX[key]
    # "托位数（个）", "建筑面积（平方米）": drop the bracketed unit and retry
    bare_text = _PAREN.sub("", clean_text(header))
    bare = normalise_header(bare_text)
    if bare in _ALIAS_INDEX:
        return _ALIAS_INDEX[bare]
    # bilingual: "名称 Name", "经度(Longitude)", "Name/名称": both parts must agree
    text = clean_text(header).lower()
    zh = _ALIAS_INDEX.get("".join(_CJK.findall(text)))
    latin = [normalise_header(m) for m in _LATIN.findall(text)]
    en = {_ALIAS_INDEX.get(e) for e in latin} | {_ALIAS_INDEX.get("".join(latin))}
    en.discard(None)
    if zh is not None:
        return zh if en <= {zh} else None
    return en.pop() if len(en) == 1 else None


def map_headers(headers: list[str]) -> dict[str, int]:
    """Canonical field → column index; the first column wins when two map to one field."""
    out: dict[str, int] = {}
    for j, h in enumerate(headers):
        fld = field_of(h)
        if fld is not None and fld not in out:
            out[fld] = j
    return out


def _is_header_row(row: list[str]) -> bool:
    return sum(field_of(c) is not None for c in row if c) >= 2


def plausible(rows: list[list[str]]) -> bool:
    """Whether one of the first 10 rows is a header row the importer knows."""
    return any(_is_header_row(r) for r in rows[:10])


def _sub_header(top: list[str], sub: list[str]) -> bool:
    """Whether ``sub`` is the second row of a merged header (``坐标`` over ``经度 | 纬度``)."""
    filled = [j for j, c in enumerate(sub) if c]
    if not filled or any(field_of(sub[j]) is None for j in filled):
        return False
    for j in filled:
        above = top[j] if j < len(top) else ""
        if above and field_of(above) not in (None, "coords", field_of(sub[j])):
            return False
    return True


def find_header(rows: list[list[str]]) -> tuple[int, int, list[str]] | None:
    """(row index of the header, number of header rows, header cells) or None.

    The header row is the first of the first 10 rows in which at least two cells are known
    headers. When the row below holds only known headers under empty or group cells, the
    two rows are one merged header: a cell of the lower row names its column, a group cell
    (``坐标``) spans the empty cells to its right.
    """
    for i, row in enumerate(rows[:10]):
        if not _is_header_row(row):
            continue
        nxt = rows[i + 1] if i + 1 < len(rows) else []
        if _sub_header(row, nxt):
            width = max(len(row), len(nxt))
            top = row + [""] * (width - len(row))
            sub = nxt + [""] * (width - len(nxt))
            span = ""
            headers = []
            for j in range(width):
                span = top[j] or (span if sub[j] else "")
                headers.append(sub[j] or top[j] or span)
            return i, 2, headers
        return i, 1, list(row)
    return None


def resolve_columns(path: Path, headers: list[str], rows: list[list[str]]) -> tuple[dict[str, int], list[str]]:
    """Field → column, with duplicated fields resolved; notes on what was decided.

    Two or more columns meaning one field (two ``名称``, ``经度`` twice, ``名称`` and ``设施名称``):
    when exactly one of them holds any value it is used (noted); when none does, the first;
    when several do, :class:`ImportInputError` names them all.
    """
    groups: dict[str, list[int]] = {}
    for j, h in enumerate(headers):
        fld = field_of(h)
        if fld is not None:
            groups.setdefault(fld, []).append(j)
    out: dict[str, int] = {}
    notes: list[str] = []
    for fld, cols in groups.items():
        if len(cols) == 1:
            out[fld] = cols[0]
            continue
        filled = [j for j in cols if any(j < len(r) and r[j] for r in rows)]
        names = ", ".join(f"{column_letter(j)} ({headers[j]})" for j in cols)
        if len(filled) > 1:
            used = ", ".join(f"{column_letter(j)} ({headers[j]})" for j in filled)
            raise ImportInputError(
                f"{path}: columns {used} all mean {fld} and all hold values; keep one of them "
                f"(delete or rename the others) / 多列表示同一字段“{fld}”且都有数据：{used}，请只保留一列")
        pick = filled[0] if filled else cols[0]
        out[fld] = pick
        notes.append(f"columns {names} all mean {fld}; column {column_letter(pick)} "
                     f"{'(the only one filled) ' if filled else ''}used / 重复列，已使用第 {column_letter(pick)} 列")
    return out, notes
