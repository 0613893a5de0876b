"""Write a scenario comparison (.xlsx or .csv) with Chinese headers and its provenance.

``.xlsx``: sheets 汇总 (scenario, year, provenance, then one row per target × level),
状态变化 (units whose status changed) and 缺口变化 (units whose shortfall changed); header
rows frozen. ``.csv``: every changed unit, UTF-8 with BOM, a provenance column on every
row (so the file stays one clean table for Excel and pandas).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from layers.safecells import safe_frame, safe_text
from layers.glossary import label
from scenarios._errors import ScenarioError

#: export column → glossary key of its Chinese header
UNIT_COLUMNS: dict[str, str] = {
    "target_id": "target_id",
    "unit_level": "unit_level",
    "unit_code": "unit_code",
    "unit_name": "unit_name",
    "county_name": "county_name",
    "change": "change",
    "status_before": "status_before",
    "status_after": "status_after",
    "required_before": "required_before",
    "required_after": "required_after",
    "actual_before": "actual_before",
    "actual_after": "actual_after",
    "shortfall_before": "shortfall_before",
    "shortfall_after": "shortfall_after",
    "shortfall_delta": "shortfall_delta",
    "shortfall_unit": "shortfall_unit",
    "clause": "clause",
    "provenance": "provenance",
}

SUMMARY_COLUMNS: dict[str, str] = {
    "target_id": "target_id",
    "unit_level": "unit_level",
    "n_units": "n_units",
    "met_before": "met_before",
    "met_after": "met_after",
    "not_met_before": "not_met_before",
    "not_met_after": "not_met_after",
    "newly_met": "flipped_to_met",
    "newly_not_met": "flipped_to_not_met",
    "shortfall_before": "shortfall_before",
    "shortfall_after": "shortfall_after",
    "shortfall_delta": "shortfall_delta",
    "shortfall_unit": "shortfall_unit",
}

_TRANSLATED = {"status_before", "status_after", "unit_level", "shortfall_unit", "change"}
_CHANGE_LABELS = {"not_met→met": "flipped_to_met", "met→not_met": "flipped_to_not_met",
                  "other": "status_changed_other"}


def _display(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Select, translate values (statuses, levels, units) and rename to Chinese headers."""
    out = pd.DataFrame(index=frame.index)
    for col, key in columns.items():
        values = frame[col] if col in frame.columns else pd.Series("", index=frame.index)
        if col in _TRANSLATED:
            if col == "change":
                values = values.map(lambda v: label(_CHANGE_LABELS.get(v, v)) if v else "")
            else:
                values = values.map(lambda v: label(str(v)) if isinstance(v, str) and v else v)
        out[label(key)] = values.to_numpy()
    return out.reset_index(drop=True)


def _meta_rows(diff: Any) -> list[tuple[str, Any]]:
    sc = diff.scenario
    rows = [
        (label("scenario_name"), sc.name),
        (label("description"), sc.description),
        (label("year"), diff.year),
        (label("scenario_file"), sc.source),
        (label("provenance"), diff.provenance),
    ]
    for tid, people in sorted(diff.people_newly_covered.items()):
        rows.append((f"{label('people_newly_covered')}（{tid}）", round(people)))
    return rows


def write_diff(diff: Any, path: Path) -> Path:
    """Write ``diff`` to ``path`` (``.xlsx`` or ``.csv``); return the path."""
    suffix = path.suffix.lower()
    if suffix not in {".xlsx", ".csv"}:
        raise ScenarioError(f"{path}: scenario results are written as .xlsx or .csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        table = _display(diff.changed, UNIT_COLUMNS)
        table.insert(0, label("scenario_name"), diff.scenario.name)
        table.insert(1, label("year"), diff.year)
        table[label("provenance")] = diff.provenance
        safe_frame(table).to_csv(path, index=False, encoding="utf-8-sig")
        return path
    summary = safe_frame(_display(diff.summary, SUMMARY_COLUMNS) if len(diff.summary) else pd.DataFrame(
        columns=[label(k) for k in SUMMARY_COLUMNS.values()]))
    flips = safe_frame(_display(diff.flips, UNIT_COLUMNS))
    shortfalls = safe_frame(_display(diff.shortfall_changes, UNIT_COLUMNS))
    meta = [tuple(safe_text(v) for v in row) for row in _meta_rows(diff)]
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        pd.DataFrame(meta, columns=["项目", "内容"]).to_excel(
            xw, sheet_name=label("sheet_summary"), index=False, startrow=0)
        start = len(meta) + 2
        summary.to_excel(xw, sheet_name=label("sheet_summary"), index=False, startrow=start)
        flips.to_excel(xw, sheet_name=label("sheet_flips"), index=False)
        shortfalls.to_excel(xw, sheet_name=label("sheet_shortfall_changes"), index=False)
        for name, frame, header_row in (
            (label("sheet_summary"), summary, start + 1),
            (label("sheet_flips"), flips, 1),
            (label("sheet_shortfall_changes"), shortfalls, 1),
        ):
            ws = xw.sheets[name]
            ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
            for i, col in enumerate(frame.columns, start=1):
                width = max([len(str(col)) * 2] + [len(str(v)) for v in frame[col].head(200)])
                ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(
                    max(10, width + 2), 60)
        wsum = xw.sheets[label("sheet_summary")]
        wsum.column_dimensions["B"].width = 60
    return path
