"""Boundary import: formats, GBK Shapefiles, CRS, matching by code and name, reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers import load_dataset
from layers._errors import ImportInputError
from layers.crs import convert_geometry, wgs84_to_gcj02
from layers.import_boundaries import detect_dbf_encoding, import_boundaries

MINI = Path(__file__).resolve().parent / "data" / "mini"


@pytest.fixture(scope="module")
def ds():
    return load_dataset(MINI)


@pytest.fixture(scope="module")
def twp(ds) -> gpd.GeoDataFrame:
    return ds.townships[["code", "name", "geometry"]].copy()


def test_geojson_matched_by_code(ds, twp, tmp_path: Path) -> None:
    src = twp.assign(code=twp["code"] + "000")  # 12-digit township codes, as NBS writes them
    src.to_file(tmp_path / "t.geojson", driver="GeoJSON")
    res = import_boundaries(tmp_path / "t.geojson", ds, "township")
    assert res.boundaries["code"].tolist() == ["331102007", "331102008", "331102200"]
    assert res.boundaries["match_method"].eq("code").all()
    assert res.boundaries["provenance"].eq("real").all()
    assert res.report.empty
    for code, geom in zip(res.boundaries["code"], res.boundaries.geometry):
        assert geom.equals_exact(twp.set_index("code").at[code, "geometry"], 1e-12)
    paths = res.write(tmp_path / "out.geojson")
    assert paths["report"].read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(gpd.read_file(paths["layer"])) == 3


def test_gbk_shapefile_without_cpg_matched_by_name(ds, twp, tmp_path: Path) -> None:
    src = gpd.GeoDataFrame({"NAME": ["联城街道办事处", "南明山", "太平乡人民政府"], "XIAN": ["莲都区"] * 3},
                           geometry=twp.geometry.values, crs="EPSG:4326")
    shp = tmp_path / "twp.shp"
    src.to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    raw = shp.with_suffix(".dbf").read_bytes()
    assert "联城".encode("gbk") in raw and "联城".encode("utf-8") not in raw
    assert detect_dbf_encoding(shp) == "GB18030"
    res = import_boundaries(shp, ds, "township")
    assert res.encoding == "GB18030"
    assert res.boundaries["name"].tolist() == ["联城街道", "南明山街道", "太平乡"]
    assert res.boundaries["match_method"].eq("name").all()
    assert res.count("unmatched") == 0 and res.count("missing") == 0
    # with a .cpg the declared encoding is used
    for declared in ("936", "GBK", "cp936", "ANSI 936"):
        shp.with_suffix(".cpg").write_text(declared, encoding="ascii")
        assert detect_dbf_encoding(shp) == "GB18030"
    shp.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")
    assert detect_dbf_encoding(shp) == "UTF-8"  # a .cpg is trusted (here wrongly: garbled names)
    assert import_boundaries(shp, ds, "township", encoding="GBK").boundaries["name"].tolist() == [
        "联城街道", "南明山街道", "太平乡"]


def test_utf8_shapefile_is_detected(ds, twp, tmp_path: Path) -> None:
    shp = tmp_path / "u.shp"
    twp.to_file(shp, encoding="UTF-8")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    assert detect_dbf_encoding(shp) == "UTF-8"
    assert import_boundaries(shp, ds, "township").boundaries["name"].tolist() == ["联城街道", "南明山街道", "太平乡"]


def test_gcj02_source_is_converted(ds, twp, tmp_path: Path) -> None:
    def to_gcj(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(wgs84_to_gcj02(coords[:, 0], coords[:, 1]))

    gcj = twp.copy()
    gcj["geometry"] = shapely.transform(twp.geometry.values, to_gcj)
    gcj.to_file(tmp_path / "g.geojson", driver="GeoJSON")
    res = import_boundaries(tmp_path / "g.geojson", ds, "township", crs="gcj02")
    got = shapely.get_coordinates(res.boundaries.geometry.values)
    want = shapely.get_coordinates(twp.sort_values("code").geometry.values)
    assert np.abs(got - want).max() < 1e-9
    assert any("gcj02" in n for n in res.notes)
    # read without --crs the polygons stay ~500 m off
    off = import_boundaries(tmp_path / "g.geojson", ds, "township")
    assert np.abs(shapely.get_coordinates(off.boundaries.geometry.values) - want).max() > 0.003
    assert convert_geometry(gcj.geometry.values[0], "wgs84") is gcj.geometry.values[0]


def test_repairs_unmatched_missing_and_merged(ds, twp, tmp_path: Path) -> None:
    # a self-crossing polygon around 联城's seat (119.852, 28.465): repaired, and in place (#14)
    bow = shapely.Polygon([(119.80, 28.44), (119.90, 28.49), (119.90, 28.44), (119.80, 28.49)])
    north = twp.set_index("code").at["331102200", "geometry"]
    half_a = shapely.clip_by_rect(north, 119.80, 28.51, 119.90, 28.58)
    half_b = shapely.clip_by_rect(north, 119.90, 28.51, 119.95, 28.58)
    src = gpd.GeoDataFrame(
        {"名称": ["联城街道", "太平乡", "太平乡", "不存在乡", "点"],
         "代码": ["", "", "", "", ""]},
        geometry=[bow, half_a, half_b, shapely.box(119.9, 28.4, 119.91, 28.41), shapely.Point(119.9, 28.4)],
        crs="EPSG:4326")
    src.to_file(tmp_path / "m.gpkg", driver="GPKG")
    res = import_boundaries(tmp_path / "m.gpkg", ds, "township", provenance="estimated")
    assert res.n_features == 5
    rep = res.report
    assert rep["类别"].tolist().count("repaired") == 1
    assert rep.loc[rep["类别"] == "repaired", "要素序号"].tolist() == [1]
    unmatched = rep[rep["类别"] == "unmatched"]
    assert unmatched["要素序号"].tolist() == [4, 5]
    assert "no township named '不存在乡'" in unmatched.iloc[0]["reason"]
    assert "not a polygon (Point)" in unmatched.iloc[1]["reason"]
    missing = rep[rep["类别"] == "missing"]
    assert missing["统计代码"].tolist() == ["331102008"]  # 南明山 has no feature
    merged = rep[rep["类别"] == "merged"]
    assert merged["统计代码"].tolist() == ["331102200"] and "features 2, 3" in merged.iloc[0]["reason"]
    b = res.boundaries.set_index("code")
    assert b.at["331102200", "geometry"].area == pytest.approx(north.area)
    assert b.at["331102007", "geometry"].is_valid
    assert b["provenance"].eq("estimated").all()
    assert "unmatched features 2" in res.summary()


def test_no_crs_needs_the_option(ds, twp, tmp_path: Path) -> None:
    shp = tmp_path / "n.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        twp.set_crs(None, allow_override=True).to_file(shp, encoding="UTF-8")
    assert not shp.with_suffix(".prj").exists()
    with pytest.raises(ImportInputError, match="no CRS; pass --crs"):
        import_boundaries(shp, ds, "township")
    assert len(import_boundaries(shp, ds, "township", crs="wgs84").boundaries) == 3


def test_projected_source_and_county_level(ds, tmp_path: Path) -> None:
    c = ds.counties[["name", "geometry"]].assign(name="莲都").to_crs("EPSG:4549")
    c.to_file(tmp_path / "c.gpkg", driver="GPKG")
    res = import_boundaries(tmp_path / "c.gpkg", ds, "county")
    assert res.boundaries["code"].tolist() == ["331102"]
    assert np.allclose(res.boundaries.total_bounds, ds.counties.total_bounds, atol=1e-7)
    assert any("EPSG:4549" in n for n in res.notes)


def test_village_level_with_ambiguous_names(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(MINI, root)
    v = gpd.read_file(root / "units" / "villages.geojson")
    v.loc[v["code"] == "331102200212", "name"] = "张村村委会"
    v.to_file(root / "units" / "villages.geojson", driver="GeoJSON")
    ds2 = load_dataset(root)
    polys = ds2.villages.to_crs("EPSG:4549").buffer(200).to_crs("EPSG:4326")
    src = gpd.GeoDataFrame({"name": ["青岗村", "张村", "156331102200234"], "code": ["", "", "156331102200234"]},
                           geometry=[polys.iloc[1], polys.iloc[4], polys.iloc[6]], crs="EPSG:4326")
    src.to_file(tmp_path / "v.geojson", driver="GeoJSON")
    res = import_boundaries(tmp_path / "v.geojson", ds2, "village")
    assert res.boundaries["code"].tolist() == ["331102007211", "331102200234"]
    assert res.boundaries["township_code"].tolist() == ["331102007", "331102200"]
    un = res.report[res.report["类别"] == "unmatched"].iloc[0]
    assert "ambiguous name '张村'" in un["reason"] and "331102008201" in un["reason"]
    assert set(res.report.loc[res.report["类别"] == "missing", "统计代码"]) == set(ds2.villages["code"]) - {
        "331102007211", "331102200234"}


def test_file_level_errors(ds, twp, tmp_path: Path) -> None:
    with pytest.raises(ImportInputError, match="level 'street'"):
        import_boundaries(tmp_path / "x.geojson", ds, "street")
    with pytest.raises(ImportInputError, match="file not found"):
        import_boundaries(tmp_path / "x.geojson", ds, "township")
    (tmp_path / "e.geojson").write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(ImportInputError, match="no features"):
        import_boundaries(tmp_path / "e.geojson", ds, "township")
    (tmp_path / "bad.geojson").write_text("not json", encoding="utf-8")
    with pytest.raises(ImportInputError, match="cannot read"):
        import_boundaries(tmp_path / "bad.geojson", ds, "township")
    twp[["geometry"]].assign(foo=1).to_file(tmp_path / "nocol.geojson", driver="GeoJSON")
    with pytest.raises(ImportInputError, match="no code or name column"):
        import_boundaries(tmp_path / "nocol.geojson", ds, "township")
    with pytest.raises(ImportInputError, match="output must end in"):
        import_boundaries(MINI / "boundaries" / "townships.geojson", ds, "township").write(tmp_path / "o.csv")


def test_real_county_fences_gcj02_detected_and_converted(shared_data: Path) -> None:
    """The published Amap (GCJ-02) county fences, against the embedded dataset's real outlines."""
    emb = load_dataset()
    raw = import_boundaries(shared_data / "lishui_counties_gcj02.geojson", emb, "county")
    assert len(raw.boundaries) == 9 and raw.boundaries["match_method"].eq("code").all()
    assert any("look gcj02" in n and "--crs gcj02" in n for n in raw.notes)
    fixed = import_boundaries(shared_data / "lishui_counties_gcj02.geojson", emb, "county", crs="gcj02")
    assert not any("look" in n for n in fixed.notes)
    # second method: the shared WGS84 file was converted independently (SOURCES.md, 1e-7°)
    wgs = gpd.read_file(shared_data / "lishui_counties_wgs84.geojson").set_index("code")
    for code, geom in zip(fixed.boundaries["code"], fixed.boundaries.geometry):
        a = shapely.get_coordinates(geom)
        b = shapely.get_coordinates(wgs.at[code, "geometry"])
        assert a.shape == b.shape and np.abs(a - b).max() < 1.5e-6
    clean = import_boundaries(shared_data / "lishui_counties_wgs84.geojson", emb, "county")
    assert clean.notes == []
    # the independent 天地图-style CGCS2000 set: GB codes with the 156 prefix, EPSG:4490
    cg = import_boundaries(shared_data / "lishui_counties_simplified_cgcs2000.geojson", emb, "county")
    assert sorted(cg.boundaries["code"]) == sorted(emb.counties["code"])
    assert not any("look" in n for n in cg.notes)


