"""Downloads: gap list (.xlsx/.csv/.geojson as ``covplan gaps`` writes them), static map."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, ctx, dcc, no_update

from dashapp import views, exports
from dashapp.ids import Id
from dashapp.labels import normalise_lang
from dashapp.state import ScenarioState
from layers._errors import CovplanError

_FMT = {Id.EXPORT_XLSX: "xlsx", Id.EXPORT_CSV: "csv", Id.EXPORT_GEOJSON: "geojson"}


@callback(
    Output(Id.DOWNLOAD, "data"),
    Output(Id.MAP_TIMING, "children", allow_duplicate=True),
    Input(Id.EXPORT_XLSX, "n_clicks"),
    Input(Id.EXPORT_CSV, "n_clicks"),
    Input(Id.EXPORT_GEOJSON, "n_clicks"),
    State(Id.TARGET, "value"),
    State(Id.COUNTY, "value"),
    State(Id.YEAR, "value"),
    State(Id.EXPORT_ALL_TARGETS, "value"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def download_gaps(_x: Any, _c: Any, _g: Any, target_id: str, county: str, year: Any, all_targets: list | None,
                  scenario: Any, lang: str) -> tuple:
    """The gap list of the current view in the clicked format."""
    fmt = _FMT.get(ctx.triggered_id)
    if fmt is None or not (_x or _c or _g):
        return no_update, no_update
    try:
        edits = list(ScenarioState.from_json(scenario).edits)
        data, name = exports.gap_file(fmt, year, county or None, None if all_targets else target_id, edits,
                                      normalise_lang(lang))
    except CovplanError as exc:
        return no_update, views.error_text(exc, normalise_lang(lang))
    return dcc.send_bytes(data, name, type=exports.mime_type(fmt)), no_update


@callback(
    Output(Id.DOWNLOAD, "data", allow_duplicate=True),
    Input(Id.EXPORT_HTML, "n_clicks"),
    State(Id.TARGET, "value"),
    State(Id.COUNTY, "value"),
    State(Id.YEAR, "value"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.MAP, "bounds"),
    State(Id.FACILITY_TYPES, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def download_static_map(_n: Any, target_id: str, county: str, year: Any, scenario: Any, bounds: Any,
                        types: list | None, lang: str) -> Any:
    """A standalone HTML map (folium) of the current view."""
    if not _n:
        return no_update
    try:
        edits = list(ScenarioState.from_json(scenario).edits)
        text = exports.static_map_html(target_id, year, county or None, edits, bounds, types or [],
                                       normalise_lang(lang))
    except CovplanError:
        return no_update
    return dcc.send_string(text, f"covplan_map_{target_id}.html", type="text/html")
