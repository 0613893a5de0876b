"""Read an .xlsx inventory safely: zip-bomb checks, capped streaming, formula and error cells.

An .xlsx is a zip of XML parts. A small file can inflate to gigabytes (a "zip bomb"), so
before openpyxl sees it, :func:`check_zip` reads the zip directory and refuses the file when

* the parts declare more than :data:`~layers.settings.XLSX_MAX_INFLATED_BYTES` in total, the
  shared-strings part more than :data:`~layers.settings.XLSX_MAX_SHARED_STRINGS_BYTES`, or
  there are more than :data:`~layers.settings.XLSX_MAX_MEMBERS` parts;
* a part above 1 MB inflates more than :data:`~layers.settings.XLSX_MAX_RATIO` times;

then it inflates every part in 1 MB chunks, counting the bytes actually produced (a zip
whose directory understates a part fails its CRC check here, after at most the declared
size). Only then is the workbook opened, with openpyxl's streaming ``read_only`` mode, and
rows are read with caps on rows, columns and cells (:mod:`layers.settings`), so memory stays
bounded by the caps.

Cells that hold an Excel error (``#N/A``, ``#VALUE!`` …) and formulas saved without a
computed value (files written by scripts, never opened in Excel/WPS) are reported by cell
name (``D7``) so the importer can reject those rows instead of reading them as text or blank.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from layers import settings as S
from layers._errors import ImportInputError

__all__ = [
    "EXCEL_ERRORS",
    "XlsxSheet",
    "cell_name",
    "check_rows",
    "check_zip",
    "column_letter",
    "read_xlsx",
]

#: the error values a spreadsheet cell can show
EXCEL_ERRORS: frozenset[str] = frozenset({
    "#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!",
    "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#UNKNOWN!", "#BUSY!", "#N/A!",
})
_CHUNK = 1 << 20
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def column_letter(j: int) -> str:
    """Spreadsheet column name of 0-based column ``j`` (0 → A, 26 → AA)."""
    out = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell_name(row_number: int, j: int) -> str:
    """``D7`` for spreadsheet row 7 (1-based) and 0-based column 3."""
    return f"{column_letter(j)}{row_number}"


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def check_zip(path: Path) -> dict[str, bool]:
    """Refuse a zip bomb before parsing; return {part name: the part holds formulas}.

    Raises
    ------
    ImportInputError
        Not a zip, too many parts, declared or actual inflated size above the caps, a
        compression ratio above the cap, or a part whose data does not match its directory
        entry (CRC or size).
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportInputError(f"{path}: not a readable .xlsx workbook ({exc}) / 无法读取Excel文件") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > S.XLSX_MAX_MEMBERS:
            raise ImportInputError(f"{path}: the workbook has {len(infos)} parts (limit {S.XLSX_MAX_MEMBERS}) "
                                   "/ Excel文件结构异常")
        total = sum(i.file_size for i in infos)
        if total > S.XLSX_MAX_INFLATED_BYTES:
            raise ImportInputError(
                f"{path}: the workbook inflates to {_mb(total)} (limit {_mb(S.XLSX_MAX_INFLATED_BYTES)}); "
                "split it into smaller files / Excel文件解压后过大，请拆分后再导入")
        for info in infos:
            if info.file_size > S.XLSX_MAX_SHARED_STRINGS_BYTES and info.filename.lower().endswith(
                    "sharedstrings.xml"):
                raise ImportInputError(
                    f"{path}: the shared-strings part inflates to {_mb(info.file_size)} (limit "
                    f"{_mb(S.XLSX_MAX_SHARED_STRINGS_BYTES)}) / Excel文件文本部分过大")
            if info.file_size > _CHUNK and info.file_size > S.XLSX_MAX_RATIO * max(info.compress_size, 1):
                ratio = info.file_size / max(info.compress_size, 1)
                raise ImportInputError(
                    f"{path}: part {info.filename} inflates {ratio:,.0f}× ({_mb(info.compress_size)} → "
                    f"{_mb(info.file_size)}; limit {S.XLSX_MAX_RATIO:.0f}×): not a normal workbook "
                    "/ Excel文件压缩比异常（疑似压缩炸弹）")
        formulas: dict[str, bool] = {}
        produced = 0
        for info in infos:
            if info.is_dir():
                continue
            is_sheet = info.filename.lower().endswith(".xml") and "worksheets/" in info.filename.lower()
            seen = False
            tail = b""
            n = 0
            try:
                with zf.open(info) as fh:
                    while chunk := fh.read(_CHUNK):
                        n += len(chunk)
                        produced += len(chunk)
                        if n > info.file_size or produced > S.XLSX_MAX_INFLATED_BYTES:
                            raise ImportInputError(
                                f"{path}: part {info.filename} inflates beyond its declared size "
                                "/ Excel文件结构异常（解压大小与声明不符）")
                        if is_sheet and not seen:
                            seen = _FORMULA_TAG.search(tail + chunk) is not None
                            tail = chunk[-8:]
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
                raise ImportInputError(f"{path}: damaged .xlsx part {info.filename} ({exc}) / Excel文件已损坏") from exc
            if is_sheet:
                formulas[info.filename] = seen
    return formulas


