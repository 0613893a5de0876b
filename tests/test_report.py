"""Standalone HTML report (coverage/report.py)."""

from __future__ import annotations

import html
import json
import re

import pandas as pd
import pytest

from coverage.outputs import ExportError
from coverage.outputs import SelectionError
from coverage.outputs import STATUS_COLOURS, render_report, trend_summary
from coverage.outputs import write_report
from tests.test_gaps import LABELS, T_YANQUAN, T_ZIJIN, _two_years, make_dataset, make_result

EVIL = "<script>alert(1)</script>"


def _srcdoc(page: str) -> str:
    """The map document as the browser sees it (the srcdoc attribute, unescaped once)."""
    m = re.search(r'<iframe srcdoc="([^"]*)"', page)
    assert m, "no map iframe"
    return html.unescape(m.group(1))


def _js(text: str) -> str:
    """``text`` as folium writes it into the map's script (Jinja's HTML-safe JSON)."""
    out = json.dumps(text)[1:-1]
    for ch, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027")):
        out = out.replace(ch, code)
    return out


def _outer(page: str) -> str:
    return re.sub(r'srcdoc="[^"]*"', 'srcdoc=""', page)


def test_trend_summary_counts_per_year():
    res = _two_years()
    ts = trend_summary(res, ["child_home_every_village", "demo_child_home_per_township"])
    got = {(r.target_id, r.year): (r.met, r.n_units) for r in ts.itertuples()}
    # 2022: 甲 乙 丙 戊 met, 己 not met (丁 no data); 2024: 甲 戊 met, 乙 丙 己 not met
    assert got[("child_home_every_village", 2022)] == (4, 5)
    assert got[("child_home_every_village", 2024)] == (2, 5)
    assert got[("demo_child_home_per_township", 2022)] == (2, 3)
    assert got[("demo_child_home_per_township", 2024)] == (1, 3)
    # a {year: result} mapping gives the same table
    units = res.units
    by_year = {y: units[units["year"] == y] for y in (2022, 2024)}
    pd.testing.assert_frame_equal(
        trend_summary(by_year, ["child_home_every_village", "demo_child_home_per_township"]), ts
    )


def test_report_banner_summary_map_trend(tmp_path):
    ds, res = make_dataset(), _two_years()
    path = write_report(tmp_path / "r.html", ds, res, res, targets=res.targets)
    page = path.read_text(encoding="utf-8")
    outer = _outer(page)
    assert "<h1>丽水市设施覆盖缺口报告（2024年）</h1>" in outer
    # the provenance banner comes first, before the summary
    banner = outer.index('class="banner"')
    assert banner < outer.index("规划目标汇总")
    assert "监测指标数据、设施数据（2024年）：合成演示数据，非真实数据" in outer
    # summary row of 儿童之家应建尽建 (2024): 5 evaluated, 2 met, 3 not met, 1 no data, 3 facilities
    assert ('<tr><td>儿童之家应建尽建</td><td>村（社区）</td><td class="num">5</td><td class="num">2</td>'
            '<td class="num">3</td><td class="num">1</td><td>3个设施</td><td>—</td></tr>') in outer
    # trend: one column per year, met/evaluated, and an inline SVG sparkline
    assert "<th>2022</th><th>2024</th>" in outer
    assert '<tr><td>儿童之家应建尽建</td><td class="num">4/5</td><td class="num">2/5</td><td><svg' in outer
    # nothing outside the map iframe loads an external resource
    assert "<script" not in outer and "src=" not in outer.replace("srcdoc=", "")
    assert "离线可用" in outer[outer.index("<footer>"):]
    # the map: one layer per target, named by its label; only the first shown
    doc = _srcdoc(page)
    assert "leaflet" in doc.lower() and "L.control.layers" in doc
    # offline: Leaflet inlined, no CDN script or stylesheet, no tile layer
    assert "data:text/javascript;base64," in doc and "L.tileLayer" not in doc
    assert not re.search(r"""(src|href)=["']https?://""", doc)
    for text in LABELS.values():
        assert _js(text) in doc
    assert STATUS_COLOURS["not_met"] in doc and STATUS_COLOURS["met"] in doc


