"""The gap table as a person reads it: labels translated, numbers formatted, text made safe.

:func:`gap_display_frame` is what the app's gap table, its side panel and tooltips, the CSV,
GeoJSON and GeoPackage show (``numbers="text"``) and what the Excel writer writes
(``numbers="raw"``: real numbers, formatted by the cell's number format). Both come from the
same gap rows (:func:`coverage.outputs.model.township_gaps`) and the same formatter
(:mod:`coverage.outputs.formatting`), so a row reads the same on screen and in every file.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from coverage.outputs.formatting import (
    action_text, data_status_text, format_shortfall, format_value, is_missing, provenance_text, safe_text,
)
from layers.glossary import label

__all__ = ["DISPLAY_COLUMNS", "display_headers", "gap_display_frame", "level_label"]

#: columns a person sees, in order (ids; headers from :func:`display_headers`)
DISPLAY_COLUMNS: tuple[str, ...] = (
    "section", "unit_level", "unit_code", "unit_name", "county_code", "county_name", "township_code",
    "township_name", "target_id", "target_label", "row_kind", "n_units_evaluated", "n_units_not_met",
    "required", "actual", "shortfall", "shortfall_unit", "action", "status", "is_plan_level", "year",
    "clause", "source_lines", "provenance", "data_status",
)
_HEADER_KEYS: dict[str, str] = {c: c for c in DISPLAY_COLUMNS} | {
    "section": "gap_section",
    "unit_level": "evaluated_level",
    "n_units_evaluated": "units_evaluated",
    "n_units_not_met": "units_not_met",
}


def display_headers(lang: str = "zh") -> dict[str, str]:
    """Column id → header in ``lang``."""
    return {c: label(k, lang) for c, k in _HEADER_KEYS.items()}


def level_label(level: str, lang: str = "zh") -> str:
    return label(level, lang) if level else ""


def _text(value: Any) -> str:
    return "" if is_missing(value) else str(value)


def _row(rec: dict[str, Any], lang: str, text_numbers: bool) -> dict[str, Any]:
    fmt = str(rec.get("value_format") or "count")
    unit = str(rec.get("shortfall_unit") or "")
    out: dict[str, Any] = {}
    for col in DISPLAY_COLUMNS:
        v = rec.get(col)
        if col == "section":
            out[col] = label(f"gap_section_{v}", lang)
        elif col in ("unit_level", "status", "shortfall_unit"):
            out[col] = label(str(v), lang) if not is_missing(v) and v != "" else ""
        elif col == "row_kind":
            out[col] = label("total_row", lang) if v == "total" else ""
        elif col == "is_plan_level":
            out[col] = label("yes" if (v if not is_missing(v) else True) else "no", lang)
        elif col in ("required", "actual"):
            out[col] = format_value(v, fmt, lang) if text_numbers else (None if is_missing(v) else float(v))
        elif col == "shortfall":
            out[col] = format_shortfall(v, unit, lang) if text_numbers else (None if is_missing(v) else float(v))
        elif col in ("n_units_evaluated", "n_units_not_met"):
            out[col] = (format_value(v, "count", lang) if text_numbers else
                        (None if is_missing(v) else int(v)))
        elif col == "year":
            out[col] = "" if is_missing(v) else int(v)
        elif col == "action":
            out[col] = action_text(rec, lang, facility_type=rec.get("facility_type") or None,
                                   rule_action=_text(v) if lang == "zh" else "")
        elif col == "provenance":
            out[col] = provenance_text(v, str(rec.get("unit_level") or "township"), lang)
        elif col == "data_status":
            out[col] = data_status_text(v, rec.get("data_sources"), lang)
        else:
            out[col] = _text(v)
        out[col] = safe_text(out[col])
    return out


def gap_display_frame(gaps: pd.DataFrame, lang: str = "zh", *, numbers: str = "text",
                      labels: dict[str, str] | None = None) -> pd.DataFrame:
    """The gap rows (and 合计 rows) for display, columns :data:`DISPLAY_COLUMNS` (ids).

    ``numbers="text"`` formats ``required``/``actual``/``shortfall`` (80.6%, 11,511, 10.0);
    ``numbers="raw"`` keeps floats (the Excel writer applies ``0.0%``/``#,##0``), with the
    row's ``value_format`` in the extra column ``_format``. ``labels`` maps target ids to
    labels in ``lang``. Every text cell is passed through
    :func:`coverage.outputs.formatting.safe_text`.
    """
    if numbers not in ("text", "raw"):
        msg = f"numbers must be 'text' or 'raw', not {numbers!r}"
        raise ValueError(msg)
    recs = pd.DataFrame(gaps).drop(columns="geometry", errors="ignore").to_dict("records")
    rows = []
    for rec in recs:
        if labels:
            rec["target_label"] = labels.get(str(rec.get("target_id")), rec.get("target_label"))
        row = _row(rec, lang, numbers == "text")
        if numbers == "raw":
            row["_format"] = str(rec.get("value_format") or "count")
            row["_unit"] = str(rec.get("shortfall_unit") or "")
        rows.append(row)
    cols = list(DISPLAY_COLUMNS) + (["_format", "_unit"] if numbers == "raw" else [])
    return pd.DataFrame(rows, columns=cols)
