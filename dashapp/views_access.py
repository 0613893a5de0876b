"""Components of walking access in the workspace: the 2SFCA switch, layer, legend and the
access section of the township panel (relief, places within reach).

Layout and pure builders only; the data come from :mod:`dashapp.fca_layer` and
:mod:`dashapp.relief_panel`, the callbacks are in ``dashapp/callbacks/access_cb.py``.
Every text from the data is a string child (a React text node), never HTML.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashapp.ids_access import AccId
from dashapp.labels import t

EMPTY_FC: dict[str, Any] = {"type": "FeatureCollection", "features": []}


def drawer_controls(lang: str) -> list[Any]:
    """The 目标 tab's switch of the 2SFCA context layer, its note and its downloads."""
    return [
        html.Label(t("fca_layer", lang)),
        dcc.Checklist(id=AccId.FCA_TOGGLE, options=[{"label": t("fca_layer_toggle", lang), "value": "on"}],
                      value=[], className="cp-fca-toggle"),
        html.Div(id=AccId.FCA_NOTE, className="cp-note"),
        html.Div([html.Button(t("fca_download_xlsx", lang), id=AccId.FCA_XLSX),
                  html.Button(t("fca_download_csv", lang), id=AccId.FCA_CSV)], className="cp-buttons"),
        dcc.Download(id=AccId.FCA_DOWNLOAD),
    ]


#: Leaflet pane of the layer: above the township fills (overlayPane, 400; redrawn on every
#: selection, so later in the same pane) and the county fills of county targets (shadowPane,
#: 500), below facility symbols (600) and tooltips (650)
FCA_PANE = "cp-fca-pane"


def map_layer() -> dl.Pane:
    """The layer (empty until switched on) in its own pane: township fills from its hideout,
    a tooltip each; a click selects the township as a click on the township layer does."""
    return dl.Pane(
        dl.GeoJSON(
            id=AccId.FCA_LAYER,
            data=EMPTY_FC,
            style={"variable": "covplanAccess.fcaStyle"},
            onEachFeature={"variable": "covplanAccess.fcaEach"},
            hideout={},
            zoomToBoundsOnClick=False,
            pane=FCA_PANE,
        ),
        name=FCA_PANE,
        style={"zIndex": 550},
    )


def legend_div() -> html.Div:
    return html.Div(id=AccId.FCA_LEGEND)


def panel_div() -> html.Div:
    return html.Div(id=AccId.PANEL, className="cp-access-panel")


def _table(head: list[str], rows: list[tuple[str, ...]], cls: str) -> html.Table:
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                       html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])], className=cls)


def relief_section(info: dict[str, Any] | None, lang: str) -> list[Any]:
    """Flat vs terrain coverage of the township (nothing when the target is not in minutes)."""
    if info is None:
        return []
    out: list[Any] = [html.H4(info["title"])]
    if info["rows"]:
        out.append(html.Div(f"{t('dem_coverage', lang)}: {info.get('dem_label', '')}"))
        out.append(_table(["", t("relief_flat", lang), t("relief_terrain", lang)], info["rows"],
                          "cp-relief-table"))
        out.append(html.Div([html.Span(f"{t('pop_gained', lang)}: "), html.B(info["gained"], className="cp-relief-gained"),
                             html.Span(" · "),
                             html.Span(f"{t('pop_lost', lang)}: "), html.B(info["lost"], className="cp-relief-lost")],
                            className="cp-relief-change"))
    if info["message"]:
        out.append(html.Div(info["message"], className="cp-note cp-relief-" + info["state"]))
    if info["source"]:
        out.append(html.Div(info["source"], className="cp-note"))
    return [html.Div(out, className="cp-relief", **{"data-dem": info["state"]})]


def fca_section(info: dict[str, Any] | None, lang: str) -> list[Any]:
    """The township's places within reach and those of its villages (layer switched on)."""
    if info is None:
        return []
    tw = info["township"]
    head = [t("unit_name", lang), t("pop_under3", lang), t("fca_2sfca", lang), t("fca_e2sfca", lang)]
    rows = [(tw["name"], tw["pop"], tw["fca_2sfca"], tw["fca_e2sfca"])]
    rows += [(v["name"], v["pop"], v["fca_2sfca"], v["fca_e2sfca"]) for v in info["villages"]]
    return [html.Div([html.H4(t("fca_panel_title", lang)), _table(head, rows, "cp-fca-table"),
                      html.Div(info["note"], className="cp-note")], className="cp-fca-panel")]
