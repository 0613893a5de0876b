"""Scenario mode: clicks become edits in the per-session Store; save, open, upload, diff."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, html, no_update

from dashapp import queries, queries_edits, queries_files, queries_scenario as qs, views, views_workspace
from dashapp.ids import Id
from dashapp.labels import normalise_lang, t
from dashapp.state import ScenarioState, Selection
from layers._errors import CovplanError

_STORE = Output(Id.STORE_SCENARIO, "data", allow_duplicate=True)
_MESSAGE = Output(Id.SCENARIO_MESSAGE, "children", allow_duplicate=True)


@callback(
    _STORE,
    _MESSAGE,
    Input(Id.MAP, "clickData"),
    State(Id.SCENARIO_MODE, "value"),
    State(Id.ADD_TYPE, "value"),
    State(Id.ADD_TIER, "value"),
    State(Id.ADD_CAPACITY, "value"),
    State(Id.ADD_NAME, "value"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.BASEMAP, "value"),
    State(Id.YEAR, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def add_on_click(click: dict | None, mode: str, ftype: str, tier: str, capacity: Any, name: str,
                 scenario: Any, basemap: str, year: Any, lang: str) -> tuple:
    """In "add" mode a map click adds a facility of the chosen type and tier there."""
    if mode != "add" or not click:
        return no_update, no_update
    lang = normalise_lang(lang)
    try:
        return qs.add_facility(scenario, click.get("latlng"), ftype, tier, capacity, name, basemap, year), ""
    except CovplanError as exc:
        return no_update, views.message(qs.error_text(exc, lang), ok=False)


def _change_selected(n: int | None, selection: Any, scenario: Any, year: Any, lang: str, op: str) -> tuple:
    """Close or upgrade the selected facility; an error becomes the scenario message."""
    if not n:
        return no_update, no_update
    try:
        fid = Selection.from_json(selection).facility_id
        return qs.change_facility(scenario, fid, op, year), ""
    except CovplanError as exc:
        return no_update, views.message(qs.error_text(exc, normalise_lang(lang)), ok=False)


@callback(
    _STORE,
    _MESSAGE,
    Input(Id.CLOSE_FACILITY, "n_clicks"),
    State(Id.STORE_SELECTION, "data"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.YEAR, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def close_selected(n: int | None, selection: Any, scenario: Any, year: Any, lang: str) -> tuple:
    """Close the selected facility in the scenario."""
    return _change_selected(n, selection, scenario, year, lang, "close")


@callback(
    _STORE,
    _MESSAGE,
    Input(Id.UPGRADE_FACILITY, "n_clicks"),
    State(Id.STORE_SELECTION, "data"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.YEAR, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def upgrade_selected(n: int | None, selection: Any, scenario: Any, year: Any, lang: str) -> tuple:
    """Upgrade the selected basic 儿童之家 to 示范型 in the scenario."""
    return _change_selected(n, selection, scenario, year, lang, "upgrade")


@callback(_STORE, Input(Id.UNDO_EDIT, "n_clicks"), State(Id.STORE_SCENARIO, "data"), prevent_initial_call=True)
def undo_edit(n: int | None, scenario: Any) -> Any:
    if not n:
        return no_update
    try:
        return qs.undo(scenario)
    except CovplanError:
        return no_update


@callback(_STORE, Input(Id.CLEAR_EDITS, "n_clicks"), State(Id.STORE_SCENARIO, "data"), prevent_initial_call=True)
def clear_edits(n: int | None, scenario: Any) -> Any:
    if not n:
        return no_update
    try:
        return qs.clear(scenario)
    except CovplanError:
        return {"name": "", "edits": []}


@callback(
    Output(Id.EDIT_LIST, "children"),
    Input(Id.STORE_SCENARIO, "data"),
    State(Id.STORE_LANG, "data"),
    State(Id.YEAR, "value"),
)
def show_edits(scenario: Any, lang: str, year: Any = None) -> Any:
    """The numbered list of the scenario's edits, each naming its facility and township
    (with a warning for a point close to a township border)."""
    lang = normalise_lang(lang)
    try:
        state = ScenarioState.from_json(scenario)
        named = queries_edits.describe_edits(list(state.edits), year, lang)
    except CovplanError as exc:
        return views.message(qs.error_text(exc, lang), ok=False)
    return views_workspace.edit_list(named, lang)


@callback(
    Output(Id.DIFF_VIEW, "children"),
    Input(Id.MAP_TIMING, "children"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.YEAR, "value"),
    State(Id.STORE_LANG, "data"),
)
def show_diff(_map_done: Any, scenario: Any, year: Any, lang: str) -> Any:
    """Units whose status flips under the scenario, every target (base vs scenario).

    Triggered when the map has been updated, so the (heavier) comparison of every target
    never delays the map after a click.
    """
    lang = normalise_lang(lang)
    try:
        diff = qs.scenario_diff(list(ScenarioState.from_json(scenario).edits), year, lang)
    except CovplanError as exc:
        return views.message(qs.error_text(exc, lang), ok=False)
    if not diff["rows"]:
        return html.Div(t("no_change", lang), className="cp-note")
    head = html.Div(
        [html.Span(f"{t('flipped_to_met', lang)}: {diff['up']}", className="cp-status-met",
                   **{"data-flips-up": str(diff["up"])}),
         " · ",
         html.Span(f"{t('flipped_to_not_met', lang)}: {diff['down']}", className="cp-status-not_met",
                   **{"data-flips-down": str(diff["down"])})]
    )
    return [head, views.small_table([("target_label", "plan_target"), ("unit_name", "unit_name"),
                                     ("change", "change")], diff["rows"][:200], lang)]


@callback(
    Output(Id.SCENARIO_MESSAGE, "children"),
    Output(Id.SAVED_SCENARIOS, "options"),
    Output(Id.STORE_SAVED, "data", allow_duplicate=True),
    Output(Id.SCENARIO_NAME, "value", allow_duplicate=True),
    Input(Id.SAVE_SCENARIO, "n_clicks"),
    State(Id.SCENARIO_NAME, "value"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.YEAR, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def save_scenario(n: int | None, name: str, scenario: Any, year: Any, lang: str) -> tuple:
    """Save under scenarios/saved/ with a validated name; an existing name is never
    overwritten: the scenario is kept as the next version (``name-v2``) and the planner told."""
    if not n:
        return no_update, no_update, no_update, no_update
    lang = normalise_lang(lang)
    try:
        path, saved, versioned = queries_files.save_versioned(name or "", scenario, year)
        edits = ScenarioState.from_json(scenario).to_json()["edits"]
    except CovplanError as exc:
        return views.message(qs.error_text(exc, lang), ok=False), no_update, no_update, no_update
    text = f"{t('scenario_saved', lang)}: {path}"
    if versioned:
        text = f"{t('scenario_kept_version', lang)}: {saved} · {text}"
    return views.message(text), queries.saved_options(), edits, saved


@callback(
    Output(Id.SCENARIO_DOWNLOAD, "data"),
    Output(Id.STORE_SAVED, "data", allow_duplicate=True),
    Input(Id.DOWNLOAD_SCENARIO, "n_clicks"),
    State(Id.SCENARIO_NAME, "value"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.YEAR, "value"),
    prevent_initial_call=True,
)
def download_scenario(n: int | None, name: str, scenario: Any, year: Any) -> tuple:
    """The session's scenario as a .toml file (the text a save writes)."""
    if not n:
        return no_update, no_update
    try:
        filename, text = queries_files.scenario_file(scenario, name, year)
        edits = ScenarioState.from_json(scenario).to_json()["edits"]
    except CovplanError:
        return no_update, no_update
    return {"content": text, "filename": filename, "type": "application/toml"}, edits


