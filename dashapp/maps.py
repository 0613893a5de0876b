"""Pure functions from layers and results to what the map draws (GeoJSON dicts, styles).

Nothing here touches Dash callbacks or holds state. Geometry arrives in EPSG:4326
(lon/lat degrees); simplification for display is done in EPSG:4549 (metres) with a
coverage-preserving simplifier, so neighbouring townships keep a shared edge. The
township layer is sent to the browser once: its colours come from a small *hideout*
dict (``{code: status}``) that the style function in ``assets/covplan_map.js`` reads,
so a new result restyles the layer without resending geometry.

All names end up in GeoJSON ``properties`` as plain strings; the browser-side code
builds tooltips with ``textContent``, never as HTML, so a facility named
``<img src=x onerror=alert(1)>`` is shown as those characters.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.outputs.formatting import STATUS_COLOURS
from dashapp.labels import STATUSES, format_number, shortfall_text, t
from layers.crs import wgs84_to_gcj02
from layers.settings import STORAGE_CRS, WORKING_CRS
from layers.vocab import FACILITY_TYPES

#: fill colour per status (colour-blind safe: blue for met, orange for not met)
STATUS_COLORS: dict[str, str] = dict(STATUS_COLOURS)  # one definition, shared with the CLI report

#: marker colour per facility type (stable; kept clear of the status blue and red)
_PALETTE = (
    "#ffd600", "#00a651", "#7b3fb3", "#00bcd4", "#ff6fcf", "#8d5524", "#009688", "#808000",
    "#1a237e", "#9be22d", "#ff9800", "#5d4037", "#c51162", "#00e5ff", "#6d4c41", "#aeea00",
    "#311b92", "#f9a825",
)
FACILITY_COLORS: dict[str, str] = {ft: _PALETTE[i % len(_PALETTE)] for i, ft in enumerate(FACILITY_TYPES)}

#: display tolerance for the simplification of polygons, metres
TOWNSHIP_TOLERANCE_M: float = 120.0
COUNTY_TOLERANCE_M: float = 200.0

#: coordinate decimals kept in display GeoJSON (1e-5° ≈ 1 m)
COORD_DECIMALS: int = 5


# --------------------------------------------------------------------------- geometry
def simplify_for_display(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoSeries:
    """Simplify polygons in EPSG:4549 keeping shared edges; return them in EPSG:4326.

    Parameters
    ----------
    gdf : GeoDataFrame
        Polygons in any CRS (normally EPSG:4326).
    tolerance_m : float
        Simplification tolerance in metres.
    """
    geoms = gdf.geometry.to_crs(WORKING_CRS)
    try:
        simplified = geoms.simplify_coverage(tolerance_m)
    except (AttributeError, shapely.errors.GEOSException):  # not a clean coverage
        simplified = geoms.simplify(tolerance_m, preserve_topology=True)
    simplified = simplified.make_valid()
    return simplified.to_crs(STORAGE_CRS)


def _round_coords(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), COORD_DECIMALS) for c in coords]
    return [_round_coords(c) for c in coords]


def _geometry_json(geom: Any) -> dict[str, Any] | None:
    if geom is None or geom.is_empty:
        return None
    mapping = shapely.geometry.mapping(geom)
    return {"type": mapping["type"], "coordinates": _round_coords(mapping["coordinates"])}


def _clean(value: Any) -> Any:
    """JSON-safe scalar: numpy → Python, NaN/NA → None."""
    if value is None:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return None if f != f else f
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value if isinstance(value, (int, str)) else str(value)


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def township_geojson(townships: gpd.GeoDataFrame, tolerance_m: float = TOWNSHIP_TOLERANCE_M) -> dict[str, Any]:
    """Simplified township polygons with ``code``, ``name``, ``county_code``, ``county_name``.

    The result is sent to the browser once; status colours come from :func:`status_hideout`.
    """
    geoms = simplify_for_display(townships, tolerance_m)
    feats = []
    cols = [c for c in ("code", "name", "county_code", "county_name") if c in townships.columns]
    for (_, row), geom in zip(townships.iterrows(), geoms):
        gj = _geometry_json(geom)
        if gj is None:
            continue
        props = {c: _clean(row[c]) for c in cols}
        feats.append({"type": "Feature", "id": props.get("code"), "properties": props, "geometry": gj})
    return feature_collection(feats)


def county_geojson(counties: gpd.GeoDataFrame, tolerance_m: float = COUNTY_TOLERANCE_M) -> dict[str, Any]:
    """Simplified county outlines with ``code`` and ``name``."""
    geoms = simplify_for_display(counties, tolerance_m)
    feats = []
    for (_, row), geom in zip(counties.iterrows(), geoms):
        gj = _geometry_json(geom)
        if gj is None:
            continue
        props = {"code": _clean(row["code"]), "name": _clean(row["name"])}
        feats.append({"type": "Feature", "id": props["code"], "properties": props, "geometry": gj})
    return feature_collection(feats)


def unit_bounds(gdf: gpd.GeoDataFrame, code: str) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the unit ``code`` (Leaflet bounds), or None."""
    rows = gdf[gdf["code"] == code]
    if rows.empty:
        return None
    minx, miny, maxx, maxy = rows.total_bounds
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


