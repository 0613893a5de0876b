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
from dataclasses import dataclass, field
from pathlib import Path

from layers._errors import ImportInputError
from layers.glossary import GLOSSARY
from layers.import_coords import parse_coordinate
from layers.import_headers import FIELD_ALIASES, field_of, find_header, map_headers, normalise_header, plausible
from layers.import_headers import resolve_columns
from layers.import_xlsx import EXCEL_ERRORS, cell_name, check_rows, read_xlsx
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

_field_of = field_of  # kept for callers of the old private name


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
    bad_cells : dict
        (data row index, column) → ``"formula"`` (formula without a computed value) or the
        Excel error text (``#N/A``, ``#VALUE!`` …) of that cell.
    notes : list of str
        Decisions taken while reading (sheet chosen, duplicated columns resolved).
    """

    path: Path
    headers: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    n_blank: int = 0
    encoding: str = ""
    columns: dict[str, int] = field(default_factory=dict)
    other_sheets: list[str] = field(default_factory=list)
    bad_cells: dict[tuple[int, int], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def cell_name(self, i: int, j: int) -> str:
        """Spreadsheet name (``D7``) of column ``j`` in data row ``i``."""
        return cell_name(self.row_numbers[i], j)

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
    """A cell as text, as the user wrote it (stripped; parsers normalise it themselves)."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:
            return ""
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
    return str(v).strip()


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
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        rows = check_rows(path, reader, _cell_text)
    except csv.Error as exc:
        raise ImportInputError(f"{path}: line {reader.line_num}: not a readable CSV row ({exc}) / CSV格式错误") from exc
    return rows, enc


def read_table(path: Path | str, sheet: str | None = None) -> RawTable:
    """Read a .xlsx or .csv inventory as text, finding the header row.

    The header row is the first of the first 10 rows in which at least two cells are known
    headers (:data:`FIELD_ALIASES`), so title rows above it are skipped; a merged two-row
    header is read as one (:func:`layers.import_headers.find_header`). Workbooks are checked
    for zip bombs and read streaming (:mod:`layers.import_xlsx`); every table is capped at
    :data:`~layers.settings.MAX_IMPORT_ROWS` rows, :data:`~layers.settings.MAX_IMPORT_COLUMNS`
    columns and :data:`~layers.settings.MAX_IMPORT_CELLS` cells.

    Raises
    ------
    ImportInputError
        Missing, empty, oversized or unreadable file; a workbook above the zip caps; a table
        above the row/column/cell caps; unsupported format; no header row (the error lists
        the worksheets and suggests ``--sheet``); a header but no data rows; one field in
        several filled columns.
    """
    path = Path(path)
    check_size(path)
    suffix = path.suffix.lower()
    others: list[str] = []
    bad: dict[tuple[int, int], str] = {}
    notes: list[str] = []
    sheet_title = ""
    if suffix in (".xlsx", ".xlsm"):
        got = read_xlsx(path, sheet, _cell_text, plausible)
        rows, others, bad, notes, enc, sheet_title = got.rows, got.other_sheets, got.bad_cells, got.notes, "xlsx", got.title
    elif suffix in (".csv", ".txt", ".tsv"):
        rows, enc = _read_csv(path)
        bad = {(k, j): v for k, r in enumerate(rows) for j, v in enumerate(r) if v in EXCEL_ERRORS}
    elif suffix == ".xls":
        raise ImportInputError(f"{path}: old .xls format; save it as .xlsx / 请另存为 .xlsx 格式")
    else:
        raise ImportInputError(f"{path}: unsupported file type {suffix!r}; use .xlsx or .csv")
    found = find_header(rows)
    if found is None:
        if not any(any(c for c in r) for r in rows):
            raise ImportInputError(f"{path}: the file has no rows / 文件为空")
        shown = ", ".join(c for c in (rows[0] if rows else []) if c)[:200]
        where = f" in worksheet {sheet_title!r} (use --sheet NAME to read another)" if sheet_title else ""
        raise ImportInputError(
            f"{path}: no header row found{where} (first row: {shown}); expected headers such as "
            "名称/name, 类型/type, 经度/lon, 纬度/lat, 乡镇(街道)/township / 未找到表头")
    header_at, n_head, head_cells = found
    headers = [h or f"column_{j + 1}" for j, h in enumerate(head_cells)]
    width = len(headers)
    bad_by_row: dict[int, list[tuple[int, str]]] = {}
    for (k, j), kind in bad.items():
        bad_by_row.setdefault(k, []).append((j, kind))
    data, numbers, bad_cells, n_blank = [], [], {}, 0
    for k, row in enumerate(rows[header_at + n_head:], start=header_at + n_head):
        if not any(row) and k not in bad_by_row:
            n_blank += 1
            continue
        i = len(data)
        data.append(row + [""] * (width - len(row)))
        numbers.append(k + 1)
        for j, kind in bad_by_row.get(k, ()):
            bad_cells[(i, j)] = kind
    if not data:
        raise ImportInputError(f"{path}: a header row but no data rows / 只有表头，没有数据")
    for j in range(width, max(len(r) for r in data)):
        headers.append(f"column_{j + 1}")
    table = RawTable(path, headers, data, numbers, n_blank, enc, other_sheets=others,
                     bad_cells=bad_cells, notes=notes)
    table.columns, dup_notes = resolve_columns(path, headers, data)
    table.notes += dup_notes
    return table


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
