"""Summary page: chart of targets met per county, trend per year, summary table."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, no_update

from dashapp import summary
from dashapp.ids import Id
from dashapp.labels import normalise_lang
from dashapp.state import ScenarioState
from layers._errors import CovplanError


@callback(
    Output(Id.SUMMARY_COUNTY_CHART, "figure"),
    Output(Id.SUMMARY_TREND_CHART, "figure"),
    Output(Id.SUMMARY_TABLE, "rowData"),
    Input(Id.SUMMARY_YEAR, "value"),
    Input(Id.STORE_SCENARIO, "data"),
    State(Id.STORE_LANG, "data"),
)
def update_summary(year: Any, scenario: Any, lang: str) -> tuple:
    """Figures and table of the year (scenario applied); the trend is the base data."""
    lang = normalise_lang(lang)
    try:
        edits = list(ScenarioState.from_json(scenario).edits)
        out = summary.summary_view(year, edits, lang)
    except CovplanError:
        return no_update, no_update, no_update
    return out["county_figure"], out["trend_figure"], out["rows"]
