"""The map page (``/``): target chooser, map, side panel, gap table, scenario tools."""

from __future__ import annotations

from typing import Any

import dash
import dash_ag_grid as dag
import dash_leaflet as dl
from dash import dcc, html

from dashapp import queries
from dashapp.ids import Id
from dashapp.labels import normalise_lang, t
from dashapp.views import header

dash.register_page(__name__, path="/", title="丽水市设施覆盖规划图", name="map")

#: the map's initial view (Lishui), lat/lon degrees
CENTER = [28.15, 119.6]
ZOOM = 9


def _controls(lang: str, view: dict[str, Any]) -> html.Div:
    return html.Div(
        [
            html.Label(t("choose_target", lang), htmlFor=Id.TARGET),
            dcc.Dropdown(
                id=Id.TARGET,
                options=queries.target_options(lang),
                value=view["target"],
                clearable=False,
                optionHeight=48,
                maxHeight=420,
            ),
            html.Div(queries.target_clause_text(view["target"], lang), id=Id.TARGET_CLAUSE, className="cp-clause"),
            html.Label(t("county", lang), htmlFor=Id.COUNTY),
            dcc.Dropdown(id=Id.COUNTY, options=queries.county_options(lang), value=view["county"] or "",
                         clearable=False),
            html.Label(t("year", lang), htmlFor=Id.YEAR),
            dcc.Dropdown(id=Id.YEAR, options=queries.year_options(), value=view["year"], clearable=False),
            html.Label(t("basemap", lang)),
            dcc.RadioItems(id=Id.BASEMAP, options=queries.basemap_options(lang), value=view["basemap"]),
            html.Div(queries.basemap_note(view["basemap"], lang), id=Id.BASEMAP_NOTE, className="cp-note"),
            html.Label(t("facility_types_shown", lang)),
            dcc.Dropdown(
                id=Id.FACILITY_TYPES,
                options=queries.facility_type_options(lang),
                value=queries.default_facility_types(view["target"]),
                multi=True,
            ),
            html.Div(id=Id.LEGEND),
        ],
        className="cp-controls",
    )


def _scenario_tools(lang: str) -> html.Div:
    return html.Div(
        [
            html.H3(t("scenario_mode", lang)),
            dcc.RadioItems(
                id=Id.SCENARIO_MODE,
                options=[{"label": t(k, lang), "value": v} for k, v in
                         (("mode_view", "view"), ("mode_add", "add"), ("mode_edit", "edit"))],
                value="view",
                labelStyle={"display": "block"},
            ),
            html.Label(t("facility_type", lang), htmlFor=Id.ADD_TYPE),
            dcc.Dropdown(id=Id.ADD_TYPE, options=queries.facility_type_options(lang), value="child_home",
                         clearable=False),
            html.Label(t("tier", lang), htmlFor=Id.ADD_TIER),
            dcc.Dropdown(id=Id.ADD_TIER, options=queries.tier_options(lang), value="demonstration",
                         clearable=False),
            html.Label(t("capacity", lang), htmlFor=Id.ADD_CAPACITY),
            dcc.Input(id=Id.ADD_CAPACITY, type="number", min=0, step=1, value=30, debounce=True),
            html.Label(t("name", lang), htmlFor=Id.ADD_NAME),
            dcc.Input(id=Id.ADD_NAME, type="text", maxLength=100, value="", debounce=True),
            html.Div(
                [
                    html.Button(t("close_facility", lang), id=Id.CLOSE_FACILITY, disabled=True),
                    html.Button(t("upgrade_facility", lang), id=Id.UPGRADE_FACILITY, disabled=True),
                    html.Button(t("undo_edit", lang), id=Id.UNDO_EDIT),
                    html.Button(t("clear_edits", lang), id=Id.CLEAR_EDITS),
                ],
                className="cp-buttons",
            ),
            html.H4(t("scenario_edits", lang)),
            html.Div(id=Id.EDIT_LIST),
            html.H4(t("diff_vs_base", lang)),
            dcc.Loading(html.Div(id=Id.DIFF_VIEW)),
            html.Label(t("scenario_name", lang), htmlFor=Id.SCENARIO_NAME),
            dcc.Input(id=Id.SCENARIO_NAME, type="text", maxLength=64, value=""),
            html.Button(t("save_scenario", lang), id=Id.SAVE_SCENARIO),
            html.Label(t("saved_scenarios", lang), htmlFor=Id.SAVED_SCENARIOS),
            dcc.Dropdown(id=Id.SAVED_SCENARIOS, options=queries.saved_options()),
            html.Button(t("open_scenario", lang), id=Id.OPEN_SCENARIO),
            dcc.Upload(
                html.Button(t("upload_scenario", lang)),
                id=Id.UPLOAD_SCENARIO,
                accept=".toml",
                max_size=queries.MAX_UPLOAD_BYTES,
                multiple=False,
            ),
            html.Div(id=Id.SCENARIO_MESSAGE),
            html.H4(t("siting", lang)),
            html.Button(t("propose_sites", lang), id=Id.PROPOSE_SITES),
            dcc.Loading(
                dag.AgGrid(
                    id=Id.PROPOSAL_TABLE,
                    rowData=[],
                    columnDefs=queries.proposal_columns(lang),
                    getRowId="params.data.action_id",
                    dashGridOptions={"rowSelection": {"mode": "multiRow", "checkboxes": True}},
                    style={"width": "100%", "height": "240px"},
                )
            ),
            html.Button(t("accept_proposals", lang), id=Id.ACCEPT_PROPOSALS),
            html.H4(t("upload_inventory", lang)),
            dcc.Upload(
                html.Button(t("upload_inventory", lang)),
                id=Id.UPLOAD_INVENTORY,
                accept=".xlsx,.csv",
                max_size=queries.MAX_UPLOAD_BYTES,
                multiple=False,
            ),
            html.Div(id=Id.UPLOAD_MESSAGE),
        ],
        className="cp-scenario",
    )


