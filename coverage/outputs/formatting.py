"""One place that turns gap-model numbers and keys into what a person reads.

Every medium (app table, side panel, tooltips, CSV/GeoJSON/GeoPackage, the HTML report,
``covplan gaps``) formats through these functions; the Excel writer writes the raw numbers
with the number formats of :data:`EXCEL_FORMATS` instead. Rules:

* rates (``value_format = "percent"``) as percentages with one decimal: ``80.6%``;
  percentage-point gaps with one decimal: ``10.0``;
* people, places, facilities (``count``) as integers with thousands separators: ``11,511``;
* ratios (托位 per 1,000 people) with two decimals: ``4.24``;
* missing values are ``""`` (never ``None``/``nan``); internal keys go through the glossary.

:func:`safe_text` neutralises spreadsheet formulas (OWASP CSV injection): text starting with
``=``, ``+``, ``-``, ``@``, tab or CR gets a leading apostrophe, so it stays readable and is
never evaluated; :func:`safe_sheet_title` does the same for sheet names (where Excel forbids a
leading apostrophe, so an underscore is used).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from layers.glossary import label
from layers.safecells import FORMULA_PREFIXES, safe_sheet_title, safe_text

__all__ = [
    "ADDITIVE_UNITS", "EXCEL_FORMATS", "FORMULA_PREFIXES", "STATUS_COLOURS", "action_text", "data_status_text",
    "format_number",
    "format_shortfall", "format_value", "is_missing", "provenance_text", "safe_sheet_title",
    "shortfall_with_unit",
    "safe_text", "value_format",
]

#: shortfall units that add up across units (percentage points never do)
ADDITIVE_UNITS: frozenset[str] = frozenset(
    {"facilities", "upgrades", "upgrades_links", "slots", "places", "people", "units"}
)
#: status → map colour, shared by the app (``dashapp.maps.STATUS_COLORS``) and the report
STATUS_COLOURS: dict[str, str] = {
    "met": "#2c7bb6",
    "not_met": "#d7191c",
    "no_data": "#9e9e9e",
    "not_applicable": "#f2f2f2",
}
#: value format → Excel number format
EXCEL_FORMATS: dict[str, str] = {"percent": "0.0%", "count": "#,##0", "ratio": "0.00", "pp": "0.0"}


# --------------------------------------------------------------------------- safety
# safe_text / safe_sheet_title live in layers.safecells (scenarios and siting writers use them too)


# --------------------------------------------------------------------------- numbers
def is_missing(value: Any) -> bool:
    """True for None, NaN and pandas' NA (what must never reach a person)."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def value_format(kind: str, unit_level: str, shortfall_unit: str, member_level: str | None = None) -> str:
    """How a row's ``required``/``actual`` read: ``percent``, ``count`` or ``ratio``."""
    if shortfall_unit == "pp":
        return "percent"
    if kind in ("presence", "capacity_change") or (kind == "indicator" and shortfall_unit != "pp"):
        return "count"
    if kind == "capacity_ratio":
        return "ratio"
    if kind == "unit_share" and member_level and unit_level == member_level:
        return "count"
    if kind in ("unit_share", "facility_share", "access", "linkage"):
        return "percent"
    return "count"


def format_number(value: Any, fmt: str, lang: str = "zh") -> str:
    """One number as text: ``percent`` 80.6%, ``count`` 11,511, ``ratio`` 4.24, ``pp`` 10.0."""
    if is_missing(value):
        return ""
    v = float(value)
    if fmt == "percent":
        return f"{v * 100:.1f}%"
    if fmt == "pp":
        return f"{v:.1f}"
    if fmt == "ratio":
        return f"{v:,.2f}"
    return f"{round(v):,d}"


def format_value(value: Any, fmt: str, lang: str = "zh") -> str:
    """``required``/``actual`` of a row (``fmt`` from :func:`value_format`)."""
    return format_number(value, fmt, lang)


def format_shortfall(value: Any, unit: str, lang: str = "zh") -> str:
    """A shortfall as its number (points with one decimal, everything else an integer)."""
    return format_number(value, "pp" if unit == "pp" else "count", lang)


