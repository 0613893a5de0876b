"""Shared inputs of the gap model: selections, labels, unit lookups, the wide view.

The gap table itself is built by :func:`coverage.outputs.model.township_gaps` (level-true rows,
see that module); this module resolves counties, targets and years, supplies unit names and
polygons (EPSG:4326; townships estimated, counties real, the city as their union) and builds
the wide view (:func:`gaps_wide`: one row per township, one column per target). No distance
or area is computed here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage._errors import EvaluationError
from coverage.outputs.formatting import ADDITIVE_UNITS
from layers.settings import CITY_CODE, STORAGE_CRS

__all__ = [
    "ADDITIVE_UNITS", "GAP_COLUMNS", "SelectionError", "gaps_wide", "resolve_county",
    "resolve_targets", "result_units", "target_labels",
]

#: columns of the gap table (:func:`coverage.outputs.model.township_gaps`, geometry aside)
GAP_COLUMNS: tuple[str, ...] = (
    "section", "unit_level", "unit_code", "unit_name", "county_code", "county_name", "township_code",
    "township_name", "target_id", "target_label", "row_kind", "n_units_evaluated", "n_units_not_met",
    "required", "actual", "value_format", "shortfall", "shortfall_unit", "action", "status",
    "is_plan_level", "year", "clause", "source_lines", "provenance", "data_status", "data_sources",
    "facility_type", "kind",
)

_EVALUATED = ("met", "not_met")


class SelectionError(EvaluationError):
    """A county, target or year asked for does not exist in the dataset or the result."""


# --------------------------------------------------------------------------- inputs
def result_units(result: Any) -> pd.DataFrame:
    """The per-unit rows of ``result`` (an EvaluationResult or its ``units`` DataFrame)."""
    units = result if isinstance(result, pd.DataFrame) else getattr(result, "units", None)
    if not isinstance(units, pd.DataFrame):
        msg = f"expected an EvaluationResult or its units DataFrame, got {type(result).__name__}"
        raise EvaluationError(msg)
    missing = [c for c in ("target_id", "unit_level", "unit_code", "status") if c not in units]
    if missing:
        msg = f"evaluation result lacks the column(s) {', '.join(missing)}"
        raise EvaluationError(msg)
    return units


def target_labels(result: Any, targets: Iterable[Any] | None = None, lang: str = "zh") -> dict:
    """Target id → display label, in the order the targets were evaluated.

    Labels come from ``targets`` (PlanTarget objects with ``id``/``label_zh``/``label_en``),
    else from ``result.targets``, else from a ``target_label`` column; the id otherwise.
    """
    units = result_units(result)
    out: dict[str, str] = {}
    source = targets if targets is not None else getattr(result, "targets", None)
    if isinstance(source, dict):
        source = source.values()
    for t in source or ():
        tid = str(getattr(t, "id", ""))
        if tid:
            out[tid] = str(getattr(t, f"label_{lang}", "") or getattr(t, "label_zh", "") or tid)
    missing = [str(t) for t in pd.unique(units["target_id"]) if str(t) not in out]
    if missing and "target_label" in units.columns:
        first = units.drop_duplicates("target_id").set_index("target_id")["target_label"]
        out.update({t: str(first.get(t, t)) for t in missing})
    else:
        out.update({t: t for t in missing})
    return out


def resolve_county(dataset: Any, county: str | int | None) -> tuple[str, str] | None:
    """Return ``(code, name)`` of a county given by its name (莲都区) or 6-digit code."""
    if county is None or str(county).strip() == "":
        return None
    key = str(county).strip()
    counties = dataset.counties
    for code, name in zip(counties["code"].astype(str), counties["name"].astype(str)):
        if key in (code, name):
            return code, name
    valid = "、".join(f"{n}（{c}）" for c, n in zip(counties["code"], counties["name"]))
    msg = f"unknown county {key!r}; valid counties: {valid}"
    raise SelectionError(msg)


def resolve_targets(result: Any, target: str | Iterable[str] | None) -> list[str]:
    """Target ids of ``result`` selected by ``target`` (one id, several, or all when None)."""
    ids = [str(t) for t in pd.unique(result_units(result)["target_id"])]
    if target is None:
        return ids
    wanted = [target] if isinstance(target, str) else [str(t) for t in target]
    unknown = [t for t in wanted if t not in ids]
    if unknown:
        msg = f"unknown target id {', '.join(map(repr, unknown))}; valid ids: {', '.join(ids)}"
        raise SelectionError(msg)
    return wanted


# --------------------------------------------------------------------------- helpers
def _col(df: pd.DataFrame, name: str, default: Any = "") -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([default] * len(df), index=df.index, dtype=object)


def _as_str(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _merge_provenance(values: Iterable[Any]) -> str:
    """Union of ``key=value;…`` provenance strings, keeping first-seen order."""
    parts: dict[str, list[str]] = {}
    plain: list[str] = []
    for value in values:
        for part in _as_str(value).split(";"):
            part = part.strip()
            if not part:
                continue
            if "=" in part:
                key, val = (s.strip() for s in part.split("=", 1))
                vals = parts.setdefault(key, [])
                if val not in vals:
                    vals.append(val)
            elif part not in plain:
                plain.append(part)
    out = [f"{k}={'/'.join(v)}" for k, v in parts.items()] + plain
    return ";".join(out)


def _num(value: Any) -> float:
    """``value`` as a float (NaN when missing or not a number)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out