@callback(
    _STORE,
    _MESSAGE,
    Output(Id.SCENARIO_NAME, "value"),
    Input(Id.OPEN_SCENARIO, "n_clicks"),
    State(Id.SAVED_SCENARIOS, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def open_scenario(n: int | None, name: str | None, lang: str) -> tuple:
    """Reopen a saved scenario into this session."""
    lang = normalise_lang(lang)
    if not n or not name:
        return no_update, no_update, no_update
    try:
        data = qs.open_saved(name)
    except CovplanError as exc:
        return no_update, views.message(qs.error_text(exc, lang), ok=False), no_update
    return data, views.message(f"{t('scenario_opened', lang)}: {name}"), name


@callback(
    _STORE,
    _MESSAGE,
    Output(Id.SCENARIO_NAME, "value", allow_duplicate=True),
    Input(Id.UPLOAD_SCENARIO, "contents"),
    State(Id.UPLOAD_SCENARIO, "filename"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def upload_scenario(contents: str | None, filename: str | None, lang: str) -> tuple:
    """Open an uploaded .toml scenario (size and type capped), named from the file's name."""
    if contents is None:
        return no_update, no_update, no_update
    lang = normalise_lang(lang)
    try:
        data = qs.parse_upload(contents, filename)
    except CovplanError as exc:
        return no_update, views.message(qs.error_text(exc, lang), ok=False), no_update
    name = queries_files.name_from_filename(filename)
    data = dict(data, name=name)
    return data, views.message(f"{t('scenario_opened', lang)}: {filename} → {name}"), name


@callback(
    _STORE,
    Output(Id.UPLOAD_MESSAGE, "children"),
    Input(Id.UPLOAD_INVENTORY, "contents"),
    State(Id.UPLOAD_INVENTORY, "filename"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.YEAR, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def upload_inventory(contents: str | None, filename: str | None, scenario: Any, year: Any, lang: str) -> tuple:
    """Import an uploaded inventory (.xlsx/.csv, size-capped) as scenario additions."""
    if contents is None:
        return no_update, no_update
    lang = normalise_lang(lang)
    try:
        data, text = qs.import_inventory(contents, filename, scenario, year, lang)
    except CovplanError as exc:
        return no_update, views.message(qs.error_text(exc, lang), ok=False)
    return data, views.message(text)
