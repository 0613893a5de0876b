"""Siting: "propose sites" for the chosen target, and accepting proposals into the scenario."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, no_update

from dashapp import queries_scenario as qs, views
from dashapp.ids import Id
from dashapp.labels import normalise_lang
from dashapp.state import ScenarioState
from layers._errors import CovplanError


@callback(
    Output(Id.STORE_PROPOSALS, "data"),
    Output(Id.PROPOSAL_TABLE, "rowData"),
    Output(Id.PROPOSALS_LAYER, "data"),
    Output(Id.SCENARIO_MESSAGE, "children", allow_duplicate=True),
    Input(Id.PROPOSE_SITES, "n_clicks"),
    State(Id.TARGET, "value"),
    State(Id.YEAR, "value"),
    State(Id.COUNTY, "value"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def propose_sites(_n: Any, target_id: str, year: Any, county: str, scenario: Any, lang: str) -> tuple:
    """Run the siting of the chosen target on the current scenario and list the actions."""
    if not _n:
        return no_update, no_update, no_update, no_update
    lang = normalise_lang(lang)
    try:
        edits = list(ScenarioState.from_json(scenario).edits)
        out = qs.proposals(target_id, year, county or None, edits, lang)
    except CovplanError as exc:
        return no_update, [], qs_empty(), views.message(qs.error_text(exc, lang), ok=False)
    return out["store"], out["rows"], out["points"], views.message(views.proposal_summary(out, lang))


def qs_empty() -> dict:
    return {"type": "FeatureCollection", "features": []}


@callback(
    Output(Id.STORE_SCENARIO, "data", allow_duplicate=True),
    Output(Id.SCENARIO_MESSAGE, "children", allow_duplicate=True),
    Input(Id.ACCEPT_PROPOSALS, "n_clicks"),
    State(Id.PROPOSAL_TABLE, "selectedRows"),
    State(Id.STORE_PROPOSALS, "data"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.YEAR, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def accept(_n: Any, selected: list | None, stored: list | None, scenario: Any, year: Any, lang: str) -> tuple:
    """Append the selected proposals' edits to the session's scenario."""
    if not _n:
        return no_update, no_update
    lang = normalise_lang(lang)
    try:
        return qs.accept_proposals(scenario, stored, selected, year), ""
    except CovplanError as exc:
        return no_update, views.message(qs.error_text(exc, lang), ok=False)
