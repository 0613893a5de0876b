"""Village view: a lacking village picked in the details panel flies the map there and rings it."""

from __future__ import annotations

from typing import Any

from dash import ALL, Input, Output, callback, ctx, no_update

from dashapp import village_view
from dashapp.ids import Id


@callback(
    Output(Id.MAP, "viewport", allow_duplicate=True),
    Output(Id.VILLAGE_MARK_LAYER, "data", allow_duplicate=True),
    Input({"type": Id.VILLAGE_PICK.value, "code": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def pick_village(clicks: list[Any]) -> tuple:
    """Fly to the clicked village of the list and ring its point."""
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not any(clicks or []):
        return no_update, no_update  # the list was (re)drawn, nothing clicked
    focus = village_view.village_focus(trig.get("code"))
    return focus if focus is not None else (no_update, no_update)


@callback(
    Output(Id.VILLAGE_MARK_LAYER, "data", allow_duplicate=True),
    Input(Id.TARGET, "value"),
    Input(Id.YEAR, "value"),
    prevent_initial_call=True,
)
def clear_village_mark(_target: Any, _year: Any) -> Any:
    """Another target or year: the ring of the previous village goes."""
    return village_view.empty_mark()
