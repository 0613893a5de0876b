"""Coordinate conversion between WGS84, GCJ-02 (高德/Amap) and BD-09 (百度/Baidu).

GCJ-02 is the obfuscated datum that Chinese web maps (Amap, Tencent, DataV) publish; BD-09
adds Baidu's own offset on top of it. In Lishui GCJ-02 sits about 0.0045° E / 0.003° S of
WGS84 (≈ 550 m); BD-09 adds roughly another +0.0065° / +0.006°.

The forward formulas are the public ones (Krasovsky ellipsoid constants, the well-known
polynomial-plus-sine offset). The inverses have no closed form: they are solved by
fixed-point iteration until the forward transform reproduces the input to better than
``TOLERANCE_DEG`` (1e-10°, about 0.01 mm). CGCS2000 (EPSG:4490) agrees with WGS84 to
centimetres here and is passed through unchanged.

Every function is vectorised: scalars, lists and numpy arrays are accepted; the result has
the shape of the input (floats for scalars). All coordinates are lon/lat in degrees.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from layers._errors import CovplanError

__all__ = [
    "CRS_ALIASES",
    "SUPPORTED_CRS",
    "TOLERANCE_DEG",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert_geodataframe",
    "convert_geometry",
    "gcj02_offset_m",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "normalise_crs_name",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: semi-major axis (m) and eccentricity² of the Krasovsky 1940 ellipsoid, as in the formula
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

#: stop iterating an inverse once the forward transform is this close to the target (°)
TOLERANCE_DEG: float = 1e-10
_MAX_ITER = 50

#: the CRS names the converters understand
SUPPORTED_CRS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")

#: user spellings → canonical name (compared after NFKC, lower-case, no spaces/dashes)
CRS_ALIASES: dict[str, str] = {
    "wgs84": "wgs84",
    "wgs": "wgs84",
    "epsg4326": "wgs84",
    "4326": "wgs84",
    "gps": "wgs84",
    "cgcs2000": "cgcs2000",
    "cgcs": "cgcs2000",
    "epsg4490": "cgcs2000",
    "4490": "cgcs2000",
    "国家2000": "cgcs2000",
    "2000国家大地坐标系": "cgcs2000",
    "天地图": "cgcs2000",
    "tianditu": "cgcs2000",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "火星坐标": "gcj02",
    "火星坐标系": "gcj02",
    "高德": "gcj02",
    "高德地图": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "腾讯": "gcj02",
    "腾讯地图": "gcj02",
    "tencent": "gcj02",
    "bd09": "bd09",
    "bd09ll": "bd09",
    "bd": "bd09",
    "百度": "bd09",
    "百度地图": "bd09",
    "baidu": "bd09",
}


def normalise_crs_name(name: str) -> str:
    """Canonical CRS name (``wgs84``/``cgcs2000``/``gcj02``/``bd09``) of a user spelling.

    Raises
    ------
    CovplanError
        When the name is not a known spelling; the message lists the accepted ones.
    """
    key = re.sub(r"[\s\-_:/.()（）]", "", unicodedata.normalize("NFKC", str(name)).lower())
    if key in CRS_ALIASES:
        return CRS_ALIASES[key]
    msg = (
        f"unknown coordinate system {name!r} / 未知坐标系; use one of "
        "wgs84, cgcs2000, gcj02 (高德/amap), bd09 (百度/baidu)"
    )
    raise CovplanError(msg)


def _as_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    return lon_a, lat_a, scalar


def _out(lon: np.ndarray, lat: np.ndarray, scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def out_of_china(lon: Any, lat: Any) -> np.ndarray | bool:
    """True where a point lies outside the rough China box in which GCJ-02 applies.

    Outside it, GCJ-02 and BD-09 (after its own shift) equal WGS84, as in the public formula.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    res = (lon_a < 72.004) | (lon_a > 137.8347) | (lat_a < 0.8293) | (lat_a > 55.8271)
    return bool(res) if scalar else res


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 offset (°) at WGS84 points; zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon = dlon + common
    dlon = dlon + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    outside = out_of_china(lon, lat)
    dlon = np.where(outside, 0.0, dlon)
    dlat = np.where(outside, 0.0, dlat)
    return dlon, dlat


