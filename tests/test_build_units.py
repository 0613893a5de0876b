"""Building blocks of the dataset build, on small hand-made inputs with hand-worked answers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point, box

from covplan.cli import main as covplan_main
from layers.build import io
from layers.build.facilities import Fac, short_village_name
from layers.build.population import largest_remainder, split_population
from layers.build.sources import SourceDataError, read_sources
from layers.build.tiling import tile_townships
from layers.build.units import census_population

DATA = Path(__file__).resolve().parent.parent / "data"


# ----------------------------------------------------------------------------- arithmetic
def test_largest_remainder_by_hand():
    # quotas 3.5, 2.1, 1.4 → floors 3, 2, 1 (6); the one left goes to the largest fraction (.5)
    assert largest_remainder(7, np.array([0.5, 0.3, 0.2])).tolist() == [4, 2, 1]
    # equal fractions: earlier positions first
    assert largest_remainder(10, np.array([1.0, 1.0, 1.0])).tolist() == [4, 3, 3]
    assert largest_remainder(0, np.array([2.0, 1.0])).tolist() == [0, 0]
    with pytest.raises(ValueError):
        largest_remainder(5, np.array([1.0, -1.0]))
    with pytest.raises(ValueError):
        largest_remainder(5, np.array([0.0, 0.0]))


def test_census_formulas_by_hand():
    row = pd.DataFrame([{"code": "331199", "POPU": 1000, "AGES_0": 0.01, "AGES_1-4": 0.04,
                         "AGES_0-14": 0.15, "AGES_15-19": 0.05, "POPU_WM": 105.0,
                         "AGES_65P": 0.2, "POPU_URB": 0.6}])
    out = census_population(row).iloc[0]
    # 1000 × (0.01 + 0.04·2/4) = 30; 1000 × (0.15 + 0.05·3/5) = 180; 1000 × 100/205 = 487.8
    assert (out["pop_total"], out["pop_under3"], out["pop_under18"]) == (1000, 30, 180)
    assert (out["pop_women"], out["pop_65plus"], out["pop_urban"]) == (488, 200, 600)


def test_split_population_by_hand():
    villages = pd.DataFrame({
        "code": ["331199001001", "331199001002"], "township_code": ["331199001"] * 2,
        "county_code": ["331199"] * 2, "committee_type": ["residents_committee", "villagers_committee"],
        "urban_rural_code": ["111", "220"], "is_urban": [True, False],
    })
    townships = pd.DataFrame({"code": ["331199001"], "township_type": ["镇"]})
    counties = pd.DataFrame([{"code": "331199", "pop_total": 1000, "pop_under3": 30, "pop_under18": 180,
                              "pop_women": 488, "pop_65plus": 200, "pop_urban": 600}])
    v, t = split_population(villages, townships, counties, seed=1)
    # one unit per pool: the urban one takes the census urban 600, the rural one the rest
    assert v["pop_total"].tolist() == [600, 400]
    # under 3: urban weight 0.6 × 1.12 = 0.672, rural 0.4 → 30 × 0.672/1.072 = 18.8 → 19 and 11
    assert v["pop_under3"].tolist() == [19, 11]
    # 65+: urban 0.6 × 0.8 = 0.48, rural 0.4 → 200 × 0.48/0.88 = 109.09 → 109 and 91
    assert v["pop_65plus"].tolist() == [109, 91]
    assert t.loc[0, "pop_total"] == 1000 and t.loc[0, "pop_women"] == 488
    assert (v["pop_provenance"] == "estimated").all()


# ----------------------------------------------------------------------------- tiling
def test_tiling_two_seats_split_a_square_county_in_halves():
    to_wgs = Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)
    x0, y0 = 480_000.0, 3_150_000.0  # a 10 km square near Lishui, EPSG:4549
    square = shapely.transform(box(x0, y0, x0 + 10_000, y0 + 10_000).segmentize(500.0),
                               lambda xy: np.column_stack(to_wgs.transform(xy[:, 0], xy[:, 1])))
    square = shapely.set_precision(square, 1e-6)
    counties = gpd.GeoDataFrame({"code": ["331199"]}, geometry=[square], crs="EPSG:4326")
    seats = [to_wgs.transform(x0 + 2_500, y0 + 5_000), to_wgs.transform(x0 + 7_500, y0 + 5_000)]
    townships = pd.DataFrame({"code": ["331199001", "331199002"], "county_code": ["331199"] * 2,
                              "seat_lon": [s[0] for s in seats], "seat_lat": [s[1] for s in seats]})
    # a real village of township 001 lying east of the midline must stay in 001
    vx, vy = to_wgs.transform(x0 + 5_800, y0 + 9_000)
    villages = pd.DataFrame({"code": ["331199001001"], "township_code": ["331199001"],
                             "county_code": ["331199"], "real_lon": [vx], "real_lat": [vy]})
    out = tile_townships(townships, villages, counties).set_index("code")
    assert (out.geom_type == "Polygon").all()
    area = out.to_crs("EPSG:4549").area
    county_w = counties.to_crs("EPSG:4549").geometry.iloc[0]
    union = shapely.union_all(out.to_crs("EPSG:4549").geometry.values)
    # the 1e-6° grid snaps edge crossings by < 0.1 m: allow 1e-6 of the area
    assert union.symmetric_difference(county_w).area < 1e-6 * county_w.area
    assert abs(area.sum() - union.area) < 1.0  # no overlap
    assert out.loc["331199001", "geometry"].contains(Point(vx, vy))
    # second method: brute-force nearest generator on a 250 m grid (skipping near-ties)
    gens = np.array([[x0 + 2_500, y0 + 5_000], [x0 + 5_800, y0 + 9_000], [x0 + 7_500, y0 + 5_000]])
    labels = np.array(["331199001", "331199001", "331199002"])
    gx, gy = np.meshgrid(np.arange(x0 + 125, x0 + 10_000, 250.0), np.arange(y0 + 125, y0 + 10_000, 250.0))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    d = np.linalg.norm(pts[:, None, :] - gens[None, :, :], axis=2)
    order = np.sort(d, axis=1)
    clear = (order[:, 1] - order[:, 0]) > 20.0
    expected = labels[np.argmin(d, axis=1)][clear]
    lon, lat = to_wgs.transform(pts[clear, 0], pts[clear, 1])
    inside_001 = shapely.contains_xy(out.loc["331199001", "geometry"], lon, lat)
    assert clear.sum() > 1500
    assert (np.where(inside_001, "331199001", "331199002") == expected).all()
    inter = out.loc["331199001", "geometry"].intersection(out.loc["331199002", "geometry"])
    assert inter.area == 0.0 or shapely.area(inter) < 1e-14


# ----------------------------------------------------------------------------- facilities
def test_facility_attributes_follow_the_years():
    fac = Fac("CH-331102001001-01", "child_home", "永晖社区儿童之家", "331102", "331102001",
              "331102001001", 119.9, 28.4, "village", "addr", opened=2022, closed=None,
              base={"tier": "basic"}, changes=[(2024, {"tier": "demonstration"})])
    assert not fac.exists_in(2020) and fac.exists_in(2022) and fac.exists_in(2024)
    assert fac.attributes(2022)["tier"] == "basic"
    assert fac.attributes(2024)["tier"] == "demonstration"
    assert fac.attributes(2024)["capacity"] is None
    closed = Fac("CC-1-01", "childcare", "x", "331102", "331102001", "", 0, 0, "exact", "", opened=2020,
                 closed=2024)
    assert closed.exists_in(2022) and not closed.exists_in(2024)


@pytest.mark.parametrize(("name", "kind", "expected"), [
    ("大桥村委会", "villagers_committee", "大桥村"),
    ("黄店村村民委员会", "villagers_committee", "黄店村"),
    ("永晖社区居委会", "residents_committee", "永晖社区"),
    ("新开垟居委会", "residents_committee", "新开垟社区"),
    ("王村口镇居民委员会", "residents_committee", "王村口镇社区"),
])
def test_short_village_name(name, kind, expected):
    assert short_village_name(name, kind) == expected


# ----------------------------------------------------------------------------- writers
def test_write_geojson_rounds_and_is_stable(tmp_path):
    gdf = gpd.GeoDataFrame({"code": ["a", "b"], "value": [1.5, np.nan], "n": pd.array([3, None], "Int64")},
                           geometry=[Point(119.123456789, 28.987654321), Point(120.0, 28.0)],
                           crs="EPSG:4326")
    p1 = io.write_geojson(gdf, tmp_path / "a.geojson", ["code", "value", "n"], "t")
    p2 = io.write_geojson(gdf, tmp_path / "b.geojson", ["code", "value", "n"], "t")
    assert p1.read_bytes() == p2.read_bytes()
    doc = json.loads(p1.read_text(encoding="utf-8"))
    assert doc["features"][0]["geometry"]["coordinates"] == [119.123457, 28.987654]
    assert doc["features"][1]["properties"] == {"code": "b", "value": None, "n": None}
    assert doc["features"][0]["properties"]["n"] == 3
    with pytest.raises(ValueError, match="EPSG:4326"):
        io.write_geojson(gdf.to_crs("EPSG:4549"), tmp_path / "c.geojson", ["code"], "t")


# ----------------------------------------------------------------------------- bad sources
@pytest.fixture()
def shared_copy(tmp_path, shared_data) -> Path:
    dest = tmp_path / "shared"
    dest.mkdir()
    for name in ("lishui_counties_wgs84.geojson", "lishui_counties.csv", "lishui_census2020_county.csv",
                 "lishui_townships.csv", "lishui_villages.csv", "lishui_admin_2016_adcode.csv"):
        shutil.copy(shared_data / name, dest / name)
    return dest


def _edit_csv(path: Path, edit) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")


def test_sources_read_cleanly(shared_copy):
    src = read_sources(shared_copy)
    assert len(src.townships) == 173 and len(src.villages) == 2008
    assert src.county_outlines.crs.to_epsg() == 4326


def test_missing_source_file_is_named(shared_copy):
    (shared_copy / "lishui_townships.csv").unlink()
    with pytest.raises(SourceDataError, match="lishui_townships.csv: source file not found"):
        read_sources(shared_copy)


def test_wrong_row_count_is_reported(shared_copy):
    _edit_csv(shared_copy / "lishui_villages.csv", lambda lines: lines[:-1])
    with pytest.raises(SourceDataError, match="lishui_villages.csv: expected 2008 rows, found 2007"):
        read_sources(shared_copy)


def test_bad_committee_type_names_row_and_field(shared_copy):
    def edit(lines):
        lines[5] = lines[5].replace("residents_committee", "street_office", 1)
        return lines
    _edit_csv(shared_copy / "lishui_villages.csv", edit)
    with pytest.raises(SourceDataError, match=r"row 6, field committee_type: unknown 'street_office'"):
        read_sources(shared_copy)


def test_duplicate_township_code_names_row(shared_copy):
    def edit(lines):
        lines[3] = lines[2]
        return lines
    _edit_csv(shared_copy / "lishui_townships.csv", edit)
    with pytest.raises(SourceDataError, match=r"lishui_townships.csv: row 4, field code: duplicate"):
        read_sources(shared_copy)


def test_missing_column_is_named(shared_copy):
    def edit(lines):
        lines[0] = lines[0].replace("township_type", "kind")
        return lines
    _edit_csv(shared_copy / "lishui_townships.csv", edit)
    with pytest.raises(SourceDataError, match="missing column"):
        read_sources(shared_copy)


def test_cli_build_with_bad_source_folder_exits_2(tmp_path, capsys):
    code = covplan_main(["data", "build", "--shared", str(tmp_path / "nowhere"),
                         "--out", str(tmp_path / "out"), "--no-network"])
    assert code == 2
    err = capsys.readouterr().err
    assert "source file not found" in err and len(err.strip().splitlines()) == 1


def test_missing_seat_rule_predecessor_uses_the_2016_point(shared_data):
    """祯埠镇 (no seat in 2023 sources) gets the Amap point of its 2016 predecessor 祯埠乡."""
    adcode = pd.read_csv(shared_data / "lishui_admin_2016_adcode.csv", dtype=str)
    pred = adcode[adcode["name"] == "祯埠乡"].iloc[0]
    t = gpd.read_file(DATA / "boundaries" / "townships.geojson")
    t["code"] = t["code"].astype(str)
    row = t[t["code"] == "331121110"].iloc[0]
    assert row["seat_provenance"] == "estimated"
    assert (row["seat_lon"], row["seat_lat"]) == (float(pred["lon_wgs84"]), float(pred["lat_wgs84"]))
    assert "predecessor_2016" in row["boundary_method"]
