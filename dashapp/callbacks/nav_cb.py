"""Header links keep the current view (target, county, year, basemap, zoom, centre) in the URL."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback

from dashapp.ids import Id
from dashapp.labels import normalise_lang
from dashapp.workspace import view_query


@callback(
    Output(Id.NAV_MAP, "href"),
    Output(Id.NAV_SUMMARY, "href"),
    Output(Id.LANG_LINK_ZH, "href"),
    Output(Id.LANG_LINK_EN, "href"),
    Input(Id.TARGET, "value"),
    Input(Id.COUNTY, "value"),
    Input(Id.YEAR, "value"),
    Input(Id.BASEMAP, "value"),
    State(Id.STORE_LANG, "data"),
    Input(Id.MAP, "zoom"),
    Input(Id.MAP, "center"),
)
def view_links(target: str, county: str, year: Any, basemap: str, lang: str, zoom: Any = None,
               center: Any = None) -> tuple:
    """Links of the header, carrying the current view; the language links switch zh/en and
    keep the map where it is."""
    lang = normalise_lang(lang)
    view = {"target": target, "county": county or None, "year": year, "basemap": basemap}
    here = {"zoom": zoom, "center": center}
    return ("/" + view_query(lang, **view, **here), "/summary" + view_query(lang, **view),
            "/" + view_query("zh", **view, **here), "/" + view_query("en", **view, **here))
