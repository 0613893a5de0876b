"""Outputs: the gap list model and everything written from it.

This subpackage owns what a planner sends on: :mod:`~coverage.outputs.model` turns an
evaluation into the gap table (the one gap model; :mod:`~coverage.outputs.formatting` formats it), :mod:`~coverage.outputs.gap_summary`
summarises it per target, :mod:`~coverage.outputs.columns` names the exported columns and
their glossary headers, :mod:`~coverage.outputs.export` writes xlsx/csv/geojson/gpkg (the
workbook layout in :mod:`~coverage.outputs.export_xlsx`), and :mod:`~coverage.outputs.report`
writes the static HTML report. A new export format is a writer here, fed by the gap model.
"""

from coverage.outputs.export import (
    FORMATS, ExportError, display_gaps, display_summary, display_wide, export_bytes, metadata_table,
    provenance_lines, provenance_statement, write_gap_list,
)
from coverage.outputs.gap_summary import summary_table
from coverage.outputs.gaps import (
    ADDITIVE_UNITS, GAP_COLUMNS, SelectionError, gaps_wide, resolve_county, resolve_targets, result_units,
    target_labels,
)
from coverage.outputs.model import county_totals, gap_table, township_gaps
from coverage.outputs.report import STATUS_COLOURS, render_report, trend_summary, write_report

__all__ = [
    "ADDITIVE_UNITS", "FORMATS", "GAP_COLUMNS", "STATUS_COLOURS", "ExportError", "SelectionError",
    "county_totals", "display_gaps", "display_summary", "display_wide", "export_bytes", "gap_table", "gaps_wide", "metadata_table",
    "provenance_lines", "provenance_statement", "render_report", "resolve_county", "resolve_targets",
    "result_units", "summary_table", "target_labels", "township_gaps", "trend_summary", "write_gap_list",
    "write_report",
]
