"""The shipped embedded dataset (data/) checked against the public source files.

Files are read directly with geopandas/pyogrio and pandas; expected values are recomputed
here from ``../shared/data`` (by the formulas written out in this file), never taken from
the build code. One test rebuilds the whole dataset into a temporary folder and compares it
byte for byte with ``data/`` (determinism, and the shipped files match the code).
"""

from __future__ import annotations

import csv
import itertools
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.vocab import (CHILD_HOME_TIERS, COMMITTEE_TYPES, FACILITY_COLUMNS, FACILITY_LEVELS,
                          FACILITY_TYPES, INDICATORS, LOCATION_PRECISIONS, PUBLIC_PLACE_KINDS)

DATA = Path(__file__).resolve().parent.parent / "data"
YEARS = (2020, 2022, 2024)
POP = ("pop_total", "pop_under3", "pop_under18", "pop_women", "pop_65plus")
CODE_COLS = ("code", "county_code", "township_code", "village_code", "serves_place_id", "facility_id")


def _read(rel: str) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(DATA / rel, engine="pyogrio")
    for col in CODE_COLS:
        if col in gdf.columns:
            gdf[col] = gdf[col].fillna("").astype(str)
    return gdf


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return _read("boundaries/counties.geojson")


@pytest.fixture(scope="module")
def townships() -> gpd.GeoDataFrame:
    return _read("boundaries/townships.geojson")


@pytest.fixture(scope="module")
def villages() -> gpd.GeoDataFrame:
    return _read("units/villages.geojson")


@pytest.fixture(scope="module")
def facilities() -> dict[int, gpd.GeoDataFrame]:
    return {y: _read(f"facilities/facilities_{y}.geojson") for y in YEARS}


@pytest.fixture(scope="module")
def src_townships(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "lishui_townships.csv", dtype=str)


@pytest.fixture(scope="module")
def src_villages(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "lishui_villages.csv", dtype=str, keep_default_na=False)


# ----------------------------------------------------------------------------- units
def test_unit_counts_and_codes_match_sources(counties, townships, villages, src_townships, src_villages):
    assert len(counties) == 9 and len(townships) == 173 and len(villages) == 2008
    assert townships["code"].is_unique and villages["code"].is_unique
    assert sorted(townships["code"]) == sorted(src_townships["code"])
    assert sorted(villages["code"]) == sorted(src_villages["code"])
    per_county = townships.groupby("county_code").size().to_dict()
    assert per_county == src_townships.groupby("parent_code").size().to_dict()
    assert villages.groupby("county_code").size().to_dict() == \
        src_villages.groupby("county_code").size().to_dict()
    t = townships.set_index("code")
    s = src_townships.set_index("code")
    assert (t.loc[s.index, "name"] == s["name"]).all()
    assert (t.loc[s.index, "township_type"] == s["township_type"]).all()
    assert t["township_type"].value_counts().to_dict() == {"乡": 88, "镇": 54, "街道": 31}
    v = villages.set_index("code")
    sv = src_villages.set_index("code")
    assert (v.loc[sv.index, "name"] == sv["name"]).all()
    assert (v.loc[sv.index, "township_code"] == sv["parent_code"]).all()
    assert set(v["committee_type"]) <= set(COMMITTEE_TYPES)
    assert (v["committee_type"] == "residents_committee").sum() == 169


def test_urban_rural_code_and_is_urban(villages, src_villages):
    v = villages.set_index("code").loc[src_villages["code"]]
    src_code = src_villages["urban_rural_code"].to_numpy()
    assert (v["urban_rural_code"].fillna("").astype(str).to_numpy() == src_code).all()
    known = src_code != ""
    assert known.sum() == 1625
    year = pd.to_numeric(v["urban_rural_year"], errors="coerce")
    assert (year[known] == 2016).all() and year[~known].isna().all()
    expected_urban = np.where(known, pd.Series(src_code).str.startswith("1"),
                              src_villages["committee_type"] == "residents_committee")
    assert (v["is_urban"].astype(bool).to_numpy() == expected_urban).all()
    assert (v["is_urban_source"].to_numpy() ==
            np.where(known, "ur_code_2016", "estimated_from_committee_type")).all()


