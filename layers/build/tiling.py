"""Estimated township boundaries: seats for the seatless townships, then a Voronoi tiling.

No public township polygons are in reach, so each county is tiled by the Voronoi cells of its
known points, computed in EPSG:4549 (metres):

1. County outlines are simplified as a *coverage* (``shapely.coverage_simplify``, shared
   borders simplified once, so counties stay gap- and overlap-free), tolerance
   :data:`SIMPLIFY_TOLERANCE_M`.
2. Generators per county are the township seats (real for 160; placed by
   :func:`place_missing_seats` for 13) **and** the 92 real village points, each labelled with
   its township, so every real village point lies inside its own township.
3. Voronoi cells are dissolved by township, projected to EPSG:4326 and clipped to the stored
   county outline on a 1e-6° grid, so neighbouring polygons share identical edges.
4. A township left in several pieces keeps the piece holding its seat; each other piece goes to
   the neighbour sharing the longest border with it (never a piece that holds a real village
   point of its own township). Every township ends as one Polygon.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPoint, Point, Polygon

from layers.build.sources import Sources
from layers.settings import STORAGE_CRS, WORKING_CRS

#: tolerance of the coverage simplification of county outlines (m, EPSG:4549)
SIMPLIFY_TOLERANCE_M: float = 60.0
#: grid of stored coordinates (degrees): 6 decimals ≈ 0.1 m
GRID_DEG: float = 1e-6
#: a placed seat keeps at least this distance from other townships' points (m)
MIN_SEAT_SPACING_M: float = 2000.0

TO_WORK = Transformer.from_crs(STORAGE_CRS, WORKING_CRS, always_xy=True)
TO_STORE = Transformer.from_crs(WORKING_CRS, STORAGE_CRS, always_xy=True)


def to_work(geom):
    """Project a shapely geometry from EPSG:4326 to EPSG:4549."""
    return shapely.transform(geom, lambda xy: np.column_stack(TO_WORK.transform(xy[:, 0], xy[:, 1])))


def to_store(geom):
    """Project a shapely geometry from EPSG:4549 to EPSG:4326."""
    return shapely.transform(geom, lambda xy: np.column_stack(TO_STORE.transform(xy[:, 0], xy[:, 1])))


def simplify_counties(outlines: gpd.GeoDataFrame, tolerance_m: float = SIMPLIFY_TOLERANCE_M
                      ) -> gpd.GeoDataFrame:
    """Simplify the county outlines as one coverage and snap them to the 1e-6° grid.

    Returns
    -------
    GeoDataFrame
        Same rows, EPSG:4326, one valid Polygon per county.
    """
    work = outlines.to_crs(WORKING_CRS)
    simple = shapely.coverage_simplify(work.geometry.values, tolerance_m)
    out = gpd.GeoDataFrame(outlines.drop(columns="geometry"),
                           geometry=gpd.GeoSeries(simple, crs=WORKING_CRS).to_crs(STORAGE_CRS).values,
                           crs=STORAGE_CRS)
    out["geometry"] = shapely.set_precision(out.geometry.values, GRID_DEG)
    out["geometry"] = [_largest_polygon(g) for g in out.geometry]
    return out


def _largest_polygon(geom) -> Polygon:
    if geom.geom_type == "Polygon":
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area)


def _stem(name: str) -> str:
    name = name.replace("办事处", "")
    return re.sub(r"(街道|镇|乡)$", "", name)


def _ring_candidates(centre: Point, start_m: float, stop_m: float, step_m: float, n_angles: int):
    for radius in np.arange(start_m, stop_m + 1e-9, step_m):
        ring = [Point(centre.x + radius * np.cos(a), centre.y + radius * np.sin(a))
                for a in np.linspace(0.0, 2 * np.pi, n_angles, endpoint=False)]
        yield radius, ring


def place_missing_seats(src: Sources, townships: pd.DataFrame, villages: pd.DataFrame,
                        counties: gpd.GeoDataFrame) -> pd.DataFrame:
    """Give every township without a seat point one, by a documented deterministic rule.

    Rules, first that applies (townships handled in code order; each placed seat counts as a
    known point for the next):

    1. ``predecessor_2016``: a 2016 town of the same county with the same name stem (e.g.
       祯埠乡 → 祯埠镇) that has an Amap point: its point.
    2. ``real_village_centroid``: the centroid of the township's real village points (the
       nearest of those points if the centroid falls outside the county).
    3. ``near_county_seat`` (街道, which are urban): on rings of 1.5, 2.25, … 8 km around the
       county seat, the first ring with a point inside the county (300 m in from the edge)
       that is at least :data:`MIN_SEAT_SPACING_M` from every other known point; on that ring,
       the point farthest from them.
    4. ``largest_gap`` (镇/乡): on a 1 km grid inside the county, the point farthest from
       every known point.

    Returns
    -------
    DataFrame
        ``townships`` with ``seat_lon``/``seat_lat`` filled, ``seat_provenance`` set to
        ``estimated`` for placed seats and a ``seat_method`` column.
    """
    out = townships.copy()
    out["seat_method"] = np.where(out["seat_lon"].notna(), "real_2016_amap", "")
    work_county = {r.code: to_work(r.geometry) for r in counties.itertuples()}
    seat_of_county = {r.code: to_work(Point(float(r.lon_wgs84), float(r.lat_wgs84)))
                      for r in src.counties.itertuples()}
    towns16 = src.adcode_2016[(src.adcode_2016["level"] == "town")
                              & src.adcode_2016["lon_wgs84"].notna()]
    real_v = villages[villages["real_lon"].notna()]

    def known_points(county: str, exclude: str) -> list[Point]:
        pts = [to_work(Point(r.seat_lon, r.seat_lat)) for r in out.itertuples()
               if r.county_code == county and r.code != exclude and pd.notna(r.seat_lon)]
        pts += [to_work(Point(r.real_lon, r.real_lat)) for r in real_v.itertuples()
                if r.county_code == county and r.township_code != exclude]
        return pts

    for idx in out.index[out["seat_lon"].isna()]:
        row = out.loc[idx]
        county = row["county_code"]
        poly = work_county[county]
        pred = towns16[(towns16["county_code"] == county)
                       & (towns16["name"].map(_stem) == _stem(row["name"]))]
        own = real_v[real_v["township_code"] == row["code"]]
        if not pred.empty:
            lon, lat = float(pred["lon_wgs84"].iloc[0]), float(pred["lat_wgs84"].iloc[0])
            method = f"predecessor_2016:{pred['name'].iloc[0]}"
        elif not own.empty:
            pts = [to_work(Point(x, y)) for x, y in zip(own["real_lon"], own["real_lat"])]
            centre = MultiPoint(pts).centroid
            if not poly.contains(centre):
                centre = min(pts, key=centre.distance)
            lon, lat = to_store(centre).coords[0]
            method = "real_village_centroid"
        else:
            others = MultiPoint(known_points(county, row["code"]))
            inner = poly.buffer(-300.0)
            best = None
            if row["township_type"] == "街道":
                method = "near_county_seat"
                for _radius, ring in _ring_candidates(seat_of_county[county], 1500, 8000, 750, 24):
                    scored = [(others.distance(p), p) for p in ring if inner.contains(p)]
                    scored = [s for s in scored if s[0] >= MIN_SEAT_SPACING_M]
                    if scored:
                        best = max(scored, key=lambda s: s[0])[1]
                        break
            if best is None:
                method = "largest_gap"
                x0, y0, x1, y1 = inner.bounds
                grid = [Point(x, y) for x in np.arange(x0, x1, 1000.0) for y in np.arange(y0, y1, 1000.0)]
                grid = [p for p in grid if inner.contains(p)]
                best = max(grid, key=others.distance)
            lon, lat = to_store(best).coords[0]
        out.loc[idx, ["seat_lon", "seat_lat"]] = [round(lon, 6), round(lat, 6)]
        out.loc[idx, "seat_provenance"] = "estimated"
        out.loc[idx, "seat_method"] = method
    return out


def _generators(townships: pd.DataFrame, villages: pd.DataFrame, county: str
                ) -> tuple[list[tuple[float, float]], list[str]]:
    """Unique generator points of one county (EPSG:4549) and the township each belongs to."""
    pts: dict[tuple[float, float], str] = {}
    t = townships[townships["county_code"] == county]
    v = villages[(villages["county_code"] == county) & villages["real_lon"].notna()]
    for code, lon, lat in zip(t["code"], t["seat_lon"], t["seat_lat"]):
        x, y = TO_WORK.transform(lon, lat)
        pts.setdefault((round(x, 3), round(y, 3)), code)
    for code, lon, lat in zip(v["township_code"], v["real_lon"], v["real_lat"]):
        x, y = TO_WORK.transform(lon, lat)
        pts.setdefault((round(x, 3), round(y, 3)), code)
    keys = sorted(pts)
    return keys, [pts[k] for k in keys]


def _reassign_pieces(polys: dict[str, object], seats: dict[str, Point],
                     anchors: dict[str, list[Point]]) -> dict[str, object]:
    """Make every township one Polygon by giving stray pieces to their longest-border neighbour."""
    for _round in range(10):
        moved = False
        for code in sorted(polys):
            geom = polys[code]
            if geom.geom_type == "Polygon":
                continue
            parts = sorted(geom.geoms, key=lambda p: -p.area)
            home = next((p for p in parts if p.buffer(1e-7).contains(seats[code])), parts[0])
            keep = [home]
            for part in parts:
                if part is home:
                    continue
                if any(part.buffer(1e-7).contains(a) for a in anchors.get(code, [])):
                    keep.append(part)
                    continue
                border = {other: part.boundary.intersection(polys[other].boundary).length
                          for other in sorted(polys) if other != code
                          and part.boundary.intersects(polys[other].boundary)}
                if not border:
                    keep.append(part)
                    continue
                target = max(sorted(border), key=lambda o: border[o])
                polys[target] = shapely.union(polys[target], part, grid_size=GRID_DEG)
                moved = True
            polys[code] = shapely.union_all(keep, grid_size=GRID_DEG)
        if not moved:
            break
    return polys


def tile_townships(townships: pd.DataFrame, villages: pd.DataFrame,
                   counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Township polygons that tile each county exactly (method in the module docstring).

    Parameters
    ----------
    townships : DataFrame
        Output of :func:`place_missing_seats` (every seat known), EPSG:4326 lon/lat.
    villages : DataFrame
        Village table with ``real_lon``/``real_lat`` for the real points.
    counties : GeoDataFrame
        Simplified county outlines, EPSG:4326 (from :func:`simplify_counties`).

    Returns
    -------
    GeoDataFrame
        ``code`` and one Polygon per township, EPSG:4326, sorted by code.
    """
    records: list[tuple[str, object]] = []
    for county in counties.itertuples():
        outline = county.geometry
        work = to_work(outline)
        keys, labels = _generators(townships, villages, county.code)
        envelope = work.envelope.buffer(20000.0)
        cells = shapely.voronoi_polygons(MultiPoint(keys), extend_to=envelope, ordered=True)
        by_code: dict[str, list] = {}
        for cell, code in zip(cells.geoms, labels):
            by_code.setdefault(code, []).append(cell)
        polys: dict[str, object] = {}
        for code, parts in by_code.items():
            merged = to_store(shapely.union_all(parts))
            polys[code] = shapely.intersection(merged, outline, grid_size=GRID_DEG)
            polys[code] = shapely.union_all(
                [g for g in shapely.get_parts(polys[code]) if g.geom_type == "Polygon"],
                grid_size=GRID_DEG)
        t = townships[townships["county_code"] == county.code]
        seats = {c: Point(x, y) for c, x, y in zip(t["code"], t["seat_lon"], t["seat_lat"])}
        v = villages[(villages["county_code"] == county.code) & villages["real_lon"].notna()]
        anchors: dict[str, list[Point]] = {}
        for c, x, y in zip(v["township_code"], v["real_lon"], v["real_lat"]):
            anchors.setdefault(c, []).append(Point(x, y))
        polys = _reassign_pieces(polys, seats, anchors)
        missing = sorted(set(t["code"]) - set(polys))
        if missing:
            msg = f"tiling of county {county.code}: township(s) {', '.join(missing)} got no cell"
            raise RuntimeError(msg)
        records.extend(polys.items())
    gdf = gpd.GeoDataFrame({"code": [c for c, _ in records]},
                           geometry=[g for _, g in records], crs=STORAGE_CRS)
    return gdf.sort_values("code").reset_index(drop=True)
