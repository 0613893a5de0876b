"""The map page (``/``): a map-first workspace.

The map fills the window; the tools sit in a collapsible drawer beside it (tabs 目标,
情景, 选址, 导入/导出) and a details panel shows the target's summary, the selection, the
legend and the gap list. The URL query (``?lang=&target=&county=&year=&basemap=&zoom=
&lat=&lon=``) sets the view, and the page writes the view back into the URL as it changes.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from dashapp import queries, workspace
from dashapp.ids import Id
from dashapp.labels import normalise_lang, t
from dashapp.layout_drawer import details, drawer
from dashapp.layout_map import map_view
from dashapp.views import header

dash.register_page(__name__, path="/", title="丽水市设施覆盖规划图", name="map")


def _tools(lang: str) -> html.Div:
    """Header tools: the drawer toggle, the place search and the details toggle."""
    return html.Div(
        [
            html.Button("☰ " + t("toggle_tools", lang), id=Id.DRAWER_TOGGLE, className="cp-toggle"),
            html.Div(
                dcc.Dropdown(id=Id.SEARCH, options=[], placeholder=t("search_placeholder", lang), searchable=True,
                             clearable=True, maxHeight=360, optionHeight=40, search_order="original",
                             labels={"search": t("search_placeholder", lang),
                                     "no_options_found": t("search_no_match", lang)}),
                className="cp-search",
            ),
            html.Button(t("toggle_details", lang) + " ⓘ", id=Id.DETAILS_TOGGLE, className="cp-toggle"),
        ],
        className="cp-tools",
    )


def layout(lang: str | None = None, target: str | None = None, county: str | None = None,
           year: str | None = None, basemap: str | None = None, zoom: str | None = None,
           lat: str | None = None, lon: str | None = None, **_: Any) -> html.Div:
    """The map page; the URL query sets the initial view (unknown values → defaults)."""
    lang = normalise_lang(lang)
    view = queries.initial_view(target, county, year, basemap)
    view.update(workspace.initial_viewport(zoom, lat, lon))
    query = {"lang": lang, "target": view["target"], "county": view["county"], "year": view["year"],
             "basemap": view["basemap"]}
    hint_layers = {"labels": workspace.township_label_points(view["basemap"])}
    return html.Div(
        [
            header(lang, "/", query, queries.layer_provenance(), extra=_tools(lang)),
            dcc.Store(id=Id.STORE_LANG, data=lang),
            dcc.Store(id=Id.STORE_FACILITY_KEY, storage_type="memory"),
            html.Div(id=Id.URL_SINK, style={"display": "none"}),
            html.Div(id=Id.UNLOAD_SINK, style={"display": "none"}),
            html.Div(
                [
                    drawer(lang, view),
                    map_view(lang, view, hint_layers),
                    details(lang),
                ],
                id=Id.WORK,
                className="cp-work",
            ),
        ],
        className="cp-app",
    )
