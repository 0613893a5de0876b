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
    assert _js("乙村&lt;img src=x onerror=alert(2)&gt;") in doc
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
    ds, res = make_dataset(), make_result()
    doc = _srcdoc(render_report(ds, res, None, targets=res.targets))
    shared = [json.loads(m) for m in re.findall(r"var covplan_units_\w+ = (\{.*?\});\n", doc + "\n")]
    assert len(shared) == 2  # township polygons once, county/city polygons once
    towns = {f["properties"]["code"]: f["properties"] for f in shared[0]["features"]}
    upper = {f["properties"]["code"]: f["properties"] for f in shared[1]["features"]}
    ids = list(LABELS)  # the layer keys follow the target order: k0, k1, …
    k = {tid: f"k{i}" for i, tid in enumerate(ids)}
    ch = k["child_home_every_village"]
    assert {c: p["s"][ch] for c, p in towns.items()} == {T_ZIJIN: "not_met", T_YANQUAN: "no_data",
                                                          "331121001": "not_met"}
    # level-true: the township lists its unmet villages with their own shortfalls
    assert towns[T_ZIJIN]["t"][ch] == ("<b>紫金街道</b><br>未达标<br>未达标村（社区）：乙村（1个设施）、丙社区（1个设施）")
    wv = k["women_village_committee_30"]
    assert wv not in towns["331121001"]["s"]  # not evaluated there: the layer leaves it out
    mch = k["mch_institution_city_county"]
    assert {c: p["s"].get(mch) for c, p in upper.items()} == {"331102": "met", "331121": "not_met", "331100": None}
    share = k["demo_child_home_share_15"]
    assert upper["331102"]["s"][share] == "not_met" and upper["331121"]["s"][share] == "met"
    # every layer is a radio button over the OSM overlay; only the first is shown at first
    assert doc.count("L.geoJson(covplan_units_") == len(ids)
    assert len(re.findall(r"covplan_status_layer_\w+\.addTo\(", doc)) == 1
    control = doc[doc.index("base_layers"):doc.index("L.control.layers")]
    assert control.count("covplan_status_layer_") == len(ids) and "OpenStreetMap" not in control
