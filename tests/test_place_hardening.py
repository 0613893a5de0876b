"""Layers in the wrong place (#14): boundary imports and dataset folders whose CRS is wrong.

Before #14 a wrong .prj, metres declared as degrees or a wrong manifest ``crs`` were read
without complaint and put the polygons near (115.5°E, 0°N) or at "lon/lat" 462214, 3108375;
a polygon moved 67 km into another county was accepted; a manifest could point at files
outside the dataset folder. Each now stops with a message naming the fix.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from layers import load_dataset
from layers._errors import ImportInputError, LayerValidationError
from layers.crs_check import fitting_crs
from layers.import_boundaries import import_boundaries

MINI = Path(__file__).resolve().parent / "data" / "mini"


@pytest.fixture(scope="module")
def ds():
    return load_dataset(MINI)


@pytest.fixture(scope="module")
def twp(ds) -> gpd.GeoDataFrame:
    return ds.townships[["code", "name", "geometry"]].copy()


# ---------------------------------------------------------------------------- boundary imports
def test_metres_declared_as_degrees_are_refused_with_the_crs_that_fits(ds, twp, tmp_path) -> None:
    metres = twp.to_crs("EPSG:4549").set_crs("EPSG:4326", allow_override=True)
    assert 400_000 < metres.total_bounds[0] < 500_000  # x ≈ 462 km: the reported "lon/lat"
    metres.to_file(tmp_path / "m.geojson", driver="GeoJSON")
    with pytest.raises(ImportInputError, match=r"not in Lishui.*read as EPSG:4549 \(CGCS2000 / 3-degree "
                                               r"Gauss-Kruger CM 120E\) they fall in Lishui.*--crs EPSG:4549"):
        import_boundaries(tmp_path / "m.geojson", ds, "township")
    res = import_boundaries(tmp_path / "m.geojson", ds, "township", crs="EPSG:4549")
    assert res.boundaries["code"].tolist() == ["331102007", "331102008", "331102200"]
    assert res.count("misplaced") == 0


def test_a_wrong_prj_is_refused_with_the_crs_that_fits(ds, twp, tmp_path) -> None:
    wrong = twp.set_crs("EPSG:4549", allow_override=True)  # lon/lat values, projected .prj
    wrong.to_file(tmp_path / "w.shp", encoding="UTF-8")
    with pytest.raises(ImportInputError, match=r"become lon/lat \(115\.\d+, 0\.\d+\).*read as EPSG:4326"):
        import_boundaries(tmp_path / "w.shp", ds, "township")
    assert len(import_boundaries(tmp_path / "w.shp", ds, "township", crs="EPSG:4326").boundaries) == 3


def test_a_bad_crs_option_is_a_clear_error(ds, twp, tmp_path) -> None:
    twp.to_file(tmp_path / "t.geojson", driver="GeoJSON")
    with pytest.raises(ImportInputError, match=r"--crs 'EPSG:999999': not wgs84\|cgcs2000\|gcj02\|bd09 nor a CRS"):
        import_boundaries(tmp_path / "t.geojson", ds, "township", crs="EPSG:999999")


def test_a_polygon_moved_67_km_into_another_county_is_rejected_with_the_distance(ds, twp, tmp_path) -> None:
    moved = twp.copy()
    moved.loc[moved["code"] == "331102007", "geometry"] = moved.loc[
        moved["code"] == "331102007", "geometry"].translate(xoff=0.68)  # ≈ 67 km east
    moved.to_file(tmp_path / "moved.geojson", driver="GeoJSON")
    res = import_boundaries(tmp_path / "moved.geojson", ds, "township")
    assert res.boundaries["code"].tolist() == ["331102008", "331102200"]
    row = res.report[res.report["类别"] == "misplaced"].iloc[0]
    assert row["统计代码"] == "331102007" and row["要素序号"] == 1
    assert "only 0% of the polygon lies in its county 莲都区" in row["reason"]
    # the polygon's west edge is 0.68° - 0.15° (the county's width) ≈ 0.53° ≈ 52 km east of it
    km = float(row["reason"].split("it is ")[1].split(" km")[0])
    assert 50 < km < 55
    assert "misplaced 1" in res.summary()


def test_a_polygon_away_from_its_real_seat_is_rejected(ds, twp, tmp_path) -> None:
    swapped = twp.copy()
    swapped["name"] = ["联城街道", "太平乡", "南明山街道"]  # 南明山's and 太平乡's polygons swapped
    swapped["code"] = ""
    swapped.to_file(tmp_path / "s.geojson", driver="GeoJSON")
    res = import_boundaries(tmp_path / "s.geojson", ds, "township")
    assert res.boundaries["code"].tolist() == ["331102007"]
    bad = res.report[res.report["类别"] == "misplaced"].set_index("统计代码")
    assert sorted(bad.index) == ["331102008", "331102200"]
    assert "the seat of 太平乡 (331102200) lies" in bad.at["331102200", "reason"]


def test_fitting_crs_names_the_gauss_kruger_zone_for_lishui_metres() -> None:
    assert [c for c, _ in fitting_crs((462214, 3108375, 470000, 3115000))][:1] == ["EPSG:4549"]
    assert [c for c, _ in fitting_crs((40462214, 3108375, 40470000, 3115000))] == ["EPSG:4528"]
    assert fitting_crs((0, 0, 1, 1)) == []


# ---------------------------------------------------------------------------- dataset folders
@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(MINI, root)
    return root


def _manifest(root: Path, old: str, new: str) -> None:
    path = root / "manifest.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_manifest_crs_that_does_not_fit_the_data_is_refused(folder) -> None:
    counties = gpd.read_file(folder / "boundaries" / "counties.geojson")
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        counties.set_crs(None, allow_override=True).to_file(folder / "boundaries" / "counties.gpkg", driver="GPKG")
    _manifest(folder, 'file = "boundaries/counties.geojson"\nid = "code"\ncrs = "EPSG:4326"',
              'file = "boundaries/counties.gpkg"\nid = "code"\ncrs = "EPSG:4549"')
    with pytest.raises(LayerValidationError, match=r"counties.gpkg \(layer counties\): the layer is not where its "
                                                   r"CRS says: declared CRS EPSG:4549.*lon/lat \(115\..*read as "
                                                   r"EPSG:4326"):
        load_dataset(folder, use_cache=False)


def test_a_geojson_crs_member_that_does_not_fit_is_refused(folder) -> None:
    path = folder / "boundaries" / "townships.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(LayerValidationError, match="townships.geojson.*not where its CRS says"):
        load_dataset(folder, use_cache=False)


def test_a_bad_crs_string_in_the_manifest_is_a_clear_error(folder) -> None:
    _manifest(folder, 'crs = "EPSG:4326"', 'crs = "EPSG:4326x"')
    with pytest.raises(LayerValidationError, match=r"\[layers.counties\]: field 'crs' = 'EPSG:4326x' is not a "
                                                   r"coordinate reference system"):
        load_dataset(folder, use_cache=False)


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_layer_paths_are_confined_to_the_dataset_folder(folder, tmp_path, how) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("year,unit_level,unit_code,indicator,value,provenance\nTOP-SECRET-LINE\n", encoding="utf-8")
    target = {"dotdot": "../secret.csv", "absolute": str(secret)}.get(how, "indicators/link.csv")
    if how == "symlink":
        (folder / "indicators" / "link.csv").symlink_to(secret)
    _manifest(folder, 'file = "indicators/indicators.csv"', f'file = "{target}"')
    with pytest.raises(LayerValidationError, match="leaves the dataset folder") as err:
        load_dataset(folder, use_cache=False)
    assert "TOP-SECRET" not in str(err.value)


def test_deeply_nested_manifest_is_a_clear_error(folder) -> None:
    (folder / "manifest.toml").write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(LayerValidationError, match="nested too deeply"):
        load_dataset(folder, use_cache=False)


def test_the_embedded_dataset_and_the_mini_dataset_still_load(ds) -> None:
    assert len(ds.townships) == 3
    pt = shapely.Point(ds.townships.iloc[0]["seat_lon"], ds.townships.iloc[0]["seat_lat"])
    assert ds.townships.iloc[0].geometry.distance(pt) < 0.01
