"""Inventory editor callbacks (thin): open a facility, save/add/delete it, drag its marker.

A write bumps ``InvId.REFRESH`` (the card reloads the record and its history) and re-sends
the scenario Store unchanged, which re-runs the map callbacks on the store's new revision.
On the city server the writing callback is a ``write`` policy in dashapp/server/guard.py.
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, ctx, html, no_update

from dashapp import inventory, inventory_submit, views_inventory
from dashapp.ids import Id
from dashapp.ids_inventory import InvId
from dashapp.labels import normalise_lang, t
from layers._errors import CovplanError

_FORM_OUT = [Output(InvId.NAME, "value"), Output(InvId.TYPE, "value"), Output(InvId.TIER, "value"),
             Output(InvId.CAPACITY, "value"), Output(InvId.STATUS, "value"), Output(InvId.LON, "value"),
             Output(InvId.LAT, "value")]


def _year(year: Any) -> int | None:
    try:
        return int(year)
    except (TypeError, ValueError):
        return None


@callback(
    Output(InvId.FACILITY_ID, "value"),
    *_FORM_OUT,
    Output(InvId.RECORD, "data"),
    Output(InvId.HISTORY, "children"),
    Output(InvId.MARKER_LAYER, "children"),
    Output(InvId.PROVENANCE, "children"),
    Input(Id.STORE_SELECTION, "data"),
    Input(InvId.OPEN, "n_clicks"),
    Input(InvId.FACILITY_ID, "n_submit"),
    Input(InvId.REFRESH, "data"),
    Input(Id.YEAR, "value"),
    State(InvId.FACILITY_ID, "value"),
    State(Id.STORE_LANG, "data"),
)
def open_facility(selection: Any, _open: Any, _submit: Any, refresh: Any, year: Any, typed: Any,
                  lang: Any) -> tuple:
    """Load the selected (map click) or typed facility of the shown year into the card."""
    lang = normalise_lang(lang)
    y = _year(year)
    prov = views_inventory.provenance(inventory.county_provenance(y), lang) if y else ""
    if inventory.app_store() is None:
        return ("", *[no_update] * 7, {}, views_inventory.message("off", "", {}, lang), [], "")
    fid = (typed or "").strip()
    trig = ctx.triggered_id
    if trig == Id.STORE_SELECTION and isinstance(selection, dict) and selection.get("facility_id"):
        fid = str(selection["facility_id"])
    elif trig == InvId.REFRESH and isinstance(refresh, dict) and refresh.get("facility_id"):
        fid = str(refresh["facility_id"])
    if not fid or y is None:
        return (fid, *[no_update] * 7, {}, "", [], prov)
    rec = inventory.open_record(fid, y)
    if rec is None:
        return (fid, *[no_update] * 7, {}, views_inventory.message("not_found", "", {}, lang), [], prov)
    v = rec["values"]
    form = (v["name"], v["type"], v["tier"] or "", v["capacity"], v["status"], v["lon"], v["lat"])
    record = {"facility_id": rec["facility_id"], "year": y, "version": rec["version"]}
    return (rec["facility_id"], *form, record, views_inventory.history(rec["history"], lang),
            views_inventory.marker(v), prov)


@callback(
    Output(InvId.MESSAGE, "children"),
    Output(InvId.REFRESH, "data"),
    Output(Id.STORE_SCENARIO, "data", allow_duplicate=True),
    Input(InvId.SAVE, "n_clicks"),
    Input(InvId.DELETE, "n_clicks"),
    Input(InvId.ADD, "n_clicks"),
    State(InvId.RECORD, "data"),
    State(InvId.NAME, "value"),
    State(InvId.TYPE, "value"),
    State(InvId.TIER, "value"),
    State(InvId.CAPACITY, "value"),
    State(InvId.STATUS, "value"),
    State(InvId.LON, "value"),
    State(InvId.LAT, "value"),
    State(InvId.REASON, "value"),
    State(Id.YEAR, "value"),
    State(InvId.REFRESH, "data"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def write_inventory(_save: Any, _delete: Any, _add: Any, record: Any, name: Any, ftype: Any, tier: Any,
                    capacity: Any, status: Any, lon: Any, lat: Any, reason: Any, year: Any, refresh: Any,
                    scenario: Any, lang: Any) -> tuple:
    """Save, delete or add through the store; refresh the card and the map on success."""
    lang = normalise_lang(lang)
    clicks = {InvId.SAVE: _save, InvId.DELETE: _delete, InvId.ADD: _add}
    if not clicks.get(ctx.triggered_id):      # a page (re)load, not a click
        return no_update, no_update, no_update
    reason = (reason or "").strip()
    if not reason:
        return views_inventory.message("need_reason", "", {}, lang), no_update, no_update
    form = {"name": (name or "").strip(), "type": ftype, "tier": tier or "", "capacity": capacity,
            "status": status, "lon": lon, "lat": lat}
    trig = ctx.triggered_id
    if trig == InvId.ADD:
        y = _year(year)
        if y is None:
            return views_inventory.message("error", "year", {}, lang), no_update, no_update
        outcome, text, details = inventory.add(y, form, reason)
    elif not isinstance(record, dict) or not record.get("facility_id"):
        return views_inventory.message("not_found", "", {}, lang), no_update, no_update
    elif trig == InvId.DELETE:
        outcome, text, details = inventory.delete(record, reason)
    else:
        outcome, text, details = inventory.save(record, form, reason)
    msg = views_inventory.message(outcome, text, details, lang)
    if outcome not in ("saved", "added", "deleted"):
        return msg, no_update, no_update
    n = int((refresh or {}).get("n", 0)) + 1
    fid = details.get("facility_id") if outcome == "added" else record.get("facility_id")
    return msg, {"n": n, "facility_id": fid}, scenario


@callback(
    Output(InvId.LON, "value", allow_duplicate=True),
    Output(InvId.LAT, "value", allow_duplicate=True),
    Input(InvId.MARKER, "position"),
    prevent_initial_call=True,
)
def drag_marker(position: Any) -> tuple:
    """A dragged marker fills the position fields (saved with the other changes)."""
    if isinstance(position, dict):
        lat, lon = position.get("lat"), position.get("lng")
    elif isinstance(position, (list, tuple)) and len(position) == 2:
        lat, lon = position
    else:
        return no_update, no_update
    return round(float(lon), 7), round(float(lat), 7)


@callback(
    Output(InvId.ACCEPT_CONFIRM, "displayed"),
    Input(InvId.ACCEPT, "n_clicks"),
    prevent_initial_call=True,
)
def ask_accept(n: Any) -> bool:
    """Accepting writes to the store: ask first."""
    return bool(n)


@callback(
    Output(InvId.MESSAGE, "children", allow_duplicate=True),
    Output(Id.STORE_SCENARIO, "data", allow_duplicate=True),
    Input(InvId.ACCEPT_CONFIRM, "submit_n_clicks"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.YEAR, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def accept_scenario(confirmed: Any, scenario: Any, year: Any, lang: Any) -> tuple:
    """After confirmation, the scenario's new facilities become a planned batch (year shown)."""
    lang = normalise_lang(lang)
    if not confirmed:
        return no_update, no_update
    outcome, text, details = inventory.accept(scenario if isinstance(scenario, dict) else {}, _year(year))
    return views_inventory.message(outcome, text, details, lang), scenario if outcome == "accepted" else no_update