# ----------------------------------------------------------------------------- population
def _census_expected(shared_data: Path) -> dict[str, dict[str, int]]:
    """County population recomputed from the census CSV, formulas written out here."""
    out = {}
    with open(shared_data / "lishui_census2020_county.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            p = int(row["POPU"])
            f = {k: float(row[k]) for k in row if k not in ("code", "name")}
            out[row["code"]] = {
                "pop_total": p,
                "pop_under3": round(p * (f["AGES_0"] + f["AGES_1-4"] * 2 / 4)),
                "pop_under18": round(p * (f["AGES_0-14"] + f["AGES_15-19"] * 3 / 5)),
                "pop_women": round(p / (1 + f["POPU_WM"] / 100)),
                "pop_65plus": round(p * f["AGES_65P"]),
                "pop_urban": round(p * f["POPU_URB"]),
            }
    return out


def test_county_population_is_the_census(counties, shared_data):
    expected = _census_expected(shared_data)
    c = counties.set_index("code")
    for code, cols in expected.items():
        for col, value in cols.items():
            assert int(c.at[code, col]) == value, (code, col)
    assert int(c["pop_total"].sum()) == 2_507_396
    assert (c["pop_provenance"] == "real").all() and (c["provenance"] == "real").all()
    # 莲都区 by hand: 562116 × (0.0082 + 0.0445/2) = 17116.4 → 17116
    assert int(c.at["331102", "pop_under3"]) == 17116


def test_population_sums_are_exact(counties, townships, villages):
    c = counties.set_index("code")
    t_sum = townships.groupby("county_code")[list(POP)].sum()
    v_sum = villages.groupby("township_code")[list(POP)].sum()
    t = townships.set_index("code")
    for col in POP:
        assert (t_sum[col] == c.loc[t_sum.index, col]).all(), col
        assert (v_sum[col] == t.loc[v_sum.index, col]).all(), col
    assert int(townships["pop_total"].sum()) == 2_507_396
    assert int(villages["pop_total"].sum()) == 2_507_396
    for gdf in (townships, villages):
        assert (gdf["pop_total"] > 0).all()
        assert (gdf["pop_under3"] <= gdf["pop_under18"]).all()
        assert (gdf["pop_under18"] + gdf["pop_65plus"] <= gdf["pop_total"]).all()
        assert (gdf["pop_provenance"] == "estimated").all()


def test_population_weighting_favours_urban_units(townships, villages, shared_data):
    mean_by_kind = villages.groupby("committee_type")["pop_total"].mean()
    assert mean_by_kind["residents_committee"] > 3 * mean_by_kind["villagers_committee"]
    by_type = townships.groupby("township_type")["pop_total"].mean()
    assert by_type["街道"] > by_type["镇"] > by_type["乡"]
    # the urban units of each county hold exactly the census urban population (POPU × POPU_URB)
    urban = villages[villages["is_urban"].astype(bool)].groupby("county_code")["pop_total"].sum()
    for code, cols in _census_expected(shared_data).items():
        assert int(urban[code]) == cols["pop_urban"], code


# ----------------------------------------------------------------------------- geometry
def test_township_polygons_tile_each_county(counties, townships):
    assert (townships.geom_type == "Polygon").all()
    assert townships.is_valid.all()
    assert (townships["provenance"] == "estimated").all()
    assert townships["boundary_method"].str.contains("Voronoi").all()
    cw = counties.to_crs("EPSG:4549").set_index("code")
    tw = townships.to_crs("EPSG:4549")
    for code, sub in tw.groupby("county_code"):
        county = cw.at[code, "geometry"]
        union = shapely.union_all(sub.geometry.values)
        gap_or_spill = union.symmetric_difference(county).area
        assert gap_or_spill < 1e-6 * county.area, (code, gap_or_spill)
        assert abs(sub.area.sum() - union.area) < 1.0, code  # overlaps: < 1 m² per county
        geoms = list(sub.geometry)
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        pairs = [(i, j) for i, j in zip(left, right) if i < j]
        overlap = sum(geoms[i].intersection(geoms[j]).area for i, j in pairs)
        assert overlap < 1.0, (code, overlap)
    assert (tw.area > 1e6).all()  # every township at least 1 km²


def test_boundary_files_are_modest(counties):
    size = sum(p.stat().st_size for p in (DATA / "boundaries").glob("*.geojson"))
    assert size < 3_000_000
    assert counties.is_valid.all()
    assert shapely.coverage_is_valid(counties.to_crs("EPSG:4549").geometry.values)


def test_every_village_point_inside_its_township(townships, villages):
    joined = gpd.sjoin(villages[["code", "township_code", "geometry"]],
                       townships[["code", "geometry"]].rename(columns={"code": "poly_code"}),
                       how="left", predicate="within")
    assert len(joined) == 2008
    assert (joined["poly_code"] == joined["township_code"]).all()


def test_real_points_and_seats_unchanged(townships, villages, src_villages, src_townships):
    real_src = src_villages[src_villages["lon_wgs84"] != ""].set_index("code")
    assert len(real_src) == 92
    v = villages.set_index("code")
    real = v[v["provenance"] == "real"]
    assert sorted(real.index) == sorted(real_src.index)
    assert np.allclose(real.loc[real_src.index].geometry.x, real_src["lon_wgs84"].astype(float), atol=1e-9)
    assert np.allclose(real.loc[real_src.index].geometry.y, real_src["lat_wgs84"].astype(float), atol=1e-9)
    assert (real["location_method"] == "real_2016_amap").all()
    synth = v[v["provenance"] == "synthetic"]
    assert len(synth) == 1916
    assert set(synth["location_method"]) == {"synthetic_near_seat", "synthetic_spread"}
    seats = src_townships.dropna(subset=["seat_lon_wgs84"]).set_index("code")
    t = townships.set_index("code")
    assert (t.loc[seats.index, "seat_provenance"] == "real").all()
    assert np.allclose(t.loc[seats.index, "seat_lon"], seats["seat_lon_wgs84"].astype(float), atol=1e-9)
    missing = set(src_townships["code"]) - set(seats.index)
    assert len(missing) == 13 and (t.loc[sorted(missing), "seat_provenance"] == "estimated").all()
    seat_pts = gpd.GeoSeries.from_xy(t["seat_lon"], t["seat_lat"], crs="EPSG:4326", index=t.index)
    assert seat_pts.within(t.geometry).all()


def test_urban_villages_cluster_near_their_seat(townships, villages):
    near = villages[villages["location_method"] == "synthetic_near_seat"]
    t = townships.set_index("code")
    seats = gpd.GeoSeries.from_xy(t.loc[near["township_code"], "seat_lon"],
                                  t.loc[near["township_code"], "seat_lat"], crs="EPSG:4326")
    d = near.to_crs("EPSG:4549").geometry.distance(seats.to_crs("EPSG:4549"), align=False)
    assert (d <= 3000.0).all()
    assert d.median() < 1500.0


# ----------------------------------------------------------------------------- facilities
def test_facility_layers_schema_and_provenance(facilities, townships, villages):
    tw = townships.set_index("code")
    vset = dict(zip(villages["code"], villages["township_code"]))
    for year, f in facilities.items():
        assert list(f.columns[:-1]) == list(FACILITY_COLUMNS)
        assert (f["year"] == year).all()
        assert f["facility_id"].is_unique
        assert (f["provenance"] == "synthetic").all()
        assert set(f["type"]) <= set(FACILITY_TYPES)
        assert set(f["location_precision"]) <= set(LOCATION_PRECISIONS)
        assert (f["county_code"] == f["township_code"].str[:6]).all()
        has_v = f["village_code"] != ""
        assert (f.loc[has_v, "village_code"].map(vset) == f.loc[has_v, "township_code"]).all()
        joined = gpd.sjoin(f[["facility_id", "township_code", "geometry"]],
                           tw[["geometry"]].reset_index().rename(columns={"code": "poly"}),
                           how="left", predicate="within")
        assert len(joined) == len(f) and (joined["poly"] == joined["township_code"]).all(), year
        ch = f[f["type"] == "child_home"]
        assert set(ch["tier"]) <= set(CHILD_HOME_TIERS)
        assert f.loc[f["type"] != "child_home", "tier"].isna().all()
        assert set(f["level"].dropna()) <= set(FACILITY_LEVELS)
        assert set(f.loc[f["type"] == "public_place", "place_kind"]) <= set(PUBLIC_PLACE_KINDS)
        places = set(f.loc[f["type"] == "public_place", "facility_id"])
        mbr = f[f["type"] == "mother_baby_room"]
        assert mbr["serves_place_id"].isin(places).all()
        cap = f[f["type"].isin(["childcare", "kindergarten"])]["capacity"]
        assert (cap > 0).all()
    assert set(facilities[2024]["type"]) == set(FACILITY_TYPES)


def test_facility_ids_stable_across_years(facilities):
    f20, f22, f24 = (facilities[y].set_index("facility_id") for y in YEARS)
    for a, b in ((f20, f22), (f22, f24)):
        common = a.index.intersection(b.index)
        assert len(common) > 0.7 * len(a)
        for col in ("type", "name", "township_code", "village_code"):
            assert (a.loc[common, col] == b.loc[common, col]).all(), col
        assert np.allclose(a.loc[common].geometry.x, b.loc[common].geometry.x)
    assert len(f20) < len(f22) < len(f24)
    ch20, ch24 = f20[f20["type"] == "child_home"], f24[f24["type"] == "child_home"]
    both = ch20.index.intersection(ch24.index)
    upgraded = (ch20.loc[both, "tier"] == "basic") & (ch24.loc[both, "tier"] == "demonstration")
    assert upgraded.sum() > 20
    cc20, cc24 = f20[f20["type"] == "childcare"], f24[f24["type"] == "childcare"]
    both = cc20.index.intersection(cc24.index)
    assert (cc24.loc[both, "capacity"] > cc20.loc[both, "capacity"]).sum() > 10
    assert (cc24.loc[both, "capacity"] >= cc20.loc[both, "capacity"]).all()


def test_facilities_plausible_against_plan_targets(facilities, counties, townships, villages):
    """2024 picture: most targets partly met, gaps differ by county, not everything met."""
    f = facilities[2024]
    pop = counties.set_index("code")["pop_total"]
    ch = f[f["type"] == "child_home"]
    cov = villages.assign(h=villages["code"].isin(ch["village_code"])).groupby("county_code")["h"].mean()
    assert cov.between(0.83, 0.98).all() and cov.max() - cov.min() > 0.04
    demo = ch[ch["tier"] == "demonstration"]
    t_demo = townships["code"].isin(demo["township_code"]).mean()
    assert 0.70 <= t_demo <= 0.85
    share = ch.groupby("county_code")["tier"].apply(lambda s: (s == "demonstration").mean())
    assert share.between(0.10, 0.20).all() and (share < 0.15).any() and (share >= 0.15).any()
    slots = f[f["type"] == "childcare"].groupby("county_code")["capacity"].sum() / pop * 1000
    assert slots.between(3.0, 5.0).all() and (slots >= 4.5).any() and (slots < 4.5).any()
    kg = {y: facilities[y].loc[facilities[y]["type"] == "kindergarten", "capacity"].sum() for y in YEARS}
    assert 15_000 < kg[2024] - kg[2020] < 16_740
    big = townships[townships["pop_total"] >= 10_000]
    dh = big["code"].isin(f.loc[f["type"] == "disability_home", "township_code"])
    assert 0.6 < dh.mean() < 1.0
    ec = townships["code"].isin(f.loc[f["type"] == "elderly_care_centre", "township_code"]).mean()
    assert 0.85 < ec < 1.0
    city = f[f["level"] == "city"]
    assert {"mch_institution", "women_children_centre"} <= set(city["type"])
    assert (f["type"] == "mental_health_welfare").sum() == 1
    assert 1 <= (f["type"] == "child_welfare_facility").sum() <= 2
    wcc_counties = f[(f["type"] == "women_children_centre") & (f["level"] == "county")]["county_code"].nunique()
    assert wcc_counties == 6
    pp = f[f["type"] == "public_place"]
    qual = pp[(pp["building_area_m2"] > 10_000) | (pp["daily_visitors"] > 10_000)]
    served = qual["facility_id"].isin(f["serves_place_id"]).mean()
    assert len(qual) > 30 and 0.6 < served < 1.0
    lib = f[f["type"] == "community_library"]
    assert 0.80 <= lib["has_reading_area"].astype(float).mean() <= 0.92
    for year in (2020, 2022):  # improving over the years
        old = facilities[year]
        assert (old["type"] == "child_home").sum() < len(ch)


# ----------------------------------------------------------------------------- indicators
def test_indicators_complete_and_synthetic(townships, villages):
    ind = pd.read_csv(DATA / "indicators" / "indicators.csv", encoding="utf-8-sig",
                      dtype={"unit_code": str})
    assert list(ind.columns) == ["year", "unit_level", "unit_code", "indicator", "value", "provenance"]
    assert (ind["provenance"] == "synthetic").all()
    assert not ind.duplicated(["year", "unit_code", "indicator"]).any()
    committee = dict(zip(villages["code"], villages["committee_type"]))
    for name, level in INDICATORS.items():
        sub = ind[ind["indicator"] == name]
        assert (sub["unit_level"] == level).all(), name
        for year in YEARS:
            codes = set(sub.loc[sub["year"] == year, "unit_code"])
            if level == "township":
                assert codes == set(townships["code"]), name
            elif level == "county":
                assert codes == set(townships["county_code"]), name
            else:
                kind = "villagers_committee" if name == "women_share_village_committee" else "residents_committee"
                assert codes == {c for c, k in committee.items() if k == kind}, name
        if name != "child_social_workers":
            assert sub["value"].between(0.0, 1.0).all(), name
    imm = ind[(ind["indicator"] == "immunisation_rate") & (ind["year"] == 2024)]["value"]
    assert 0.9 < (imm >= 0.90).mean() < 1.0
    wv = ind[(ind["indicator"] == "women_share_village_committee") & (ind["year"] == 2024)]["value"]
    assert 0.25 <= wv.mean() <= 0.35
    wc = ind[(ind["indicator"] == "women_share_community_committee") & (ind["year"] == 2024)]["value"]
    assert wc.between(0.4, 0.6).mean() > 0.6


# ----------------------------------------------------------------------------- manifest & docs
def test_manifest_lists_every_layer():
    manifest = tomllib.loads((DATA / "manifest.toml").read_text(encoding="utf-8"))
    layers = manifest["layers"]
    expected = {"counties": "real", "townships": "estimated", "villages": "real",
                "facilities_2020": "synthetic", "facilities_2022": "synthetic",
                "facilities_2024": "synthetic", "indicators": "synthetic", "network": "synthetic"}
    assert {k: v["provenance"] for k, v in layers.items()} == expected
    for name, table in layers.items():
        assert {"file", "kind", "provenance", "description"} <= set(table), name
        assert (DATA / table["file"]).is_file(), name
    assert layers["network"]["file"] == "network/lishui_walk_synthetic.osm"
    assert [layers[f"facilities_{y}"]["year"] for y in YEARS] == list(YEARS)
    for name in ("counties", "townships", "villages"):
        assert layers[name]["id"] == "code" and layers[name]["crs"] == "EPSG:4326"
    licences = (DATA / "LICENSES.md").read_text(encoding="utf-8")
    for needle in ("CC BY 4.0", "Vonng/adcode", "WTFPL", "MIT", "tudigong", "国家统计局"):
        assert needle in licences
    for rel in ("README.md", "boundaries/README.md", "boundaries/VERSION.txt"):
        assert (DATA / rel).stat().st_size > 100


def test_geojson_coordinates_have_six_decimals():
    text = (DATA / "units" / "villages.geojson").read_text(encoding="utf-8")
    coords = text.split('"coordinates":[')[1:]
    decimals = [len(c.split("]")[0].split(",")[0].split(".")[1]) for c in itertools.islice(coords, 200)]
    assert max(decimals) <= 6


@pytest.mark.slow
def test_rebuild_is_byte_identical_to_shipped_data(tmp_path, shared_data):
    from layers.build import DEFAULT_SEED, build_dataset

    report = build_dataset(shared_dir=shared_data, out_dir=tmp_path, seed=DEFAULT_SEED, network=False)
    assert report.counts["townships"] == 173
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) >= 12
    for rel in written:
        assert (tmp_path / rel).read_bytes() == (DATA / rel).read_bytes(), (
            f"data/{rel} differs from a fresh build: run `make data` (covplan data build) and commit data/")


def test_shipped_data_passes_the_project_loader():
    """The loader's validation (unique ids, codes, points inside units, geometry) finds nothing."""
    from layers.load import load_dataset

    ds = load_dataset(DATA, use_cache=False)
    assert ds.years == list(YEARS)
    assert ds.city["pop_total"] == 2_507_396
    assert ds.layer_provenance["townships"] == "estimated"
    assert ds.network_path is not None and ds.network_path.name == "lishui_walk_synthetic.osm"
    assert not any("repairs" in info for info in ds.layer_info.values())
