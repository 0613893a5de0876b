"""Read planners' tables (.xlsx / .csv) and map their headers and values onto the contract.

Planners keep inventories in Excel or CSV, with Chinese or English headers, a title row above
the header, GBK-encoded CSV from older software, and values such as ``示范型``, ``是``,
``120个``. This module turns such a file into a :class:`RawTable` (every cell as text, the
spreadsheet row number of each record, the header of each recognised field) and offers the
value parsers the facility importer uses. Everything here is pure text handling; locations are
resolved in :mod:`layers.importers`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from layers._errors import ImportInputError
from layers.glossary import GLOSSARY
from layers.names import clean_text
from layers.settings import MAX_UPLOAD_BYTES
from layers.vocab import CHILD_HOME_TIERS, FACILITY_LEVELS, FACILITY_TYPES, PUBLIC_PLACE_KINDS

__all__ = [
    "FIELD_ALIASES",
    "RawTable",
    "check_size",
    "map_headers",
    "normalise_header",
    "parse_bool",
    "parse_coordinate",
    "parse_number",
    "parse_place_kind",
    "parse_tier_or_level",
    "parse_type",
    "read_table",
    "safe_cell",
]

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


def normalise_header(text: object) -> str:
    """Header key: NFKC, lower case, no spaces/punctuation (``县(市、区)`` → ``县市区``)."""
    return _HEADER_PUNCT.sub("", clean_text(text).lower())


_ALIAS_INDEX: dict[str, str] = {
    normalise_header(a): f for f, aliases in FIELD_ALIASES.items() for a in aliases
}


def _field_of(header: object) -> str | None:
    key = normalise_header(header)
    if key in _ALIAS_INDEX:
        return _ALIAS_INDEX[key]
    # "托位数（个）", "建筑面积（平方米）": drop the bracketed unit and retry
    bare = normalise_header(_PAREN.sub("", clean_text(header)))
    return _ALIAS_INDEX.get(bare)


@dataclass
class RawTable:
    """A table read as text.

    Attributes
    ----------
    path : Path
    headers : list of str
        The header cells as written.
    rows : list of list of str
        Data rows (cells as text, ``""`` when empty), blank rows removed.
    row_numbers : list of int
        Row number of each data row as a spreadsheet shows it (header row included).
    n_blank : int
        Blank rows skipped (reported in summaries, never silently).
    encoding : str
        Detected text encoding (CSV) or ``xlsx``.
    columns : dict
        Canonical field → index of its column (see :func:`map_headers`).
    other_sheets : list of str
        Other non-empty worksheets of a workbook (not read; reported).
    """

    path: Path
    headers: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    n_blank: int = 0
    encoding: str = ""
    columns: dict[str, int] = field(default_factory=dict)
    other_sheets: list[str] = field(default_factory=list)

    def value(self, i: int, fld: str) -> str:
        """Text of field ``fld`` in data row ``i`` (``""`` when the column is absent)."""
        idx = self.columns.get(fld)
        if idx is None or idx >= len(self.rows[i]):
            return ""
        return self.rows[i][idx]

    def original(self, i: int) -> dict[str, str]:
        """The data row keyed by its original headers (for reject reports)."""
        row = self.rows[i]
        return {h: (row[j] if j < len(row) else "") for j, h in enumerate(self.headers)}


def check_size(path: Path) -> None:
    """Raise ImportInputError for a missing, empty or oversized file."""
    if not path.is_file():
        raise ImportInputError(f"{path}: file not found / 文件不存在")
    size = path.stat().st_size
    if size == 0:
        raise ImportInputError(f"{path}: the file is empty / 文件为空")
    if size > MAX_UPLOAD_BYTES:
        msg = (f"{path}: file is {size / 1e6:.1f} MB, above the {MAX_UPLOAD_BYTES / 1e6:.0f} MB limit "
               "/ 文件过大")
        raise ImportInputError(msg)


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return clean_text(v)


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise ImportInputError(f"{path}: text is neither UTF-8 nor GBK/GB18030 / 无法识别文件编码")


def _read_csv(path: Path) -> tuple[list[list[str]], str]:
    text, enc = _decode(path.read_bytes(), path)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    rows = [[_cell_text(c) for c in r] for r in csv.reader(io.StringIO(text), delimiter=delim)]
    return rows, enc


def _read_xlsx(path: Path, sheet: str | None) -> tuple[list[list[str]], list[str]]:
    import openpyxl  # imported lazily: only the xlsx path needs it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException
        raise ImportInputError(f"{path}: not a readable .xlsx workbook ({exc}) / 无法读取Excel文件") from exc
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise ImportInputError(f"{path}: no sheet {sheet!r}; sheets: {', '.join(wb.sheetnames)}")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        rows = [[_cell_text(c) for c in r] for r in ws.iter_rows(values_only=True)]
        others = [w.title for w in wb.worksheets if w.title != ws.title
                  and any(any(c is not None for c in r) for r in w.iter_rows(values_only=True))]
        return rows, others
    finally:
        wb.close()


def read_table(path: Path | str, sheet: str | None = None) -> RawTable:
    """Read a .xlsx or .csv inventory as text, finding the header row.

    The header row is the first of the first 10 rows in which at least two cells are known
    headers (:data:`FIELD_ALIASES`), so title rows above it are skipped.

    Raises
    ------
    ImportInputError
        Missing, empty, oversized or unreadable file; unsupported format; no header row;
        a header but no data rows.
    """
    path = Path(path)
    check_size(path)
    suffix = path.suffix.lower()
    others: list[str] = []
    if suffix in (".xlsx", ".xlsm"):
        (rows, others), enc = _read_xlsx(path, sheet), "xlsx"
    elif suffix in (".csv", ".txt", ".tsv"):
        rows, enc = _read_csv(path)
    elif suffix == ".xls":
        raise ImportInputError(f"{path}: old .xls format; save it as .xlsx / 请另存为 .xlsx 格式")
    else:
        raise ImportInputError(f"{path}: unsupported file type {suffix!r}; use .xlsx or .csv")
    header_at = None
    for i, row in enumerate(rows[:10]):
        if sum(_field_of(c) is not None for c in row if c) >= 2:
            header_at = i
            break
    if header_at is None:
        if not any(any(c for c in r) for r in rows):
            raise ImportInputError(f"{path}: the file has no rows / 文件为空")
        shown = ", ".join(c for c in (rows[0] if rows else []) if c)[:200]
        raise ImportInputError(
            f"{path}: no header row found (first row: {shown}); expected headers such as "
            "名称/name, 类型/type, 经度/lon, 纬度/lat, 乡镇(街道)/township / 未找到表头")
    headers = [h or f"column_{j + 1}" for j, h in enumerate(rows[header_at])]
    data, numbers, n_blank = [], [], 0
    for k, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        if not any(row):
            n_blank += 1
            continue
        data.append(row + [""] * (len(headers) - len(row)))
        numbers.append(k)
    if not data:
        raise ImportInputError(f"{path}: a header row but no data rows / 只有表头，没有数据")
    table = RawTable(path, headers, data, numbers, n_blank, enc, other_sheets=others)
    table.columns = map_headers(headers)
    return table


def map_headers(headers: list[str]) -> dict[str, int]:
    """Canonical field → column index; the first column wins when two map to one field."""
    out: dict[str, int] = {}
    for j, h in enumerate(headers):
        fld = _field_of(h)
        if fld is not None and fld not in out:
            out[fld] = j
    return out


_NUMBERISH = re.compile(r"^-?\d+(\.\d+)?$")


def safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas in echoed user cells (CSV injection): ``=…`` → ``'=…``."""
    if value[:1] in ("=", "+", "@", "\t", "\r") or (value[:1] == "-" and not _NUMBERISH.match(value)):
        return "'" + value
    return value


