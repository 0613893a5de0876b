"""The gap model as the map, the gap table and the side panel receive it.

Everything here reads :func:`coverage.outputs.model.township_gaps` (the table rows, formatted by
:func:`coverage.outputs.display.gap_display_frame`, the same text the CSV holds) and
:func:`coverage.outputs.levels.map_view` (what the map colours: counties for a county target,
townships for a township target, villages as points over their townships' share of met
villages, a city card when nothing below the city is evaluated). No number is recomputed here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from coverage.outputs.display import gap_display_frame
from coverage.outputs.formatting import format_value
from coverage.outputs.levels import MapView, map_view
from coverage.outputs.model import township_gaps
from dashapp import maps
from dashapp.labels import t, target_label
from dashapp.service import get_service

__all__ = ["gap_table_rows", "level_layers", "township_targets"]

EMPTY_FC: dict[str, Any] = {"type": "FeatureCollection", "features": []}


def gap_table_rows(result: Any, ds: Any, targets: list[Any], tg: Any, county: str | None,
                   lang: str) -> list[dict[str, Any]]:
    """Gap-table rows of one target: every unmet unit at its own level (the export's rows).

    Each row is the CSV row of :func:`coverage.outputs.export.display_gaps` (same ids as
    columns, same text), plus ``row_id``, the level id ``level``, ``township_id`` (the township
    a click selects) and the unit's map ``bounds``.
    """
    gaps = township_gaps(result, ds, county=county or None, target=tg.id, targets=targets)
    labels = {tg.id: target_label(tg, lang)}
    frame = gap_display_frame(gaps, lang, numbers="text", labels=labels)
    svc = get_service()
    boxes = {lv: svc.unit_bounds(lv) for lv in ("county", "township", "village")}
    boxes["city"] = boxes["county"]
    out = []
    for rec, level, code, town in zip(frame.to_dict("records"), gaps["unit_level"], gaps["unit_code"],
                                      gaps["township_code"]):
        bounds = boxes.get(level, boxes["township"]).get(code)
        out.append({**rec, "row_id": f"{tg.id}|{level}|{code}", "level": level,
                    "township_id": str(town or ""), "bounds": bounds})
    return out


def _counts(units: pd.DataFrame) -> dict[str, int]:
    return maps.status_counts(units[["status"]] if not units.empty else pd.DataFrame({"status": []}))


def level_layers(result: Any, ds: Any, tg: Any, county: str | None, selected: str | None,
                 lang: str) -> dict[str, Any]:
    """What the map draws for one target, level-true.

    Returns ``level``, ``township_hideout`` (townships: their own status for a township
    target, their share of met villages for a village target, uncoloured otherwise),
    ``county_hideout`` (counties coloured for a county target), ``village_points`` (GeoJSON of
    the villages of a village target, coloured by status, tooltip naming the village),
    ``counts`` (statuses of the units of ``level``), ``note`` (why nothing is drawn below the
    city, with the city result) and ``city`` (the city card's texts).
    """
    mv: MapView = map_view(result, ds, tg, county, lang=lang)
    colors = dict(maps.STATUS_COLORS)
    town_h: dict[str, Any] = {"status": {}, "tip": {}, "colors": colors, "county": county or "",
                              "selected": selected or "", "level": mv.level}
    county_h: dict[str, Any] = {"status": {}, "tip": {}, "colors": colors, "level": mv.level}
    points = EMPTY_FC
    units = mv.units
    if mv.level == "township":
        town_h["status"] = dict(zip(units["unit_code"], units["status"]))
        town_h["tip"] = dict(zip(units["unit_code"], units["tooltip"]))
    elif mv.level == "county":
        county_h["status"] = dict(zip(units["unit_code"], units["status"]))
        county_h["tip"] = dict(zip(units["unit_code"], units["tooltip"]))
        # hovering a township shows its county's value under the county's name (uncoloured)
        towns = get_service().township_table()
        by_county = county_h["tip"]
        town_h["tip"] = {code: by_county[c] for code, c in zip(towns.index, towns["county_code"]) if c in by_county}
    elif mv.level == "village":
        names = get_service().township_table()["name"].to_dict()
        share = mv.township_share
        for r in share.itertuples(index=False):
            town_h["status"][r.township_code] = r.status
            town_h["tip"][r.township_code] = t("villages_met_share", lang).format(
                name=names.get(r.township_code, r.township_code), met=r.n_met, n=r.n_villages,
                share=format_value(r.share_met, "percent", lang))
        points = _village_points(ds, units, colors)
    return {"level": mv.level, "township_hideout": town_h, "county_hideout": county_h,
            "village_points": points, "counts": _counts(units), "note": mv.note, "city": mv.city}


def _village_points(ds: Any, units: pd.DataFrame, colors: dict[str, str]) -> dict[str, Any]:
    v = ds.villages
    xy = dict(zip(v["code"].astype(str), zip(v.geometry.x, v.geometry.y)))
    feats = []
    for r in units.itertuples(index=False):
        if r.unit_code not in xy or r.status == "not_applicable":
            continue
        x, y = xy[r.unit_code]
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
                      "properties": {"code": r.unit_code, "status": r.status, "label": r.tooltip,
                                     "color": colors.get(r.status, "#9e9e9e")}})
    return {"type": "FeatureCollection", "features": feats}


def township_targets(result: Any, ds: Any, targets: list[Any], code: str, county: str,
                     lang: str) -> list[dict[str, Any]]:
    """Side-panel rows of one township, each naming the unit its value belongs to.

    Township targets: the township's own row; village targets: its villages met / evaluated
    (the share formatted as a percentage); county targets: the county's row, under the
    county's name. Values are formatted by :mod:`coverage.outputs.formatting`.
    """
    out = []
    towns = get_service().township_table()
    tname = str(towns["name"].get(code, code))
    cname = str(towns["county_name"].get(code, "")) if "county_name" in towns else ""
    for tg in targets:
        mv = map_view(result, ds, tg, county, lang=lang)
        u = mv.units
        if mv.level == "township":
            rows = u[u["unit_code"] == code]
            unit_name = tname
        elif mv.level == "village":
            rows = pd.DataFrame()
            share = mv.township_share[mv.township_share["township_code"] == code]
            if not share.empty:
                s = share.iloc[0]
                out.append({"target_id": tg.id, "target_label": target_label(tg, lang),
                            "unit_name": f"{tname}（{t('village', lang)}）" if lang == "zh"
                            else f"{tname} ({t('village', lang)})",
                            "status": str(s.status), "actual": f"{int(s.n_met):,d}",
                            "required": f"{int(s.n_villages):,d}",
                            "shortfall_text": format_value(s.share_met, "percent", lang)})
            continue
        elif mv.level == "county":
            rows = u[u["unit_code"] == county]
            unit_name = cname
        else:
            continue
        for r in rows.itertuples(index=False):
            out.append({"target_id": tg.id, "target_label": target_label(tg, lang), "unit_name": unit_name,
                        "status": r.status, "actual": r.actual_text, "required": r.required_text,
                        "shortfall_text": r.shortfall_text})
    return out
