"""Village points: the 92 real ones kept, the others placed by a deterministic rule.

Only 92 of the 2008 village/community committees have a public point (Amap 2016, converted to
WGS84). The others are placed inside their (estimated) township polygon, in EPSG:4549:

* **urban units** (``is_urban`` or a 居委会) — ``synthetic_near_seat``: candidates drawn from a
  normal distribution around the township seat (σ = :data:`URBAN_RADIUS_M`/2), kept inside the
  disk of :data:`URBAN_RADIUS_M` (3 km if that disk holds less than 0.3 km² of the township),
  so communities cluster around the town or city centre;
* **rural villages** — ``synthetic_spread``: candidates uniform anywhere in the township.

Both keep :data:`EDGE_MARGIN_M` from the township edge and use Mitchell's best-candidate rule:
draw :data:`N_CANDIDATES` candidates from a generator seeded by (seed, village code) and keep
the one farthest from the points already placed in the township (seat and real points first,
then villages in code order). The result is reproducible and evenly spread, and every
point lies inside its township polygon (checked after rounding to 6 decimals).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from layers.build.tiling import TO_STORE, TO_WORK, to_work
from layers.settings import STORAGE_CRS

URBAN_RADIUS_M: float = 1500.0
EDGE_MARGIN_M: float = 150.0
N_CANDIDATES: dict[bool, int] = {True: 3, False: 12}

REAL_METHOD = "real_2016_amap"
URBAN_METHOD = "synthetic_near_seat"
RURAL_METHOD = "synthetic_spread"


def sample_in(region, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` points drawn uniformly inside a polygon by rejection from its bounding box.

    Parameters
    ----------
    region : shapely Polygon/MultiPolygon (metres, EPSG:4549)
    rng : numpy Generator
    n : int

    Returns
    -------
    ndarray, shape (n, 2)
    """
    x0, y0, x1, y1 = region.bounds
    shapely.prepare(region)
    out: list[np.ndarray] = []
    got = 0
    for _ in range(200):
        xy = np.column_stack([rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)])
        keep = xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]
        out.append(keep)
        got += len(keep)
        if got >= n:
            break
    if got < n:
        raise RuntimeError("could not sample inside a region (is it empty?)")
    return np.concatenate(out)[:n]


def sample_near(centre: Point, region, rng: np.random.Generator, n: int, sigma_m: float) -> np.ndarray:
    """``n`` points from a 2-D normal around ``centre`` (σ in metres), kept inside ``region``."""
    shapely.prepare(region)
    out: list[np.ndarray] = []
    got = 0
    for _ in range(200):
        xy = rng.normal(0.0, sigma_m, size=(4 * n, 2)) + np.array([centre.x, centre.y])
        keep = xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]
        out.append(keep)
        got += len(keep)
        if got >= n:
            return np.concatenate(out)[:n]
    return sample_in(region, rng, n)


def _regions(poly_work, seat_work: Point):
    inner = poly_work.buffer(-EDGE_MARGIN_M)
    if inner.is_empty or inner.area < 0.05 * poly_work.area:
        inner = poly_work.buffer(-10.0)
    near = inner.intersection(seat_work.buffer(URBAN_RADIUS_M))
    if near.area < 0.3e6:
        near = inner.intersection(seat_work.buffer(2 * URBAN_RADIUS_M))
    if near.area < 0.3e6:
        near = inner
    return inner, near


def place_villages(villages: pd.DataFrame, townships: gpd.GeoDataFrame, seed: int) -> gpd.GeoDataFrame:
    """Village points in EPSG:4326 with ``provenance`` and ``location_method``.

    Parameters
    ----------
    villages : DataFrame
        Village table with ``real_lon``/``real_lat`` (NaN where no real point).
    townships : GeoDataFrame
        Township polygons (EPSG:4326) with ``code``, ``seat_lon``, ``seat_lat``.
    seed : int
        Build seed.

    Returns
    -------
    GeoDataFrame
        ``villages`` without ``real_lon``/``real_lat``, plus ``provenance`` (``real`` /
        ``synthetic``), ``location_method`` and Point geometry, sorted by code.
    """
    v = villages.sort_values("code").reset_index(drop=True)
    lon = v["real_lon"].to_numpy(float).copy()
    lat = v["real_lat"].to_numpy(float).copy()
    method = np.where(np.isnan(lon), "", REAL_METHOD).astype(object)
    tw = townships.set_index("code")
    urban_of = (v["is_urban"].to_numpy(bool) | (v["committee_type"] == "residents_committee").to_numpy())
    codes = v["code"].to_numpy()
    for tcode, idx in v.groupby("township_code").groups.items():
        poly = tw.at[tcode, "geometry"]
        shapely.prepare(poly)
        seat = to_work(Point(tw.at[tcode, "seat_lon"], tw.at[tcode, "seat_lat"]))
        inner, near = _regions(to_work(poly), seat)
        placed = [(seat.x, seat.y)] + [TO_WORK.transform(lon[i], lat[i]) for i in idx
                                       if method[i] == REAL_METHOD]
        for i in idx:
            if method[i] == REAL_METHOD:
                continue
            urban = bool(urban_of[i])
            rng = np.random.default_rng([seed, int(codes[i]), 2])
            for _attempt in range(20):
                if urban:
                    cand = sample_near(seat, near, rng, N_CANDIDATES[True], URBAN_RADIUS_M / 2)
                else:
                    cand = sample_in(inner, rng, N_CANDIDATES[False])
                diff = cand[:, None, :] - np.asarray(placed)[None, :, :]
                dist = np.sqrt((diff ** 2).sum(axis=2)).min(axis=1)
                x, y = cand[int(np.argmax(dist))]
                plon, plat = (round(c, 6) for c in TO_STORE.transform(x, y))
                if shapely.contains_xy(poly, plon, plat):
                    break
            else:
                raise RuntimeError(f"village {codes[i]}: no point found inside township {tcode}")
            lon[i], lat[i] = plon, plat
            placed.append((x, y))
            method[i] = URBAN_METHOD if urban else RURAL_METHOD
    out = v.drop(columns=["real_lon", "real_lat"])
    out["provenance"] = np.where(method == REAL_METHOD, "real", "synthetic")
    out["location_method"] = method
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs=STORAGE_CRS)
