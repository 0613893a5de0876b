"""Deterministic writers for the dataset folder: GeoJSON, CSV and the manifest.

Same input → byte-identical files: rows are written in the order given (callers sort them),
properties in the stated column order, coordinates rounded to 6 decimals (≈ 0.1 m), one
feature per line so that ``git diff`` shows changed features, UTF-8 without escapes. CSV files
are UTF-8 with BOM (the project convention) and ``\\n`` line ends.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import mapping


@dataclass
class Layers:
    """Every built layer in memory (EPSG:4326)."""

    counties: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    facilities: dict[int, gpd.GeoDataFrame]
    indicators: pd.DataFrame


COORD_DECIMALS = 6


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(c), COORD_DECIMALS) for c in obj[:2]]
        return [_round_coords(o) for o in obj]
    return obj


def _plain(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN/NA → None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) else value
    return value


def geometry_json(geom) -> dict[str, Any]:
    """GeoJSON geometry dict with coordinates rounded to :data:`COORD_DECIMALS`."""
    g = mapping(geom)
    return {"type": g["type"], "coordinates": _round_coords(g["coordinates"])}


def write_geojson(gdf: gpd.GeoDataFrame, path: Path, columns: list[str] | tuple[str, ...],
                  name: str) -> Path:
    """Write a GeoDataFrame in EPSG:4326 as a stable, diff-friendly GeoJSON file.

    Parameters
    ----------
    gdf : GeoDataFrame
        Rows in the order to write; CRS must be EPSG:4326.
    path : Path
        Output file (parent folders are created).
    columns : sequence of str
        Property names in output order (every one must exist in ``gdf``).
    name : str
        Layer name stored in the collection's ``name`` member.
    """
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        raise ValueError(f"{path}: refusing to write a layer that is not EPSG:4326")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    records = gdf[list(columns)].to_dict(orient="records")
    for rec, geom in zip(records, gdf.geometry):
        feature = {
            "type": "Feature",
            "properties": {k: _plain(v) for k, v in rec.items()},
            "geometry": geometry_json(geom),
        }
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    head = json.dumps({"type": "FeatureCollection", "name": name}, ensure_ascii=False)[:-1]
    text = head + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write a DataFrame as UTF-8-with-BOM CSV with ``\\n`` line ends and no index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def write_manifest(path: Path, header: dict[str, Any], layers: dict[str, dict[str, Any]]) -> Path:
    """Write ``manifest.toml``: top-level keys, then one ``[layers.<name>]`` table per layer.

    Parameters
    ----------
    header : dict
        Top-level scalar keys (``name``, ``title_zh``, ``built_by`` …).
    layers : dict
        Layer name → dict of scalar keys (``file``, ``id``, ``crs``, ``kind``, ``provenance``,
        ``description``, optional ``year``).
    """
    out = ["# Embedded Lishui dataset. Written by `covplan data build`; do not edit by hand.", ""]
    out += [f"{k} = {_toml_value(v)}" for k, v in header.items()]
    for name, table in layers.items():
        out += ["", f"[layers.{name}]"]
        out += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8", newline="\n")
    return path