_BY_FRAME: dict[tuple[str, int], tuple[Any, Any]] = {}


def _per_frame(kind: str, frame: Any, compute: Any) -> Any:
    """``compute(frame)`` once per frame object (datasets are shared and never edited in place;
    a scenario's copy is a new object). The frame is kept with the value, so its id stays valid."""
    hit = _BY_FRAME.get((kind, id(frame)))
    if hit is not None and hit[0] is frame:
        return hit[1]
    if len(_BY_FRAME) > 32:
        _BY_FRAME.clear()
    value = compute(frame)
    _BY_FRAME[(kind, id(frame))] = (frame, value)
    return value


def _geoms_of(layer: Any) -> dict[str, Any]:
    gdf = layer.to_crs(STORAGE_CRS) if layer.crs is not None else layer
    return dict(zip(gdf["code"].astype(str), gdf.geometry))


def _unit_geometries(dataset: Any, with_city: bool) -> dict[str, Any]:
    """Unit code → polygon (townships, counties and the city as their union), EPSG:4326."""
    geoms: dict[str, Any] = {}
    for layer in (dataset.counties, dataset.townships):
        geoms.update(_per_frame("geoms", layer, _geoms_of))
    if with_city and len(dataset.counties):
        geoms[CITY_CODE] = _city_outline(dataset.counties.to_crs(STORAGE_CRS).geometry)
    return geoms


_CITY_OUTLINES: dict[bytes, Any] = {}


def _city_outline(county_geoms: gpd.GeoSeries) -> Any:
    """Union of the county polygons, computed once per set of county outlines.

    The union of the detailed outlines takes ~0.1 s; scenarios copy the dataset but never
    change the counties' geometry, so the cache is keyed by the outlines' WKB digest.
    """
    key = hashlib.sha1(b"".join(shapely.to_wkb(county_geoms.to_numpy()))).digest()
    outline = _CITY_OUTLINES.get(key)
    if outline is None:
        if len(_CITY_OUTLINES) > 8:
            _CITY_OUTLINES.clear()
        outline = _CITY_OUTLINES[key] = county_geoms.union_all()
    return outline


def _township_lookup(dataset: Any) -> dict[str, dict[str, str]]:
    return _per_frame("towns", dataset.townships, lambda _t: _township_lookup_of(dataset))


def _township_lookup_of(dataset: Any) -> dict[str, dict[str, str]]:
    t = dataset.townships
    county_names = dict(zip(dataset.counties["code"].astype(str), dataset.counties["name"]))
    out = {}
    for row in t.itertuples(index=False):
        cc = str(getattr(row, "county_code", "") or str(row.code)[:6])
        cname = getattr(row, "county_name", None) or county_names.get(cc, "")
        out[str(row.code)] = {"name": str(row.name), "county_code": cc, "county_name": str(cname)}
    return out


def _empty_gaps() -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in GAP_COLUMNS})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=STORAGE_CRS))


def _year_units(units: pd.DataFrame, year: int | None) -> pd.DataFrame:
    """Rows of one inventory year: ``year``, or the latest when the result holds several."""
    if "year" not in units.columns or units.empty:
        return units
    years = pd.to_numeric(units["year"], errors="coerce")
    present = sorted(int(y) for y in years.dropna().unique())
    if year is None:
        return units if len(present) <= 1 else units[years == present[-1]]
    if int(year) not in present:
        msg = f"no result for year {year}; years evaluated: {', '.join(map(str, present))}"
        raise SelectionError(msg)
    return units[years == int(year)]


def _single_year(units: pd.DataFrame) -> int | None:
    if "year" not in units.columns:
        return None
    years = pd.to_numeric(units["year"], errors="coerce").dropna().unique()
    return int(years[0]) if len(years) == 1 else None


