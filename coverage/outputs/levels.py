"""What a map draws for one target: the units of its plan level, named for what they hold.

:func:`map_view` picks the level a target is judged at (the finest level of
``target.plan_levels`` with an evaluated unit) and returns one row per unit of that level —
counties for a county target, townships for a township target, villages (points) for a
village target plus their townships' share of met villages — and a city card. When no unit
of any level below the city was evaluated (a report-only target, a city-only target, every
unit not applicable) ``note`` says so and quotes the city-level result. The numbers are the
evaluation rows' own, formatted by :mod:`coverage.outputs.formatting`; the tooltip of a
unit names that unit (never a parent's value under a child's name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from coverage.outputs.formatting import (
    action_text, format_value, is_missing, shortfall_with_unit, value_format,
)
from coverage.outputs.gaps import _year_units, result_units
from layers.glossary import label

__all__ = ["MapView", "map_level", "map_view"]

_EVALUATED = ("met", "not_met")
_BELOW_CITY = ("county", "township", "village")


@dataclass
class MapView:
    """The map's data for one target (plain values; JSON-able via ``to_dict``)."""

    target_id: str
    level: str                      # "city" | "county" | "township" | "village"
    units: pd.DataFrame             # one row per unit of ``level`` (see :func:`map_view`)
    township_share: pd.DataFrame    # village targets: township_code, n_villages, n_met, share_met, status
    city: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "level": self.level, "city": self.city, "note": self.note,
                "units": self.units.to_dict("records"),
                "township_share": self.township_share.to_dict("records")}


def map_level(target: Any, units: pd.DataFrame) -> str:
    """The level a target is drawn at: its finest plan level with an evaluated unit, else city."""
    rows = units[units["target_id"] == target.id]
    plan = [lv for lv in _BELOW_CITY if lv in tuple(getattr(target, "plan_levels", ()) or ())]
    for lv in reversed(plan):
        if rows.loc[rows["unit_level"] == lv, "status"].isin(_EVALUATED).any():
            return lv
    return "city"


def _texts(r: dict[str, Any], target: Any, lang: str) -> dict[str, str]:
    unit = "" if is_missing(r.get("shortfall_unit")) else str(r.get("shortfall_unit"))
    fmt = value_format(str(r.get("kind", "")), str(r["unit_level"]), unit, getattr(target, "member_level", None))
    ftype = getattr(getattr(target, "facility", None), "type", None)
    row = {**r, "value_format": fmt, "kind": str(r.get("kind", ""))}
    short = shortfall_with_unit(r.get("shortfall"), unit, lang) if r.get("status") == "not_met" else ""
    return {
        "required_text": format_value(r.get("required"), fmt, lang),
        "actual_text": format_value(r.get("actual"), fmt, lang),
        "shortfall_text": short,
        "status_label": label(str(r.get("status")), lang),
        "action_text": action_text(row, lang, facility_type=ftype,
                                   rule_action=str(r.get("action") or "") if lang == "zh" else ""),
    }


def _tooltip(name: str, level: str, tx: dict[str, str], lang: str) -> str:
    colon = "：" if lang == "zh" else ": "
    head = f"{name}（{label(level, lang)}）" if lang == "zh" else f"{name} ({label(level, lang)})"
    parts = [head, f"{label('status', lang)}{colon}{tx['status_label']}"]
    if tx["actual_text"]:
        parts.append(f"{label('actual', lang)}{colon}{tx['actual_text']} / "
                     f"{label('required', lang)}{colon}{tx['required_text']}")
    if tx["shortfall_text"]:
        parts.append(f"{label('shortfall', lang)}{colon}{tx['shortfall_text']}")
    return "\n".join(parts)


def map_view(result: Any, dataset: Any, target: Any, county: str | None = None, *, lang: str = "zh",
             year: int | None = None) -> MapView:
    """The map data of ``target`` (a PlanTarget) from an evaluation ``result``.

    ``units`` columns: ``unit_code``, ``unit_level``, ``unit_name``, ``county_code``,
    ``township_code``, ``status``, ``required``, ``actual``, ``shortfall``,
    ``shortfall_unit``, ``required_text``, ``actual_text``, ``shortfall_text``,
    ``status_label``, ``action_text``, ``tooltip`` (names the unit and its level).
    ``county`` (a code) keeps that county's units. ``city`` holds the city row's texts
    (``label``, ``clause``, ``status``, …) whenever the target has a city row.
    """
    all_units = _year_units(result_units(result), year)
    rows = all_units[all_units["target_id"] == target.id]
    level = map_level(target, all_units)
    part = rows[rows["unit_level"] == level].copy()
    if county and level != "city":
        part = part[part["county_code"].astype(str) == str(county)]
    records = []
    for r in part.to_dict("records"):
        tx = _texts(r, target, lang)
        name = str(r.get("unit_name") or r["unit_code"])
        records.append({
            "unit_code": str(r["unit_code"]), "unit_level": level, "unit_name": name,
            "county_code": str(r.get("county_code") or ""), "township_code": str(r.get("township_code") or ""),
            "status": str(r["status"]), "required": r.get("required"), "actual": r.get("actual"),
            "shortfall": r.get("shortfall"), "shortfall_unit": str(r.get("shortfall_unit") or ""),
            **tx, "tooltip": _tooltip(name, level, tx, lang),
        })
    units = pd.DataFrame.from_records(records, columns=[
        "unit_code", "unit_level", "unit_name", "county_code", "township_code", "status", "required", "actual",
        "shortfall", "shortfall_unit", "required_text", "actual_text", "shortfall_text", "status_label",
        "action_text", "tooltip"])
    share = _township_share(units) if level == "village" else pd.DataFrame(
        columns=["township_code", "n_villages", "n_met", "share_met", "status"])
    city_rows = rows[rows["unit_level"] == "city"].to_dict("records")
    city: dict[str, Any] = {}
    if city_rows:
        c = city_rows[0]
        city = {"unit_code": str(c["unit_code"]), "unit_name": str(c.get("unit_name") or ""),
                "status": str(c["status"]), "label": getattr(target, f"label_{lang}", "") or target.label_zh,
                "clause": str(c.get("clause") or ""), **_texts(c, target, lang)}
    note = ""
    if level == "city":
        sep = "；" if lang == "zh" else "; "
        detail = sep.join(x for x in (city.get("actual_text"), city.get("shortfall_text")) if x) if city else ""
        note = label("no_unit_rows", lang).format(
            level=label("county", lang), status=city.get("status_label", label("no_data", lang)),
            detail=detail or "—")
    return MapView(target_id=target.id, level=level, units=units, township_share=share, city=city, note=note)


def _township_share(units: pd.DataFrame) -> pd.DataFrame:
    """Villages per township: how many evaluated, how many met, the met share and a status."""
    ev = units[units["status"].isin(_EVALUATED)]
    g = ev.groupby("township_code")["status"]
    out = pd.DataFrame({"n_villages": g.size(), "n_met": g.agg(lambda s: int((s == "met").sum()))})
    out["share_met"] = out["n_met"] / out["n_villages"]
    out["status"] = ["met" if m == n else "not_met" for m, n in zip(out["n_met"], out["n_villages"])]
    return out.reset_index()
