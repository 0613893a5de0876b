"""dashapp.maps: display GeoJSON, status styling, GCJ-02 shift, text-only tooltips."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, shape

from dashapp import maps
from layers.crs import gcj02_to_wgs84, wgs84_to_gcj02
from layers.load import load_dataset

MINI = Path(__file__).resolve().parent / "data" / "mini"
ASSETS = Path(__file__).resolve().parent.parent / "dashapp" / "assets"
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def mini():
    return load_dataset(MINI)


def test_township_geojson_keeps_every_unit_and_its_area(mini):
    gj = maps.township_geojson(mini.townships)
    codes = [f["properties"]["code"] for f in gj["features"]]
    assert codes == list(mini.townships["code"])
    assert gj["features"][0]["properties"]["county_name"] == "莲都区"
    # simplification for display must not change the area by more than 1 % (EPSG:4549)
    shown = gpd.GeoSeries([shape(f["geometry"]) for f in gj["features"]], crs="EPSG:4326").to_crs("EPSG:4549")
    true = mini.townships.geometry.to_crs("EPSG:4549")
    assert np.allclose(shown.area.to_numpy(), true.area.to_numpy(), rtol=0.01)
    # the coverage simplifier keeps neighbours joined: no gap between the strips
    union = shown.union_all()
    assert union.area == pytest.approx(true.union_all().area, rel=0.01)
    assert union.geom_type == "Polygon"


def test_status_hideout_colours_and_text():
    rows = pd.DataFrame(
        {
            "unit_code": ["1", "2", "3"],
            "unit_name": ["甲镇", HOSTILE, "丙乡"],
            "status": ["met", "not_met", "weird"],
            "required": [1.0, 1.0, np.nan],
            "actual": [1.0, 0.0, np.nan],
            "shortfall": [0.0, 2.0, np.nan],
            "shortfall_unit": ["facilities"] * 3,
        }
    )
    hide = maps.status_hideout(rows, "zh", county_code="331102", selected="2")
    assert hide["status"] == {"1": "met", "2": "not_met", "3": "no_data"}
    assert hide["colors"]["not_met"] == maps.STATUS_COLORS["not_met"]
    assert hide["tip"]["2"] == f"{HOSTILE} · 未达标 · 现状值 0 / 目标值 1 · 缺口量: 2个设施"
    assert "缺口量" not in hide["tip"]["1"]
    assert (hide["county"], hide["selected"]) == ("331102", "2")
    assert maps.status_counts(rows.assign(status=["met", "not_met", "not_met"])) == {
        "met": 1, "not_met": 2, "no_data": 0, "not_applicable": 0}


def test_facility_geojson_filters_types_and_keeps_names_as_text(mini):
    fac = mini.facilities_for(2024).copy()
    fac.loc[fac["facility_id"] == "F002", "name"] = HOSTILE
    gj = maps.facility_geojson(fac, "zh", types=["child_home"], scenario_ids={"F002"})
    props = {f["properties"]["facility_id"]: f["properties"] for f in gj["features"]}
    assert sorted(props) == ["F001", "F002", "F009"]  # the 2024 儿童之家 of the mini dataset
    assert props["F002"]["name"] == HOSTILE  # raw text; the browser sets it with textContent
    assert props["F002"]["label"].startswith(HOSTILE + " · 儿童之家 · 基础型")
    assert props["F002"]["scenario"] is True and props["F001"]["scenario"] is False
    assert props["F001"]["color"] == maps.FACILITY_COLORS["child_home"]
    assert maps.facility_geojson(fac, "en", types=[])["features"] == []


def test_browser_side_tooltips_are_built_as_text_never_html():
    js = (ASSETS / "covplan_map.js").read_text(encoding="utf-8")
    assert "textContent" in js
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in js
    # every asset is local: no URL to another host
    for path in ASSETS.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "@import" not in text


def test_to_gcj02_shifts_every_vertex_like_layers_crs(mini):
    gj = maps.township_geojson(mini.townships)
    shifted = maps.to_gcj02(gj)
    ring = np.asarray(gj["features"][0]["geometry"]["coordinates"][0])
    ring2 = np.asarray(shifted["features"][0]["geometry"]["coordinates"][0])
    lon, lat = wgs84_to_gcj02(ring[:, 0], ring[:, 1])
    assert np.allclose(ring2[:, 0], lon, atol=2e-6) and np.allclose(ring2[:, 1], lat, atol=2e-6)
    # the shift in Lishui is a few hundred metres east/south, and it inverts
    assert 0.003 < float(np.mean(ring2[:, 0] - ring[:, 0])) < 0.007
    back = np.column_stack(gcj02_to_wgs84(ring2[:, 0], ring2[:, 1]))
    assert np.allclose(back, ring, atol=2e-6)
    assert gj["features"][0]["geometry"]["coordinates"][0][0] == list(ring[0])  # input untouched
    assert maps.for_basemap(gj, "none") is gj


def test_point_and_polygon_layers(mini):
    pts = gpd.GeoDataFrame({"name": ["甲", "乙"], "v": [3.0, 5.0]},
                           geometry=[Point(119.85, 28.47), Point(119.86, 28.43)], crs="EPSG:4326")
    gj = maps.point_geojson(pts, ["name"], value_col="v")
    assert [f["properties"] for f in gj["features"]] == [{"label": "甲", "value": 3.0}, {"label": "乙", "value": 5.0}]
    # a 1 km circle near the central meridian of EPSG:4549, simplified with a 30 m tolerance
    areas = gpd.GeoDataFrame({"name": ["圈"]}, geometry=[Point(500000, 3150000).buffer(1000)], crs="EPSG:4549")
    poly = maps.polygon_geojson(areas.to_crs("EPSG:4326"), ["name"])
    assert poly["features"][0]["geometry"]["type"] == "Polygon"
    area = gpd.GeoSeries([shape(poly["features"][0]["geometry"])], crs="EPSG:4326").to_crs("EPSG:4549").area[0]
    # the simplified ring is inscribed in the circle: at most ~4 % smaller (sag ≤ 30 m)
    assert 0.95 * np.pi * 1000**2 < area <= np.pi * 1000**2


def test_legend_lists_statuses_then_types():
    items = maps.legend_items(["child_home", "fitness"], "en")
    assert [i["label"] for i in items] == ["Met", "Not met", "No data", "Not applicable", "Children's home",
                                           "Fitness facility"]
    assert maps.unit_bounds(load_dataset(MINI).counties, "331102") == [[28.38, 119.8], [28.58, 119.95]]