#: status of a township for a village-level target: the first of these among its villages
_STATUS_ORDER: tuple[str, ...] = ("not_met", "no_data", "met", "not_applicable")
_STATUS_RANK: dict[str, int] = {s: i for i, s in enumerate(_STATUS_ORDER)}


def gaps_wide(
    result: Any,
    dataset: Any,
    county: str | int | None = None,
    target: str | Iterable[str] | None = None,
    *,
    value: str = "status",
    year: int | None = None,
) -> gpd.GeoDataFrame:
    """One row per township, one column per township- or village-level target.

    Parameters
    ----------
    year : int, optional
        Inventory year when ``result`` holds several (default: the latest).
    value : {"status", "shortfall"}
        ``status``: the township's status id (for village-level targets: ``not_met`` if any
        village is not met, else ``no_data`` if any lacks data, else ``met``).
        ``shortfall``: the township's shortfall (summed over its unmet villages; the largest
        gap for percentage points), 0 where met.

    Returns
    -------
    GeoDataFrame
        ``unit_code``, ``unit_name``, ``county_code``, ``county_name``, one column per target
        id (empty where the target was not evaluated for that township), ``n_not_met``
        (targets not met), geometry (township polygons, EPSG:4326). County- and city-level
        targets have no township column; they are in the gap list's county section.
    """
    if value not in ("status", "shortfall"):
        msg = f"value must be 'status' or 'shortfall', not {value!r}"
        raise SelectionError(msg)
    units = _year_units(result_units(result), year)
    selected = resolve_targets(result, target)
    chosen = resolve_county(dataset, county)
    towns = dataset.townships.to_crs(STORAGE_CRS)
    lookup = _township_lookup(dataset)
    if chosen is not None:
        towns = towns[towns["county_code"].astype(str) == chosen[0]]
    keep = [c for c in ("target_id", "unit_level", "unit_code", "township_code", "status", "shortfall",
                        "shortfall_unit") if c in units.columns]
    rows = units.loc[units["target_id"].isin(selected) & units["unit_level"].isin(["township", "village"]), keep]
    tcode = _col(rows, "township_code").map(_as_str)
    rows["_township"] = np.where(
        (rows["unit_level"] == "village") & (tcode != ""), tcode, rows["unit_code"].astype(str).str[:9]
    )
    codes = towns["code"].astype(str).tolist()
    out = pd.DataFrame(
        {
            "unit_code": codes,
            "unit_name": [lookup[c]["name"] for c in codes],
            "county_code": [lookup[c]["county_code"] for c in codes],
            "county_name": [lookup[c]["county_name"] for c in codes],
        }
    )
    present = set(pd.unique(rows["target_id"]))
    target_cols = [t for t in selected if t in present]
    # township status of each target: the first of not_met, no_data, met, not_applicable
    rank = rows["status"].map(_STATUS_RANK).fillna(len(_STATUS_RANK) - 1)
    best = rank.groupby([rows["target_id"], rows["_township"]]).min()
    status_of = best.map(dict(enumerate(_STATUS_ORDER)))
    unmet = rows[rows["status"] == "not_met"]
    short = pd.to_numeric(_col(unmet, "shortfall"), errors="coerce")
    keys = [unmet["target_id"], unmet["_township"]]
    short_sum, short_max = short.groupby(keys).sum(), short.groupby(keys).max()
    units_of = rows.groupby("target_id")["shortfall_unit"].first() if "shortfall_unit" in rows else {}
    statuses = {}
    for tid in target_cols:
        st = out["unit_code"].map(status_of.xs(tid, level=0))
        statuses[tid] = st
        if value == "status":
            out[tid] = st.astype(object)
            continue
        by_town = short_sum if _as_str(units_of.get(tid)) in ADDITIVE_UNITS else short_max
        vals = out["unit_code"].map(by_town.xs(tid, level=0) if tid in by_town.index.get_level_values(0) else {})
        out[tid] = np.where(st == "not_met", vals, np.where(st.isna(), np.nan, 0.0))
    status_frame = pd.DataFrame(statuses, index=out.index)
    out["n_not_met"] = (status_frame == "not_met").sum(axis=1).astype(int)
    out = out.sort_values(["county_code", "unit_code"], kind="stable").reset_index(drop=True)
    geo = dict(zip(towns["code"].astype(str), towns.geometry))
    wide = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries([geo[c] for c in out["unit_code"]], crs=STORAGE_CRS))
    wide.attrs.update(
        target_ids=target_cols, value=value, county_code=chosen[0] if chosen else None,
        year=_single_year(units),
    )
    return wide
