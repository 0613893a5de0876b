"""Walking-access callbacks: the 2SFCA context layer (switch, values, legend, download,
click) and the access section of the township panel (relief, places within reach)."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, dcc, no_update

from dashapp import fca_layer, relief_panel, views_access, views_workspace
from dashapp.ids import Id
from dashapp.ids_access import AccId
from dashapp.labels import normalise_lang
from dashapp.state import ScenarioState, Selection
from layers._errors import CovplanError


def _edits(scenario: Any) -> list[dict[str, Any]]:
    return list(ScenarioState.from_json(scenario).edits)


@callback(
    Output(AccId.FCA_LAYER, "data"),
    Output(AccId.FCA_LAYER, "hideout"),
    Output(AccId.FCA_LEGEND, "children"),
    Output(AccId.FCA_NOTE, "children"),
    Input(AccId.FCA_TOGGLE, "value"),
    Input(Id.YEAR, "value"),
    Input(Id.STORE_SCENARIO, "data"),
    Input(Id.BASEMAP, "value"),
    State(Id.STORE_LANG, "data"),
    State(AccId.FCA_LAYER, "hideout"),
)
def fca_layer_view(on: Any, year: Any, scenario: Any, basemap: Any, lang: Any, shown: Any) -> tuple:
    """The layer's outlines (only when the browser lacks them), values, legend and note."""
    lang = normalise_lang(lang)
    try:
        view = fca_layer.layer_view("on" in (on or []), year, _edits(scenario), str(basemap or "none"),
                                    lang, shown)
    except CovplanError as exc:
        from dashapp import views

        return no_update, {}, [], views.error_text(exc, lang)
    legend = []
    if view["legend"]:  # the same builder as the main legend, under it (no second 图例 heading)
        legend = views_workspace.legend(view["legend"], lang)
        legend.children = legend.children[1:]
    return (no_update if view["data"] is None else view["data"]), view["hideout"], legend, view["note"]


@callback(
    Output(Id.STORE_SELECTION, "data", allow_duplicate=True),
    Input(AccId.FCA_LAYER, "clickData"),
    State(Id.SCENARIO_MODE, "value"),
    prevent_initial_call=True,
)
def click_fca_township(feature: Any, mode: Any) -> Any:
    """A click on the layer selects the township under it (not in "add" mode)."""
    code = ((feature or {}).get("properties") or {}).get("code")
    if not code or mode == "add":
        return no_update
    return Selection(township_code=str(code)).to_json()


@callback(
    Output(AccId.FCA_DOWNLOAD, "data"),
    Input(AccId.FCA_XLSX, "n_clicks"),
    Input(AccId.FCA_CSV, "n_clicks"),
    State(Id.YEAR, "value"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def download_fca(_x: Any, _c: Any, year: Any, scenario: Any, lang: Any) -> Any:
    """The 2SFCA tables as ``covplan fca -o`` writes them (xlsx or csv)."""
    from dash import ctx

    fmt = "csv" if ctx.triggered_id == AccId.FCA_CSV else "xlsx"
    try:
        data, name = fca_layer.export(fmt, year, _edits(scenario), normalise_lang(lang))
    except CovplanError:
        return no_update
    return dcc.send_bytes(data, name)


@callback(
    Output(AccId.PANEL, "children"),
    Input(Id.STORE_SELECTION, "data"),
    Input(Id.YEAR, "value"),
    Input(Id.TARGET, "value"),
    Input(Id.STORE_SCENARIO, "data"),
    Input(AccId.FCA_TOGGLE, "value"),
    State(Id.STORE_LANG, "data"),
)
def access_panel(selection: Any, year: Any, target: Any, scenario: Any, on: Any, lang: Any) -> Any:
    """Under the township panel: flat vs slope coverage (walking-access targets in minutes)
    and, with the 2SFCA layer on, the places within reach of the township and its villages."""
    lang = normalise_lang(lang)
    sel = Selection.from_json(selection)
    if not sel.township_code or sel.facility_id:
        return []
    try:
        edits = _edits(scenario)
        relief = relief_panel.township_relief(sel.township_code, target, year, edits, lang)
        fca = fca_layer.township_fca(sel.township_code, year, edits, lang) if "on" in (on or []) else None
    except CovplanError as exc:
        from dashapp import views

        return [views.message(views.error_text(exc, lang), ok=False)]
    return views_access.relief_section(relief, lang) + views_access.fca_section(fca, lang)
