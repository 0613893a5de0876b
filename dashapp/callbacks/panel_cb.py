"""Side panel: the clicked township (every target, facilities, trend) or facility."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, no_update

from dashapp import queries_detail, village_view, views, views_workspace, workspace
from dashapp.ids import Id
from dashapp.labels import normalise_lang, t
from dashapp.state import ScenarioState, Selection
from layers._errors import CovplanError


@callback(
    Output(Id.SIDE_PANEL, "children"),
    Output(Id.CLOSE_FACILITY, "disabled"),
    Output(Id.UPGRADE_FACILITY, "disabled"),
    Input(Id.STORE_SELECTION, "data"),
    Input(Id.YEAR, "value"),
    Input(Id.MAP_TIMING, "children"),
    Input(Id.SCENARIO_MODE, "value"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.STORE_LANG, "data"),
    Input(Id.TARGET, "value"),
    Input(Id.COUNTY, "value"),
)
def show_selection(selection: Any, year: Any, _map_done: Any, mode: str, scenario: Any, lang: str,
                   target: Any = None, county: Any = None) -> tuple:
    """Details of the selection; in "edit" mode a selected facility can be closed or
    upgraded (a basic 儿童之家 → 示范型).

    A new scenario reaches the panel after the map has been updated (``MAP_TIMING``), so
    the panel's evaluation of every target never delays the map after a click. With
    nothing selected the panel shows the chosen target's summary card.
    """
    lang = normalise_lang(lang)
    editing = mode == "edit"
    try:
        sel = Selection.from_json(selection)
        edits = list(ScenarioState.from_json(scenario).edits)
        if sel.facility_id:
            detail = queries_detail.facility_detail(sel.facility_id, year, edits, lang)
            if detail is not None:
                can_upgrade = editing and detail["type"] == "child_home" and detail.get("tier") == "basic"
                return views.facility_panel(detail, lang), not editing, not can_upgrade
        if sel.township_code:
            detail = queries_detail.township_detail(sel.township_code, year, edits, lang)
            if detail is not None:
                chart = workspace.trend_figure(target, sel.township_code, lang)
                panel = views_workspace.with_trend(views.township_panel(detail, lang), chart)
                # a village target: the township's villages lacking it (the village view)
                k = 3 if chart is not None else 2  # after the heading, county and trend chart
                return [*panel[:k], *village_view.section(target, sel.township_code, year, edits, lang),
                        *panel[k:]], True, True
        summary = workspace.target_summary(target, county, year, edits, lang)
    except CovplanError as exc:
        return [views.message(views.error_text(exc, lang), ok=False)], True, True
    return views_workspace.target_summary(summary, lang), True, True


@callback(
    Output(Id.STORE_SELECTION, "data", allow_duplicate=True),
    Input(Id.BACK_TO_SUMMARY, "n_clicks"),
    prevent_initial_call=True,
)
def back_to_summary(n: int | None) -> Any:
    """Clear the selection: the panel shows the target's summary again."""
    return {} if n else no_update
