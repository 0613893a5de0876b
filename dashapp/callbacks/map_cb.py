"""Map callbacks: restyle townships by status, facility layers, basemap, target defaults."""

from __future__ import annotations

from typing import Any

from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, no_update

from dashapp import queries, views
from dashapp.ids import Id
from dashapp.labels import normalise_lang, t
from dashapp.state import ScenarioState, Selection
from layers._errors import CovplanError


@callback(
    Output(Id.TOWNSHIPS_LAYER, "hideout"),
    Output(Id.COUNTIES_LAYER, "hideout"),
    Output(Id.STATUS_COUNTS, "children"),
    Output(Id.GAP_TABLE, "rowData"),
    Output(Id.MAP_TIMING, "children"),
    Input(Id.TARGET, "value"),
    Input(Id.COUNTY, "value"),
    Input(Id.YEAR, "value"),
    Input(Id.STORE_SCENARIO, "data"),
    State(Id.STORE_SELECTION, "data"),  # a new selection only moves the outline (clientside, below)
    Input(Id.BASEMAP, "value"),
    State(Id.STORE_LANG, "data"),
)
def update_target_view(target_id: str, county: str, year: Any, scenario: Any, selection: Any,
                       basemap: str, lang: str) -> tuple:
    """Unit colours at the target's own level, status counts, gap rows and point layers."""
    lang = normalise_lang(lang)
    try:
        edits = list(ScenarioState.from_json(scenario).edits)
        view = queries.target_view(target_id, county or None, year, edits,
                                   Selection.from_json(selection).township_code, basemap, lang)
    except CovplanError as exc:
        return (no_update, no_update, views.message(views.error_text(exc, lang), ok=False), no_update, "")
    timing = f"{t('server_time_ms', lang)}: {view.server_ms:.0f}"
    return (view.hideout, view.county_hideout, views.level_summary(view, lang), view.gap_rows, timing)


# a selection outlines its township in the browser: no evaluation, no gap rows resent, and the
# details panel (which waits for the map's response when one is pending) starts at once
clientside_callback(
    """function (sel, hideout) {
        var h = Object.assign({}, hideout || {});
        h.selected = (sel && sel.township_code) || "";
        return h;
    }""",
    Output(Id.TOWNSHIPS_LAYER, "hideout", allow_duplicate=True),
    Input(Id.STORE_SELECTION, "data"),
    State(Id.TOWNSHIPS_LAYER, "hideout"),
    prevent_initial_call=True,
)


@callback(
    Output(Id.PACK_AREAS, "data"),
    Output(Id.PACK_UNCOVERED, "data"),
    Input(Id.TARGET, "value"),
    Input(Id.COUNTY, "value"),
    Input(Id.YEAR, "value"),
    Input(Id.STORE_SCENARIO, "data"),
    Input(Id.BASEMAP, "value"),
    State(Id.STORE_LANG, "data"),
)
def update_point_layers(target_id: str, county: str, year: Any, scenario: Any, basemap: str, lang: str) -> tuple:
    """Service areas and uncovered people (access targets) or villages by status (village
    targets), packed, in a response of their own (the colours never wait for them)."""
    try:
        edits = list(ScenarioState.from_json(scenario).edits)
        return queries.point_layers(target_id, county or None, year, edits, basemap, normalise_lang(lang))
    except CovplanError:
        return no_update, no_update


@callback(
    Output(Id.PACK_FACILITIES, "data"),
    Output(Id.EDITS_LAYER, "data"),
    Output(Id.STORE_FACILITY_KEY, "data"),
    Input(Id.FACILITY_TYPES, "value"),
    Input(Id.YEAR, "value"),
    Input(Id.STORE_SCENARIO, "data"),
    Input(Id.BASEMAP, "value"),
    State(Id.STORE_FACILITY_KEY, "data"),
    State(Id.STORE_LANG, "data"),
)
def update_facilities(types: list[str] | None, year: Any, scenario: Any, basemap: str, shown_key: Any,
                      lang: str) -> tuple:
    """Facility markers of the chosen types (base or scenario); the legend is
    ``workspace_cb.legend``.

    The (large) base layer is resent, packed (:mod:`dashapp.geopack`), only when what it shows
    changes: a click that adds a facility updates the small layer of scenario additions alone.
    """
    lang = normalise_lang(lang)
    try:
        edits = list(ScenarioState.from_json(scenario).edits)
        key = queries.facility_layer_key(types or [], year, edits, basemap, lang)
        base, added = queries.facility_layers(types or [], year, edits, basemap, lang)
    except CovplanError:
        return no_update, no_update, no_update
    if key == shown_key:
        return no_update, added, no_update
    return queries.packed(base), added, key


