"""Validation collects every problem of a dataset and reports them together."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer

from layers import _validate as V
from layers import load_dataset
from layers._errors import CovplanError, LayerValidationError

MINI = Path(__file__).resolve().parent / "data" / "mini"


@pytest.fixture()
def mini_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "mini"
    shutil.copytree(MINI, dst)
    return dst


def _edit(path: Path, fn) -> None:
    gdf = gpd.read_file(path)
    gdf = fn(gdf)
    gdf.to_file(path, driver="GeoJSON")


def test_every_problem_is_listed_in_one_error(mini_copy: Path) -> None:
    def villages(g):
        g.loc[5, "code"] = g.loc[4, "code"]  # 叶村 gets 张村's code: both rows reported
        g.loc[2, "township_code"] = "331102999"  # unknown township
        g.loc[3, "committee_type"] = "neighbourhood"  # not in the vocabulary
        return g

    def facilities(g):
        g.loc[0, "type"] = "swimming_pool"
        g.loc[1, "county_code"] = "331199"
        g.loc[2, "tier"] = "gold"
        g.loc[3, "serves_place_id"] = "F999"
        g.loc[4, "provenance"] = "guess"
        g.loc[5, "capacity"] = -5
        # F007 (太平乡) moved 2 km south into 联城街道
        g.loc[6, "geometry"] = shapely.Point(119.861, 28.49)
        return g

    _edit(mini_copy / "units" / "villages.geojson", villages)
    _edit(mini_copy / "facilities" / "facilities_2022.geojson", facilities)
    ind = pd.read_csv(mini_copy / "indicators" / "indicators.csv", dtype=str, encoding="utf-8-sig")
    ind.loc[0, "value"] = "1.5"  # a share above 1
    ind.loc[1, "unit_level"] = "county"  # immunisation is per township
    ind.to_csv(mini_copy / "indicators" / "indicators.csv", index=False, encoding="utf-8-sig")

    with pytest.raises(LayerValidationError) as exc:
        load_dataset(mini_copy)
    err = exc.value
    problems = err.problems
    msg = str(err)
    by_field = sorted((Path(p.file).name, p.row, p.field) for p in problems)
    assert by_field == sorted([
        ("villages.geojson", 5, "code"),
        ("villages.geojson", 6, "code"),
        ("villages.geojson", 3, "township_code"),
        ("villages.geojson", 4, "committee_type"),
        ("facilities_2022.geojson", 1, "type"),
        ("facilities_2022.geojson", 2, "county_code"),
        ("facilities_2022.geojson", 3, "tier"),
        ("facilities_2022.geojson", 4, "serves_place_id"),
        ("facilities_2022.geojson", 5, "provenance"),
        ("facilities_2022.geojson", 6, "capacity"),
        ("facilities_2022.geojson", 7, "geometry"),
        ("indicators.csv", 1, "value"),
        ("indicators.csv", 2, "unit_level"),
        ("indicators.csv", 2, "unit_code"),  # no county with a township's code
    ])
    assert msg.startswith("14 validation problem(s)")
    assert "row 6 (id 331102008201): field 'code': duplicate id '331102008201'" in msg
    assert "township '331102999' not in the township table" in msg
    assert "value 'swimming_pool' not in vocabulary" in msg
    assert "(id F007): field 'geometry': point is" in msg and "inside 联城街道 (331102007)" in msg
    assert isinstance(err, CovplanError) and isinstance(err, ValueError)


def _point_gdf(points, township_codes, ids):
    return gpd.GeoDataFrame({"id": ids, "township_code": township_codes},
                            geometry=[shapely.Point(p) for p in points], crs="EPSG:4326")


def test_boundary_tolerance_in_metres() -> None:
    ds = load_dataset(MINI)
    # 太平乡 starts at lat 28.51; 0.0003° (~33 m) and 0.0007° (~78 m) south of it
    pts = _point_gdf([(119.86, 28.5097), (119.86, 28.5093), (119.86, 28.53)],
                     ["331102200"] * 3, ["near", "far", "inside"])
    rep = V.Report()
    V.check_points_in_townships(pts, "pts", ds.townships, rep, "id")
    assert [p.id for p in rep.problems] == ["far"]
    metres = float(re.search(r"point is ([\d,.]+) m outside", rep.problems[0].message).group(1))
    # second method: project the edge's end points and the point with pyproj and take the
    # point-to-segment distance by hand (the edge is straight in degrees, so in EPSG:4549 it
    # is a chord ~2 m off the parallel: the geodesic distance to lat 28.51 is only 77.6 m)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    a, b, p = (np.array(tr.transform(x, y)) for x, y in ((119.80, 28.51), (119.95, 28.51), (119.86, 28.5093)))
    t = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0, 1)
    expected = float(np.linalg.norm(p - (a + t * (b - a))))
    assert metres == pytest.approx(expected, abs=0.5)
    _, _, geodesic = Geod(ellps="GRS80").inv(119.86, 28.5093, 119.86, 28.51)
    assert 75 < geodesic < expected
    rep2 = V.Report()
    V.check_points_in_townships(pts, "pts", ds.townships, rep2, "id", tolerance_m=100.0)
    assert rep2.problems == []


def test_point_outside_every_township_is_named() -> None:
    ds = load_dataset(MINI)
    pts = _point_gdf([(120.2, 28.2)], ["331102007"], ["x"])
    rep = V.Report()
    V.check_points_in_townships(pts, "pts", ds.townships, rep, "id")
    assert len(rep.problems) == 1 and "outside every township" in rep.problems[0].message


def test_geometry_repair_report() -> None:
    bow = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    good = shapely.box(5, 5, 6, 6)
    gdf = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[bow, good], crs="EPSG:4326")
    rep = V.Report()
    out = V.repair_geometries(gdf, "f.geojson", "code", rep)
    assert out.geometry.is_valid.all()
    assert out.geometry.iloc[0].area == pytest.approx(2.0)  # two triangles of area 1
    assert out.geometry.iloc[1].equals(good)
    assert [(r.row, r.id) for r in rep.repairs] == [(1, "a")]
    assert "Self-intersection" in str(rep.repairs[0])
    assert rep.problems == []
    assert gdf.geometry.iloc[0].is_valid is False  # input untouched


def test_code_format_and_hierarchy(mini_copy: Path) -> None:
    def townships(g):
        g.loc[0, "code"] = "33110200"  # 8 digits
        g.loc[1, "county_code"] = "331121"  # a county not in this dataset
        g.loc[2, "township_type"] = "村"
        return g

    _edit(mini_copy / "boundaries" / "townships.geojson", townships)
    with pytest.raises(LayerValidationError) as exc:
        load_dataset(mini_copy)
    fields = {(p.row, p.field) for p in exc.value.problems if p.file.endswith("townships.geojson")}
    assert fields == {(1, "code"), (2, "county_code"), (3, "township_type")}
    # the villages and facilities of the broken township 331102007 are reported too
    assert any(p.file.endswith("villages.geojson") and p.field == "township_code" for p in exc.value.problems)


def test_facility_year_must_match_its_layer(mini_copy: Path) -> None:
    _edit(mini_copy / "facilities" / "facilities_2024.geojson", lambda g: g.assign(year=np.where(g.index == 0, 2023, g["year"])))
    with pytest.raises(LayerValidationError, match=r"row 1 \(id F001\): field 'year': year 2023 differs from the layer's year 2024"):
        load_dataset(mini_copy)


def test_village_county_must_match_township(mini_copy: Path) -> None:
    _edit(mini_copy / "units" / "villages.geojson", lambda g: g.assign(county_code=np.where(g.index == 7, "331121", g["county_code"])))
    with pytest.raises(LayerValidationError) as exc:
        load_dataset(mini_copy)
    assert [(p.row, p.field) for p in exc.value.problems] == [(8, "county_code")]


def test_long_reports_are_capped() -> None:
    rep = V.Report()
    for i in range(450):
        rep.add("f", i + 1, f"id{i}", "type", "bad")
    with pytest.raises(LayerValidationError) as exc:
        rep.raise_if_problems("x")
    text = str(exc.value)
    assert text.startswith("450 validation problem(s)") and "… and 50 more" in text
    assert len(exc.value.problems) == 450


def test_missing_year_in_one_row_is_reported(mini_copy: Path) -> None:
    import json

    path = mini_copy / "facilities" / "facilities_2024.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"][2]["properties"]["year"] = None
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(LayerValidationError) as exc:
        load_dataset(mini_copy)
    assert [(p.row, p.id, p.field) for p in exc.value.problems] == [(3, "F003", "year")]
