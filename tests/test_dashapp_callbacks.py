"""The app's callbacks, called directly on the mini dataset (tests/data/mini).

Hand-worked facts of the mini dataset used below (see its manifest and facility files):
2024 儿童之家 are F001 示范型 in 联城街道 (331102007), F002 基础型 in 南明山街道
(331102008) and F009 基础型 in 太平乡 (331102200); in 2022 F001 was still 基础型. So for
``demo_child_home_per_township`` (≥ 1 示范型 per township) 2024 has 1 township met and
2 not met, and 2022 has 3 not met. Township strips (lon 119.8–119.95): 南明山 lat
28.38–28.45, 联城 28.445–28.51, 太平乡 28.51–28.58.
"""

from __future__ import annotations

import base64
import io
import json
from contextvars import copy_context
from pathlib import Path

import pandas as pd
import pytest
from dash import html, no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from dashapp import exports, queries, service
from dashapp.geopack import unpack
from dashapp.callbacks import export_cb, map_cb, nav_cb, panel_cb, scenario_cb, siting_cb, summary_cb, workspace_cb
from dashapp.ids import Id
from layers.crs import wgs84_to_gcj02
from layers.load import load_dataset

MINI = Path(__file__).resolve().parent / "data" / "mini"
TARGET = "demo_child_home_per_township"
LIANCHENG, NANMINGSHAN, TAIPING = "331102007", "331102008", "331102200"
IN_TAIPING = {"lat": 28.545, "lng": 119.875}
IN_NANMINGSHAN = {"lat": 28.4125, "lng": 119.875}
HOSTILE = "<img src=x onerror=alert(1)>"


def complete_indicators(folder: Path) -> None:
    """Give every indicator at least one row per inventory year (first unit of its level).

    The mini dataset reports only some indicators in some years; the app must show the
    others as "no data" for the remaining units, which is what these tests then see.
    """
    from layers.vocab import INDICATORS

    path = folder / "indicators" / "indicators.csv"
    table = pd.read_csv(path, encoding="utf-8-sig", dtype={"unit_code": str})
    first = {"township": "331102007", "county": "331102", "village": "331102007211"}
    extra = []
    for year in (2022, 2024):
        for ind, level in INDICATORS.items():
            if ((table["year"] == year) & (table["indicator"] == ind)).any():
                continue
            code = "331102007001" if ind == "women_share_community_committee" else first[level]
            value = 1.0 if ind == "child_social_workers" else 0.5
            extra.append({"year": year, "unit_level": level, "unit_code": code, "indicator": ind,
                          "value": value, "provenance": "synthetic"})
    pd.concat([table, pd.DataFrame(extra)], ignore_index=True).to_csv(path, index=False, encoding="utf-8-sig")


@pytest.fixture(scope="module", autouse=True)
def mini_service(tmp_path_factory):
    import shutil

    folder = tmp_path_factory.mktemp("mini") / "mini"
    shutil.copytree(MINI, folder)
    complete_indicators(folder)
    global MINI_DATA
    MINI_DATA = folder
    svc = service.configure(folder)
    yield svc
    service.configure(None)


MINI_DATA = MINI


def xlsx_members(data: bytes) -> dict[str, bytes]:
    """Members of an .xlsx with the creation/modification times masked."""
    import re
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        out = {name: zf.read(name) for name in zf.namelist()}
    out["docProps/core.xml"] = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"T", out["docProps/core.xml"])
    return out


def with_trigger(prop_id: str, fn, *args):
    """Run a callback as Dash would after ``prop_id`` fired (for ``ctx.triggered_id``)."""

    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": 1}]))
        return fn(*args)

    return copy_context().run(run)


def view_full(store=None, year=2024, county="", selection=None, target=TARGET, lang="zh"):
    """(township hideout, county hideout, counts, gap rows, areas, points, timing): the map
    callback's outputs and the point layers' (sent packed, decoded here as the browser does)."""
    from dashapp.geopack import unpack

    hide, county_h, counts, rows, timing = map_cb.update_target_view(target, county, year, store, selection,
                                                                     "none", lang)
    areas, points = map_cb.update_point_layers(target, county, year, store, "none", lang)
    return hide, county_h, counts, rows, unpack(areas), unpack(points), timing


def view(store=None, year=2024, county="", selection=None, target=TARGET, lang="zh"):
    """The callback's outputs without the county hideout."""
    out = view_full(store, year, county, selection, target, lang)
    return (out[0], *out[2:])


