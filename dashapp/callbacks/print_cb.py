"""Print buttons: the current map page or the county atlas as a PDF download."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, ctx, dcc, no_update

from dashapp import printing, views
from dashapp.ids import Id
from dashapp.labels import normalise_lang, t
from dashapp.state import ScenarioState
from layers._errors import CovplanError


@callback(
    Output(Id.PRINT_DOWNLOAD, "data"),
    Output(Id.PRINT_MESSAGE, "children"),
    Input(Id.PRINT_MAP, "n_clicks"),
    Input(Id.PRINT_ATLAS, "n_clicks"),
    State(Id.TARGET, "value"),
    State(Id.COUNTY, "value"),
    State(Id.YEAR, "value"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.PRINT_PAPER, "value"),
    State(Id.PRINT_AUTHOR, "value"),
    State(Id.PRINT_DATE, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def print_pdf(n_map: Any, n_atlas: Any, target: Any, county: Any, year: Any, scenario: Any, paper: Any,
              author: Any, date: Any, lang: Any) -> tuple:
    """A PDF of the map page or of the county atlas (headless Chromium)."""
    lang = normalise_lang(lang)
    kind = "atlas" if ctx.triggered_id == Id.PRINT_ATLAS else "map"
    if not (n_map or n_atlas):
        return no_update, no_update
    try:
        edits = list(ScenarioState.from_json(scenario).edits)
        name, pdf = printing.print_pdf(kind, target, county, year, edits, paper, author, date, lang)
    except printing.PrintChoiceError:
        return no_update, views.message(t("print_needs_county", lang), ok=False)
    except CovplanError as exc:
        return no_update, views.message(f"{t('error', lang)}: {exc}", ok=False)
    return dcc.send_bytes(pdf, name), views.message(name)
