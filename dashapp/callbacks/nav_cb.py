"""Header links keep the current view (target, county, year, basemap) in the URL."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback

from dashapp.ids import Id
from dashapp.labels import normalise_lang
from dashapp.views import query_string


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
)
def view_links(target: str, county: str, year: Any, basemap: str, lang: str) -> tuple:
    """Links of the header, carrying the current view; the language links switch zh/en."""
    lang = normalise_lang(lang)
    view = {"target": target, "county": county or None, "year": year, "basemap": basemap}
    return ("/" + query_string(lang=lang, **view), "/summary" + query_string(lang=lang, **view),
            "/" + query_string(lang="zh", **view), "/" + query_string(lang="en", **view))
