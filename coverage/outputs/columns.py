"""Column sets and header keys of the gap-list exports.

Shared by the writers (:mod:`coverage.outputs.export`, :mod:`coverage.outputs.export_xlsx`,
:mod:`coverage.outputs.report`); every header is a glossary key, so the Chinese and English
headers come from :mod:`layers.glossary`.
"""

from __future__ import annotations

from coverage.outputs.gap_summary import SUMMARY_COLUMNS
from coverage.outputs.gaps import GAP_COLUMNS

#: gap column → glossary key of its header
GAP_HEADERS: dict[str, str] = {c: c for c in GAP_COLUMNS} | {
    "section": "gap_section",
    "n_units_evaluated": "units_evaluated",
    "n_units_not_met": "units_not_met",
    "not_met_units": "not_met_unit_names",
}

#: summary column → glossary key of its header
SUMMARY_HEADERS: dict[str, str] = {c: c for c in SUMMARY_COLUMNS if c != "shortfall_is_max"} | {
    "n_units": "units_evaluated",
    "met": "units_met",
    "not_met": "units_not_met",
    "no_data": "units_no_data",
    "not_applicable": "units_not_applicable",
}

#: columns of a county's sheet in the workbook (the county and the section are implied by the
#: sheet; the CSV/GeoJSON/GeoPackage keep every column), what a county acts on first
TOWNSHIP_SHEET_COLUMNS: tuple[str, ...] = (
    "unit_code", "unit_name", "target_label", "evaluated_level", "n_units_evaluated", "n_units_not_met",
    "not_met_units", "required", "actual", "shortfall", "shortfall_unit", "action", "is_plan_level",
    "clause", "source_lines", "provenance", "status", "year", "target_id",
)
#: columns of the 县市级缺口 sheet
COUNTY_SHEET_COLUMNS: tuple[str, ...] = (
    "unit_code", "unit_name", "unit_level", "target_label", "required", "actual", "shortfall",
    "shortfall_unit", "action", "is_plan_level", "clause", "source_lines", "provenance", "status", "year",
    "target_id",
)

WIDE_FIXED: dict[str, str] = {
    "unit_code": "township_code",
    "unit_name": "township_name",
    "county_code": "county_code",
    "county_name": "county_name",
}
