"""Is a layer where its CRS says? Extent checks and a guess of the CRS that would fit.

A wrong ``.prj``, metres declared as degrees or a manifest ``crs`` that does not match the
data all read without error and put the geometry somewhere absurd (near 0°N, or at "lon/lat"
462214, 3108375). :func:`extent_problem` compares a layer's extent with the area of use of
its declared CRS; :func:`fitting_crs` tries the CRSs Lishui data actually comes in and
says which would put the coordinates inside Lishui, so the message can name the fix.
"""

from __future__ import annotations

import numpy as np
import pyproj

from layers.settings import LISHUI_BBOX

__all__ = ["CANDIDATE_CRS", "describe_bounds", "extent_problem", "fitting_crs", "parse_crs"]

#: CRSs Lishui data is found in (lon/lat first), with a short label for messages
CANDIDATE_CRS: tuple[tuple[str, str], ...] = (
    ("EPSG:4326", "WGS84 lon/lat"),
    ("EPSG:4490", "CGCS2000 lon/lat"),
    ("EPSG:4549", "CGCS2000 / 3-degree Gauss-Kruger CM 120E"),
    ("EPSG:4528", "CGCS2000 / 3-degree Gauss-Kruger zone 40 (x with zone prefix 40)"),
    ("EPSG:4548", "CGCS2000 / 3-degree Gauss-Kruger CM 117E"),
    ("EPSG:4527", "CGCS2000 / 3-degree Gauss-Kruger zone 39"),
    ("EPSG:4545", "CGCS2000 / 6-degree Gauss-Kruger CM 117E"),
    ("EPSG:4499", "CGCS2000 / 6-degree Gauss-Kruger zone 20"),
    ("EPSG:32650", "WGS 84 / UTM zone 50N"),
    ("EPSG:32651", "WGS 84 / UTM zone 51N"),
    ("EPSG:3857", "Web Mercator"),
)


def parse_crs(text: object) -> pyproj.CRS:
    """A CRS from user text (``EPSG:4549``, ``4549``, WKT, PROJ); ValueError with the text if not."""
    try:
        value = str(text).strip()
        return pyproj.CRS.from_user_input(f"EPSG:{value}" if value.isdigit() else value)
    except (pyproj.exceptions.CRSError, TypeError, ValueError) as exc:
        raise ValueError(f"{text!r} is not a coordinate reference system ({exc})") from exc


def describe_bounds(bounds) -> str:
    x0, y0, x1, y1 = (float(v) for v in bounds)
    return f"({x0:.10g}, {y0:.10g})–({x1:.10g}, {y1:.10g})"


def _inside(lon: np.ndarray, lat: np.ndarray, bbox, margin: float = 0.5) -> bool:
    return bool(np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))
                and np.all((lon >= bbox[0] - margin) & (lon <= bbox[2] + margin)
                           & (lat >= bbox[1] - margin) & (lat <= bbox[3] + margin)))


def _corners(bounds) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = (float(v) for v in bounds)
    return np.array([x0, x1, x0, x1, (x0 + x1) / 2]), np.array([y0, y0, y1, y1, (y0 + y1) / 2])


def fitting_crs(raw_bounds, bbox=LISHUI_BBOX, exclude: object = None) -> list[tuple[str, str]]:
    """(code, label) of the candidate CRSs that put ``raw_bounds`` (file units) inside ``bbox``."""
    xs, ys = _corners(raw_bounds)
    out = []
    skip = parse_crs(exclude) if exclude is not None else None
    for code, text in CANDIDATE_CRS:
        crs = pyproj.CRS.from_user_input(code)
        if skip is not None and crs.equals(skip):
            continue
        if crs.is_geographic:
            lon, lat = xs, ys
        else:
            tr = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
            with np.errstate(all="ignore"):
                lon, lat = tr.transform(xs, ys)
        if _inside(np.asarray(lon), np.asarray(lat), bbox, margin=0.05):
            out.append((code, text))
    return out


def extent_problem(raw_bounds, crs: pyproj.CRS | str, lonlat_bounds, region=None) -> str | None:
    """Why the extent cannot be right for its declared CRS (None when it can).

    Parameters
    ----------
    raw_bounds : sequence
        Bounds in the file's own units.
    crs : CRS
        The declared CRS.
    lonlat_bounds : sequence
        Bounds after conversion to EPSG:4326.
    region : bbox, optional
        (min lon, min lat, max lon, max lat) the data must overlap (e.g. Lishui).
    """
    crs = parse_crs(crs) if not isinstance(crs, pyproj.CRS) else crs
    lon0, lat0, lon1, lat1 = (float(v) for v in lonlat_bounds)
    problem = None
    if not all(np.isfinite([lon0, lat0, lon1, lat1])) or lon0 < -180 or lon1 > 180 or lat0 < -90 or lat1 > 90:
        problem = "the coordinates are not longitudes/latitudes once converted"
    else:
        area = crs.area_of_use
        if area is not None:
            w, s, e, n = area.bounds
            m = 1.0
            if lon0 < w - m or lon1 > e + m or lat0 < s - m or lat1 > n + m:
                problem = (f"they lie outside the area where {crs.to_string()} is used "
                           f"({w:g}…{e:g}°E, {s:g}…{n:g}°N)")
        if problem is None and region is not None:
            if lon1 < region[0] or lon0 > region[2] or lat1 < region[1] or lat0 > region[3]:
                problem = "they do not overlap Lishui"
    if problem is None:
        return None
    fits = fitting_crs(raw_bounds, exclude=crs.to_string())
    hint = (f"; read as {fits[0][0]} ({fits[0][1]}) they fall in Lishui"
            + (f" (also fits: {', '.join(c for c, _ in fits[1:3])})" if len(fits) > 1 else "")
            if fits else "; no usual CRS puts them in Lishui")
    return (f"declared CRS {crs.to_string()}: coordinates {describe_bounds(raw_bounds)} become lon/lat "
            f"{describe_bounds(lonlat_bounds)}; {problem}{hint}")
