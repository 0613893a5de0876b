"""Packed layers (dashapp/geopack.py) and the payload budget of the app's callbacks (issue 11).

* The codec is lossless up to the 1e-5° rounding: checked on hand-made features and on every
  displayed layer (decoded coordinates within 0.5e-5° of the input, properties equal).
* The budget: every callback response of the default view, the walking-access target (and
  its year switch), a village target and a scenario click stays under 300 KB as Dash sends it
  (``dash._utils.to_json`` of the ``{"multi": true, "response": …}`` body). A size check, not
  a timed test.
* The simplified service areas stay within their stated tolerance of the unsimplified union,
  measured independently: the Hausdorff distance in EPSG:4549 between the decoded polygon and
  the union of the service areas as computed (no simplification, no rounding).
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from dashapp import geopack

BUDGET = 300_000


# ------------------------------------------------------------------------------ codec
def test_polyline_integers_round_trip_by_hand():
    # 0 → "?" (63); 1 → zigzag 2 → "A"; -1 → zigzag 1 → "@"; 16 → 32 → two chars: (32&31|32)+63="_", 1+63="@"
    assert geopack._enc([0, 1, -1, 16]) == "?A@_@"
    assert geopack._dec("?A@_@") == [0, 1, -1, 16]
    big = [11912345, -2812345, 0, 123456789]
    assert geopack._dec(geopack._enc(big)) == big


def test_pack_round_trip_of_hand_made_features():
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "F1", "properties": {"facility_id": "F1", "name": "甲村儿童之家", "type": "child_home",
                                                       "label": "甲村儿童之家 · 儿童之家 · 基础型", "scenario": False},
         "geometry": {"type": "Point", "coordinates": [119.123456, 28.4]}},
        {"type": "Feature", "id": "F2", "properties": {"facility_id": "F2", "name": "乙村儿童之家", "type": "child_home",
                                                       "label": "乙村儿童之家 · 儿童之家 · 基础型", "scenario": True},
         "geometry": {"type": "Point", "coordinates": [119.2, 28.5]}},
        {"type": "Feature", "id": "F3", "properties": {"facility_id": "F3", "name": "丙", "type": "child_home",
                                                       "label": "丙", "scenario": False},
         "geometry": {"type": "Point", "coordinates": [119.3, 28.6]}},
        {"type": "Feature", "id": "F4", "properties": {"facility_id": "F4", "name": "丁村儿童之家", "type": "child_home",
                                                       "label": "丁村儿童之家 · 儿童之家 · 基础型", "scenario": False},
         "geometry": {"type": "Point", "coordinates": [119.4, 28.7]}},
    ]}
    packed = geopack.pack(fc)
    # the label is the name plus a repeated tail: sent as the tail's index only
    assert packed["props"]["label"]["pre"] == "name"
    assert packed["props"]["label"]["d"] == ["儿童之家 · 基础型", None]
    assert packed["props"]["label"]["i"] == [0, 0, 1, 0]
    assert packed["props"]["type"] == {"d": ["child_home"], "i": [0, 0, 0, 0]}
    assert packed["id"] == {"from": "facility_id"}
    back = geopack.unpack(json.loads(json.dumps(packed)))
    want = json.loads(json.dumps(fc))
    want["features"][0]["geometry"]["coordinates"] = [119.12346, 28.4]  # rounded to 1e-5°
    assert back == want


def test_polygon_with_a_hole_and_a_multipolygon_round_trip():
    poly = shapely.Polygon([(119.0, 28.0), (119.1, 28.0), (119.1, 28.1), (119.0, 28.0)],
                           [[(119.05, 28.01), (119.06, 28.01), (119.06, 28.02), (119.05, 28.01)]])
    multi = shapely.MultiPolygon([poly, shapely.box(120.0, 27.0, 120.00001, 27.00003)])
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"label": "a"}, "geometry": shapely.geometry.mapping(poly)},
        {"type": "Feature", "properties": {"label": "b"}, "geometry": shapely.geometry.mapping(multi)}]}
    back = geopack.unpack(geopack.pack(json.loads(json.dumps(fc))))
    for got, exp in zip(back["features"], (poly, multi)):
        assert shapely.geometry.shape(got["geometry"]).equals_exact(exp, 1e-9)


def test_unpack_refuses_what_is_not_a_packed_layer():
    with pytest.raises(ValueError, match="not a packed"):
        geopack.unpack({"type": "FeatureCollection", "features": []})


# ------------------------------------------------------------------------------ the real app
@pytest.fixture(scope="module")
def embedded():
    from dashapp import service
    from dashapp.app import create_app

    create_app(None)  # pages are registered with the app; the service serves the embedded data
    yield service.get_service()
    service.configure(None)


def _response_bytes(outputs: dict[str, object]) -> int:
    """Bytes of a callback response as Dash sends it (non-ASCII escaped as \\uXXXX)."""
    from dash._utils import to_json

    return len(to_json({"multi": True, "response": outputs}).encode("utf-8"))


def _named(values: tuple, names: list[str]) -> dict[str, object]:
    return {n: {"v": v} for n, v in zip(names, values)}


def _view_responses(target: str, year: int, store=None, shown_key=None) -> dict[str, int]:
    from dashapp.callbacks import map_cb

    out = {}
    view = map_cb.update_target_view(target, "", year, store, None, "none", "zh")
    out["update_target_view"] = _response_bytes(_named(view, ["hide", "county", "counts", "rows", "timing"]))
    pts = map_cb.update_point_layers(target, "", year, store, "none", "zh")
    out["update_point_layers"] = _response_bytes(_named(pts, ["areas", "points"]))
    from dashapp import queries

    fac = map_cb.update_facilities(queries.default_facility_types(target), year, store, "none", shown_key, "zh")
    out["update_facilities"] = _response_bytes(_named(fac, ["base", "added", "key"]))
    return out


def test_default_view_responses_stay_under_the_budget(embedded):
    import sys

    import dash

    sizes = _view_responses("demo_child_home_per_township", 2024)
    # the page itself comes as the pages callback's response (townships and counties packed);
    # the page module as the app registered it (importing it anew would register it twice)
    page = next(p for p in dash.page_registry.values() if p["path"] == "/")
    layout = sys.modules[page["module"]].layout
    sizes["page_layout"] = _response_bytes({"_pages_content": {"children": layout(lang="zh")}})
    assert max(sizes.values()) < BUDGET, sizes
    assert sizes["page_layout"] > 20_000  # the packed boundaries are in it (the check can fail)


@pytest.mark.parametrize("year", [2024, 2020])
def test_walking_access_responses_stay_under_the_budget(embedded, year):
    sizes = _view_responses("fitness_10min_circle", year)
    assert max(sizes.values()) < BUDGET, sizes
    assert sizes["update_point_layers"] > 50_000  # the service areas are in it


def test_village_target_responses_stay_under_the_budget(embedded):
    sizes = _view_responses("child_home_every_village", 2024)
    assert max(sizes.values()) < BUDGET, sizes


def test_scenario_add_responses_stay_under_the_budget(embedded):
    from dashapp import queries
    from dashapp.callbacks import map_cb, scenario_cb

    tw = embedded.ds.townships
    town = tw[tw["name"] == "大港头镇"].iloc[0]
    pt = town.geometry.representative_point()
    store, msg = scenario_cb.add_on_click({"latlng": {"lat": pt.y, "lng": pt.x}}, "add", "child_home",
                                          "demonstration", 30, "", None, "none", 2024, "zh")
    assert store["edits"] and msg == ""
    key = queries.facility_layer_key(["child_home"], 2024, [], "none", "zh")
    sizes = _view_responses("demo_child_home_per_township", 2024, store, key)
    sizes["add_on_click"] = _response_bytes(_named((store, msg), ["store", "msg"]))
    assert max(sizes.values()) < BUDGET, sizes
    # the base layer is not resent after a click, only the addition
    fac = map_cb.update_facilities(["child_home"], 2024, store, "none", key, "zh")
    assert fac[0] is map_cb.no_update and len(fac[1]["features"]) == 1


def test_packed_layers_decode_to_the_displayed_geojson(embedded):
    from dashapp import queries

    for fc in (queries.township_data("none"), queries.county_data("none"),
               queries.facility_layers(["fitness"], 2024, [], "none", "zh")[0]):
        back = geopack.unpack(json.loads(json.dumps(geopack.pack(fc))))
        assert len(back["features"]) == len(fc["features"])
        for a, b in zip(fc["features"], back["features"]):
            assert a["properties"] == b["properties"]
            ga, gb = shapely.geometry.shape(a["geometry"]), shapely.geometry.shape(b["geometry"])
            assert ga.equals_exact(gb, 0.5e-5 * 2 ** 0.5 + 1e-9)  # each vertex within half a step per axis


def test_simplified_service_areas_stay_within_the_stated_tolerance(embedded):
    """The Hausdorff distance (EPSG:4549) between the drawn service area (decoded from what is
    sent) and the union of the areas as computed stays within the stated bound,
    ``AREA_DRAWN_WITHIN_M`` (1.5 × the 20 m Douglas–Peucker tolerance: the simplifier bounds
    the removed vertices, not every point of a region of 560 merged areas; measured ≈ 26 m)
    plus the 1e-5° rounding (≤ 1.5 m): checked as its definition, each region inside the other
    grown by that distance (no simplifier code involved)."""
    from dashapp import queries
    from dashapp.service import AREA_DRAWN_WITHIN_M

    target = "fitness_10min_circle"
    packed = queries.point_layers(target, None, 2024, [], "none", "zh")[0]
    feats = geopack.unpack(json.loads(json.dumps(packed)))["features"]
    drawn = gpd.GeoSeries([shapely.geometry.shape(f["geometry"]) for f in feats], crs="EPSG:4326")
    # rounding may make two rings touch or cross; made valid as the browser fills it (even-odd)
    drawn = drawn.to_crs("EPSG:4549").make_valid().union_all()
    ref = embedded.service_areas(target, 2024).geometry.to_crs("EPSG:4549").union_all()
    reach = AREA_DRAWN_WITHIN_M + 1.5
    assert drawn.difference(ref.buffer(reach)).area < 1.0  # m²: nothing drawn farther than reach
    assert ref.difference(drawn.buffer(reach)).area < 1.0  # nothing served left farther than reach
    # it was simplified (the check can fail): some part of the drawing lies off the exact area,
    # and the drawing has fewer vertices
    assert drawn.symmetric_difference(ref).area > 1_000.0
    assert shapely.get_num_coordinates(drawn) < 0.8 * shapely.get_num_coordinates(ref)