def add(store, latlng, *, ftype="child_home", tier="demonstration", name="", basemap="none", capacity=None):
    return scenario_cb.add_on_click({"latlng": latlng}, "add", ftype, tier, capacity, name, store, basemap, 2024,
                                    "zh")


# ------------------------------------------------------------------------------ map view
def test_township_colours_match_the_hand_worked_statuses():
    hide, counts, rows, areas, uncovered, timing = view()
    assert hide["status"] == {LIANCHENG: "met", NANMINGSHAN: "not_met", TAIPING: "not_met"}
    assert counts.children[2].children.startswith("未达标 2")  # status counts: met, not met, …
    assert sorted(r["unit_code"] for r in rows) == [NANMINGSHAN, TAIPING]
    assert all(r["shortfall"] == "1" and r["shortfall_unit"] == "个设施" for r in rows)
    assert all(r["unit_level"] == "乡镇（街道）" and r["township_id"] == r["unit_code"] for r in rows)
    assert rows[0]["bounds"][0][1] == 119.8  # zoom target: the township's own box
    assert areas["features"] == [] and uncovered["features"] == []  # not an access target
    assert "毫秒" in timing
    hide22 = view(year=2022)[0]
    assert set(hide22["status"].values()) == {"not_met"}


def test_village_and_county_targets_are_drawn_at_their_own_level():
    # fitness_every_village: no village of the mini dataset has a fitness facility → every
    # township has 0 of its villages met, and every village is a red point
    hide, county_h, counts, rows, _, points, _ = view_full(target="fitness_every_village")
    assert hide["status"] == {LIANCHENG: "not_met", NANMINGSHAN: "not_met", TAIPING: "not_met"}
    assert hide["level"] == "village" and county_h["status"] == {}
    assert hide["tip"][TAIPING].startswith("太平乡：") and "个达标（0.0%）" in hide["tip"][TAIPING]
    assert {f["properties"]["status"] for f in points["features"]} == {"not_met"}
    assert len(points["features"]) == len(rows)  # one gap row per village, one point per village
    assert all(r["level"] == "village" and r["township_id"] == r["unit_code"][:9] for r in rows)
    # a county target colours the county (莲都区 has F011 妇幼保健院 → met), not its townships
    hide, county_h, counts, rows, *_ = view_full(target="mch_institution_city_county")
    assert hide["status"] == {} and hide["level"] == "county"
    assert county_h["status"] == {"331102": "met"}
    assert county_h["tip"]["331102"].startswith("莲都区（县（市、区））")
    assert counts.children[0].children.startswith("县（市、区）")


def test_english_labels_and_links():
    hide = view(lang="en")[0]
    assert hide["tip"][NANMINGSHAN].startswith("南明山街道 (Township)\nStatus: Not met")
    assert hide["tip"][NANMINGSHAN].endswith("Shortfall: 1 facility")
    links = nav_cb.view_links(TARGET, "331102", 2024, "none", "en")
    assert links[2] == f"/?lang=zh&target={TARGET}&county=331102&year=2024&basemap=none"
    assert links[3].startswith("/?lang=en&")
    # the map's zoom and centre ride along, so a language switch keeps the view
    links = nav_cb.view_links(TARGET, "", 2022, "none", "zh", 11.5, {"lat": 28.45, "lng": 119.9})
    assert links[3] == f"/?lang=en&target={TARGET}&year=2022&basemap=none&zoom=11.5&lat=28.45000&lon=119.90000"
    assert "zoom" not in links[1]  # the summary page has no map


def test_gap_row_click_zooms_to_the_unit_and_selects_it():
    rows = view()[2]
    cell = {"rowId": rows[0]["row_id"], "colId": "unit_name"}
    viewport, selection, mark = map_cb.zoom_to_gap_row(cell, rows)
    assert viewport["bounds"] == rows[0]["bounds"] and viewport["transition"] == "flyToBounds"
    assert selection == {"township_code": rows[0]["unit_code"], "facility_id": None}
    assert mark["features"] == []  # a township row rings no village
    assert map_cb.zoom_to_gap_row({"rowId": "nope"}, rows) == (no_update, no_update, no_update)


