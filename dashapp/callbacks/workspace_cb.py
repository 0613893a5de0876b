"""Workspace callbacks: drawer tabs and panels, counts, busy state, URL view, search, legend.

The layout-only ones (tabs, collapse, counts, busy indicator, mode class, address bar,
unsaved-edits flag) are clientside (``assets/covplan_workspace.js``): they need no data
from the server. Search and legend are thin server callbacks over :mod:`dashapp.workspace`.
"""

from __future__ import annotations

from typing import Any

from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, no_update

from dashapp import views_workspace, workspace
from dashapp.ids import Id
from dashapp.labels import normalise_lang
from dashapp.layout_drawer import TABS
from layers._errors import CovplanError


def _cs(name: str) -> ClientsideFunction:
    return ClientsideFunction(namespace="covplan", function_name=name)


clientside_callback(_cs("tabs"), [Output(tab, "style") for tab, _ in TABS], Input(Id.DRAWER_TABS, "value"))
clientside_callback(
    _cs("work"),
    Output(Id.WORK, "className"),
    Input(Id.DRAWER_TOGGLE, "n_clicks"),
    Input(Id.DETAILS_TOGGLE, "n_clicks"),
    Input(Id.STORE_SELECTION, "data"),
    State(Id.WORK, "className"),
    prevent_initial_call=True,
)
clientside_callback(
    _cs("counts"),
    Output(Id.LABELS_LAYER, "hideout"),
    Input(Id.FACILITIES_LAYER, "data"),
    Input(Id.EDITS_LAYER, "data"),
    State(Id.LABELS_LAYER, "data"),
)
clientside_callback(
    _cs("busy"),
    Output(Id.MAP_BUSY, "className"),
    Input(Id.YEAR, "value"),
    Input(Id.TARGET, "value"),
    Input(Id.COUNTY, "value"),
    Input(Id.STORE_SCENARIO, "data"),
    Input(Id.MAP_TIMING, "children"),
    Input(Id.EDITS_LAYER, "data"),
    prevent_initial_call=True,
)
clientside_callback(_cs("mode"), Output(Id.MAP_WRAP, "className"), Input(Id.SCENARIO_MODE, "value"))
clientside_callback(_cs("url"), Output(Id.URL_SINK, "children"), Input(Id.STORE_VIEW, "data"))
clientside_callback(
    _cs("dirty"),
    Output(Id.UNLOAD_SINK, "children"),
    Input(Id.STORE_SCENARIO, "data"),
    Input(Id.STORE_SAVED, "data"),
)


@callback(
    Output(Id.STORE_VIEW, "data"),
    Input(Id.TARGET, "value"),
    Input(Id.COUNTY, "value"),
    Input(Id.YEAR, "value"),
    Input(Id.BASEMAP, "value"),
    Input(Id.MAP, "zoom"),
    Input(Id.MAP, "center"),
    State(Id.STORE_LANG, "data"),
)
def view_query(target: Any, county: Any, year: Any, basemap: Any, zoom: Any, center: Any, lang: Any) -> str:
    """The URL query of the current view (the address bar follows it, clientside)."""
    return workspace.view_query(lang, target, county, year, basemap, zoom, center)


@callback(
    Output(Id.SEARCH, "options"),
    Input(Id.SEARCH, "search_value"),
    State(Id.SEARCH, "value"),
    State(Id.SEARCH, "options"),
    State(Id.YEAR, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def search_options(query: Any, value: Any, options: Any, year: Any, lang: Any) -> Any:
    """Places matching the typed text (prefix and partial matches of the name)."""
    if not query:
        return no_update
    try:
        found = workspace.search_options(query, year, normalise_lang(lang))
    except CovplanError:
        return no_update
    keep = [o for o in (options or []) if o.get("value") == value and value]
    return keep + [o for o in found if o["value"] != value]


@callback(
    Output(Id.MAP, "viewport", allow_duplicate=True),
    Output(Id.STORE_SELECTION, "data", allow_duplicate=True),
    Input(Id.SEARCH, "value"),
    State(Id.YEAR, "value"),
    prevent_initial_call=True,
)
def search_pick(value: Any, year: Any) -> tuple:
    """Fly to the chosen place and select it (its township; a facility also itself)."""
    try:
        picked = workspace.search_pick(value, year)
    except CovplanError:
        picked = None
    if picked is None:
        return no_update, no_update
    return picked


@callback(
    Output(Id.LEGEND, "children"),
    Input(Id.FACILITY_TYPES, "value"),
    Input(Id.TARGET, "value"),
    Input(Id.STORE_SCENARIO, "data"),
    Input(Id.STORE_PROPOSALS, "data"),
    State(Id.STORE_LANG, "data"),
)
def legend(types: Any, target: Any, scenario: Any, proposals: Any, lang: Any) -> Any:
    """The legend of the layers shown (statuses, symbols, badges, access layers, additions)."""
    lang = normalise_lang(lang)
    edits = (scenario or {}).get("edits", []) if isinstance(scenario, dict) else []
    has_added = any(isinstance(e, dict) and e.get("op") == "add_facility" for e in edits)
    entries = workspace.legend(types, target, has_added, bool(proposals), lang)
    return views_workspace.legend(entries, lang)


@callback(
    Output(Id.BASE_LAYER, "children", allow_duplicate=True),
    Output(Id.BASEMAP_NOTE, "children", allow_duplicate=True),
    Input(Id.BASEMAP_KEY, "value"),
    Input(Id.BASEMAP_XYZ, "value"),
    State(Id.BASEMAP, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def basemap_settings(key: Any, xyz: Any, basemap: Any, lang: Any) -> tuple:
    """A new 天地图 key or XYZ URL redraws the tiles of the chosen basemap (boundaries stay)."""
    from dashapp import basemaps

    lang = normalise_lang(lang)
    return basemaps.tiles(str(basemap or "none"), key, xyz), basemaps.note(str(basemap or "none"), key, xyz, lang)


@callback(
    Output(Id.SUMMARY_KPIS, "children"),
    Input(Id.SUMMARY_YEAR, "value"),
    Input(Id.STORE_SCENARIO, "data"),
    State(Id.STORE_LANG, "data"),
)
def summary_kpis(year: Any, scenario: Any, lang: Any) -> Any:
    """KPI cards of the summary page (scenario applied)."""
    from dashapp.state import ScenarioState

    lang = normalise_lang(lang)
    try:
        edits = list(ScenarioState.from_json(scenario).edits)
        return views_workspace.kpi_cards(workspace.summary_kpis(year, edits, lang))
    except CovplanError:
        return no_update


@callback(
    Output(Id.SUMMARY_GO, "href"),
    Input(Id.SUMMARY_COUNTY_CHART, "clickData"),
    Input(Id.SUMMARY_TABLE, "cellClicked"),
    State(Id.SUMMARY_TABLE, "rowData"),
    State(Id.SUMMARY_YEAR, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def summary_to_map(click: Any, cell: Any, rows: Any, year: Any, lang: Any) -> Any:
    """A click on a county bar opens the map filtered to that county; on a table row, the map
    of that target."""
    from dash import ctx

    row = None
    if ctx.triggered_id == Id.SUMMARY_TABLE and cell:
        idx = cell.get("rowIndex")
        row = rows[idx] if isinstance(idx, int) and rows and 0 <= idx < len(rows) else None
        click = None
    elif ctx.triggered_id != Id.SUMMARY_COUNTY_CHART:
        click = None
    link = workspace.map_link_from_summary(click, row, year, lang)
    return link if link else no_update