# --------------------------------------------------------------------------- statuses
def status_hideout(
    units: pd.DataFrame,
    lang: str = "zh",
    *,
    county_code: str | None = None,
    selected: str | None = None,
) -> dict[str, Any]:
    """Hideout of the township layer: status, tooltip text and colours per township code.

    Parameters
    ----------
    units : DataFrame
        Result rows (``res.units`` schema) of ONE target at township level; village rows
        are rolled up by the caller. Needs ``unit_code``, ``unit_name``, ``status``,
        ``shortfall``, ``shortfall_unit``, ``required``, ``actual``.
    lang : str
        ``zh`` or ``en`` for the tooltip text.
    county_code : str, optional
        Only townships of this county are drawn in colour; others are dimmed.
    selected : str, optional
        Township code drawn with a thick outline.
    """
    status: dict[str, str] = {}
    tips: dict[str, str] = {}
    for row in units.itertuples(index=False):
        code = str(row.unit_code)
        st = str(row.status) if row.status in STATUSES else "no_data"
        status[code] = st
        parts = [str(row.unit_name), t(st, lang)]
        if st in ("met", "not_met"):
            req = format_number(getattr(row, "required", None))
            act = format_number(getattr(row, "actual", None))
            if req or act:
                parts.append(f"{t('actual', lang)} {act} / {t('required', lang)} {req}")
        short = shortfall_text(getattr(row, "shortfall", None), getattr(row, "shortfall_unit", None), lang)
        if short and st == "not_met":
            parts.append(short)
        tips[code] = " · ".join(p for p in parts if p)
    return {
        "status": status,
        "tip": tips,
        "colors": dict(STATUS_COLORS),
        "county": county_code or "",
        "selected": selected or "",
    }


def status_counts(units: pd.DataFrame) -> dict[str, int]:
    """Number of units per status (every status present, zero if none)."""
    counts = units["status"].value_counts() if not units.empty else pd.Series(dtype=int)
    return {s: int(counts.get(s, 0)) for s in STATUSES}


# --------------------------------------------------------------------------- facilities
def facility_tooltip(row: Any, lang: str = "zh") -> str:
    """Plain-text tooltip of one facility: name, type, tier/level, capacity."""
    parts = [str(_clean(getattr(row, "name", "")) or "")]
    ftype = str(getattr(row, "type", ""))
    parts.append(t(ftype, lang))
    tier = _clean(getattr(row, "tier", None))
    if tier:
        parts.append(t(str(tier), lang))
    level = _clean(getattr(row, "level", None))
    if level:
        parts.append(f"{t('level', lang)}: {t(str(level), lang)}")
    cap = _clean(getattr(row, "capacity", None))
    if cap not in (None, 0, 0.0):
        parts.append(f"{t('capacity', lang)}: {format_number(cap)}")
    prov = _clean(getattr(row, "provenance", None))
    if prov:
        parts.append(t(str(prov), lang))
    return " · ".join(p for p in parts if p)


def facility_geojson(
    facilities: gpd.GeoDataFrame,
    lang: str = "zh",
    *,
    types: Iterable[str] | None = None,
    scenario_ids: Iterable[str] = (),
) -> dict[str, Any]:
    """Facility points (EPSG:4326) with type, colour and a plain-text tooltip.

    Parameters
    ----------
    facilities : GeoDataFrame
        Facilities of one year (``facility_id``, ``type``, ``name``, ``tier``, …).
    types : iterable of str, optional
        Keep only these facility types (None keeps all).
    scenario_ids : iterable of str
        Facility ids added or changed by the scenario (drawn with a ring).
    """
    gdf = facilities
    if types is not None:
        gdf = gdf[gdf["type"].isin(list(types))]
    changed = set(scenario_ids)
    xs = gdf.geometry.x.to_numpy()
    ys = gdf.geometry.y.to_numpy()
    feats = []
    for row, x, y in zip(gdf.itertuples(index=False), xs, ys):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        fid = str(row.facility_id)
        props = {
            "facility_id": fid,
            "type": str(row.type),
            "name": str(_clean(row.name) or ""),
            "tier": _clean(getattr(row, "tier", None)),
            "township_code": _clean(getattr(row, "township_code", None)),
            "color": FACILITY_COLORS.get(str(row.type), "#333333"),
            "shape": shape_of(str(row.type), _clean(getattr(row, "tier", None))),
            "label": facility_tooltip(row, lang),
            "scenario": fid in changed,
        }
        feats.append(
            {
                "type": "Feature",
                "id": fid,
                "properties": props,
                "geometry": {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]},
            }
        )
    return feature_collection(feats)


