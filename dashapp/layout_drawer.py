"""The tool drawer (tabs 目标, 情景, 选址, 导入/导出) and the details panel of the workspace.

Layout only. Every tab's content stays in the page (hidden, not unmounted) so callbacks
that read a control of another tab always find it; the tab switch and the collapse of the
drawer and of the details panel are clientside (``assets/covplan_workspace.js``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import dash_ag_grid as dag
from dash import dcc, html

from dashapp import basemaps, queries, views_access, views_inventory
from dashapp.grid_locale import grid_options
from dashapp.ids import Id
from dashapp.labels import t

#: (tab id, glossary key) in drawer order
TABS: tuple[tuple[str, str], ...] = (
    (Id.TAB_TARGET, "tab_target"),
    (Id.TAB_SCENARIO, "tab_scenario"),
    (Id.TAB_SITING, "tab_siting"),
    (Id.TAB_IO, "tab_io"),
)


def _target_tab(lang: str, view: dict[str, Any]) -> list[Any]:
    return [
        html.Label(t("choose_target", lang), htmlFor=Id.TARGET),
        dcc.Dropdown(id=Id.TARGET, options=queries.target_options(lang), value=view["target"],
                     clearable=False, optionHeight=48, maxHeight=420),
        html.Div(queries.target_clause_text(view["target"], lang), id=Id.TARGET_CLAUSE, className="cp-clause"),
        html.Div(
            [
                html.Div([html.Label(t("county", lang), htmlFor=Id.COUNTY),
                          dcc.Dropdown(id=Id.COUNTY, options=queries.county_options(lang),
                                       value=view["county"] or "", clearable=False)], className="cp-col"),
                html.Div([html.Label(t("year", lang), htmlFor=Id.YEAR),
                          dcc.Dropdown(id=Id.YEAR, options=queries.year_options(), value=view["year"],
                                       clearable=False)], className="cp-col cp-col-narrow"),
            ],
            className="cp-row",
        ),
        html.Label(t("facility_types_shown", lang)),
        dcc.Dropdown(id=Id.FACILITY_TYPES, options=queries.facility_type_options(lang),
                     value=queries.default_facility_types(view["target"]), multi=True),
        html.Label(t("basemap", lang)),
        dcc.RadioItems(id=Id.BASEMAP, options=basemaps.options(lang), value=view["basemap"], inline=True),
        html.Details(
            [
                html.Summary(t("basemap_settings", lang)),
                html.Label(t("basemap_tianditu_key", lang), htmlFor=Id.BASEMAP_KEY),
                dcc.Input(id=Id.BASEMAP_KEY, type="password", maxLength=64, value="", debounce=True,
                          persistence=True, persistence_type="local", autoComplete="off"),
                html.Label(t("basemap_xyz_url", lang), htmlFor=Id.BASEMAP_XYZ),
                dcc.Input(id=Id.BASEMAP_XYZ, type="text", maxLength=300, value="", debounce=True,
                          persistence=True, persistence_type="local",
                          placeholder="http://tiles.example.gov.cn/{z}/{x}/{y}.png"),
                html.Div(t("basemap_stored_locally", lang), className="cp-note"),
            ],
            className="cp-basemap-settings",
        ),
        html.Div(basemaps.note(view["basemap"], "", "", lang), id=Id.BASEMAP_NOTE, className="cp-note"),
        *views_access.drawer_controls(lang),
    ]


def _scenario_tab(lang: str) -> list[Any]:
    return [
        dcc.RadioItems(
            id=Id.SCENARIO_MODE,
            options=[{"label": t(k, lang), "value": v} for k, v in
                     (("mode_view", "view"), ("mode_add", "add"), ("mode_edit", "edit"))],
            value="view",
            labelStyle={"display": "block"},
        ),
        html.Div(
            [
                html.Div([html.Label(t("facility_type", lang), htmlFor=Id.ADD_TYPE),
                          dcc.Dropdown(id=Id.ADD_TYPE, options=queries.facility_type_options(lang),
                                       value="child_home", clearable=False)], className="cp-col"),
                html.Div([html.Label(t("tier", lang), htmlFor=Id.ADD_TIER),
                          dcc.Dropdown(id=Id.ADD_TIER, options=queries.tier_options(lang), value="demonstration",
                                       clearable=False)], className="cp-col cp-col-narrow"),
            ],
            className="cp-row",
        ),
        html.Div(
            [
                html.Div([html.Label(t("name", lang), htmlFor=Id.ADD_NAME),
                          dcc.Input(id=Id.ADD_NAME, type="text", maxLength=100, value="", debounce=True)],
                         className="cp-col"),
                html.Div([html.Label(t("capacity", lang), htmlFor=Id.ADD_CAPACITY),
                          dcc.Input(id=Id.ADD_CAPACITY, type="number", min=0, step=1, value=30, debounce=True)],
                         className="cp-col cp-col-narrow"),
            ],
            className="cp-row",
        ),
        html.Div(
            [
                html.Button(t("close_facility", lang), id=Id.CLOSE_FACILITY, disabled=True),
                html.Button(t("upgrade_facility", lang), id=Id.UPGRADE_FACILITY, disabled=True),
                html.Button(t("undo_edit", lang), id=Id.UNDO_EDIT),
                html.Button(t("clear_edits", lang), id=Id.CLEAR_EDITS),
            ],
            className="cp-buttons",
        ),
        html.Div(id=Id.SCENARIO_MESSAGE),
        html.H4(t("scenario_edits", lang)),
        html.Div(id=Id.EDIT_LIST),
        html.H4(t("diff_vs_base", lang)),
        dcc.Loading(html.Div(id=Id.DIFF_VIEW), delay_show=300),
        html.H4(t("save_scenario", lang)),
        html.Label(t("scenario_name", lang), htmlFor=Id.SCENARIO_NAME),
        dcc.Input(id=Id.SCENARIO_NAME, type="text", maxLength=64, value=""),
        html.Div([html.Button(t("save_scenario", lang), id=Id.SAVE_SCENARIO)], className="cp-buttons"),
        html.Label(t("saved_scenarios", lang), htmlFor=Id.SAVED_SCENARIOS),
        dcc.Dropdown(id=Id.SAVED_SCENARIOS, options=queries.saved_options()),
        html.Div([html.Button(t("open_scenario", lang), id=Id.OPEN_SCENARIO)], className="cp-buttons"),
        dcc.Upload(html.Button(t("upload_scenario", lang)), id=Id.UPLOAD_SCENARIO, accept=".toml",
                   max_size=-1, multiple=False),  # no silent drop: the server answers (#14)
        html.Div([html.Button(t("download_scenario", lang), id=Id.DOWNLOAD_SCENARIO)], className="cp-buttons"),
        dcc.Download(id=Id.SCENARIO_DOWNLOAD),
    ]


def _siting_tab(lang: str) -> list[Any]:
    return [
        html.Div([html.Button(t("propose_sites", lang), id=Id.PROPOSE_SITES)], className="cp-buttons"),
        dcc.Loading(
            dag.AgGrid(
                id=Id.PROPOSAL_TABLE,
                rowData=[],
                columnDefs=queries.proposal_columns(lang),
                getRowId="params.data.action_id",
                defaultColDef={"wrapText": True, "autoHeight": True, "resizable": True},
                columnSize="responsiveSizeToFit",
                dashGridOptions=grid_options(lang, rowSelection={"mode": "multiRow", "checkboxes": True}),
                style={"width": "100%", "height": "360px"},
            ),
            delay_show=300,
        ),
        html.Div([html.Button(t("accept_proposals", lang), id=Id.ACCEPT_PROPOSALS)], className="cp-buttons"),
    ]


def _io_tab(lang: str) -> list[Any]:
    return [
        html.H4(t("gap_table", lang)),
        html.Div(
            [
                html.Button(t("export_xlsx", lang), id=Id.EXPORT_XLSX),
                html.Button(t("export_csv", lang), id=Id.EXPORT_CSV),
                html.Button(t("export_geojson", lang), id=Id.EXPORT_GEOJSON),
                html.Button(t("export_html", lang), id=Id.EXPORT_HTML),
            ],
            className="cp-buttons",
        ),
        dcc.Checklist(id=Id.EXPORT_ALL_TARGETS, options=[{"label": t("export_all_targets", lang), "value": "all"}],
                      value=[], inline=True),
        dcc.Download(id=Id.DOWNLOAD),
        html.H4(t("upload_inventory", lang)),
        dcc.Upload(html.Button(t("upload_inventory", lang)), id=Id.UPLOAD_INVENTORY, accept=".xlsx,.csv,.xls",
                   max_size=-1, multiple=False),  # .xls / oversized: a message from the server (#14)
        html.Div(id=Id.UPLOAD_MESSAGE),
        html.H4(t("print_section", lang)),
        html.Div(
            [
                html.Div([html.Label(t("mapping_unit", lang), htmlFor=Id.PRINT_AUTHOR),
                          dcc.Input(id=Id.PRINT_AUTHOR, type="text", maxLength=80, value="", persistence=True,
                                    persistence_type="local")], className="cp-col"),
                html.Div([html.Label(t("map_date", lang), htmlFor=Id.PRINT_DATE),
                          dcc.Input(id=Id.PRINT_DATE, type="text", maxLength=40, value=_dt.date.today().isoformat())],
                         className="cp-col cp-col-narrow"),
            ],
            className="cp-row",
        ),
        html.Label(t("paper", lang)),
        dcc.RadioItems(id=Id.PRINT_PAPER, options=[{"label": f"{p} ", "value": p} for p in ("A4", "A3")],
                       value="A4", inline=True),
        html.Div([html.Button(t("print_map", lang), id=Id.PRINT_MAP),
                  html.Button(t("print_atlas", lang), id=Id.PRINT_ATLAS)], className="cp-buttons"),
        dcc.Loading(html.Div(id=Id.PRINT_MESSAGE), delay_show=300),
        dcc.Download(id=Id.PRINT_DOWNLOAD),
    ]


def drawer(lang: str, view: dict[str, Any]) -> html.Div:
    """The collapsible tool drawer beside the map."""
    panels = {
        Id.TAB_TARGET: _target_tab(lang, view),
        Id.TAB_SCENARIO: _scenario_tab(lang),
        Id.TAB_SITING: _siting_tab(lang),
        Id.TAB_IO: _io_tab(lang),
    }
    return html.Div(
        [
            dcc.RadioItems(
                id=Id.DRAWER_TABS,
                options=[{"label": t(key, lang), "value": str(tab)} for tab, key in TABS],
                value=str(Id.TAB_TARGET),
                className="cp-tabs",
                inputClassName="cp-tab-input",
                labelClassName="cp-tab",
            ),
            html.Div(
                [html.Div(children, id=tab, className="cp-tabpanel",
                          style={} if tab == Id.TAB_TARGET else {"display": "none"})
                 for tab, children in panels.items()],
                className="cp-tabpanels",
            ),
        ],
        id=Id.DRAWER,
        className="cp-drawer",
    )


def details(lang: str) -> html.Div:
    """The details panel: selection (or the target's summary), legend and gap list."""
    return html.Div(
        [
            html.Div(id=Id.STATUS_COUNTS),
            html.Button(t("back_to_summary", lang), id=Id.BACK_TO_SUMMARY, className="cp-linkbutton"),
            dcc.Loading(
                html.Div(
                    [html.Div(t("click_township_hint", lang), className="cp-note")],
                    id=Id.SIDE_PANEL,
                    className="cp-side",
                ),
                delay_show=300,
                overlay_style={"visibility": "visible", "opacity": 0.5},
                type="circle",
            ),
            views_access.panel_div(),  # relief and 2SFCA of the selected township
            views_inventory.card(lang),
            html.Div(id=Id.LEGEND),
            views_access.legend_div(),
            html.H4(t("gap_table", lang)),
            dag.AgGrid(
                id=Id.GAP_TABLE,
                rowData=[],
                columnDefs=queries.gap_columns(lang),
                getRowId="params.data.row_id",
                defaultColDef={"filter": True, "sortable": True, "resizable": True},
                dashGridOptions=grid_options(lang, pagination=True, paginationPageSize=50),
                className="cp-gap-grid",
                style={"height": "320px", "width": "100%"},
            ),
            html.Div(id=Id.MAP_TIMING, className="cp-note"),
        ],
        id=Id.DETAILS,
        className="cp-details",
    )