def _wgs_to_gcj(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_closed(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, lon_t: np.ndarray, lat_t: np.ndarray, lon0: np.ndarray, lat0: np.ndarray):
    """Solve ``forward(p) == target`` by fixed-point iteration from ``p0``.

    The offsets vary slowly (|∂offset/∂p| ≪ 1), so ``p ← p − (forward(p) − target)``
    contracts; 3–5 steps reach 1e-10° everywhere in China.
    """
    lon = lon0.copy()
    lat = lat0.copy()
    finite = np.isfinite(lon_t) & np.isfinite(lat_t)
    for _ in range(_MAX_ITER):
        flon, flat = forward(lon, lat)
        elon = flon - lon_t
        elat = flat - lat_t
        lon = lon - elon
        lat = lat - elat
        err = np.maximum(np.abs(elon), np.abs(elat))
        if not np.any(err[finite] > TOLERANCE_DEG):
            break
    return lon, lat


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[Any, Any]:
    """WGS84 → GCJ-02 (高德) by the public forward formula.

    Parameters
    ----------
    lon, lat : float or array-like
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    (lon, lat)
        GCJ-02 degrees, same shape as the input.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    return _out(*_wgs_to_gcj(lon_a, lat_a), scalar)


def gcj02_to_wgs84(lon: Any, lat: Any) -> tuple[Any, Any]:
    """GCJ-02 → WGS84, the exact inverse of :func:`wgs84_to_gcj02` (iterated to 1e-10°)."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    dlon, dlat = _delta(lon_a, lat_a)
    res = _invert(_wgs_to_gcj, lon_a, lat_a, lon_a - dlon, lat_a - dlat)
    return _out(*res, scalar)


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[Any, Any]:
    """GCJ-02 → BD-09 (百度) by Baidu's public forward formula (degrees in, degrees out)."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    return _out(*_gcj_to_bd(lon_a, lat_a), scalar)


def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[Any, Any]:
    """BD-09 → GCJ-02: the usual closed form, refined by iteration to an exact inverse."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    lon0, lat0 = _bd_to_gcj_closed(lon_a, lat_a)
    return _out(*_invert(_gcj_to_bd, lon_a, lat_a, lon0, lat0), scalar)


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[Any, Any]:
    """WGS84 → BD-09 (through GCJ-02)."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    return _out(*_gcj_to_bd(*_wgs_to_gcj(lon_a, lat_a)), scalar)


def bd09_to_wgs84(lon: Any, lat: Any) -> tuple[Any, Any]:
    """BD-09 → WGS84 (through GCJ-02), exact inverse of :func:`wgs84_to_bd09`."""
    glon, glat = bd09_to_gcj02(lon, lat)
    return gcj02_to_wgs84(glon, glat)


def to_wgs84(lon: Any, lat: Any, crs: str) -> tuple[Any, Any]:
    """Convert lon/lat declared in ``crs`` to WGS84.

    Parameters
    ----------
    lon, lat : float or array-like
        Degrees in the declared system.
    crs : str
        ``wgs84``, ``cgcs2000`` (passed through), ``gcj02`` or ``bd09``, or an alias such as
        ``高德``/``amap``/``百度``/``baidu`` (see :data:`CRS_ALIASES`).
    """
    name = normalise_crs_name(crs)
    if name in ("wgs84", "cgcs2000"):
        lon_a, lat_a, scalar = _as_arrays(lon, lat)
        return _out(lon_a.copy(), lat_a.copy(), scalar)
    if name == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    return bd09_to_wgs84(lon, lat)


def gcj02_offset_m(lon: Any, lat: Any) -> Any:
    """Length (m) of the GCJ-02 shift at WGS84 points (≈ 500–600 m in Lishui).

    Uses a local spherical approximation (R = 6,371 km); the shift itself is a few hundred
    metres, so the approximation errs by far less than a metre.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    dlon, dlat = _delta(lon_a, lat_a)
    r = 6_371_000.0
    dx = np.radians(dlon) * r * np.cos(np.radians(lat_a))
    dy = np.radians(dlat) * r
    res = np.hypot(dx, dy)
    return float(res) if scalar else res


def convert_geometry(geoms: Any, crs: str) -> Any:
    """Convert shapely geometries (or an array of them) declared in ``crs`` to WGS84.

    Every vertex is moved with :func:`to_wgs84` via :func:`shapely.transform`; the geometry
    type and topology are kept.
    """
    name = normalise_crs_name(crs)
    if name in ("wgs84", "cgcs2000"):
        return geoms

    def _fn(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1], name)
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, _fn)


def convert_geodataframe(gdf: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """Copy of a lon/lat GeoDataFrame whose coordinates are in ``crs``, moved to WGS84.

    The frame's own CRS must be geographic (EPSG:4326/4490 or unset): GCJ-02 and BD-09 have no
    EPSG code, so files in them are usually labelled EPSG:4326. The result is EPSG:4326.
    """
    if gdf.crs is not None and not gdf.crs.is_geographic:
        msg = (
            f"cannot apply a {crs} correction to projected coordinates ({gdf.crs.to_string()}); "
            "GCJ-02/BD-09 data must be lon/lat degrees / GCJ-02、BD-09 须为经纬度"
        )
        raise CovplanError(msg)
    out = gdf.copy()
    out[out.geometry.name] = convert_geometry(np.asarray(gdf.geometry.values), crs)
    return out.set_crs("EPSG:4326", allow_override=True)
