"""The loader on tests/data/mini: counts, types, CRS handling, caching, missing layers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers import load_dataset, read_manifest
from layers._errors import LayerValidationError
from layers.load import clear_cache, read_layer
from layers.vocab import FACILITY_COLUMNS

MINI = Path(__file__).resolve().parent / "data" / "mini"


@pytest.fixture()
def mini_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "mini"
    shutil.copytree(MINI, dst)
    return dst


def _drop_layer(root: Path, name: str) -> None:
    """Remove the [layers.<name>] table from a manifest copy."""
    lines = (root / "manifest.toml").read_text(encoding="utf-8").splitlines()
    out, skip = [], False
    for line in lines:
        if line.startswith("[layers."):
            skip = line.strip() == f"[layers.{name}]"
        if not skip:
            out.append(line)
    (root / "manifest.toml").write_text("\n".join(out) + "\n", encoding="utf-8")


def test_mini_counts_and_years() -> None:
    ds = load_dataset(MINI)
    assert (len(ds.counties), len(ds.townships), len(ds.villages)) == (1, 3, 8)
    assert ds.years == [2022, 2024] and ds.latest_year == 2024
    assert len(ds.facilities_for(2022)) == 8 and len(ds.facilities_for(2024)) == 11
    assert len(ds.facilities_for()) == 11
    assert len(ds.indicators) == 9
    assert ds.network_path is None
    assert ds.name == "mini"
    assert ds.layer_provenance["villages"] == "real"
    assert ds.layer_provenance["facilities_2024"] == "synthetic"


def test_mini_types_follow_the_contract() -> None:
    ds = load_dataset(MINI)
    for frame in (ds.counties, ds.townships, ds.villages):
        assert frame.crs.to_epsg() == 4326
        assert all(isinstance(c, str) for c in frame["code"])
    assert ds.villages["township_code"].map(len).eq(9).all()
    assert ds.villages["is_urban"].dtype == bool
    assert ds.townships["is_urban"].tolist() == [True, True, False]
    assert str(ds.villages["urban_rural_year"].dtype) == "Int64"
    assert ds.villages["urban_rural_year"].isna().sum() == 1  # 沙溪亭 has no 2016 code
    fac = ds.facilities
    assert list(fac.columns[: len(FACILITY_COLUMNS)]) == list(FACILITY_COLUMNS)
    assert fac["year"].dtype == np.int64
    assert fac["capacity"].dtype == float
    assert str(fac["is_inclusive"].dtype) == "boolean"
    f5 = fac[(fac["facility_id"] == "F005")].set_index("year")
    assert f5.loc[2022, "capacity"] == 60 and f5.loc[2024, "capacity"] == 80
    assert bool(f5.loc[2024, "is_inclusive"]) is True
    assert fac.loc[fac["facility_id"] == "F001", "is_inclusive"].isna().all()
    assert (fac["village_code"] == "").sum() == 9  # F003 F004 F007 F008 in both years + F011
    assert ds.indicators["unit_code"].map(type).eq(str).all()
    assert ds.indicators["year"].dtype == np.int64


def test_mini_population_is_consistent() -> None:
    """Township totals equal the sums of their villages; the city equals the county."""
    ds = load_dataset(MINI)
    sums = ds.villages.groupby("township_code")["pop_total"].sum()
    assert sums.to_dict() == dict(zip(ds.townships["code"], ds.townships["pop_total"]))
    assert ds.city["pop_total"] == 17800 == int(ds.townships["pop_total"].sum())
    assert ds.city["pop_under3"] == 409


def test_cache_returns_the_same_object_until_a_file_changes(mini_copy: Path) -> None:
    a = load_dataset(mini_copy)
    assert load_dataset(mini_copy) is a
    assert load_dataset(str(mini_copy) + "/") is a  # same resolved path
    layer = mini_copy / "facilities" / "facilities_2024.geojson"
    st = layer.stat()
    os.utime(layer, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    b = load_dataset(mini_copy)
    assert b is not a
    assert load_dataset(mini_copy) is b
    assert load_dataset(mini_copy, use_cache=False) is not b
    clear_cache()
    assert load_dataset(mini_copy) is not b


def test_copy_is_independent() -> None:
    ds = load_dataset(MINI)
    cp = ds.copy()
    cp.facilities.loc[0, "name"] = "changed"
    cp.townships.loc[0, "pop_total"] = 0
    assert ds.facilities.loc[0, "name"] == "青岗村儿童之家"
    assert ds.townships.loc[0, "pop_total"] != 0


def test_optional_layers_may_be_missing(mini_copy: Path) -> None:
    _drop_layer(mini_copy, "indicators")
    _drop_layer(mini_copy, "facilities_2022")
    _drop_layer(mini_copy, "facilities_2024")
    ds = load_dataset(mini_copy)
    assert ds.indicators.empty and list(ds.indicators.columns) == [
        "year", "unit_level", "unit_code", "indicator", "value", "provenance"]
    assert ds.facilities.empty and ds.years == [] and ds.latest_year is None
    assert set(FACILITY_COLUMNS) <= set(ds.facilities.columns)


def test_network_layer_path(mini_copy: Path) -> None:
    (mini_copy / "network").mkdir()
    (mini_copy / "network" / "walk.osm").write_text("<osm version='0.6'></osm>", encoding="utf-8")
    with open(mini_copy / "manifest.toml", "a", encoding="utf-8") as f:
        f.write('\n[layers.network]\nfile = "network/walk.osm"\nkind = "network"\nprovenance = "synthetic"\n')
    ds = load_dataset(mini_copy)
    assert ds.network_path == (mini_copy / "network" / "walk.osm").resolve()


@pytest.mark.parametrize("layer", ["villages", "townships", "counties"])
def test_required_layer_missing_is_an_error(mini_copy: Path, layer: str) -> None:
    _drop_layer(mini_copy, layer)
    kind = layer
    with pytest.raises(LayerValidationError, match=f"required layer of kind '{kind}' is missing"):
        load_dataset(mini_copy)


def test_manifest_problems_are_reported_together(mini_copy: Path) -> None:
    text = (mini_copy / "manifest.toml").read_text(encoding="utf-8")
    text = text.replace('provenance = "real"', 'provenance = "guessed"')
    text = text.replace('file = "facilities/facilities_2022.geojson"', 'file = "facilities/nope.geojson"')
    (mini_copy / "manifest.toml").write_text(text, encoding="utf-8")
    with pytest.raises(LayerValidationError) as exc:
        load_dataset(mini_copy)
    msg = str(exc.value)
    assert "2 problem(s)" in msg
    assert "[layers.villages]: field 'provenance' = 'guessed'" in msg
    assert "nope.geojson does not exist" in msg


def test_no_manifest(tmp_path: Path) -> None:
    with pytest.raises(LayerValidationError, match="no manifest.toml"):
        load_dataset(tmp_path)


def test_layer_without_crs_is_an_error_naming_the_file(mini_copy: Path) -> None:
    twp = gpd.read_file(mini_copy / "boundaries" / "townships.geojson")
    twp = twp.set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        twp.to_file(mini_copy / "boundaries" / "townships.gpkg", driver="GPKG")
    assert gpd.read_file(mini_copy / "boundaries" / "townships.gpkg").crs is None
    text = (mini_copy / "manifest.toml").read_text(encoding="utf-8")
    head, tail = text.split("[layers.townships]")
    tail = tail.replace('file = "boundaries/townships.geojson"', 'file = "boundaries/townships.gpkg"', 1)
    tail = tail.replace('crs = "EPSG:4326"\n', "", 1)
    (mini_copy / "manifest.toml").write_text(head + "[layers.townships]" + tail, encoding="utf-8")
    with pytest.raises(LayerValidationError, match=r"townships\.gpkg \(layer townships\): no CRS"):
        load_dataset(mini_copy)
    # the manifest's crs is used when the file has none
    (mini_copy / "manifest.toml").write_text(head + "[layers.townships]" + tail.replace(
        'kind = "townships"', 'kind = "townships"\ncrs = "EPSG:4326"', 1), encoding="utf-8")
    ds = load_dataset(mini_copy)
    assert ds.townships.crs.to_epsg() == 4326
    assert ds.townships["code"].tolist() == ["331102007", "331102008", "331102200"]


def test_projected_layer_is_converted_to_4326(mini_copy: Path) -> None:
    path = mini_copy / "boundaries" / "counties.geojson"
    orig = gpd.read_file(path)
    orig.to_crs("EPSG:4549").to_file(mini_copy / "boundaries" / "counties.gpkg", driver="GPKG")
    text = (mini_copy / "manifest.toml").read_text(encoding="utf-8")
    (mini_copy / "manifest.toml").write_text(
        text.replace("boundaries/counties.geojson", "boundaries/counties.gpkg"), encoding="utf-8")
    ds = load_dataset(mini_copy)
    assert ds.counties.crs.to_epsg() == 4326
    assert np.allclose(ds.counties.total_bounds, [119.80, 28.38, 119.95, 28.58], atol=1e-7)


def test_numeric_codes_become_strings(mini_copy: Path) -> None:
    path = mini_copy / "units" / "villages.geojson"
    gdf = gpd.read_file(path)
    gdf["code"] = gdf["code"].astype("int64")
    gdf["township_code"] = gdf["township_code"].astype(float)  # as spreadsheets do
    gdf.to_file(path, driver="GeoJSON")
    layer = read_layer(read_manifest(mini_copy).layers["villages"])
    assert layer["code"].iloc[0] == "331102007001"
    assert layer["township_code"].iloc[0] == "331102007"
    assert load_dataset(mini_copy).villages["code"].str.len().eq(12).all()


def test_repairs_are_reported_not_errors(mini_copy: Path) -> None:
    path = mini_copy / "boundaries" / "counties.geojson"
    gdf = gpd.read_file(path)
    # a bow-tie ring: invalid (self-intersection), same area cover as two triangles
    bow = shapely.Polygon([(119.80, 28.38), (119.95, 28.58), (119.95, 28.38), (119.80, 28.58)])
    gdf.loc[0, "geometry"] = bow
    gdf.to_file(path, driver="GeoJSON")
    ds = load_dataset(mini_copy)
    repairs = ds.layer_info["counties"]["repairs"]
    assert len(repairs) == 1 and "Self-intersection" in repairs[0] and "331102" in repairs[0]
    assert ds.counties.geometry.is_valid.all()
    assert ds.counties.geometry.iloc[0].geom_type == "MultiPolygon"
    # two triangles of half-width each: area = half the rectangle
    assert ds.counties.geometry.iloc[0].area == pytest.approx(0.15 * 0.20 / 2)


def test_indicator_frame_is_long(mini_copy: Path) -> None:
    ds = load_dataset(MINI)
    row = ds.indicators[(ds.indicators["indicator"] == "child_social_workers")].iloc[0]
    assert (row["unit_level"], row["unit_code"], row["value"]) == ("township", "331102007", 2.0)
    assert isinstance(ds.indicators, pd.DataFrame)


def test_embedded_dataset_loads_and_matches_the_sources(shared_data: Path) -> None:
    """The shipped data/ folder (default) passes validation and agrees with ../shared/data."""
    ds = load_dataset()
    assert ds.name == "lishui"
    twp_src = pd.read_csv(shared_data / "lishui_townships.csv", dtype=str)
    vil_src = pd.read_csv(shared_data / "lishui_villages.csv", dtype=str)
    census = pd.read_csv(shared_data / "lishui_census2020_county.csv", dtype={"code": str})
    assert sorted(ds.counties["code"]) == sorted(census["code"])
    assert sorted(ds.townships["code"]) == sorted(twp_src["code"]) and len(ds.townships) == 173
    assert sorted(ds.villages["code"]) == sorted(vil_src["code"]) and len(ds.villages) == 2008
    assert ds.city["pop_total"] == int(census["POPU"].sum()) == 2_507_396
    assert ds.years == [2020, 2022, 2024]
    assert ds.layer_provenance["counties"] == "real" and ds.layer_provenance["townships"] == "estimated"
    assert ds.facilities["provenance"].eq("synthetic").all()
    assert (ds.villages["provenance"] == "real").sum() == 92
    for frame in (ds.counties, ds.townships, ds.villages, ds.facilities):
        assert frame.crs.to_epsg() == 4326
    assert ds.network_path is not None and ds.network_path.is_file()
    assert load_dataset() is ds  # cached


def test_manifest_kind_year_and_duplicates(mini_copy: Path) -> None:
    with open(mini_copy / "manifest.toml", "a", encoding="utf-8") as f:
        f.write('\n[layers.roads]\nfile = "boundaries/counties.geojson"\nkind = "roads"\nprovenance = "real"\n'
                '\n[layers.facilities_x]\nfile = "facilities/facilities_2024.geojson"\nkind = "facilities"\n'
                'provenance = "synthetic"\n'
                '\n[layers.facilities_again]\nfile = "facilities/facilities_2024.geojson"\nkind = "facilities"\n'
                'year = 2024\nprovenance = "synthetic"\n')
    with pytest.raises(LayerValidationError) as exc:
        load_dataset(mini_copy)
    msg = str(exc.value)
    assert "[layers.roads]: field 'kind' = 'roads'" in msg
    assert "[layers.facilities_x]: field 'year' must be an integer" in msg
    assert "two facility layers declare the same year" in msg
    assert msg.startswith("3 problem(s)")


def test_unreadable_layer_is_named(mini_copy: Path) -> None:
    (mini_copy / "units" / "villages.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(LayerValidationError, match=r"villages\.geojson \(layer villages\): cannot read"):
        load_dataset(mini_copy)


def test_geojson_with_a_crs_member_is_reprojected(mini_copy: Path) -> None:
    """GDAL writes a legacy ``crs`` member for non-WGS84 GeoJSON; the fast reader honours it."""
    path = mini_copy / "boundaries" / "townships.geojson"
    orig = gpd.read_file(path)
    orig.to_crs("EPSG:4549").to_file(path, driver="GeoJSON")
    assert "EPSG::4549" in path.read_text(encoding="utf-8")[:400]
    ds = load_dataset(mini_copy)
    assert ds.townships.crs.to_epsg() == 4326
    assert np.allclose(ds.townships.total_bounds, orig.total_bounds, atol=1e-7)


@pytest.mark.parametrize("layer", ["counties", "townships", "villages", "facilities_2022", "facilities_2024"])
def test_fast_geojson_reader_agrees_with_pyogrio(layer: str) -> None:
    from layers.load import _read_geojson_fast, coerce_layer

    spec = read_manifest(MINI).layers[layer]
    fast = coerce_layer(_read_geojson_fast(spec.path), spec.kind)
    slow = coerce_layer(gpd.read_file(spec.path, engine="pyogrio"), spec.kind)
    assert fast.crs.equals(slow.crs)
    assert sorted(fast.columns) == sorted(slow.columns)
    for col in fast.columns:
        if col == "geometry":
            assert all(a.equals_exact(b, 0) for a, b in zip(fast.geometry, slow.geometry))
        else:
            pd.testing.assert_series_equal(fast[col], slow[col], check_names=False)
