"""The Excel (.xlsx) writer of the gap table, used by :mod:`coverage.outputs.export`.

Sheet 汇总 first (summary per target under a prominent provenance statement), then one sheet
per level — 县市级 (city and county rows), 乡镇级, 村级 — each unit once per target, the
township and village sheets with a 合计 row after every (target, county) block that equals
the county's own row (or the block's roll-up, see :func:`coverage.outputs.model.county_totals`),
and a 乡镇宽表 sheet. Numbers are real numbers with number formats (``0.0%``, ``#,##0``,
``0.00``, points ``0.0``); every text cell and sheet name is formula-safe. Chinese headers,
frozen header rows, autofilter, column widths fit for print, A4 landscape fit to one page
wide with the header row repeated, and the provenance repeated in the page footer.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from coverage.outputs.display import DISPLAY_COLUMNS, display_headers
from coverage.outputs.formatting import EXCEL_FORMATS, safe_sheet_title, safe_text
from layers.glossary import label

__all__ = ["workbook_bytes"]

# --------------------------------------------------------------------------- xlsx
#: light status colours of the wide sheet (the report's map colours, paler for print)
_STATUS_FILLS: dict[str, str] = {"met": "DCE9F5", "not_met": "FBE0C8", "no_data": "E7E7E7"}
_WRAP_MAX = 30  # characters (CJK count double) before a column wraps instead of widening


def _text_width(value: Any) -> int:
    import unicodedata

    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _sheet_title(name: str, used: set[str]) -> str:
    return safe_sheet_title(name, used)


def _write_table(ws: Any, df: pd.DataFrame, row0: int, formats: list[dict[int, str]] | None = None,
                 fills: dict[str, str] | None = None, bold_rows: set[int] | None = None) -> None:
    """Write ``df`` with its header at row ``row0``; widths, wrap, autofilter, print titles.

    Column widths follow the content (CJK characters count two) up to :data:`_WRAP_MAX`;
    only cells longer than their column wrap (styling every cell would be slow). ``fills``
    maps a cell text (a status label) to a background colour.
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    columns = list(df.columns)
    bold = Font(bold=True)
    text_widths = [[_text_width(v) for v in df.iloc[:, j]] for j in range(len(columns))]
    widths = [max(6, min(max([min(_text_width(name), 16), *tw]) + 2, _WRAP_MAX))
              for name, tw in zip(columns, text_widths)]
    for j, name in enumerate(columns, start=1):
        cell = ws.cell(row=row0, column=j, value=safe_text(str(name)))
        cell.font, cell.fill, cell.alignment = head_font, head_fill, wrap
        ws.column_dimensions[get_column_letter(j)].width = widths[j - 1]
    for i, values in enumerate(df.itertuples(index=False, name=None)):
        for j, value in enumerate(values):
            v = None if value is None or (isinstance(value, float) and np.isnan(value)) else safe_text(value)
            cell = ws.cell(row=row0 + 1 + i, column=j + 1, value=v)
            if text_widths[j][i] > widths[j] - 2:
                cell.alignment = wrap
            if fills and isinstance(v, str) and v in fills:
                cell.fill = fills[v]
            if formats and j in formats[i] and isinstance(v, (int, float)) and not isinstance(v, bool):
                cell.number_format = formats[i][j]
            if bold_rows and i in bold_rows:
                cell.font = bold
    last = get_column_letter(max(len(columns), 1))
    ws.auto_filter.ref = f"A{row0}:{last}{row0 + max(len(df), 1)}"
    ws.freeze_panes = f"A{row0 + 1}"
    ws.print_title_rows = f"{row0}:{row0}"


def _page_setup(ws: Any, footer: str) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True
    if footer:
        ws.oddFooter.center.text = footer
    ws.oddFooter.right.text = "&P / &N"


#: gap-table columns of the level sheets (the section is the sheet)
LEVEL_SHEET_COLUMNS: tuple[str, ...] = tuple(c for c in DISPLAY_COLUMNS if c != "section")
_LEVEL_SHEETS: tuple[tuple[str, str], ...] = (
    ("county", "sheet_level_county"), ("township", "sheet_level_township"), ("village", "sheet_level_village"),
)


def _level_table(raw: pd.DataFrame, sections: pd.Series, section: str, lang: str
                 ) -> tuple[pd.DataFrame, list[dict[int, str]], set[int]]:
    """Rows of one level sheet, their per-cell number formats and the 合计 rows (bold)."""
    part = raw[(sections == section).to_numpy()].reset_index(drop=True)
    heads = display_headers(lang)
    cols = list(LEVEL_SHEET_COLUMNS)
    index = {c: j for j, c in enumerate(cols)}
    formats, totals = [], set()
    total_text = label("total_row", lang)
    for i, (fmt, unit, kind) in enumerate(zip(part["_format"], part["_unit"], part["row_kind"])):
        formats.append({
            index["required"]: EXCEL_FORMATS.get(fmt, "General"),
            index["actual"]: EXCEL_FORMATS.get(fmt, "General"),
            index["shortfall"]: EXCEL_FORMATS["pp" if unit == "pp" else "count"],
            index["n_units_evaluated"]: "#,##0", index["n_units_not_met"]: "#,##0",
        })
        if kind == total_text:
            totals.add(i)
    return part[cols].rename(columns=heads), formats, totals


def workbook_bytes(*, title, provenance, footer, summary, raw, sections, wide_table, lang) -> bytes:
    """The gap-table workbook as bytes (sheets: 汇总, 县市级, 乡镇级, 村级, 乡镇宽表).

    ``raw`` is :func:`coverage.outputs.display.gap_display_frame` with ``numbers="raw"`` of the
    gap rows and their 合计 rows, ``sections`` the section id of each of its rows.
    """

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    ws.title = _sheet_title(label("sheet_summary", lang), used)
    ncols = max(len(summary.columns), 1)
    ws.cell(row=1, column=1, value=safe_text(title)).font = Font(bold=True, size=14)
    warn_font = Font(bold=True, color="C00000")
    warn_fill = PatternFill("solid", fgColor="FFF2CC")
    ws.cell(row=2, column=1, value=label("provenance_statement", lang)).font = warn_font
    row = 3
    for line in provenance:
        cell = ws.cell(row=row, column=1, value=safe_text(line))
        cell.font, cell.fill = warn_font, warn_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        ws.row_dimensions[row].height = 16 * (1 + _text_width(line) // 150)
        row += 1
    _write_table(ws, summary, row + 1)
    _page_setup(ws, footer)

    sections = pd.Series(list(sections))
    for section, key in _LEVEL_SHEETS:
        table, formats, totals = _level_table(raw, sections, section, lang)
        sheet = wb.create_sheet(_sheet_title(label(key, lang), used))
        _write_table(sheet, table, 1, formats, bold_rows=totals)
        _page_setup(sheet, footer)
    sheet = wb.create_sheet(_sheet_title(label("sheet_wide", lang), used))
    _write_table(sheet, wide_table, 1, fills={
        label(k, lang): PatternFill("solid", fgColor=c) for k, c in _STATUS_FILLS.items()
    })
    _page_setup(sheet, footer)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