def _map(lang: str, view: dict[str, Any]) -> html.Div:
    basemap = view["basemap"]
    return html.Div(
        [
            dl.MapContainer(
                id=Id.MAP,
                center=CENTER,
                zoom=ZOOM,
                style={"height": "640px"},
                className="cp-map",
                children=[
                    dl.LayerGroup(id=Id.BASE_LAYER, children=queries.basemap_tiles(basemap)),
                    dl.LayersControl(
                        id=Id.MAP_LAYERS,
                        position="topright",
                        collapsed=False,
                        children=[
                            dl.Overlay(
                                dl.GeoJSON(
                                    id=Id.TOWNSHIPS_LAYER,
                                    data=queries.township_data(basemap),
                                    style={"variable": "covplanMap.townshipStyle"},
                                    onEachFeature={"variable": "covplanMap.townshipEach"},
                                    hideout=queries.empty_hideout(),
                                    zoomToBoundsOnClick=False,
                                ),
                                name=t("layer_townships", lang),
                                checked=True,
                            ),
                            dl.Overlay(
                                dl.GeoJSON(
                                    id=Id.COUNTIES_LAYER,
                                    data=queries.county_data(basemap),
                                    style={"variable": "covplanMap.countyStyle"},
                                    interactive=False,
                                    pane="shadowPane",
                                ),
                                name=t("layer_counties", lang),
                                checked=True,
                            ),
                            dl.Overlay(
                                dl.GeoJSON(
                                    id=Id.SERVICE_AREAS_LAYER,
                                    data=queries.EMPTY_FC,
                                    style={"variable": "covplanMap.serviceAreaStyle"},
                                    onEachFeature={"variable": "covplanMap.labelEach"},
                                ),
                                name=t("layer_service_areas", lang),
                                checked=True,
                            ),
                            dl.Overlay(
                                dl.GeoJSON(
                                    id=Id.UNCOVERED_LAYER,
                                    data=queries.EMPTY_FC,
                                    pointToLayer={"variable": "covplanMap.uncoveredPoint"},
                                    onEachFeature={"variable": "covplanMap.labelEach"},
                                ),
                                name=t("layer_uncovered", lang),
                                checked=True,
                            ),
                            dl.Overlay(
                                dl.GeoJSON(
                                    id=Id.FACILITIES_LAYER,
                                    data=queries.EMPTY_FC,
                                    cluster=True,
                                    superClusterOptions={"radius": 50, "maxZoom": 11},
                                    pointToLayer={"variable": "covplanMap.facilityPoint"},
                                    onEachFeature={"variable": "covplanMap.facilityEach"},
                                    zoomToBoundsOnClick=True,
                                ),
                                name=t("layer_facilities", lang),
                                checked=True,
                            ),
                            dl.Overlay(
                                dl.GeoJSON(
                                    id=Id.EDITS_LAYER,
                                    data=queries.EMPTY_FC,
                                    pointToLayer={"variable": "covplanMap.facilityPoint"},
                                    onEachFeature={"variable": "covplanMap.facilityEach"},
                                ),
                                name=t("layer_edits", lang),
                                checked=True,
                            ),
                            dl.Overlay(
                                dl.GeoJSON(
                                    id=Id.PROPOSALS_LAYER,
                                    data=queries.EMPTY_FC,
                                    pointToLayer={"variable": "covplanMap.proposalPoint"},
                                    onEachFeature={"variable": "covplanMap.labelEach"},
                                ),
                                name=t("layer_proposals", lang),
                                checked=True,
                            ),
                        ],
                    ),
                    dl.ScaleControl(position="bottomleft", imperial=False),
                ],
            ),
            html.Div(id=Id.STATUS_COUNTS),
            html.Div(id=Id.MAP_TIMING, className="cp-note"),
        ]
    )