# ---------------------------------------------------------------------------- values
def _value_key(text: object) -> str:
    return normalise_header(text)


def _vocab_index(ids: tuple[str, ...], extra: dict[str, tuple[str, ...]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for key in ids:
        index[_value_key(key)] = key
        entry = GLOSSARY.get(key, {})
        for lang in ("zh", "en"):
            if entry.get(lang):
                index[_value_key(entry[lang])] = key
        for alias in extra.get(key, ()):
            index[_value_key(alias)] = key
    return index


_TYPE_INDEX = _vocab_index(FACILITY_TYPES, {
    "child_home": ("儿童之家", "儿童之家站点"),
    "mother_baby_room": ("母婴室", "母婴设施", "母婴护理室", "哺乳室", "母婴关爱室"),
    "public_place": ("公共场所",),
    "childcare": ("托育", "托育机构", "托育园", "托育中心", "托育点", "婴幼儿照护服务机构", "托幼机构"),
    "fitness": ("体育健身设施", "健身设施", "全民健身中心", "健身中心", "体育设施", "健身点"),
    "disability_home": ("残疾人之家",),
    "elderly_care_centre": ("居家养老", "居家养老服务中心", "养老服务中心", "居家养老服务照料中心"),
    "mch_institution": ("妇幼保健机构", "妇幼保健院", "妇幼保健所", "妇幼保健计划生育服务中心"),
    "childcare_guidance_centre": ("托育服务指导中心", "托育指导中心"),
    "minor_protection_station": ("未成年人保护工作站", "未保站"),
    "minor_rescue_centre": ("未成年人救助保护中心",),
    "child_welfare_facility": ("儿童福利设施", "儿童福利院", "儿童福利机构"),
    "mental_health_welfare": ("精神卫生福利设施", "精神卫生福利机构"),
    "women_children_centre": ("妇女儿童活动中心", "妇女儿童中心"),
    "family_service_centre": ("家庭综合服务中心",),
    "community_library": ("社区图书馆", "图书馆", "图书室", "农家书屋"),
    "kindergarten": ("幼儿园",),
    "parent_school": ("家长学校", "家庭教育指导服务站点", "家庭教育指导站", "家庭教育指导服务站"),
})
_TIER_INDEX = _vocab_index(CHILD_HOME_TIERS, {
    "basic": ("基础型", "基础", "普通型"),
    "demonstration": ("示范型", "示范", "示范性"),
    "featured": ("特色型", "特色"),
})
_LEVEL_INDEX = _vocab_index(FACILITY_LEVELS, {
    "city": ("市级", "市", "地市级"),
    "county": ("县级", "县", "区级", "县市区级", "县区级"),
    "township": ("乡镇级", "乡镇", "街道级", "乡级", "镇级", "乡镇街道级"),
    "village": ("村级", "村", "社区级", "村社区级"),
})
_PLACE_INDEX = _vocab_index(PUBLIC_PLACE_KINDS, {
    "transport_hub": ("交通枢纽", "车站", "客运站", "火车站", "高铁站", "汽车站", "机场"),
    "commercial": ("商业中心", "商场", "商业综合体", "购物中心", "商业"),
    "hospital": ("医院", "医疗机构"),
    "scenic": ("景区", "旅游景区", "文娱场所", "景区文娱场所", "文体场馆"),
    "government": ("政务服务中心", "政务中心", "行政服务中心", "便民服务中心"),
})


def parse_type(text: str) -> str | None:
    """Facility type id of a cell (``儿童之家`` → ``child_home``); None when unknown."""
    return _TYPE_INDEX.get(_value_key(text))


def parse_tier_or_level(text: str) -> tuple[str, str] | None:
    """``("tier", id)`` or ``("level", id)`` for a tier/level cell; None when unknown."""
    key = _value_key(text)
    if key in _TIER_INDEX:
        return "tier", _TIER_INDEX[key]
    if key in _LEVEL_INDEX:
        return "level", _LEVEL_INDEX[key]
    return None


def parse_place_kind(text: str) -> str | None:
    """Public place kind id of a cell (``客运站`` → ``transport_hub``); None when unknown."""
    return _PLACE_INDEX.get(_value_key(text))


_TRUE = {"是", "有", "y", "yes", "true", "t", "1", "√", "✓", "✔", "普惠", "普惠性", "设有"}
_FALSE = {"否", "无", "n", "no", "false", "f", "0", "×", "✗", "✘", "x", "非普惠", "未设"}


def parse_bool(text: str) -> bool | None:
    """``是``/``否``/yes/no/1/0/√/× → bool; raises ValueError when unrecognised, None if blank."""
    key = _value_key(text)
    if key == "":
        return None
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{text!r} is not yes/no (是/否)")


_NUMBER = re.compile(r"^(?:约|大约|about|approx\.?)?\s*([-+]?\d+(?:\.\d+)?)\s*[^\d]*$", re.IGNORECASE)


def parse_number(text: str) -> float | None:
    """A number from a cell such as ``120``, ``1,200``, ``约80``, ``120个``; None if blank.

    Raises
    ------
    ValueError
        When the cell holds no number or several (``80-100``).
    """
    t = clean_text(text).replace(",", "").replace("，", "")
    if t == "":
        return None
    m = _NUMBER.match(t)
    if not m:
        raise ValueError(f"{text!r} is not a number")
    return float(m.group(1))


_DMS = re.compile(
    r"^\s*([-+]?\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′分])?\s*(?:(\d+(?:\.\d+)?)\s*[\"″秒]|'')?\s*([NSEW东西南北])?\s*$",
    re.IGNORECASE,
)


def parse_coordinate(text: str) -> float | None:
    """Decimal degrees from ``119.92``, ``119°55'12"``, ``119度55分12秒E``; None if blank.

    Raises
    ------
    ValueError
        When the cell is not a coordinate.
    """
    t = unicodedata.normalize("NFKC", clean_text(text))
    if t == "":
        return None
    try:
        return float(t)
    except ValueError:
        pass
    m = _DMS.match(t)
    if not m:
        raise ValueError(f"{text!r} is not a coordinate in degrees")
    deg = float(m.group(1))
    minutes = float(m.group(2) or 0)
    seconds = float(m.group(3) or 0)
    if minutes >= 60 or seconds >= 60:
        raise ValueError(f"{text!r}: minutes/seconds must be below 60")
    value = abs(deg) + minutes / 60 + seconds / 3600
    hemi = (m.group(4) or "").upper()
    if deg < 0 or hemi in ("S", "W", "南", "西"):
        value = -value
    return value