_SUBMIT_STATE = [State(InvId.SUBMIT_UPLOAD, "contents"), State(InvId.SUBMIT_UPLOAD, "filename"), State(Id.YEAR, "value"),
                 State(InvId.SUBMIT_SOURCE, "value"), State(InvId.SUBMIT_COUNTY, "value"),
                 State(InvId.SUBMIT_CRS, "value")]


@callback(
    Output(InvId.SUBMIT_PREVIEW, "children"),
    Input(InvId.SUBMIT_UPLOAD, "contents"),
    Input(InvId.SUBMIT_SOURCE, "value"),
    Input(InvId.SUBMIT_COUNTY, "value"),
    Input(InvId.SUBMIT_CRS, "value"),
    State(InvId.SUBMIT_UPLOAD, "filename"),
    State(Id.YEAR, "value"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def preview_submission(contents: Any, source: Any, county: Any, crs: Any, filename: Any, year: Any,
                       lang: Any) -> Any:
    """Preview an uploaded list against the store's year shown (nothing is written)."""
    lang = normalise_lang(lang)
    if not contents:
        return no_update
    try:
        p = inventory_submit.preview(contents, filename, _year(year), source, county, crs)
    except CovplanError as exc:
        return views_inventory.message("error", str(exc), {}, lang)
    return views_inventory.submission_preview(p, lang)


@callback(
    Output(InvId.SUBMIT_RESULT, "children"),
    Output(Id.STORE_SCENARIO, "data", allow_duplicate=True),
    Input(InvId.SUBMIT_APPLY, "n_clicks"),
    *_SUBMIT_STATE,
    State(InvId.SUBMIT_CLOSE, "value"),
    State(Id.STORE_SCENARIO, "data"),
    State(Id.STORE_LANG, "data"),
    prevent_initial_call=True,
)
def apply_submission(n: Any, contents: Any, filename: Any, year: Any, source: Any, county: Any, crs: Any,
                     close: Any, scenario: Any, lang: Any) -> tuple:
    """Write the previewed list as one batch (preview recomputed on the same upload)."""
    lang = normalise_lang(lang)
    if not n or not contents:
        return no_update, no_update
    try:
        bid, p = inventory_submit.apply(contents, filename, _year(year), source, county, crs,
                                        close_missing="close" in (close or []))
    except CovplanError as exc:
        return views_inventory.message("error", str(exc), {}, lang), no_update
    done = html.Div(f"{t('inv_submit_done', lang)} {bid}: {p['summary']}", className="cp-ok")
    return done, scenario
