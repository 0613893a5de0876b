"""Place search (layers/search.py) and the workspace queries built on it (dashapp/workspace.py)."""

from __future__ import annotations

import pytest

from layers.load import load_dataset
from layers.search import PlaceIndex, search_places


@pytest.fixture(scope="module")
def ds():
    return load_dataset()


@pytest.fixture(scope="module")
def index(ds):
    return PlaceIndex(ds)


def test_index_holds_every_township_village_and_facility_of_the_year(ds, index):
    kinds = [p.kind for p in index.places]
    assert kinds.count("township") == len(ds.townships) == 173
    assert kinds.count("village") == len(ds.villages)
    assert kinds.count("facility") == len(ds.facilities_for(ds.latest_year))


def test_exact_then_prefix_then_partial_townships_first(ds, index):
    tw = ds.townships
    code = str(tw.loc[tw["name"] == "垵口乡", "code"].iloc[0])
    hits = index.search("垵口")
    assert (hits[0].kind, hits[0].key) == ("township", code)
    # every hit contains the query; prefix hits come before partial ones
    names = [h.name for h in hits]
    assert all("垵口" in n for n in names)
    prefix = [n.startswith("垵口") for n in names]
    assert prefix == sorted(prefix, reverse=True)
    # exact name first, even when other names start with it
    assert index.search("垵口乡")[0].name == "垵口乡"
    # partial: a name containing the text in the middle
    vil = ds.villages
    mid = next(n for n in vil["name"].astype(str) if len(n) >= 4)
    assert any(h.name == mid for h in index.search(mid[1:3], limit=5000))


def test_search_ignores_width_and_spaces_and_blank_queries(index):
    assert index.search("  ") == [] and index.search(None) == []
    assert [h.key for h in index.search(" 垵口乡 ")] == [h.key for h in index.search("垵口乡")]


def test_hits_carry_a_point_inside_their_township(ds, index):
    from shapely.geometry import Point

    polys = dict(zip(ds.townships["code"].astype(str), ds.townships.geometry))
    for hit in index.search("儿童之家", limit=30):
        assert hit.kind == "facility"
        assert polys[hit.township_code].distance(Point(hit.lon, hit.lat)) < 0.01
    table = search_places(ds, "垵口", limit=3)
    assert list(table["kind"])[0] == "township" and len(table) == 3


def test_search_pick_flies_to_and_selects(ds):
    from dashapp import workspace

    tw = ds.townships
    code = str(tw.loc[tw["name"] == "垵口乡", "code"].iloc[0])
    opts = workspace.search_options("垵口", None, "zh")
    assert opts[0]["value"] == f"township|{code}" and opts[0]["label"].startswith("垵口乡 · 乡镇")
    viewport, selection = workspace.search_pick(opts[0]["value"], None)
    minx, miny, maxx, maxy = tw.loc[tw["code"] == code].total_bounds
    assert viewport["bounds"] == [[pytest.approx(miny), pytest.approx(minx)], [pytest.approx(maxy), pytest.approx(maxx)]]
    assert selection == {"township_code": code}
    fac = next(o for o in opts if o["value"].startswith("facility|"))
    _, sel = workspace.search_pick(fac["value"], None)
    fid = fac["value"].split("|", 1)[1]
    row = ds.facilities_for(ds.latest_year).set_index("facility_id").loc[fid]
    assert sel == {"township_code": str(row["township_code"]), "facility_id": fid}
    assert workspace.search_pick("township|nope", None) is None
    assert workspace.search_pick(None, None) is None


def test_view_query_and_initial_viewport_round_trip():
    from dashapp import workspace

    q = workspace.view_query("en", "t1", "", 2022, "none", 11.5, {"lat": 28.45, "lng": 119.9})
    assert q == "?lang=en&target=t1&year=2022&basemap=none&zoom=11.5&lat=28.45000&lon=119.90000"
    assert workspace.initial_viewport("11.5", "28.45", "119.9") == {"zoom": 11.5, "center": [28.45, 119.9]}
    # junk, far away or out-of-range values fall back to the whole city
    assert workspace.initial_viewport("x", "28.45", "119.9") == {}
    assert workspace.initial_viewport("11", "45.0", "119.9") == {}
    assert workspace.initial_viewport("40", "28.45", "119.9") == {}
    assert workspace.initial_viewport(None, None, None) == {}


def test_legend_follows_the_shown_layers():
    from dashapp.symbols import legend_entries

    base = legend_entries(["child_home"], "zh")
    labels = [e["label"] for e in base]
    assert "儿童之家 · 示范型" in labels and "儿童之家 · 基础型" in labels
    shapes = {e["label"]: e["shape"] for e in base}
    assert shapes["儿童之家 · 示范型"] != shapes["儿童之家 · 基础型"]
    kinds = {e["kind"] for e in base}
    assert kinds == {"fill", "outline", "symbol", "count"}
    full = {e["kind"] for e in legend_entries(["fitness"], "zh", access=True, added=True, proposals=True)}
    assert {"area", "uncovered", "added", "proposal"} <= full
    assert {e["kind"] for e in legend_entries([], "zh")} == {"fill", "outline"}