def test_merge_into_the_unit_layer_and_reload(ds, twp, tmp_path: Path) -> None:
    north = shapely.box(119.80, 28.51, 119.95, 28.60)  # 太平乡, a little larger to the north
    gpd.GeoDataFrame({"name": ["太平乡"]}, geometry=[north], crs="EPSG:4326").to_file(
        tmp_path / "n.geojson", driver="GeoJSON")
    res = import_boundaries(tmp_path / "n.geojson", ds, "township")
    merged = res.merged_into(ds.townships)
    assert merged["code"].tolist() == ds.townships["code"].tolist()
    assert merged.columns.tolist() == ds.townships.columns.tolist()
    m = merged.set_index("code")
    assert m.at["331102200", "geometry"].equals(north) and m.at["331102200", "provenance"] == "real"
    assert m.at["331102200", "boundary_method"] == "imported from n.geojson (feature 1)"
    assert m.at["331102200", "pop_total"] == 1900  # attributes kept
    assert m.at["331102007", "provenance"] == "synthetic"
    assert m.at["331102007", "geometry"].equals(ds.townships.set_index("code").at["331102007", "geometry"])
    assert ds.townships.set_index("code").at["331102200", "provenance"] == "synthetic"  # input untouched
    # used as a dataset's township layer, the loader accepts it …
    root = tmp_path / "ds"
    shutil.copytree(MINI, root)
    res.write(root / "boundaries" / "townships.geojson", units=ds.townships)
    assert load_dataset(root).townships.set_index("code").at["331102200", "provenance"] == "real"
    # … and reports every village and facility a smaller real boundary leaves outside
    small = shapely.box(119.80, 28.51, 119.95, 28.55)  # 城头村 (28.56) and F010 fall outside
    gpd.GeoDataFrame({"name": ["太平乡"]}, geometry=[small], crs="EPSG:4326").to_file(
        tmp_path / "s.geojson", driver="GeoJSON")
    import_boundaries(tmp_path / "s.geojson", ds, "township").write(root / "boundaries" / "townships.geojson",
                                                                    units=ds.townships)
    from layers._errors import LayerValidationError

    with pytest.raises(LayerValidationError) as exc:
        load_dataset(root)
    assert sorted((Path(p.file).name, p.id) for p in exc.value.problems) == [
        ("facilities_2024.geojson", "F010"), ("villages.geojson", "331102200212")]
    with pytest.raises(ImportInputError, match="village units are points"):
        import_boundaries(tmp_path / "s.geojson", ds, "village").merged_into(ds.villages)