def shortfall_with_unit(value: Any, unit: str, lang: str = "zh") -> str:
    """``1,020个学位`` / ``1 facility`` / ``10.0 percentage points`` ('' when missing)."""
    text = format_shortfall(value, unit, lang)
    if not text or not unit:
        return text
    if lang == "en" and text == "1" and unit in _SINGULAR:
        return f"1 {_SINGULAR[unit]}"
    return f"{text}{label(unit, lang)}" if lang == "zh" else f"{text} {label(unit, lang)}"


_SINGULAR = {"facilities": "facility", "upgrades": "upgrade", "slots": "childcare slot", "places": "place",
             "people": "person", "pp": "percentage point", "units": "unit", "upgrades_links": "action"}


# --------------------------------------------------------------------------- actions
def action_text(row: dict[str, Any], lang: str = "zh", *, facility_type: str | None = None,
                rule_action: str | None = None) -> str:
    """The suggested action of one gap row, built from the row's own numbers.

    zh keeps the rule's own wording when it quotes the row's shortfall (it names the facility
    and the plan's condition); otherwise, and always in English, the text is generated from
    ``shortfall``/``shortfall_unit`` (and for roll-up rows from the failing-unit count).
    """
    if str(row.get("status", "not_met")) != "not_met":
        return ""
    unit = str(row.get("shortfall_unit") or "")
    short = row.get("shortfall")
    if row.get("row_kind") == "total" and is_missing(short):
        n = int(row.get("n_units_not_met") or 0)
        return label("action_total_failing", lang).format(n=f"{n:,d}")
    if is_missing(short):
        return ""
    n_text = format_shortfall(short, unit, lang)
    raw = rule_action if rule_action is not None else str(row.get("action") or "")
    if lang == "zh" and raw and (n_text in raw or n_text.replace(",", "") in raw):
        return raw
    what = label(facility_type, lang) if facility_type else label("facility", lang)
    text = ""
    for key in (f"action_tpl_{row.get('kind', '')}_{unit}", f"action_tpl_{unit}", "action_tpl_units"):
        text = label(key, lang)
        if text != key:
            break
    return text.format(n=n_text, what=what, unit=label(unit, lang))


# --------------------------------------------------------------------------- provenance
_POP_KEY = {"county": "data_layer_population_county", "city": "data_layer_population_county"}


def provenance_text(text: Any, level: str = "township", lang: str = "zh") -> str:
    """``facilities=synthetic;population=estimated`` → ``设施数据：合成演示数据；…``.

    ``population`` is named for the row's level (county/city rows use census counts,
    township/village rows estimates); ``a|b`` and ``a/b`` list several values.
    """
    if is_missing(text) or str(text) == "":
        return ""
    parts = []
    colon, sep = ("：", "；") if lang == "zh" else (": ", "; ")
    for part in str(text).split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            key, vals = (s.strip() for s in part.split("=", 1))
            lk = _POP_KEY.get(level, "data_layer_population") if key == "population" else f"data_layer_{key}"
            key_label = label(lk, lang)
            if key_label == lk:
                key_label = label(key, lang)
            names = [v.strip() for v in vals.replace("|", "/").split("/") if v.strip()]
            val_label = "/".join(label("provenance_none" if v == "none" else v, lang) for v in dict.fromkeys(names))
            parts.append(f"{key_label}{colon}{val_label}")
        else:
            parts.append(label(part, lang))
    return sep.join(parts)


# --------------------------------------------------------------------------- data status
def data_status_text(status: Any, sources: Any = "", lang: str = "zh") -> str:
    """A county's facility data status as text: ``真实台账（民政局 2025年提交）``,
    ``部分为真实台账（…），其余为演示数据（合成）``, ``演示数据（合成，非真实数据）``.

    ``sources`` is ``source@year`` items joined by ``;`` (see
    :mod:`coverage.outputs.data_status`); a source is user text, shown as written in zh and by
    the known member unit it names in en. ``""`` for a missing status.
    """
    from layers.glossary_inventory import source_label

    if is_missing(status) or not str(status):
        return ""
    items = []
    for item in str(sources or "").split(";"):
        if not item.strip():
            continue
        src, _, year = item.partition("@")
        items.append(label("data_source_item", lang).format(source=source_label(src, lang), year=year)
                     if year and year != "None" else source_label(src, lang))
    sep = "、" if lang == "zh" else "; "
    if str(status) in ("real", "partial"):
        key = f"data_status_{status}" + ("" if items else "_nosrc")
        return label(key, lang).format(sources=sep.join(items))
    return label("data_status_synthetic", lang)