for _pack, _layer in ((Id.PACK_TOWNSHIPS, Id.TOWNSHIPS_LAYER), (Id.PACK_COUNTIES, Id.COUNTIES_LAYER),
                      (Id.PACK_FACILITIES, Id.FACILITIES_LAYER), (Id.PACK_AREAS, Id.SERVICE_AREAS_LAYER),
                      (Id.PACK_UNCOVERED, Id.UNCOVERED_LAYER)):  # unpacked in the browser
    clientside_callback(ClientsideFunction(namespace="covplan_pack", function_name="unpack"),
                        Output(_layer, "data"), Input(_pack, "data"))


@callback(
    Output(Id.BASE_LAYER, "children"),
    Output(Id.PACK_TOWNSHIPS, "data"),
    Output(Id.PACK_COUNTIES, "data"),
    Output(Id.BASEMAP_NOTE, "children"),
    Input(Id.BASEMAP, "value"),
    State(Id.STORE_LANG, "data"),
    State(Id.BASEMAP_KEY, "value"),
    State(Id.BASEMAP_XYZ, "value"),
    prevent_initial_call=True,
)
def change_basemap(basemap: str, lang: str, key: str | None = None, xyz: str | None = None) -> tuple:
    """Tiles of the basemap (the browser's 天地图 key or XYZ URL, see :mod:`dashapp.basemaps`);
    boundaries resent only when the datum changes (高德 = GCJ-02)."""
    from dashapp import basemaps

    lang = normalise_lang(lang)
    basemap = basemap if basemap in queries.BASEMAPS else "none"
    return (basemaps.tiles(basemap, key, xyz), queries.packed(queries.township_data(basemap)),
            queries.packed(queries.county_data(basemap)), basemaps.note(basemap, key, xyz, lang))


@callback(
    Output(Id.FACILITY_TYPES, "value"),
    Output(Id.TARGET_CLAUSE, "children"),
    Input(Id.TARGET, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def choose_target(target_id: str, lang: str) -> tuple:
    """Show the facility types the chosen target counts, and its clause."""
    lang = normalise_lang(lang)
    try:
        return queries.default_facility_types(target_id), queries.target_clause_text(target_id, lang)
    except CovplanError as exc:
        return no_update, views.error_text(exc, lang)


@callback(
    Output(Id.MAP, "viewport"),
    Output(Id.STORE_SELECTION, "data", allow_duplicate=True),
    Output(Id.VILLAGE_MARK_LAYER, "data"),
    Input(Id.GAP_TABLE, "cellClicked"),
    State(Id.GAP_TABLE, "rowData"),
    prevent_initial_call=True,
)
def zoom_to_gap_row(cell: dict | None, rows: list[dict] | None) -> tuple:
    """A click on a gap-table row zooms the map to that unit and selects its township; a
    village row flies to the village and rings its point (the village view)."""
    from dashapp import village_view

    row = queries.find_row(rows or [], (cell or {}).get("rowId"))
    if row is None or not row.get("bounds"):
        return no_update, no_update, no_update
    selection = Selection(township_code=row.get("township_id") or None).to_json()
    code = str(row.get("row_id", "")).rsplit("|", 1)[-1]
    focus = village_view.village_focus(code) if row.get("level") == "village" else None
    if focus is not None:
        return focus[0], selection, focus[1]
    return ({"bounds": row["bounds"], "transition": "flyToBounds", "options": {"padding": [30, 30]}},
            selection, village_view.empty_mark())


@callback(
    Output(Id.STORE_SELECTION, "data", allow_duplicate=True),
    Input(Id.TOWNSHIPS_LAYER, "clickData"),
    State(Id.SCENARIO_MODE, "value"),
    prevent_initial_call=True,
)
def click_township(feature: dict | None, mode: str | None = None) -> Any:
    """A click on a township selects it (the side panel shows it); in "add" mode the click
    adds a facility instead and the selection stays."""
    code = ((feature or {}).get("properties") or {}).get("code")
    if not code or mode == "add":
        return no_update
    return Selection(township_code=str(code)).to_json()


@callback(
    Output(Id.STORE_SELECTION, "data", allow_duplicate=True),
    Input(Id.FACILITIES_LAYER, "clickData"),
    Input(Id.EDITS_LAYER, "clickData"),
    prevent_initial_call=True,
)
def click_facility(feature: dict | None, added: dict | None) -> Any:
    """A click on a facility marker selects it (clusters are ignored)."""
    from dash import ctx

    chosen = added if ctx.triggered_id == Id.EDITS_LAYER else feature
    props = (chosen or {}).get("properties") or {}
    if props.get("cluster") or not props.get("facility_id"):
        return no_update
    return Selection(township_code=props.get("township_code"), facility_id=str(props["facility_id"])).to_json()


@callback(
    Output(Id.MAP, "viewport", allow_duplicate=True),
    Input(Id.COUNTY, "value"),
    prevent_initial_call=True,
)
def zoom_to_county(county: str | None) -> Any:
    """Choosing a county zooms the map to it (the whole city for 全市)."""
    bounds = queries.county_bounds(county or None)
    if bounds is None:
        return no_update
    return {"bounds": bounds, "transition": "flyToBounds", "options": {"padding": [20, 20]}}