#: symbol shape per 儿童之家 tier, and per other facility type (legend: dashapp/symbols.py)
TIER_SHAPES: dict[str, str] = {"demonstration": "star", "featured": "diamond", "basic": "circle"}
_SHAPE_CYCLE = ("square", "triangle", "hexagon", "diamond", "circle")
TYPE_SHAPES: dict[str, str] = {ft: _SHAPE_CYCLE[i % len(_SHAPE_CYCLE)] for i, ft in enumerate(FACILITY_TYPES)}
TYPE_SHAPES["child_home"] = "circle"


def shape_of(ftype: str, tier: Any = None) -> str:
    """Map symbol shape of a facility: by tier for 儿童之家, by type otherwise."""
    if ftype == "child_home" and tier in TIER_SHAPES:
        return TIER_SHAPES[str(tier)]
    return TYPE_SHAPES.get(str(ftype), "circle")


def legend_items(types: Iterable[str], lang: str = "zh") -> list[dict[str, str]]:
    """``[{"key", "label", "color"}]`` for the status colours then the facility types shown."""
    items = [{"key": s, "label": t(s, lang), "color": STATUS_COLORS[s], "kind": "status"} for s in STATUSES]
    for ft in types:
        items.append({"key": ft, "label": t(ft, lang), "color": FACILITY_COLORS.get(ft, "#333333"), "kind": "facility"})
    return items


# --------------------------------------------------------------------------- points / areas
def point_geojson(gdf: gpd.GeoDataFrame, label_cols: Iterable[str], *, value_col: str | None = None) -> dict[str, Any]:
    """Points (any CRS, output EPSG:4326) with a plain-text ``label`` joined from columns."""
    if gdf.crs is not None and gdf.crs.to_string() != STORAGE_CRS:
        gdf = gdf.to_crs(STORAGE_CRS)
    geoms = gdf.geometry.representative_point() if not (gdf.geom_type == "Point").all() else gdf.geometry
    feats = []
    cols = list(label_cols)
    for (_, row), geom in zip(gdf.iterrows(), geoms):
        if geom is None or geom.is_empty:
            continue
        text = " · ".join(str(_clean(row[c])) for c in cols if c in row and _clean(row[c]) not in (None, ""))
        props = {"label": text}
        if value_col and value_col in row:
            props["value"] = _clean(row[value_col])
        feats.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Point", "coordinates": [round(geom.x, 6), round(geom.y, 6)]},
            }
        )
    return feature_collection(feats)


def polygon_geojson(gdf: gpd.GeoDataFrame, label_cols: Iterable[str] = (), tolerance_m: float = 30.0) -> dict[str, Any]:
    """Polygons (e.g. service areas) simplified for display, EPSG:4326, with a text label."""
    if gdf.empty:
        return feature_collection([])
    work = gdf.geometry.to_crs(WORKING_CRS).simplify(tolerance_m, preserve_topology=True)
    geoms = work.to_crs(STORAGE_CRS)
    cols = list(label_cols)
    feats = []
    for (_, row), geom in zip(gdf.iterrows(), geoms):
        gj = _geometry_json(geom)
        if gj is None:
            continue
        text = " · ".join(str(_clean(row[c])) for c in cols if c in row and _clean(row[c]) not in (None, ""))
        feats.append({"type": "Feature", "properties": {"label": text}, "geometry": gj})
    return feature_collection(feats)


# --------------------------------------------------------------------------- GCJ-02 display
def _shift_coords(coords: Any) -> Any:
    arr = np.asarray(coords, dtype=float)
    if arr.ndim == 1:
        lon, lat = wgs84_to_gcj02(arr[0], arr[1])
        return [round(float(lon), 6), round(float(lat), 6)]
    if arr.dtype != object and arr.ndim == 2 and arr.shape[1] == 2:
        lon, lat = wgs84_to_gcj02(arr[:, 0], arr[:, 1])
        return np.round(np.column_stack([lon, lat]), 6).tolist()
    return [_shift_coords(c) for c in coords]


def to_gcj02(geojson: dict[str, Any]) -> dict[str, Any]:
    """Copy of a FeatureCollection with every coordinate shifted WGS84 → GCJ-02 (for 高德 tiles)."""
    out = json.loads(json.dumps(geojson))
    for feat in out.get("features", []):
        geom = feat.get("geometry")
        if not geom:
            continue
        if geom["type"] in ("Polygon", "MultiLineString"):
            geom["coordinates"] = [_shift_coords(ring) for ring in geom["coordinates"]]
        elif geom["type"] == "MultiPolygon":
            geom["coordinates"] = [[_shift_coords(ring) for ring in poly] for poly in geom["coordinates"]]
        else:
            geom["coordinates"] = _shift_coords(geom["coordinates"])
    return out


def for_basemap(geojson: dict[str, Any], basemap: str) -> dict[str, Any]:
    """The GeoJSON as drawn on ``basemap``: shifted to GCJ-02 for 高德, unchanged otherwise."""
    return to_gcj02(geojson) if basemap == "amap" else geojson
