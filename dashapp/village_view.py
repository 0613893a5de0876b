"""The village view of a village-level target: which villages of a township lack it, listed and mapped.

For a target judged per village (e.g. 每个村（社区）建有儿童之家), the township's details panel
lists its villages that are not met (or have no data), each with its status and value; a click
on one (or on a village row of the gap list) flies the map to the village and rings its point.
Rows and texts come from the gap model's map view (:func:`coverage.outputs.levels.map_view`,
formatted by :mod:`coverage.outputs.formatting`), the same figures as the tooltips and exports.
"""

from __future__ import annotations

from typing import Any, Sequence

from dash import html

from coverage.outputs.levels import map_view
from dashapp.ids import Id
from dashapp.labels import t, target_label
from dashapp.service import get_service

__all__ = ["lacking_villages", "village_focus", "section", "LACKING", "FOCUS_ZOOM"]

#: statuses listed as lacking (a village with no data is listed too: it is not known to have it)
LACKING: tuple[str, ...] = ("not_met", "no_data")
#: zoom the map flies to for one village
FOCUS_ZOOM: int = 14
_EMPTY = {"type": "FeatureCollection", "features": []}


def lacking_villages(target_id: Any, township_code: str, year: Any, edits: Sequence[dict[str, Any]],
                     lang: str) -> dict[str, Any] | None:
    """The township's villages lacking a village-level target (None for other targets).

    Returns ``target_id``, ``target_label``, ``n_villages`` (villages evaluated in the
    township) and ``rows``: ``code``, ``name``, ``status``, ``status_label``, ``actual``,
    ``required``, ``shortfall`` (display texts), not met first, then by name.
    """
    svc = get_service()
    year_i = svc.year(year)
    ds, targets = svc.scenario_data(edits, year_i)
    tg = svc.target(target_id, targets)
    mv = map_view(svc.evaluation(year_i, edits, tg.id), ds, tg, None, lang=lang)
    if mv.level != "village":
        return None
    u = mv.units[mv.units["township_code"].astype(str) == str(township_code)]
    u = u[u["status"] != "not_applicable"]
    lack = u[u["status"].isin(LACKING)]
    rows = [{"code": str(r.unit_code), "name": str(r.unit_name), "status": str(r.status),
             "status_label": str(r.status_label), "actual": str(r.actual_text), "required": str(r.required_text),
             "shortfall": str(r.shortfall_text)} for r in lack.itertuples(index=False)]
    rows.sort(key=lambda r: (LACKING.index(r["status"]), r["name"]))
    return {"target_id": tg.id, "target_label": target_label(tg, lang), "n_villages": int(len(u)), "rows": rows}


def village_focus(code: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(viewport, mark)`` for one village: fly to its point; the ring layer's GeoJSON."""
    v = get_service().ds.villages
    hit = v[v["code"].astype(str) == str(code)]
    if hit.empty:
        return None
    pt = hit.geometry.iloc[0]
    lat, lon = round(float(pt.y), 6), round(float(pt.x), 6)
    mark = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": str(code), "name": str(hit["name"].iloc[0])},
         "geometry": {"type": "Point", "coordinates": [lon, lat]}}]}
    return {"center": [lat, lon], "zoom": FOCUS_ZOOM, "transition": "flyTo"}, mark


def empty_mark() -> dict[str, Any]:
    return dict(_EMPTY)


def section(target_id: Any, township_code: str, year: Any, edits: Sequence[dict[str, Any]],
            lang: str) -> list[Any]:
    """The panel section (heading, counts, one row per lacking village); [] for other targets."""
    data = lacking_villages(target_id, township_code, year, edits, lang)
    if data is None:
        return []
    rows = data["rows"]
    head = html.H4(t("villages_lacking", lang), className="cp-villages-head")
    count = html.Div(t("villages_lacking_count", lang).format(n=len(rows), total=data["n_villages"],
                                                               target=data["target_label"]), className="cp-note")
    if not rows:
        return [head, count]
    header = html.Tr([html.Th(t(k, lang)) for k in ("village_name", "status", "actual", "required")])
    body = [html.Tr([html.Td(html.Button(r["name"], id={"type": Id.VILLAGE_PICK.value, "code": r["code"]},
                                         className="cp-linkbutton", title=t("village_pick_hint", lang))),
                     html.Td(r["status_label"], className=f"cp-status-{r['status']}"),
                     html.Td(r["actual"]), html.Td(r["required"])],
                    className="cp-village-row", **{"data-village": r["code"], "data-status": r["status"]})
            for r in rows]
    table = html.Table([html.Thead(header), html.Tbody(body)], className="cp-small cp-villages")
    return [head, count, table]