def test_facility_layer_and_legend_follow_the_chosen_types():
    base, added, key = map_cb.update_facilities(["child_home"], 2024, None, "none", None, "zh")
    base = unpack(base)  # sent packed (dashapp/geopack.py), decoded as the browser does
    assert sorted(f["properties"]["facility_id"] for f in base["features"]) == ["F001", "F002", "F009"]
    assert added["features"] == []
    legend = workspace_cb.legend(["child_home"], "demo_child_home_per_township", None, [], "zh")
    assert "儿童之家 · 示范型" in json.dumps(legend.to_plotly_json(), ensure_ascii=False, default=str)
    # adding a facility leaves the big base layer as it is: only the additions are sent
    store, _ = add(None, IN_TAIPING)
    again = map_cb.update_facilities(["child_home"], 2024, store, "none", key, "zh")
    assert again[0] is no_update and again[2] is no_update
    assert [f["properties"]["facility_id"] for f in again[1]["features"]] == ["APP-001"]
    closed, _ = scenario_cb.close_selected(1, {"facility_id": "F002"}, store, 2024, "zh")
    after_close = map_cb.update_facilities(["child_home"], 2024, closed, "none", key, "zh")
    assert sorted(f["properties"]["facility_id"] for f in unpack(after_close[0])["features"]) == ["F001", "F009"]
    assert map_cb.choose_target("childcare_slots_per_1000", "zh")[0] == ["childcare"]
    shifted = unpack(map_cb.update_facilities(["child_home"], 2024, None, "amap", None, "zh")[0])
    f0 = next(f for f in shifted["features"] if f["properties"]["facility_id"] == "F001")
    g0 = next(f for f in base["features"] if f["properties"]["facility_id"] == "F001")
    lon, lat = wgs84_to_gcj02(*g0["geometry"]["coordinates"])
    assert f0["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1.1e-5)  # both sent at 1e-5°


# ------------------------------------------------------------------------------ scenario mode
def test_a_click_near_a_township_border_is_named_and_warned():
    """A point 60 m inside 太平 next to a neighbour: the edit names 太平 and warns of the border."""
    import geopandas as gpd

    tw = service.get_service().ds.townships.to_crs("EPSG:4549").set_index("code")
    mine = tw.loc[TAIPING, "geometry"]
    others = tw.drop(index=TAIPING)
    inner = mine.buffer(-60).exterior
    # the point of the inner ring closest to any neighbour lies ~60 m from the shared border
    neigh_code = others.distance(mine).idxmin()
    near = others.loc[neigh_code, "geometry"]
    pt = inner.interpolate(inner.project(near.centroid))
    dist = mine.boundary.distance(pt)
    assert 55 < dist < 65
    ll = gpd.GeoSeries([pt], crs="EPSG:4549").to_crs("EPSG:4326").iloc[0]
    store, msg = add({"name": "", "edits": []}, {"lat": ll.y, "lng": ll.x})
    assert msg == ""
    item = scenario_cb.show_edits(store, "zh", 2024).children[0]
    text, warning = item.children[0].children, item.children[1].children
    assert tw.loc[TAIPING, "name"] in text
    assert f"{dist:.0f} 米" in warning and "计入" + tw.loc[TAIPING, "name"] in warning
    # far from any border: no warning
    store2, _ = add({"name": "", "edits": []}, IN_TAIPING)
    far = scenario_cb.show_edits(store2, "zh", 2024).children[0]
    assert len(far.children) == 1


def test_adding_a_demonstration_home_flips_the_township_to_met():
    store, msg = add({"name": "", "edits": []}, IN_TAIPING)
    assert msg == ""
    edit = store["edits"][0]
    assert edit == {"op": "add_facility", "type": "child_home", "facility_id": "APP-001", "lon": 119.875,
                    "lat": 28.545, "crs": "wgs84", "tier": "demonstration"}
    hide, _, rows, *_ = view(store)
    assert hide["status"] == {LIANCHENG: "met", NANMINGSHAN: "not_met", TAIPING: "met"}
    assert [r["unit_code"] for r in rows] == [NANMINGSHAN]
    _, added, _ = map_cb.update_facilities(["child_home"], 2024, store, "none", None, "zh")
    assert [f["properties"]["facility_id"] for f in added["features"]] == ["APP-001"]
    edits_list = scenario_cb.show_edits(store, "zh", 2024)
    first = edits_list.children[0].children[0]
    taiping = service.get_service().ds.townships.set_index("code").loc[TAIPING, "name"]
    assert "新增设施" in first.children and taiping in first.children  # the edit names its township
    assert first.to_plotly_json()["props"]["data-township"] == taiping
    head, table = scenario_cb.show_diff("timing", store, 2024, "zh")
    shown_up = head.children[0].to_plotly_json()["props"]["data-flips-up"]
    # second method: compare the two evaluations here, row by row
    before = service.get_service().evaluation(2024, (), None).units
    after = service.get_service().evaluation(2024, store["edits"], None).units
    merged = before.merge(after, on=["target_id", "unit_level", "unit_code"], suffixes=("_b", "_a"))
    expected_up = int(((merged.status_b == "not_met") & (merged.status_a == "met")).sum())
    flipped = merged[(merged.status_b == "not_met") & (merged.status_a == "met")]
    assert (TARGET, TAIPING) in set(zip(flipped.target_id, flipped.unit_code))
    assert shown_up == str(expected_up)


def test_two_sessions_never_see_each_others_edits():
    base_count = len(load_dataset(MINI_DATA).facilities)
    store_a, _ = add(None, IN_TAIPING)
    store_b, _ = add(None, IN_NANMINGSHAN)
    a = view(store_a)[0]["status"]
    b = view(store_b)[0]["status"]
    a_again = view(store_a)[0]["status"]
    base = view(None)[0]["status"]
    assert (a[TAIPING], a[NANMINGSHAN]) == ("met", "not_met")
    assert (b[TAIPING], b[NANMINGSHAN]) == ("not_met", "met")
    assert a_again == a
    assert (base[TAIPING], base[NANMINGSHAN]) == ("not_met", "not_met")
    assert len(load_dataset(MINI_DATA).facilities) == base_count  # the base dataset is never edited


def test_clicks_on_gcj02_tiles_are_converted_back_to_wgs84():
    lon, lat = wgs84_to_gcj02(119.875, 28.545)
    store, _ = add(None, {"lat": float(lat), "lng": float(lon)}, basemap="amap")
    assert store["edits"][0]["crs"] == "gcj02"
    ds, _ = service.get_service().scenario_data(store["edits"], 2024)
    pt = ds.facilities_for(2024).set_index("facility_id").loc["APP-001", "geometry"]
    assert (pt.x, pt.y) == pytest.approx((119.875, 28.545), abs=1e-6)
    assert ds.facilities_for(2024).set_index("facility_id").loc["APP-001", "township_code"] == TAIPING


def test_bad_clicks_give_a_message_and_leave_the_scenario_alone():
    store, msg = add(None, {"lat": 40.0, "lng": 100.0})
    assert store is no_update and "丽水市范围之外" in msg.children  # zh UI: Chinese errors
    store, msg = add(None, IN_TAIPING, ftype="childcare", capacity="lots")
    assert store is no_update and "容量" in msg.children
    assert scenario_cb.add_on_click({"latlng": IN_TAIPING}, "view", "child_home", "basic", None, "", None, "none",
                                    2024, "zh") == (no_update, no_update)


def test_close_and_upgrade_a_selected_facility():
    sel = {"township_code": NANMINGSHAN, "facility_id": "F002"}
    panel, close_disabled, upgrade_disabled = panel_cb.show_selection(sel, 2024, "", "edit", None, "zh")
    assert (close_disabled, upgrade_disabled) == (False, False)  # F002 is a basic home
    assert panel_cb.show_selection(sel, 2024, "", "view", None, "zh")[1:] == (True, True)  # no edits in view mode
    assert panel_cb.show_selection({"facility_id": "F001"}, 2024, "", "edit", None, "zh")[1:] == (False, True)
    store, _ = scenario_cb.upgrade_selected(1, sel, None, 2024, "zh")
    assert store["edits"] == [{"op": "upgrade_facility", "facility_id": "F002", "tier": "demonstration"}]
    assert view(store)[0]["status"][NANMINGSHAN] == "met"
    store2, _ = scenario_cb.close_selected(1, {"facility_id": "F001"}, None, 2024, "zh")
    assert view(store2)[0]["status"][LIANCHENG] == "not_met"
    assert scenario_cb.undo_edit(1, store2) == {"name": "", "edits": []}
    bad, msg = scenario_cb.close_selected(1, {"facility_id": "NOPE"}, None, 2024, "zh")
    assert bad is no_update and "NOPE" in msg.children


def test_hostile_names_stay_text_in_every_view():
    store, _ = add(None, IN_TAIPING, name=HOSTILE)
    _, added, _ = map_cb.update_facilities([], 2024, store, "none", None, "zh")
    assert added["features"][0]["properties"]["name"] == HOSTILE
    sel = with_trigger(f"{Id.EDITS_LAYER}.clickData", map_cb.click_facility, None, added["features"][0])
    assert sel["facility_id"] == "APP-001"
    panel, *_ = panel_cb.show_selection(sel, 2024, "", "view", store, "zh")
    assert isinstance(panel[0], html.H3) and panel[0].children == HOSTILE  # a text child, not markup
    dumped = json.dumps([c.to_plotly_json() for c in panel], default=str, ensure_ascii=False)
    assert '"type": "Img"' not in dumped
    page = exports.static_map_html(TARGET, 2024, None, store["edits"], None, ["child_home"], "zh")
    assert HOSTILE not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    # title, legend, date and a metric-only scale bar
    import datetime

    assert "<title>" in page and "每个乡镇" in page.split("<title>")[1].split("</title>")[0]
    assert "cp-static-legend" in page and "儿童之家" in page and datetime.date.today().isoformat() in page
    assert "imperial: false" in page and "control.scale({metric: true" in page


def test_township_panel_lists_targets_facilities_and_trend():
    sel = map_cb.click_township({"properties": {"code": NANMINGSHAN}})
    panel, close_disabled, _ = panel_cb.show_selection(sel, 2024, "", "edit", None, "zh")
    assert close_disabled is True
    text = json.dumps([c.to_plotly_json() for c in panel], default=str, ensure_ascii=False)
    assert "南明山街道（331102008）" in text
    assert "张村儿童之家" in text and "南明山托育园（示例）" in text  # its 2024 facilities
    from dashapp.queries_detail import township_detail

    d = township_detail(NANMINGSHAN, 2024, [], "zh")
    by_target = {r["target_id"]: r["status"] for r in d["targets"]}
    assert by_target[TARGET] == "not_met"
    assert by_target["mch_institution_city_county"] == "met"  # the county row of 莲都区
    trend = {r["target_id"]: r for r in d["trend"]}
    assert trend[TARGET]["2022"] == "未达标" and trend[TARGET]["2024"] == "未达标"
    assert trend[TARGET]["flag"] == "预计达标困难"  # not met in 2024 and no smaller shortfall than 2022
    assert len(d["facilities"]) == 4  # F002, F005, F008, F011 lie in 南明山街道 in 2024


# ------------------------------------------------------------------------------ exports
def test_gap_downloads_are_the_bytes_covplan_gaps_writes(tmp_path):
    from covplan.cli import main

    for fmt, button in (("csv", Id.EXPORT_CSV), ("xlsx", Id.EXPORT_XLSX), ("geojson", Id.EXPORT_GEOJSON)):
        out = tmp_path / f"gaps.{fmt}"
        assert main(["--data", str(MINI_DATA), "gaps", "--target", TARGET, "--year", "2024", "-o", str(out)]) == 0
        sent, _ = with_trigger(f"{button}.n_clicks", export_cb.download_gaps, 1, None, None, TARGET, "", 2024, [],
                               None, "zh")
        got = base64.b64decode(sent["content"])
        if fmt == "xlsx":
            # openpyxl stamps the write time into docProps/core.xml and the zip headers,
            # so two runs of `covplan gaps` differ there too: compare every member instead
            assert xlsx_members(got) == xlsx_members(out.read_bytes())
        else:
            assert got == out.read_bytes(), fmt
        assert sent["filename"] == f"township_gaps_2024_{TARGET}.{fmt}"
    frame = pd.read_csv(io.BytesIO(out.with_suffix(".csv").read_bytes()), encoding="utf-8-sig")
    assert set(frame["统计代码"].astype(str)) >= {NANMINGSHAN, TAIPING}


def test_static_map_export_is_a_standalone_page():
    sent = export_cb.download_static_map(1, TARGET, "", 2024, None, [[28.38, 119.8], [28.58, 119.95]],
                                         ["child_home"], "zh")
    page = sent["content"]
    assert sent["filename"] == f"covplan_map_{TARGET}.html"
    assert page.startswith("<!DOCTYPE html>") and "L.map" in page
    assert "合成演示数据" in page  # the provenance is stated in the file itself
    # standalone: Leaflet is inlined (vendored), nothing is fetched when the file is opened
    assert "http://" not in page and "https://" not in page
    assert page.count("data:text/javascript;base64,") == 1 and page.count("data:text/css;base64,") == 1


# ------------------------------------------------------------------------------ save / open / upload
def test_save_open_and_upload_scenarios(tmp_path, monkeypatch):
    import scenarios.store as store_mod

    monkeypatch.setattr(store_mod, "SCENARIOS_ROOT", tmp_path)
    store, _ = add(None, IN_TAIPING)
    msg, options, saved, name = scenario_cb.save_scenario(1, "太平乡方案", store, 2024, "zh")
    assert "情景已保存" in msg.children and (tmp_path / "saved" / "太平乡方案.toml").is_file()
    assert [o["value"] for o in options] == ["太平乡方案"]
    assert saved == store["edits"] and name == "太平乡方案"
    first = (tmp_path / "saved" / "太平乡方案.toml").read_bytes()
    # saving again under the same name never overwrites: the next version is kept
    store2, _ = add(store, {"lat": 28.546, "lng": 119.876})
    msg, options, _, name = scenario_cb.save_scenario(1, "太平乡方案", store2, 2024, "zh")
    assert name == "太平乡方案-v2" and "另存为新版本" in msg.children
    assert (tmp_path / "saved" / "太平乡方案.toml").read_bytes() == first
    assert sorted(o["value"] for o in options) == ["太平乡方案", "太平乡方案-v2"]
    # a download is the same TOML text a save writes
    dl, saved = scenario_cb.download_scenario(1, "太平乡方案", store, 2024)
    assert dl["filename"] == "太平乡方案.toml" and dl["content"].encode() == first and saved == store["edits"]
    bad, *_ = scenario_cb.save_scenario(1, "../../etc/passwd", store, 2024, "zh")
    assert "情景名称无效" in bad.children and not any(tmp_path.parent.glob("passwd*"))
    opened, _, name = scenario_cb.open_scenario(1, "太平乡方案", "zh")
    assert opened["edits"] == store["edits"] and name == "太平乡方案"
    text = (tmp_path / "saved" / "太平乡方案.toml").read_bytes()
    upload = "data:application/toml;base64," + base64.b64encode(text).decode()
    data, _, name = scenario_cb.upload_scenario(upload, "乡镇补点 方案.toml", "zh")
    assert data["edits"] == store["edits"]
    assert name == data["name"] == "乡镇补点_方案"  # named from the file, not the previous scenario
    refused, msg, _ = scenario_cb.upload_scenario(upload, "x.py", "zh")
    assert refused is no_update and ".toml 情景文件" in msg.children
    huge = "data:;base64," + "A" * (queries.MAX_UPLOAD_BYTES * 2)
    refused, msg, _ = scenario_cb.upload_scenario(huge, "big.toml", "zh")
    assert refused is no_update and "文件过大" in msg.children


# ------------------------------------------------------------------------------ siting, summary
def test_propose_sites_and_accept_them_into_the_scenario():
    stored, rows, points, msg = siting_cb.propose_sites(1, TARGET, 2024, "", None, "zh")
    # one action per failing township: 南明山 and 太平乡 each upgrade their basic home
    assert len(rows) == 2 and len(points["features"]) == 2
    store, _ = siting_cb.accept(1, rows, stored, None, 2024, "zh")
    status = view(store)[0]["status"]
    assert set(status.values()) == {"met"}


def test_summary_counts_targets_per_county_and_year():
    from dashapp.summary import county_status

    fig_c, fig_t, rows = summary_cb.update_summary(2024, None, "zh")
    res = service.get_service().evaluation(2024, (), None)
    status = county_status(res.rollup).set_index("target_id")["status"]
    assert status["mch_institution_city_county"] == "met"  # F011 妇幼保健院 of 莲都区
    assert status[TARGET] == "not_met"  # 2 of its 3 townships lack a 示范型 home
    bars = {tr["name"]: tr["y"][0] for tr in fig_c["data"]}
    assert fig_c["data"][0]["x"] == ["莲都区"]
    assert bars == {"达标": int((status == "met").sum()), "未达标": int((status == "not_met").sum()),
                    "无数据": int((status == "no_data").sum())}
    # city-only targets (e.g. 精神卫生福利设施) have no county row and are not in the chart
    with_county = res.rollup.loc[res.rollup["level"] == "county", "target_id"].nunique()
    assert sum(bars.values()) + int((status == "not_applicable").sum()) == with_county
    assert with_county < res.rollup["target_id"].nunique()
    assert fig_t["data"][0]["x"] == ["2022", "2024"]
    assert len(rows) == res.rollup["target_id"].nunique()


def test_inventory_upload_imports_valid_rows_and_reports_rejects():
    csv = ("名称,类型,级别,经度,纬度\n"
           "太平乡示范儿童之家,儿童之家,示范型,119.875,28.545\n"
           "远方儿童之家,儿童之家,基础型,100.0,40.0\n").encode("utf-8")
    upload = "data:text/csv;base64," + base64.b64encode(csv).decode()
    store, msg = scenario_cb.upload_inventory(upload, "inventory.csv", None, 2024, "zh")
    assert msg.children.startswith("inventory.csv: 1 → 情景; 错误 1 (")
    assert [(e["name"], e["tier"]) for e in store["edits"]] == [("太平乡示范儿童之家", "demonstration")]
    assert view(store)[0]["status"][TAIPING] == "met"
    refused, msg = scenario_cb.upload_inventory(upload, "inventory.exe", None, 2024, "zh")
    assert refused is no_update and ".xlsx 或 .csv" in msg.children


def test_access_target_shows_service_areas_and_uncovered_people():
    """fitness_10min_circle on the mini dataset (no network: straight line × 1.3 detour).

    Its one fitness facility, F007 in 太平乡, serves a circle of 1000 m / 1.3 ≈ 769 m.
    Urban villages (the demand) farther than that are uncovered.
    """
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import shape

    _, _, rows, areas, uncovered, _ = view(target="fitness_10min_circle")
    assert len(areas["features"]) == 1  # the base areas merged into one feature
    geom = gpd.GeoSeries([shape(areas["features"][0]["geometry"])], crs="EPSG:4326").to_crs("EPSG:4549")
    radius = 1000 / 1.3
    assert 0.93 * np.pi * radius**2 < geom.area.iloc[0] <= np.pi * radius**2 * 1.001
    ds = load_dataset(MINI_DATA)
    f007 = ds.facilities_for(2024).set_index("facility_id").loc["F007", "geometry"]
    assert geom.iloc[0].contains(gpd.GeoSeries([f007], crs="EPSG:4326").to_crs("EPSG:4549").iloc[0])
    # second method: urban villages farther than the radius from F007 (EPSG:4549 metres)
    vil = ds.villages.to_crs("EPSG:4549")
    far = vil[vil["is_urban"].astype(bool)
              & (vil.distance(gpd.GeoSeries([f007], crs="EPSG:4326").to_crs("EPSG:4549").iloc[0]) > radius)]
    shown = {f["properties"]["label"].split(" · ")[0] for f in uncovered["features"]}
    assert shown == set(far["name"])
    pops = {f["properties"]["label"].split(" · ")[0]: f["properties"]["value"] for f in uncovered["features"]}
    assert pops == dict(zip(far["name"], far["pop_total"].astype(float)))


def test_single_target_scenario_evaluation_equals_a_full_evaluate():
    """The fast path (base unit tables reused) gives the rows `evaluate` gives."""
    from coverage.targets import evaluate

    store, _ = add(None, IN_TAIPING)
    svc = service.get_service()
    ds, targets = svc.scenario_data(store["edits"], 2024)
    for tid in (TARGET, "fitness_10min_circle", "childcare_slots_per_1000", "child_home_1_plus_n"):
        fast = svc.evaluation(2024, store["edits"], tid).units.reset_index(drop=True)
        full = evaluate(ds, [svc.target(tid, targets)], 2024).units.reset_index(drop=True)
        pd.testing.assert_frame_equal(fast, full)


def test_warm_up_fills_the_caches_the_first_page_reads():
    svc = service.get_service()
    svc.warm()
    misses = svc._evals.misses
    svc.evaluation(2024, (), TARGET)
    svc.evaluation(2024, (), None)
    assert svc._evals.misses == misses  # both answered from the cache
    assert svc.trend() is svc.trend()


def test_basemaps_and_county_zoom(monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    assert [o["disabled"] for o in queries.basemap_options("zh") if o["value"] == "tianditu"] == [True]
    monkeypatch.setenv("TIANDITU_KEY", "k123")
    assert all(tl.url.endswith("tk=k123") for tl in map_cb.change_basemap("tianditu", "zh")[0])
    monkeypatch.delenv("TIANDITU_KEY")
    tiles, towns, counties, note = map_cb.change_basemap("amap", "zh")
    assert "autonavi" in tiles[0].url and "GCJ-02" in note
    plain = service.get_service().township_display("none")
    a = unpack(towns)["features"][0]["geometry"]["coordinates"][0][0]  # sent packed, at 1e-5°
    b = plain["features"][0]["geometry"]["coordinates"][0][0]
    assert [round(v, 6) for v in wgs84_to_gcj02(*b)] == pytest.approx(a, abs=6e-6)
    tiles, towns, _, note = map_cb.change_basemap("none", "zh")
    assert tiles == [] and towns is queries.packed(plain) and note == ""  # offline: nothing fetched, nothing to say
    # 天地图 without any key asks for one; a key typed in the browser is used (letters and digits only)
    tiles, _, _, note = map_cb.change_basemap("tianditu", "zh", "", "")
    assert tiles == [] and "天地图密钥" in note
    tiles, _, _, note = map_cb.change_basemap("tianditu", "zh", "abcDEF123456", "")
    assert all(tl.url.endswith("tk=abcDEF123456") for tl in tiles) and note == ""
    assert map_cb.change_basemap("tianditu", "zh", "x\" onerror=1", "")[0] == []
    # a custom XYZ server: http(s) with {z}/{x}/{y} only; every tile layer reports failed tiles
    url = "http://10.1.2.3/tiles/{z}/{x}/{y}.png"
    tiles, towns, _, note = map_cb.change_basemap("xyz", "zh", "", url)
    assert [tl.url for tl in tiles] == [url] and towns is queries.packed(plain) and note == ""
    assert tiles[0].eventHandlers["tileerror"] == {"variable": "covplanMap.tileError"}
    for bad in ("javascript:alert(1)//{z}{x}{y}", "http://x/{z}/{x}.png", "http://x/<{z}/{x}/{y}>"):
        tiles, _, _, note = map_cb.change_basemap("xyz", "zh", "", bad)
        assert tiles == [] and "瓦片地址" in note
    # changing the key or URL redraws only the tiles
    tiles, note = workspace_cb.basemap_settings("", url, "xyz", "zh")
    assert [tl.url for tl in tiles] == [url]
    vp = map_cb.zoom_to_county("331102")
    assert vp["bounds"] == [[28.38, 119.8], [28.58, 119.95]]
    assert map_cb.zoom_to_county("")["bounds"] == vp["bounds"]  # the mini city is one county
    # a county filter dims the others and restricts the counts and the table
    hide, counts, rows, *_ = view(county="331102")
    assert hide["county"] == "331102" and len(rows) == 2


@pytest.mark.parametrize(
    "edits",
    [
        [{"op": "add_facility", "type": "child_home", "tier": "demonstration", "lon": 119.875, "lat": 28.545,
          "crs": "wgs84", "facility_id": "APP-001"}],
        [{"op": "close_facility", "facility_id": "F005"}, {"op": "upgrade_facility", "facility_id": "F002"}],
        [{"op": "set_capacity", "facility_id": "F005", "capacity": 200},
         {"op": "override_target", "target": "childcare_slots_per_1000", "threshold": 5.5}],
        [{"op": "add_facility", "type": "fitness", "level": "village", "lon": 119.855, "lat": 28.47,
          "crs": "wgs84", "facility_id": "APP-002"}, {"op": "close_facility", "facility_id": "F004"}],
        [{"op": "scale_population", "county": "331102", "factor": 1.2}],
    ],
)
def test_scenario_evaluation_reuses_unaffected_targets_without_changing_a_row(edits):
    """Every target under a scenario = base rows of unaffected targets + re-evaluated
    affected ones; checked against a full `evaluate` of the scenario data."""
    from coverage.targets import evaluate

    svc = service.get_service()
    ds, targets = svc.scenario_data(edits, 2024)
    fast = svc.evaluation(2024, edits, None).units.reset_index(drop=True)
    full = evaluate(ds, targets, 2024).units.reset_index(drop=True)
    pd.testing.assert_frame_equal(fast, full)
    affected = svc.affected_targets(edits, 2024, targets)
    if edits[0]["op"] == "scale_population":
        assert affected == {tg.id for tg in targets}
    else:
        assert "immunisation_rate_township_90" not in affected  # an indicator target
