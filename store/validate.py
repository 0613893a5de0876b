"""The checks every change goes through — the same as an import's (layers._validate).

A new facility state (an edit, an added facility, a submitted row) must have a known type and
vocabularies, unit codes that exist and agree, a non-negative integer capacity, and a point
inside its township (50 m tolerance, EPSG:4549). All problems are reported together.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
from shapely import Point

from layers import _validate as V
from layers.dataset import Dataset
from layers.load import coerce_layer
from layers.settings import STORAGE_CRS
from store._errors import ValidationFailed
from store.schema import ATTRIBUTE_COLUMNS, BOOL_ATTRS, FLOAT_ATTRS, STATUSES

INTEGER_ATTRS = ("capacity", "daily_visitors")


def normalise(values: dict) -> dict:
    """Types of an editable view: floats for numbers, bools or None for flags, text else."""
    out = dict(values)
    for c in ATTRIBUTE_COLUMNS:
        v = out.get(c)
        if c in FLOAT_ATTRS:
            if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                out[c] = None
            else:
                try:
                    out[c] = float(v)
                except (TypeError, ValueError):
                    out[c] = v  # reported by check()
        elif c in BOOL_ATTRS:
            out[c] = None if v is None or v is pd.NA or v == "" else bool(v)
        else:
            out[c] = "" if v is None or v is pd.NA else str(v).strip()
    for c in ("lon", "lat"):
        if out.get(c) is not None:
            out[c] = float(out[c])
    out["status"] = (out.get("status") or "open").strip() if isinstance(out.get("status"), str) else "open"
    return out


def locate(units: Dataset, lon: float, lat: float) -> dict:
    """County/township codes of the township polygon holding the point ({} outside all)."""
    pt = Point(lon, lat)
    twp = units.townships
    hit = twp[twp.geometry.contains(pt)]
    if hit.empty:
        return {}
    row = hit.iloc[0]
    return {"township_code": row["code"], "county_code": row["county_code"]}


def check(values: dict, facility_id: str, year: int, units: Dataset,
          public_places: set[str] | None = None, where: str = "edit") -> list[str]:
    """Problems of one facility state (empty list = valid)."""
    problems: list[str] = []
    for c in FLOAT_ATTRS:
        v = values.get(c)
        if v is None:
            continue
        if not isinstance(v, float):
            problems.append(f"{c}: {v!r} is not a number / 不是数字")
        elif c in INTEGER_ATTRS and (v < 0 or not float(v).is_integer()):
            problems.append(f"{c}: {v:g} must be a non-negative integer / 须为非负整数")
    if values.get("status") not in STATUSES:
        problems.append(f"status: {values.get('status')!r} must be one of {', '.join(STATUSES)}")
    lon, lat = values.get("lon"), values.get("lat")
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        problems.append("lon/lat: a position is required / 缺少坐标")
        return problems
    if problems:
        return problems
    row = {c: values.get(c) for c in ATTRIBUTE_COLUMNS}
    row.update(facility_id=facility_id, year=int(year), serves_place_id="")
    gdf = gpd.GeoDataFrame([row], geometry=[Point(lon, lat)], crs=STORAGE_CRS)
    gdf = coerce_layer(gdf, "facilities")
    rep = V.Report()
    V.check_facilities(gdf, where, int(year), units.townships, units.villages, units.counties, rep)
    problems += [f"{p.field}: {p.message}" for p in rep.problems]
    link = values.get("serves_place_id") or ""
    if link and values.get("type") == "mother_baby_room" and public_places is not None \
            and link not in public_places:
        problems.append(f"serves_place_id: {link!r} is not a public_place of {year}")
    return problems


def require_valid(values: dict, facility_id: str, year: int, units: Dataset,
                  public_places: set[str] | None = None) -> None:
    problems = check(values, facility_id, year, units, public_places)
    if problems:
        raise ValidationFailed(f"facility {facility_id} ({year}) not saved / 未保存", problems)
