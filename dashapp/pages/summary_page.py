"""The summary page (``/summary``): targets met per county, the trend per year, a table."""

from __future__ import annotations

from typing import Any

import dash
import dash_ag_grid as dag
from dash import dcc, html

from dashapp.grid_locale import grid_options
from dashapp import queries
from dashapp.ids import Id
from dashapp.labels import normalise_lang, t
from dashapp.views import header

dash.register_page(__name__, path="/summary", title="市县汇总", name="summary")


def layout(lang: str | None = None, target: str | None = None, county: str | None = None,
           year: str | None = None, basemap: str | None = None, **_: Any) -> html.Div:
    """Summary charts of the year in the URL (the scenario of the session applies)."""
    lang = normalise_lang(lang)
    view = queries.initial_view(target, county, year, basemap)
    query = {"lang": lang, "target": view["target"], "county": view["county"], "year": view["year"],
             "basemap": view["basemap"]}
    return html.Div(
        [
            header(lang, "/summary", query, queries.layer_provenance()),
            dcc.Store(id=Id.STORE_LANG, data=lang),
            html.Div(
                [
                    dcc.Location(id=Id.SUMMARY_GO, refresh="callback-nav"),
                    html.Div(id=Id.SUMMARY_KPIS, className="cp-kpis cp-kpis-wide"),
                    html.Details([html.Summary(t("trend_flag", lang)),
                                  html.Div(t("trend_criterion", lang), className="cp-clause")]),
                    html.Div(t("summary_click_hint", lang), className="cp-note"),
                    html.Label(t("year", lang), htmlFor=Id.SUMMARY_YEAR),
                    dcc.Dropdown(id=Id.SUMMARY_YEAR, options=queries.year_options(), value=view["year"],
                                 clearable=False, style={"width": "200px"}),
                    dcc.Loading(dcc.Graph(id=Id.SUMMARY_COUNTY_CHART, config={"displaylogo": False})),
                    dcc.Loading(dcc.Graph(id=Id.SUMMARY_TREND_CHART, config={"displaylogo": False})),
                    dag.AgGrid(
                        id=Id.SUMMARY_TABLE,
                        rowData=[],
                        columnDefs=queries.summary_columns(lang),
                        defaultColDef={"filter": True, "sortable": True, "resizable": True},
                        dashGridOptions=grid_options(lang),
                        style={"height": "520px", "width": "100%"},
                    ),
                ],
                className="cp-summary",
            ),
        ]
    )