def _gap_table(lang: str) -> html.Div:
    return html.Div(
        [
            html.H3(t("gap_table", lang)),
            html.Div(
                [
                    html.Button(t("export_xlsx", lang), id=Id.EXPORT_XLSX),
                    html.Button(t("export_csv", lang), id=Id.EXPORT_CSV),
                    html.Button(t("export_geojson", lang), id=Id.EXPORT_GEOJSON),
                    html.Button(t("export_html", lang), id=Id.EXPORT_HTML),
                    dcc.Checklist(
                        id=Id.EXPORT_ALL_TARGETS,
                        options=[{"label": t("export_all_targets", lang), "value": "all"}],
                        value=[],
                        inline=True,
                    ),
                    dcc.Download(id=Id.DOWNLOAD),
                ],
                className="cp-buttons",
            ),
            dag.AgGrid(
                id=Id.GAP_TABLE,
                rowData=[],
                columnDefs=queries.gap_columns(lang),
                getRowId="params.data.row_id",
                defaultColDef={"filter": True, "sortable": True, "resizable": True, "floatingFilter": True},
                dashGridOptions={"pagination": True, "paginationPageSize": 20},
                style={"height": "460px", "width": "100%"},
            ),
        ],
        className="cp-section",
    )


def layout(lang: str | None = None, target: str | None = None, county: str | None = None,
           year: str | None = None, basemap: str | None = None, **_: Any) -> html.Div:
    """The map page; the URL query (``?lang=en&target=…``) sets the initial view."""
    lang = normalise_lang(lang)
    view = queries.initial_view(target, county, year, basemap)
    query = {"lang": lang, "target": view["target"], "county": view["county"], "year": view["year"],
             "basemap": view["basemap"]}
    return html.Div(
        [
            header(lang, "/", query, queries.layer_provenance()),
            dcc.Store(id=Id.STORE_LANG, data=lang),
            dcc.Store(id=Id.STORE_FACILITY_KEY, storage_type="memory"),
            html.Div(
                [
                    html.Div([_controls(lang, view), _scenario_tools(lang)]),
                    _map(lang, view),
                    html.Div(
                        [html.Div(t("click_township_hint", lang), className="cp-note")],
                        id=Id.SIDE_PANEL,
                        className="cp-side",
                    ),
                ],
                className="cp-main",
            ),
            _gap_table(lang),
        ]
    )
