"""The Excel (.xlsx) writer of the township gap list, used by :mod:`coverage.outputs.export`.

Sheet 汇总 first (summary per target under a prominent provenance statement), one sheet per
county with its township gap rows, a 县市级缺口 sheet and a 乡镇宽表 sheet. Chinese headers,
frozen header rows, autofilter, column widths fit for print, A4 landscape fit to one page
wide with the header row repeated, and the provenance repeated in the page footer.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from coverage.outputs.columns import COUNTY_SHEET_COLUMNS, GAP_HEADERS, TOWNSHIP_SHEET_COLUMNS
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
    clean = "".join("_" if ch in '[]:*?/\\' else ch for ch in name)[:31] or "sheet"
    base, n = clean, 2
    while clean in used:
        clean = f"{base[:28]}_{n}"
        n += 1
    used.add(clean)
    return clean


def _write_table(ws: Any, df: pd.DataFrame, row0: int, pct_rows: set[int] | None = None,
                 fills: dict[str, str] | None = None) -> None:
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
    pct_cols = {i for i, c in enumerate(columns) if c in (label("required"), label("actual"),
                                                           label("required", "en"), label("actual", "en"))}
    text_widths = [[_text_width(v) for v in df.iloc[:, j]] for j in range(len(columns))]
    widths = [max(6, min(max([min(_text_width(name), 16), *tw]) + 2, _WRAP_MAX))
              for name, tw in zip(columns, text_widths)]
    for j, name in enumerate(columns, start=1):
        cell = ws.cell(row=row0, column=j, value=str(name))
        cell.font, cell.fill, cell.alignment = head_font, head_fill, wrap
        ws.column_dimensions[get_column_letter(j)].width = widths[j - 1]
    for i, values in enumerate(df.itertuples(index=False, name=None)):
        for j, value in enumerate(values):
            v = None if value is None or (isinstance(value, float) and np.isnan(value)) else value
            cell = ws.cell(row=row0 + 1 + i, column=j + 1, value=v)
            if text_widths[j][i] > widths[j] - 2:
                cell.alignment = wrap
            if fills and isinstance(v, str) and v in fills:
                cell.fill = fills[v]
            if pct_rows and i in pct_rows and j in pct_cols and isinstance(v, (int, float)) \
                    and not isinstance(v, bool) and abs(v) <= 1.5:
                cell.number_format = "0.0%"
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


def workbook_bytes(*, title, provenance, footer, summary, gaps, gaps_table, wide_table,
                   counties, lang) -> bytes:
    """The gap-list workbook as bytes (sheets: 汇总, one per county, 县市级缺口, 乡镇宽表)."""

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    ws.title = _sheet_title(label("sheet_summary", lang), used)
    ncols = max(len(summary.columns), 1)
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    warn_font = Font(bold=True, color="C00000")
    warn_fill = PatternFill("solid", fgColor="FFF2CC")
    ws.cell(row=2, column=1, value=label("provenance_statement", lang)).font = warn_font
    row = 3
    for line in provenance:
        cell = ws.cell(row=row, column=1, value=line)
        cell.font, cell.fill = warn_font, warn_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        ws.row_dimensions[row].height = 16 * (1 + _text_width(line) // 150)
        row += 1
    _write_table(ws, summary, row + 1)
    _page_setup(ws, footer)

    sections = gaps["section"].reset_index(drop=True)
    county_codes = gaps["county_code"].astype(str).reset_index(drop=True)
    pp = set(np.flatnonzero(gaps["shortfall_unit"].astype(str).to_numpy() == "pp").tolist())
    heads = {c: label(k, lang) for c, k in GAP_HEADERS.items()}
    town_cols = [heads[c] for c in TOWNSHIP_SHEET_COLUMNS]
    town_names = {heads["unit_code"]: label("township_code", lang), heads["unit_name"]: label("township_name", lang)}
    for code, name in counties:
        mask = ((sections == "township") & (county_codes == code)).to_numpy()
        rows = np.flatnonzero(mask)
        sheet = wb.create_sheet(_sheet_title(name, used))
        table = gaps_table.iloc[rows][town_cols].rename(columns=town_names)
        _write_table(sheet, table, 1, {i for i, r in enumerate(rows) if r in pp})
        _page_setup(sheet, footer)
    rows = np.flatnonzero((sections == "county").to_numpy())
    sheet = wb.create_sheet(_sheet_title(label("sheet_county_level", lang), used))
    table = gaps_table.iloc[rows][[heads[c] for c in COUNTY_SHEET_COLUMNS]]
    _write_table(sheet, table, 1, {i for i, r in enumerate(rows) if r in pp})
    _page_setup(sheet, footer)
    sheet = wb.create_sheet(_sheet_title(label("sheet_wide", lang), used))
    _write_table(sheet, wide_table, 1, fills={
        label(k, lang): PatternFill("solid", fgColor=c) for k, c in _STATUS_FILLS.items()
    })
    _page_setup(sheet, footer)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
