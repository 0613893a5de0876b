"""The gap model: evaluation rows → the one gap table every screen and file reads.

:func:`township_gaps` (alias :func:`gap_table`) is the single code path. It is *level-true*:
each unmet evaluation row stays at the level it was evaluated (city, county, township,
village) and lands in one section — ``county`` (县市级: the city and the counties),
``township`` (乡镇级) or ``village`` (村级). Nothing is aggregated or repeated across levels,
so a unit appears at most once per target in a section and ``=SUM()`` over a section's
additive shortfalls never double counts.

:func:`county_totals` gives the 合计 row of every (section, target, county) block: the
county's own evaluation row when the target has one (so the total *is* the county's
plan-level number), else the roll-up of the block — additive shortfalls summed; rates
(percentage points) never summed: the number of failing units and their population-weighted
rate. Shortfall semantics per rule kind are written down in ``data/targets/README.md``.

The model holds numbers and ids only; :mod:`coverage.outputs.formatting` turns them into
text (percentages, thousands separators, glossary labels, actions in zh/en).

Every row also carries the facility data status of its county for the evaluated year
(``data_status``: real / partial / synthetic, ``data_sources``: the submissions its real
records come from; :mod:`coverage.outputs.data_status`), so each file a county receives says
whether its numbers rest on its real inventory or on demo data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.outputs.data_status import city_status, county_data_status
from coverage.outputs.formatting import ADDITIVE_UNITS, action_text, is_missing, value_format
from coverage.outputs.gaps import (
    GAP_COLUMNS, _as_str, _empty_gaps, _geoms_of, _num, _per_frame, _single_year, _township_lookup,
    _unit_geometries,
    _year_units, resolve_county, resolve_targets, result_units, target_labels,
)
from layers.settings import CITY_CODE, STORAGE_CRS

__all__ = ["SECTIONS", "county_totals", "gap_table", "township_gaps"]

#: section of a row by its unit level
SECTIONS: dict[str, str] = {"city": "county", "county": "county", "township": "township", "village": "village"}
_SECTION_ORDER = {"county": 0, "township": 1, "village": 2}
_LEVEL_ORDER = {"city": 0, "county": 1, "township": 2, "village": 3}


def _target_info(result: Any, targets: Iterable[Any] | None) -> dict[str, Any]:
    source = targets if targets is not None else getattr(result, "targets", None)
    if isinstance(source, dict):
        source = source.values()
    return {str(getattr(t, "id", "")): t for t in (source or ()) if getattr(t, "id", None)}


def _plan_level(value: Any) -> bool:
    return True if is_missing(value) else bool(value)


def township_gaps(
    result: Any,
    dataset: Any,
    county: str | int | None = None,
    target: str | Iterable[str] | None = None,
    *,
    targets: Iterable[Any] | None = None,
    year: int | None = None,
) -> gpd.GeoDataFrame:
    """The gap table: one row per unmet (target, unit) at the unit's own level.

    Parameters
    ----------
    result : EvaluationResult or DataFrame
        Evaluation rows (``res.units`` schema).
    dataset : Dataset
        Names, parent codes and polygons (EPSG:4326).
    county : str or int, optional
        County name or code: its own rows and the rows of its townships and villages (city
        rows dropped). Unknown → :class:`coverage.outputs.gaps.SelectionError`.
    target : str or list of str, optional
        Target id(s) to keep (unknown → ``SelectionError``).
    targets : iterable of PlanTarget, optional
        Labels, facility types and member levels (default: ``result.targets``).
    year : int, optional
        Inventory year when ``result`` holds several (default: the latest).

    Returns
    -------
    GeoDataFrame
        :data:`coverage.outputs.gaps.GAP_COLUMNS` + geometry (township/county polygons, the
        city as their union; village rows carry their point). ``attrs``: ``county_code``,
        ``county_name``, ``target_ids``, ``year``.
    """
    units = _year_units(result_units(result), year)
    selected = resolve_targets(result, target)
    chosen = resolve_county(dataset, county)
    labels = target_labels(result, targets)
    info = _target_info(result, targets)
    order = {tid: i for i, tid in enumerate(labels)}
    towns = _township_lookup(dataset)
    county_names = dict(zip(dataset.counties["code"].astype(str), dataset.counties["name"].astype(str)))

    rows = units[units["target_id"].isin(selected) & (units["status"] == "not_met")]
    # each row carries its county's facility data status (real / partial / demo) for the year
    per_county = county_data_status(dataset, _single_year(units))
    city = city_status(per_county)
    records: list[dict[str, Any]] = []
    for r in rows.to_dict("records"):
        level = str(r["unit_level"])
        code = _as_str(r["unit_code"])
        tid = str(r["target_id"])
        tg = info.get(tid)
        if level == "city":
            cc, cname = "", ""
        elif level == "county":
            cc, cname = code, county_names.get(code, _as_str(r.get("unit_name")))
        else:
            cc = _as_str(r.get("county_code")) or code[:6]
            cname = county_names.get(cc, _as_str(r.get("county_name")))
        tcode = code if level == "township" else (_as_str(r.get("township_code")) or code[:9]
                                                  if level == "village" else "")
        unit = _as_str(r.get("shortfall_unit"))
        ftype = getattr(getattr(tg, "facility", None), "type", None) if tg is not None else None
        rec = {
            "section": SECTIONS.get(level, "county"),
            "unit_level": level,
            "unit_code": code,
            "unit_name": towns.get(code, {}).get("name") if level == "township" else None,
            "county_code": cc,
            "county_name": cname,
            "township_code": tcode,
            "township_name": towns.get(tcode, {}).get("name", "") if tcode else "",
            "target_id": tid,
            "target_label": labels.get(tid, tid),
            "row_kind": "unit",
            "n_units_evaluated": 1,
            "n_units_not_met": 1,
            "required": _num(r.get("required")),
            "actual": _num(r.get("actual")),
            "value_format": value_format(str(r.get("kind", "")), level, unit,
                                         getattr(tg, "member_level", None) if tg is not None else None),
            "shortfall": _num(r.get("shortfall")),
            "shortfall_unit": unit,
            "status": "not_met",
            "is_plan_level": _plan_level(r.get("is_plan_level")),
            "year": r.get("year"),
            "clause": _as_str(r.get("clause")),
            "source_lines": _as_str(r.get("source_lines")),
            "provenance": _as_str(r.get("provenance")),
            "data_status": (per_county.get(cc) or city)["status"],
            "data_sources": (per_county.get(cc) or city)["sources"],
            "facility_type": ftype or "",
            "kind": _as_str(r.get("kind")),
        }
        rec["unit_name"] = rec["unit_name"] or _as_str(r.get("unit_name")) or code
        rec["action"] = action_text(rec, "zh", facility_type=ftype, rule_action=_as_str(r.get("action")))
        records.append(rec)

    if chosen is not None:
        records = [r for r in records if r["county_code"] == chosen[0] and r["unit_level"] != "city"]
    if not records:
        gaps = _empty_gaps()
    else:
        frame = pd.DataFrame.from_records(records, columns=list(GAP_COLUMNS))
        frame = (
            frame.assign(
                _sec=frame["section"].map(_SECTION_ORDER),
                _ord=frame["target_id"].map(order).fillna(len(order)),
                _lvl=frame["unit_level"].map(_LEVEL_ORDER),
            )
            .sort_values(["_sec", "_ord", "_lvl", "county_code", "township_code", "unit_code"], kind="stable")
            .drop(columns=["_sec", "_ord", "_lvl"])
            .reset_index(drop=True)
        )
        geoms = _unit_geometries(dataset, with_city=bool((frame["unit_code"] == CITY_CODE).any()))
        if (frame["unit_level"] == "village").any():
            geoms.update(_per_frame("geoms", dataset.villages, _geoms_of))
        geometry = gpd.GeoSeries([geoms.get(c) for c in frame["unit_code"]], crs=STORAGE_CRS)
        gaps = gpd.GeoDataFrame(frame, geometry=geometry)
    gaps.attrs.update(
        county_code=chosen[0] if chosen else None,
        county_name=chosen[1] if chosen else None,
        target_ids=list(selected),
        year=_single_year(units),
    )
    return gaps


#: the one gap model under its descriptive name
gap_table = township_gaps


def _populations(dataset: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for layer in (dataset.townships, dataset.villages):
        if "pop_total" in layer.columns:
            out.update(zip(layer["code"].astype(str), pd.to_numeric(layer["pop_total"], errors="coerce")))
    return out


def county_totals(gaps: pd.DataFrame, result: Any, dataset: Any) -> pd.DataFrame:
    """The 合计 row of every (section, target, county) block of township and village rows.

    When the result has the county's own row for the target, the total carries that row's
    ``required``/``actual``/``shortfall``/``status`` (the county's plan-level number; for a
    breakdown such as township 托位 ratios it differs from the sum of the townships'
    shortfalls). Otherwise: additive units sum the block's shortfalls; rates (``pp``) give
    the number of failing units and the population-weighted ``actual`` over every evaluated
    unit of that level in the county (``shortfall`` left empty: points never add).
    Columns as the gap table, ``row_kind = "total"``, ``unit_code`` = the county code.
    """
    if gaps.empty:
        return pd.DataFrame(columns=list(GAP_COLUMNS))
    units = _year_units(result_units(result), gaps.attrs.get("year"))
    pops = _populations(dataset)
    own = units[units["unit_level"] == "county"].set_index(["target_id", "unit_code"])
    out = []
    block_rows = gaps[gaps["section"].isin(["township", "village"])]
    for (sec, tid, cc), blk in block_rows.groupby(["section", "target_id", "county_code"], sort=False):
        first = blk.iloc[0]
        level = str(first["unit_level"])
        unit = str(first["shortfall_unit"])
        lvl_rows = units[(units["target_id"] == tid) & (units["unit_level"] == level)
                         & (units["county_code"].astype(str) == cc)]
        evaluated = lvl_rows[lvl_rows["status"].isin(["met", "not_met"])]
        rec = {c: first.get(c) for c in GAP_COLUMNS}
        rec.update(row_kind="total", unit_level="county", unit_code=cc, unit_name=str(first["county_name"]),
                   township_code="", township_name="", n_units_evaluated=len(evaluated),
                   n_units_not_met=int((evaluated["status"] == "not_met").sum()), provenance=first["provenance"])
        if (tid, cc) in own.index:
            c = own.loc[(tid, cc)]
            rec.update(required=_num(c["required"]), actual=_num(c["actual"]), shortfall=_num(c["shortfall"]),
                       status=str(c["status"]), is_plan_level=_plan_level(c.get("is_plan_level")),
                       shortfall_unit=_as_str(c.get("shortfall_unit")) or unit, provenance=_as_str(c["provenance"]),
                       value_format=value_format(str(c.get("kind", "")), "county", _as_str(c.get("shortfall_unit")),
                                                 None))
            rec["action"] = action_text(rec, "zh", facility_type=first.get("facility_type") or None,
                                        rule_action=_as_str(c.get("action")))
        elif unit in ADDITIVE_UNITS:
            rec.update(required=np.nan, actual=np.nan, shortfall=float(blk["shortfall"].astype(float).sum()),
                       value_format="count")
            rec["action"] = action_text(rec, "zh", facility_type=first.get("facility_type") or None, rule_action="")
        else:
            w = evaluated["unit_code"].astype(str).map(pops).astype(float)
            a = pd.to_numeric(evaluated["actual"], errors="coerce")
            ok = w.notna() & a.notna() & (w > 0)
            rate = float((a[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else np.nan
            rec.update(required=_num(first["required"]), actual=rate, shortfall=np.nan, value_format="percent")
            rec["action"] = action_text(rec, "zh")
        out.append(rec)
    return pd.DataFrame.from_records(out, columns=list(GAP_COLUMNS))