def test_report_escapes_names(tmp_path):
    ds, res = make_dataset(), make_result()
    ds.townships.loc[ds.townships["code"] == T_ZIJIN, "name"] = EVIL
    res.units.loc[res.units["unit_name"] == "乙村", "unit_name"] = "乙村<img src=x onerror=alert(2)>"
    res.targets[0].label_zh = "儿童之家<b>应建尽建</b>"
    page = render_report(ds, res, None, targets=res.targets)
    assert EVIL not in page and "<img src=x" not in page and "<b>应建尽建" not in page
    doc = _srcdoc(page)
    # inside the map document the names are still escaped text, never markup
    for raw in (EVIL, "<img src=x", "<b>应建尽建"):
        assert raw not in doc and _js(raw) not in doc
    assert _js("&lt;script&gt;alert(1)&lt;/script&gt;") in doc
    # (the fake dataset has no village points: 乙村 appears in no tooltip, escaped or not)
    assert _js("儿童之家&lt;b&gt;应建尽建&lt;/b&gt;") in doc  # the layer name


def test_county_report_and_at_risk_units(tmp_path):
    ds, res = make_dataset(), make_result()
    flags = res.units[res.units["unit_level"].isin(["township", "county"])].copy()
    flags["at_risk"] = flags["unit_code"].isin([T_YANQUAN, "331102", "331121"])
    page = render_report(ds, res, flags, county="莲都区", targets=res.targets)
    assert "<h1>莲都区设施覆盖缺口报告（2024年）</h1>" in page
    risk = page[page.index("<h2>预计2025年达标困难的单位</h2>"):page.index("<footer>")]
    rows = re.findall(r'<tr><td>(.*?)</td><td class="lvl">(.*?)</td><td class="num">(\d+)</td><td>(.*?)</td></tr>',
                      risk)
    # 莲都区 only (青田县's county row is left out), in target order, counties before townships;
    # 岩泉街道's 托位 row is a breakdown (not plan level), so it gives no early warning
    assert rows == [
        (LABELS["demo_child_home_per_township"], "乡镇（街道）", "1", "岩泉街道"),
        (LABELS["mch_institution_city_county"], "县（市、区）", "1", "莲都区"),
        (LABELS["demo_child_home_share_15"], "县（市、区）", "1", "莲都区"),
        (LABELS["childcare_slots_per_1000"], "县（市、区）", "1", "莲都区"),
    ]
    doc = _srcdoc(page)
    assert _js("紫金街道") in doc and _js("鹤城街道") not in doc  # 青田县's township is not on 莲都区's map


def test_bad_report_inputs(tmp_path):
    ds, res = make_dataset(), make_result()
    with pytest.raises(ExportError, match=r"r\.pdf.*must end in \.html"):
        write_report(tmp_path / "r.pdf", ds, res)
    with pytest.raises(ExportError, match="trend must be"):
        render_report(ds, res, [1, 2, 3])
    with pytest.raises(SelectionError, match="unknown county"):
        render_report(ds, res, None, county="杭州市")


