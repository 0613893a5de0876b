"""Minutes walked on slopes: Tobler's function, DEM reading and voids, directed times.

Real relief: tests/data/dem/jingning_N27E119_crop.tif (SRTM, public domain; a window of
N27E119.hgt around the 景宁 county seat, see tests/data/README.md). Independent references:
hand-worked Tobler values; rasterio's own pixel reads and scipy's RegularGridInterpolator
for the grades; GDAL's SRTMHGT driver for the .hgt reader.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from scipy.interpolate import RegularGridInterpolator

from coverage._errors import NetworkError
from coverage.access import WalkNetwork
from coverage.access.graph import _csr_from_edges
from coverage.access.nearest import nearest_on_network
from coverage.access.terrain import read_dem, terrain_cost, tobler_speed

rasterio = pytest.importorskip("rasterio")

DEM_CROP = Path(__file__).resolve().parent / "data" / "dem" / "jingning_N27E119_crop.tif"
TO_4549 = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)


def line_network(lonlat_paths: list[list[tuple[float, float]]], steps: list[bool] | None = None
                 ) -> WalkNetwork:
    """A WalkNetwork of straight polylines given in lon/lat (EPSG:4549 metres inside)."""
    nodes: dict[tuple[float, float], int] = {}
    us, vs, geoms = [], [], []
    for path in lonlat_paths:
        xy = np.column_stack(TO_4549.transform(*np.array(path).T))
        a, b = tuple(path[0]), tuple(path[-1])
        for p in (a, b):
            nodes.setdefault(p, len(nodes))
        us.append(nodes[a])
        vs.append(nodes[b])
        geoms.append(shapely.LineString(xy))
    node_xy = np.array([np.array(TO_4549.transform(*p)) for p in nodes])
    u, v = np.array(us), np.array(vs)
    geoms = np.array(geoms, dtype=object)
    length = shapely.length(geoms)
    return WalkNetwork(crs="EPSG:4549", source="test", provenance="real",
                       node_osmid=np.arange(len(nodes)), node_xy=node_xy, edge_u=u, edge_v=v,
                       edge_length_m=length, edge_geometry=geoms,
                       graph=_csr_from_edges(len(nodes), u, v, length),
                       edge_steps=np.array(steps if steps is not None else [False] * len(u)))


def write_hgt(path: Path, z: np.ndarray) -> Path:
    z.astype(">i2").tofile(path)
    return path


# ---------------------------------------------------------------------- Tobler
def test_tobler_hand_worked() -> None:
    """6 km/h on the flat (步行10分钟、1公里 = 100 m/min)."""
    v = tobler_speed(np.array([0.0, 0.1, -0.1, -0.05, 0.2]), 100.0)
    # 0: 100; +10 %: 100·e^(−3.5·0.10) = 70.469; −10 %: |−0.05| → 100;
    # −5 %: 100·e^(3.5·0.05) = 119.125 (Tobler's fastest, 6 km/h of his 5.04 on the flat);
    # +20 %: 100·e^(−3.5·0.20) = 49.659
    np.testing.assert_allclose(v, [100.0, 70.4688, 100.0, 119.1246, 49.6585], atol=1e-4)
    # 1 km at +10 % takes 14.19 min, the same km downhill 10.00 min
    assert 1000 / v[1] == pytest.approx(14.1907, abs=1e-4)
    # unscaled Tobler: 6·e^(−3.5·0.05) = 5.0367 km/h on the flat
    assert tobler_speed(0.0, 6 * math.exp(-0.175)) == pytest.approx(5.0367, abs=1e-4)


def plane_tile(tmp_path: Path, slope_per_deg_lon: float, name: str = "N27E119.hgt") -> Path:
    n = 1201
    lon = 119 + np.arange(n) / (n - 1)
    z = np.tile(100 + slope_per_deg_lon * (lon - 119), (n, 1))
    return write_hgt(tmp_path / name, np.round(z))


def test_directed_minutes_on_a_plane(tmp_path: Path) -> None:
    """An east-rising plane: east is uphill, west downhill; times hand-worked."""
    dem = read_dem(plane_tile(tmp_path, 12_000.0))  # 10 m per grid step (1/1200°)
    a, b = (119.60, 27.95), (119.61, 27.95)
    net = line_network([[a, b]])
    terr = terrain_cost(net, dem, 100.0, sample_m=30.0)
    L = float(net.edge_length_m[0])
    rise = 120.0  # 0.01° × 12,000 m/°
    g = rise / L
    up, down = float(terr.cost.graph[0, 1]), float(terr.cost.graph[1, 0])
    assert up == pytest.approx(L / (100 * math.exp(-3.5 * (abs(g + 0.05) - 0.05))), rel=1e-5)
    assert down == pytest.approx(L / (100 * math.exp(-3.5 * (abs(-g + 0.05) - 0.05))), rel=1e-5)
    assert up > down
    np.testing.assert_allclose(terr.node_z, [7300.0, 7420.0], atol=1e-6)
    # home near the east end, facility near the west end: downhill all the way, legs flat
    home = np.array(TO_4549.transform(119.609, 27.9501))
    fac = np.array(TO_4549.transform(119.601, 27.9501))
    res = nearest_on_network(net, home[None], fac[None], cost=terr.cost, limit_min=60)
    s = net.snap_points(np.vstack([home, fac]))
    along = s.pos_m[0] - s.pos_m[1]
    expect = along / (100 * math.exp(-3.5 * (abs(-g + 0.05) - 0.05))) + s.leg_m.sum() / 100
    assert res.time_min[0] == pytest.approx(expect, rel=1e-5)
    back = nearest_on_network(net, fac[None], home[None], cost=terr.cost, limit_min=60)
    assert back.time_min[0] > res.time_min[0]  # the same walk uphill


def test_steps_and_flat_fallback(tmp_path: Path) -> None:
    dem = read_dem(plane_tile(tmp_path, 12_000.0))
    inside = [(119.60, 27.95), (119.61, 27.95)]
    outside = [(120.20, 27.95), (120.21, 27.95)]   # east of the tile: no DEM
    stairs = [(119.60, 27.96), (119.601, 27.96)]
    net = line_network([inside, outside, stairs], steps=[False, False, True])
    terr = terrain_cost(net, dem, 100.0, steps_factor=0.5)
    np.testing.assert_array_equal(terr.edge_flat, [False, True, False])
    L = net.edge_length_m
    assert float(terr.cost.graph[2, 3]) == pytest.approx(L[1] / 100, rel=1e-9)
    assert float(terr.cost.graph[3, 2]) == pytest.approx(L[1] / 100, rel=1e-9)
    assert float(terr.cost.graph[4, 5]) == pytest.approx(L[2] / 50, rel=1e-9)
    assert float(terr.cost.graph[5, 4]) == pytest.approx(L[2] / 50, rel=1e-9)
    np.testing.assert_array_equal(terr.covers(net.node_xy), [True, True, False, False, True, True])
    assert terr.summary()["edges_flat_fallback"] == 1


# ---------------------------------------------------------------------- real DEM
def test_hgt_reader_matches_gdal(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    z = rng.integers(0, 2000, (1201, 1201)).astype(np.int16)
    z[5, 7] = -32768
    path = write_hgt(tmp_path / "N27E119.hgt", z)
    ours = read_dem(path)
    with rasterio.open(path) as src:  # GDAL's SRTMHGT driver
        ref = src.read(1)
        t = src.transform
    np.testing.assert_array_equal(ours.z[ref != -32768], ref[ref != -32768])
    assert ours.x0 == pytest.approx(t.c + t.a / 2, abs=1e-12)
    assert ours.y0 == pytest.approx(t.f + t.e / 2, abs=1e-12)
    assert ours.void_cells == 1
    # an isolated void is filled with the mean of its 8 neighbours
    assert ours.z[5, 7] == pytest.approx(z[4:7, 6:9].astype(float).sum() / 8 - (-32768) / 8)
    with pytest.raises(NetworkError, match="SRTM tile"):
        read_dem(write_hgt(tmp_path / "N27E118.hgt", z[:10]))
    with pytest.raises(NetworkError, match="named like"):
        read_dem(write_hgt(tmp_path / "dem.hgt", z))
    with pytest.raises(NetworkError, match="not found"):
        read_dem(tmp_path / "missing.hgt")


def test_grades_match_independent_raster_sampling() -> None:
    """Grades of real edges around 景宁 vs scipy's bilinear interpolation of rasterio's read."""
    dem = read_dem(DEM_CROP)
    assert dem.void_cells == 33
    with rasterio.open(DEM_CROP) as src:
        raw = src.read(1).astype(float)
        t = src.transform
        # rasterio's own pixel read at a grid point: the highest cell of the window
        r, c = np.unravel_index(np.argmax(raw), raw.shape)
        lon_c, lat_c = t.c + (c + 0.5) * t.a, t.f + (r + 0.5) * t.e
        assert next(src.sample([(lon_c, lat_c)]))[0] == raw[r, c]
    z_ours, _ = dem.sample(np.array([lon_c]), np.array([lat_c]))
    assert z_ours[0] == pytest.approx(raw[r, c], abs=1e-9)
    lats = t.f + (np.arange(raw.shape[0]) + 0.5) * t.e
    lons = t.c + (np.arange(raw.shape[1]) + 0.5) * t.a
    interp = RegularGridInterpolator((lats[::-1], lons), raw[::-1], method="linear")
    void = raw == -32768
    paths = [[(119.61, 27.94), (119.69, 27.99)], [(119.62, 27.995), (119.65, 27.935)],
             [(119.605, 27.96), (119.63, 27.962), (119.64, 27.97)]]
    net = line_network(paths)
    terr = terrain_cost(net, dem, 100.0, sample_m=25.0)
    from coverage.access.terrain import edge_samples

    e, pos = edge_samples(net, 25.0)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(net.edge_geometry[e], pos))
    lon, lat = Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True).transform(xy[:, 0], xy[:, 1])
    z_ref = interp(np.column_stack([lat, lon]))
    # exclude samples whose interpolation touches a void cell
    fr = (lats[0] - lat) / -t.e
    fc = (lon - lons[0]) / t.a
    r0, c0 = np.floor(fr).astype(int), np.floor(fc).astype(int)
    touch = void[r0, c0] | void[r0 + 1, c0] | void[r0, c0 + 1] | void[r0 + 1, c0 + 1]
    same = e[1:] == e[:-1]
    g_ref = ((z_ref[1:] - z_ref[:-1]) / (pos[1:] - pos[:-1]))[same]
    ok = ~(touch[1:] | touch[:-1])[same]
    assert ok.sum() > 100 and (~ok).sum() >= 1  # the second path crosses the void patch
    np.testing.assert_allclose(terr.seg_grade[ok], g_ref[ok], atol=1e-9)
    assert terr.samples_void >= 1 and terr.edge_void.any()
    assert np.abs(g_ref[ok]).max() > 0.15  # real mountain slopes


# ---------------------------------------------------------------------- embedded data + CLI
def test_cli_access_flat_and_terrain_side_by_side(capsys: pytest.CaptureFixture) -> None:
    """``covplan access --dem``: the 景宁 seat lies in the crop, the other counties do not."""
    import json

    import pandas as pd

    from covplan.cli import main

    assert main(["access", "--target", "fitness_10min_circle", "--dem", str(DEM_CROP),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    terr = out["terrain"]
    assert terr["max_minutes"] == 10 and terr["flat_speed_m_per_min"] == 100
    assert terr["dem_void_cells"] == 33 and terr["edges_flat_fallback"] > 0
    u = pd.DataFrame(out["units"])
    town = u[u["unit_level"] == "township"]
    # covered with relief = covered on the flat + gained − lost, for every unit
    np.testing.assert_allclose(u["pop_covered_terrain"],
                               u["pop_covered_flat"] + u["pop_gained"] - u["pop_lost"])
    jn = town[town["county_code"] == "331127"]
    assert (jn["dem_coverage"] != "none").any()
    assert (town.loc[town["county_code"] == "331102", "dem_coverage"] == "none").all()
    assert main(["access", "--target", "fitness_10min_circle", "--dem", str(DEM_CROP),
                 "--level", "county"]) == 0
    text = capsys.readouterr().out
    assert "计坡度失去覆盖人口" in text and "景宁畲族自治县" in text
    with pytest.raises(SystemExit):
        main(["access", "--target", "fitness_10min_circle", "--snap", "vertex"])


SHARED_TILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "dem" / "N27E119.hgt"


@pytest.mark.skipif(not SHARED_TILE.is_file(), reason="the full SRTM tile lives in ../shared")
def test_cli_full_tile_qingyuan_and_jingning(capsys: pytest.CaptureFixture) -> None:
    import json

    import pandas as pd

    from covplan.cli import main

    assert main(["access", "--target", "fitness_10min_circle", "--dem", str(SHARED_TILE),
                 "--json"]) == 0
    u = pd.DataFrame(json.loads(capsys.readouterr().out)["units"])
    c = u[u["unit_level"] == "county"].set_index("unit_code")
    assert c.loc["331127", "dem_coverage"] == "full"      # 景宁
    assert c.loc["331126", "dem_coverage"] in ("full", "partial")  # 庆元
    assert c.loc["331102", "dem_coverage"] == "none"      # 莲都, north of the tile
    assert c.loc["331127", "pop_lost"] > 0 and c.loc["331126", "pop_lost"] > 0


def test_isochrone_is_longer_on_the_uphill_side(tmp_path: Path) -> None:
    """Homes above a facility walk down to it: the isochrone reaches farther uphill."""
    import geopandas as gpd

    from coverage.access.isochrones import isochrones

    dem = read_dem(plane_tile(tmp_path, 12_000.0))
    a, b = (119.60, 27.95), (119.64, 27.95)  # one 3.9 km street rising east
    net = line_network([[a, b]])
    terr = terrain_cost(net, dem, 100.0)
    mid = np.array(TO_4549.transform(119.62, 27.95))
    fac = gpd.GeoDataFrame({"facility_id": ["f"]},
                           geometry=gpd.points_from_xy([119.62], [27.95]), crs="EPSG:4326")
    iso = isochrones(fac, network=net, cost=terr.cost, budget=10.0, buffer_m=1.0, simplify_m=0.0)
    poly = iso.to_crs("EPSG:4549").geometry.iloc[0]
    g = float(net.edge_length_m[0])
    grade = 480.0 / g  # 0.04° × 12,000 m/° over the street
    v_down = 100 * math.exp(-3.5 * (abs(-grade + 0.05) - 0.05))  # home east, walking west
    v_up = 100 * math.exp(-3.5 * (abs(grade + 0.05) - 0.05))
    east = poly.bounds[2] - mid[0] - 1.0   # minus the 1 m buffer
    west = mid[0] - poly.bounds[0] - 1.0
    leg = net.snap_points(mid[None]).leg_m[0]
    assert east == pytest.approx((10 - leg / 100) * v_down, abs=1.0)
    assert west == pytest.approx((10 - leg / 100) * v_up, abs=1.0)
    assert east > west


@pytest.mark.slow
def test_cli_gpkg_with_isochrones(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import pyogrio

    from covplan.cli import main

    out = tmp_path / "fitness.gpkg"
    assert main(["access", "--target", "fitness_10min_circle", "--dem", str(DEM_CROP),
                 "-o", str(out)]) == 0
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"isochrones", "service_areas", "units_polygons"} <= layers
    iso = pyogrio.read_dataframe(out, layer="isochrones")
    assert len(iso) > 0 and "时间上限" in iso.columns
