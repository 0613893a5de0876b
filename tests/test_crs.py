"""WGS84 ⇄ GCJ-02 ⇄ BD-09 conversions: round trips, known offsets, and the shared data's pairs."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from layers import crs as C
from layers._errors import CovplanError
from layers.settings import LISHUI_BBOX


@pytest.fixture(scope="module")
def lishui_points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    lon = rng.uniform(LISHUI_BBOX[0], LISHUI_BBOX[2], 2000)
    lat = rng.uniform(LISHUI_BBOX[1], LISHUI_BBOX[3], 2000)
    return lon, lat


@pytest.fixture(scope="module")
def china_points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    return rng.uniform(74, 134, 3000), rng.uniform(4, 53, 3000)


def test_gcj02_round_trip_is_exact(lishui_points, china_points) -> None:
    for lon, lat in (lishui_points, china_points):
        back_lon, back_lat = C.gcj02_to_wgs84(*C.wgs84_to_gcj02(lon, lat))
        assert np.abs(back_lon - lon).max() < 1e-9
        assert np.abs(back_lat - lat).max() < 1e-9
        # and the other way: forward(inverse(g)) reproduces g
        glon, glat = C.wgs84_to_gcj02(*C.gcj02_to_wgs84(lon, lat))
        assert np.abs(glon - lon).max() < 1e-9
        assert np.abs(glat - lat).max() < 1e-9


def test_bd09_round_trips_are_exact(lishui_points, china_points) -> None:
    for lon, lat in (lishui_points, china_points):
        b = C.wgs84_to_bd09(lon, lat)
        back = C.bd09_to_wgs84(*b)
        assert np.abs(back[0] - lon).max() < 1e-9 and np.abs(back[1] - lat).max() < 1e-9
        g = C.bd09_to_gcj02(*C.gcj02_to_bd09(lon, lat))
        assert np.abs(g[0] - lon).max() < 1e-9 and np.abs(g[1] - lat).max() < 1e-9


def test_bd09_inverse_agrees_with_the_public_closed_form(lishui_points) -> None:
    """The usual closed-form BD-09 → GCJ-02 is an approximation; ours refines it slightly."""
    lon, lat = C.gcj02_to_bd09(*lishui_points)
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * math.pi * 3000 / 180)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * math.pi * 3000 / 180)
    ours = C.bd09_to_gcj02(lon, lat)
    assert np.abs(ours[0] - z * np.cos(theta)).max() < 2e-6
    assert np.abs(ours[1] - z * np.sin(theta)).max() < 2e-6


def test_known_offsets_in_lishui() -> None:
    # 丽水 city centre, WGS84
    lon, lat = 119.92, 28.45
    glon, glat = C.wgs84_to_gcj02(lon, lat)
    assert 0.004 < glon - lon < 0.005  # ~0.0045° east
    assert -0.004 < glat - lat < -0.002  # ~0.003° south
    # the offset length by a second method (geodesic on WGS84 with pyproj)
    _, _, dist = Geod(ellps="WGS84").inv(lon, lat, glon, glat)
    assert 500 < dist < 600
    assert C.gcj02_offset_m(lon, lat) == pytest.approx(dist, rel=0.01)
    blon, blat = C.gcj02_to_bd09(glon, glat)
    assert 0.006 < blon - glon < 0.007 and 0.005 < blat - glat < 0.0068


def test_no_offset_outside_china() -> None:
    assert C.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert C.gcj02_to_wgs84(2.35, 48.85) == (2.35, 48.85)
    assert bool(C.out_of_china(2.35, 48.85)) and not bool(C.out_of_china(119.9, 28.4))


def test_scalars_stay_scalars_and_arrays_keep_shape() -> None:
    lon, lat = C.wgs84_to_gcj02(119.9, 28.4)
    assert isinstance(lon, float) and isinstance(lat, float)
    arr = C.gcj02_to_wgs84(np.full((2, 3), 119.9), np.full((2, 3), 28.4))
    assert arr[0].shape == (2, 3)
    assert np.isnan(C.gcj02_to_wgs84(np.nan, 28.4)[0])


def test_shared_village_pairs_agree(shared_data) -> None:
    """lishui_villages.csv holds both GCJ-02 (Amap, as published) and WGS84 columns (6 decimals)."""
    v = pd.read_csv(shared_data / "lishui_villages.csv", dtype=str).dropna(subset=["lon_wgs84"])
    assert len(v) == 92
    wlon, wlat = v["lon_wgs84"].astype(float).to_numpy(), v["lat_wgs84"].astype(float).to_numpy()
    glon, glat = v["lon_gcj02"].astype(float).to_numpy(), v["lat_gcj02"].astype(float).to_numpy()
    lon, lat = C.gcj02_to_wgs84(glon, glat)
    assert np.abs(lon - wlon).max() < 1e-6 and np.abs(lat - wlat).max() < 1e-6
    lon, lat = C.wgs84_to_gcj02(wlon, wlat)
    assert np.abs(lon - glon).max() < 1e-6 and np.abs(lat - glat).max() < 1e-6


def test_shared_township_seats_agree(shared_data) -> None:
    t = pd.read_csv(shared_data / "lishui_townships.csv", dtype=str).dropna(subset=["seat_lon_gcj02"])
    assert len(t) == 160
    lon, lat = C.to_wgs84(t["seat_lon_gcj02"].astype(float), t["seat_lat_gcj02"].astype(float), "高德")
    assert np.abs(lon - t["seat_lon_wgs84"].astype(float).to_numpy()).max() < 1e-6
    assert np.abs(lat - t["seat_lat_wgs84"].astype(float).to_numpy()).max() < 1e-6


def test_geodataframe_conversion_matches_shared_county_outline(shared_data) -> None:
    """Converting the published GCJ-02 county polygon vertex by vertex gives the WGS84 file."""
    gcj = gpd.read_file(shared_data / "lishui_counties_gcj02.geojson", engine="pyogrio")
    wgs = gpd.read_file(shared_data / "lishui_counties_wgs84.geojson", engine="pyogrio")
    a = gcj[gcj["code"] == "331125"]
    b = wgs[wgs["code"] == "331125"]
    conv = C.convert_geodataframe(a, "gcj02")
    assert conv.crs.to_epsg() == 4326
    ca = shapely.get_coordinates(conv.geometry.values)
    cb = shapely.get_coordinates(b.geometry.values)
    assert ca.shape == cb.shape and len(ca) > 1000
    assert np.abs(ca - cb).max() < 1.5e-6
    assert a.geometry.iloc[0].geom_type == conv.geometry.iloc[0].geom_type


def test_dispatcher_and_aliases() -> None:
    g = C.wgs84_to_gcj02(119.9, 28.4)
    b = C.wgs84_to_bd09(119.9, 28.4)
    for alias in ("gcj02", "GCJ-02", "高德", "amap", "火星坐标"):
        assert C.to_wgs84(*g, alias) == pytest.approx((119.9, 28.4), abs=1e-10)
    for alias in ("bd09", "BD-09", "百度", "baidu"):
        assert C.to_wgs84(*b, alias) == pytest.approx((119.9, 28.4), abs=1e-10)
    assert C.to_wgs84(119.9, 28.4, "cgcs2000") == (119.9, 28.4)
    assert C.to_wgs84(119.9, 28.4, "WGS84") == (119.9, 28.4)
    with pytest.raises(CovplanError, match="unknown coordinate system"):
        C.to_wgs84(119.9, 28.4, "mercator")


def test_convert_geometry_refuses_projected_frames() -> None:
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(500000, 3150000)], crs="EPSG:4549")
    with pytest.raises(CovplanError, match="projected"):
        C.convert_geodataframe(gdf, "gcj02")
    poly = shapely.Polygon([(119.9, 28.4), (119.91, 28.4), (119.91, 28.41)])
    moved = C.convert_geometry(poly, "bd09")
    expected = np.column_stack(C.bd09_to_wgs84(*shapely.get_coordinates(poly).T))
    assert np.allclose(shapely.get_coordinates(moved), expected, atol=1e-12)
    assert C.convert_geometry(poly, "wgs84") is poly