def test_map_layers_carry_each_units_status_and_tooltip():
    """Level-true layers (as the app draws them), worked by hand from tests/test_gaps.make_units."""
    ds, res = make_dataset(), make_result()
    page = render_report(ds, res, None, targets=res.targets)
    doc = _srcdoc(page)
    shared = [json.loads(m) for m in re.findall(r"var covplan_units_\w+ = (\{.*?\});\n", doc + "\n")]
    assert [s.get("kind") for s in shared] == ["townships", "counties", None]  # polygons once, points once
    towns = {f["properties"]["code"]: f["properties"] for f in shared[0]["features"]}
    upper = {f["properties"]["code"]: f["properties"] for f in shared[1]["features"]}
    ids = list(LABELS)  # the layer keys follow the target order: k0, k1, …
    k = {tid: f"k{i}" for i, tid in enumerate(ids)}

    def statuses(idx, tid):
        return {c: p["s"][k[tid]] for c, p in idx.items() if k[tid] in p["s"]}

    # village target: townships by their share of met villages — 紫金 1 of 3 (甲), 岩泉 1 of 1
    # (戊; 丁 has no data), 鹤城 0 of 1 (己); counties untouched
    ch = "child_home_every_village"
    assert statuses(towns, ch) == {T_ZIJIN: "not_met", T_YANQUAN: "met", "331121001": "not_met"}
    assert statuses(upper, ch) == {}
    assert towns[T_ZIJIN]["t"][k[ch]] == "紫金街道：3个村（社区）中1个达标（33.3%）"
    # township target: the townships' own rows, tooltip naming the township and its action
    dm = "demo_child_home_per_township"
    assert statuses(towns, dm) == {T_ZIJIN: "met", T_YANQUAN: "not_met", "331121001": "not_met"}
    assert towns[T_YANQUAN]["t"][k[dm]].startswith("<b>岩泉街道（乡镇（街道））</b><br>状态：未达标")
    assert "建议措施：升级1家为示范型" in towns[T_YANQUAN]["t"][k[dm]]
    # a percentage target at village level: only 紫金 has evaluated villages (甲 乙 unmet, 丙 met)
    assert statuses(towns, "women_village_committee_30") == {T_ZIJIN: "not_met"}
    # county targets colour counties and never townships (托位 townships are a breakdown)
    for tid, want in (("mch_institution_city_county", {"331102": "met", "331121": "not_met"}),
                      ("demo_child_home_share_15", {"331102": "not_met", "331121": "met"}),
                      ("childcare_slots_per_1000", {"331102": "not_met", "331121": "met"})):
        assert statuses(upper, tid) == want, tid
        assert statuses(towns, tid) == {}, tid
    assert "青田县（县（市、区））" in upper["331121"]["t"][k["mch_institution_city_county"]]
    # every layer is a radio button; only the first is shown at first; no city card here
    assert doc.count("L.featureGroup(parts)") == len(ids)
    assert len(re.findall(r"covplan_status_layer_\w+\.addTo\(", doc)) == 1
    control = doc[doc.index("base_layers"):doc.index("L.control.layers")]
    assert control.count("covplan_status_layer_") == len(ids) and "OpenStreetMap" not in control
    assert 'class="card"' not in page


def test_embedded_report_is_level_true_with_village_points_and_city_cards():
    """On the embedded data (莲都区): a village target draws the county's villages as points in
    their status, a city target is a card with the city's own result (from the evaluation)."""
    from coverage.targets import evaluate, load_targets
    from layers.load import load_dataset

    ds = load_dataset()
    chosen = {t.id: t for t in load_targets()}
    tids = ["women_village_committee_30", "developmental_screening_80", "kindergarten_places_added"]
    targets = [chosen[t] for t in tids]
    res = evaluate(ds, targets)
    page = render_report(ds, res, None, county="莲都区", targets=targets)
    doc = _srcdoc(page)
    shared = [json.loads(m) for m in re.findall(r"var covplan_units_\w+ = (\{.*?\});\n", doc + "\n")]
    points = {f["properties"]["code"]: f["properties"] for f in shared[2]["features"]}
    u = res.units
    vil = u[(u["target_id"] == tids[0]) & (u["unit_level"] == "village") & (u["county_code"] == "331102")
            & u["status"].isin(["met", "not_met"])]
    assert len(vil) > 50
    assert {c: p["s"]["k0"] for c, p in points.items()} == dict(zip(vil["unit_code"], vil["status"]))
    # the county target colours 莲都区 only, as its own row says
    county = u[(u["target_id"] == tids[1]) & (u["unit_code"] == "331102")]["status"].iloc[0]
    assert {f["properties"]["code"]: f["properties"]["s"].get("k1") for f in shared[1]["features"]} == {
        "331102": county}
    # the city target: no layer, a card quoting the city's result (met / not met as evaluated)
    assert "k2" not in json.dumps(shared)
    city = u[(u["target_id"] == tids[2]) & (u["unit_level"] == "city")].iloc[0]
    card = re.search(r'<div class="card" data-target="kindergarten_places_added" data-status="(\w+)">(.*?)</div></div>',
                     page)
    assert card and card.group(1) == city["status"]
    assert f"{int(city['shortfall']):,d}个学位" in card.group(2) and STATUS_COLOURS[city["status"]] in card.group(2)
