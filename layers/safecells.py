"""Spreadsheet-formula neutralisation for every file a person opens in Excel/WPS (OWASP).

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR is run as a formula by
spreadsheet programs (CSV injection, and openpyxl writes such strings as live formulas).
:func:`safe_text` prefixes an apostrophe, so the text stays readable and is never evaluated;
numbers (also negative numbers written as text, ``-12.5``) stay as they are. Every writer of
an xlsx/csv/GeoJSON/GeoPackage (gap lists, scenario results, proposals) passes its text
cells through here; :func:`safe_sheet_title` does the same for sheet names.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "safe_frame", "safe_sheet_title", "safe_text"]

#: first characters that make a spreadsheet read a cell as a formula (OWASP)
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
_NUMBERISH = re.compile(r"^-?\d+(\.\d+)?$")


def safe_text(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _NUMBERISH.match(value):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name passed through :func:`safe_text`."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(safe_text)
    return out.rename(columns={c: safe_text(c) for c in out.columns if isinstance(c, str)})


def safe_sheet_title(name: str, used: set[str]) -> str:
    """A valid, unique (within ``used``) Excel sheet title that is never a formula."""
    clean = "".join("_" if ch in "[]:*?/\\'" else ch for ch in str(name)).strip()
    if clean.startswith(FORMULA_PREFIXES):
        clean = "_" + clean.lstrip("\t\r")
    clean = clean[:31] or "sheet"
    base, n = clean, 2
    while clean in used:
        clean = f"{base[:28]}_{n}"
        n += 1
    used.add(clean)
    return clean