@dataclass
class XlsxSheet:
    """One worksheet read as text rows.

    Attributes
    ----------
    rows : list of list of str
        Row ``k`` is spreadsheet row ``k + 1``; cells as text (``""`` when empty).
    title : str
        The worksheet read.
    other_sheets : list of str
        The other worksheets that hold anything.
    bad_cells : dict
        (0-based row index, 0-based column) → ``"formula"`` (a formula without a computed
        value) or the Excel error text (``#N/A`` …).
    notes : list of str
        Which sheet was chosen and why, when it was not the first.
    """

    rows: list[list[str]]
    title: str
    other_sheets: list[str] = field(default_factory=list)
    bad_cells: dict[tuple[int, int], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def check_rows(path: Path, rows: Iterable[Iterable[object]], to_text: Callable[[object], str],
               limit: int | None = None) -> list[list[str]]:
    """Materialise rows as text under the row/column/cell caps (trailing empty cells dropped).

    ``limit`` stops early (used to peek at the first rows of a sheet).
    """
    out: list[list[str]] = []
    cells = raw_cells = 0
    max_rows = S.MAX_IMPORT_ROWS + 10  # the header may sit below up to 9 title rows
    for row in rows:
        if limit is not None and len(out) >= limit:
            break
        row = tuple(row)
        raw_cells += len(row)
        end = len(row)
        while end and (row[end - 1] is None or row[end - 1] == ""):
            end -= 1
        if end > S.MAX_IMPORT_COLUMNS:
            raise ImportInputError(f"{path}: row {len(out) + 1} has {end} columns (limit {S.MAX_IMPORT_COLUMNS}) "
                                   "/ 列数过多")
        cells += end
        if len(out) >= max_rows:
            raise ImportInputError(
                f"{path}: more than {S.MAX_IMPORT_ROWS:,} rows (limit {S.MAX_IMPORT_ROWS:,}); "
                "split the file / 行数超过上限，请拆分文件")
        if cells > S.MAX_IMPORT_CELLS or raw_cells > 10 * S.MAX_IMPORT_CELLS:
            raise ImportInputError(f"{path}: more than {S.MAX_IMPORT_CELLS:,} cells (limit); split the file "
                                   "/ 单元格数超过上限，请拆分文件")
        out.append([to_text(c) for c in row[:end]])
    return out


def _iter_values(ws) -> Iterable[tuple]:
    ws.reset_dimensions()  # a forged <dimension> must not pad every row to 16,384 columns
    return ws.iter_rows(values_only=True)


def read_xlsx(path: Path, sheet: str | None, to_text: Callable[[object], str],
              plausible: Callable[[list[list[str]]], bool]) -> XlsxSheet:
    """Read one worksheet of a checked workbook.

    Parameters
    ----------
    sheet : str, optional
        Worksheet name. Without it: the first sheet when it looks like a data table
        (``plausible`` on its first 10 rows), else the only sheet that does; with none or
        several such sheets the error lists every sheet and suggests ``--sheet``.
    to_text : callable
        Cell value → text.
    plausible : callable
        Whether the first rows of a sheet hold a header row the importer knows.
    """
    formulas = check_zip(path)
    import openpyxl  # imported lazily: only the xlsx path needs it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException/XML errors
        raise ImportInputError(f"{path}: not a readable .xlsx workbook ({exc}) / 无法读取Excel文件") from exc
    try:
        names = list(wb.sheetnames)
        notes: list[str] = []
        if sheet is not None:
            if sheet not in names:
                raise ImportInputError(f"{path}: no sheet {sheet!r}; sheets: {', '.join(names)} / 没有该工作表")
            ws = wb[sheet]
        else:
            ws = _pick_sheet(path, wb, to_text, plausible, notes)
        rows = check_rows(path, _iter_values(ws), to_text)
        raw_errors = {(k, j): v for k, r in enumerate(rows) for j, v in enumerate(r) if v in EXCEL_ERRORS}
        others = [w.title for w in wb.worksheets if w.title != ws.title
                  and any(any(r) for r in check_rows(path, _iter_values(w), to_text, limit=200))]
        part = _sheet_part(wb, ws)
        title = ws.title
    finally:
        wb.close()
    bad = dict(raw_errors)
    if formulas.get(part, any(formulas.values())):
        bad.update(_formulas_without_values(path, title, rows, to_text))
    return XlsxSheet(rows, title, others, bad, notes)


def _sheet_part(wb, ws) -> str:
    """The zip part name of a read-only worksheet (``xl/worksheets/sheet1.xml``)."""
    return str(getattr(ws, "_worksheet_path", "")).lstrip("/")


def _pick_sheet(path: Path, wb, to_text, plausible, notes: list[str]):
    sheets = list(wb.worksheets)
    if len(sheets) == 1:
        return sheets[0]
    heads = {w.title: check_rows(path, _iter_values(w), to_text, limit=10) for w in sheets}
    if plausible(heads[sheets[0].title]):
        return sheets[0]
    good = [w for w in sheets if plausible(heads[w.title])]
    if len(good) == 1:
        notes.append(f"worksheet {good[0].title!r} read: the first sheet {sheets[0].title!r} has no header row "
                     f"/ 已读取工作表“{good[0].title}”")
        return good[0]
    listing = ", ".join(repr(w.title) for w in sheets)
    if good:
        raise ImportInputError(
            f"{path}: several worksheets look like data ({', '.join(repr(w.title) for w in good)}); "
            f"choose one with --sheet NAME. Sheets: {listing} / 多个工作表含数据，请用 --sheet 指定")
    raise ImportInputError(
        f"{path}: no worksheet has a header row such as 名称/name, 类型/type, 经度/lon; sheets: {listing}. "
        "Choose the data sheet with --sheet NAME / 未找到表头，请用 --sheet 指定工作表")


def _formula_text(v: object) -> str:
    if isinstance(v, str):
        return v
    if v is not None and type(v).__name__ in ("ArrayFormula", "DataTableFormula"):
        return "=" + str(getattr(v, "text", "") or "")
    return ""


def _formulas_without_values(path: Path, title: str, rows: list[list[str]], to_text) -> dict[tuple[int, int], str]:
    """Cells holding a formula whose computed value was never saved (read as blank otherwise)."""
    import openpyxl

    out: dict[tuple[int, int], str] = {}
    wb = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    try:
        for k, row in enumerate(check_rows(path, _iter_values(wb[title]), _formula_text)):
            for j, v in enumerate(row):
                if v.startswith("=") and (k >= len(rows) or j >= len(rows[k]) or rows[k][j] == ""):
                    out[(k, j)] = "formula"
    finally:
        wb.close()
    return out
