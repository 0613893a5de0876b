"""End-to-end: a target is drawn at its own level, and the CLI report's map works offline.

Screenshots of a township-, a county- and a city-level target in zh and en go to
``test-artifacts/levels_<level>_<lang>.png``. Expected figures come from the coverage API.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.test_app_e2e import WAIT_MS, open_map

pytestmark = pytest.mark.e2e

#: (level, target): one target judged per township, one per county, one for the city only
LEVEL_TARGETS = (("township", "demo_child_home_per_township"), ("county", "developmental_screening_80"),
                 ("city", "kindergarten_places_added"))


def _expected(target_id: str) -> tuple[str, int]:
    """(map level, units of that level not met) through the coverage API."""
    from coverage.outputs.levels import map_level
    from coverage.targets import evaluate, load_targets
    from layers.load import load_dataset

    ds = load_dataset()
    tg = [t for t in load_targets() if t.id == target_id]
    res = evaluate(ds, tg, year=ds.latest_year)
    level = map_level(tg[0], res.units)
    rows = res.units[res.units["unit_level"] == level]
    return level, int((rows["status"] == "not_met").sum())


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(("level", "target"), LEVEL_TARGETS)
def test_target_drawn_at_its_level(session_page, artifacts, level, target, lang):
    want_level, not_met = _expected(target)
    assert want_level == level
    page = open_map(session_page, target, lang)
    counts = page.locator("#status-counts")
    level_word = {"zh": {"township": "乡镇（街道）", "county": "县（市、区）", "city": "市"},
                  "en": {"township": "Township", "county": "County", "city": "City"}}[lang][level]
    page.wait_for_function(
        "([w, n]) => { const el = document.querySelector('#status-counts');"
        " const c = el && el.querySelector('[data-status=not_met]');"
        " return el && el.innerText.startsWith(w) && c && c.getAttribute('data-count') === String(n); }",
        arg=[level_word, not_met], timeout=WAIT_MS)
    if level == "township":
        assert page.locator("path.cp-township.cp-status-not_met").count() == not_met
    else:  # townships are outlines only: nothing is painted on them
        assert page.locator("path.cp-township.cp-status-not_met").count() == 0
        assert page.locator("path.cp-township.cp-status-met").count() == 0
    if level == "county":
        fills = page.eval_on_selector_all(
            ".leaflet-shadow-pane path", "els => els.map(e => e.getAttribute('fill'))")
        assert fills.count("#d7191c") == not_met  # the failing county, in the app's red
    if level == "city":
        note = page.locator("#status-counts .cp-level-note")
        note.wait_for(timeout=WAIT_MS)
        text = note.inner_text()
        assert ("全市结果" in text) if lang == "zh" else ("city result" in text)
        assert re.search(r"1,020", text)  # the places still missing, as the summary says
    page.wait_for_timeout(400)
    page.screenshot(path=str(artifacts / f"levels_{level}_{lang}.png"), full_page=False)
    assert session_page.external_requests() == []
    assert session_page.errors == []


def test_cli_report_map_draws_offline(browser, tmp_path, artifacts):
    """``covplan report`` opened with every network request blocked: polygons are drawn, and a
    village target's layer draws the county's villages as points in the app's status colours."""
    from coverage.outputs.formatting import STATUS_COLOURS
    from coverage.targets import evaluate, load_targets
    from covplan.cli import main
    from layers.load import load_dataset
    from tests.e2e.conftest import CHROMIUM_ARGS  # noqa: F401  (same browser settings)

    out = tmp_path / "report.html"
    assert main(["report", "--county", "莲都区", "-o", str(out)]) == 0
    village_target = [t for t in load_targets() if t.id == "women_village_committee_30"][0]
    units = evaluate(load_dataset(), [village_target]).units
    vil = units[(units["unit_level"] == "village") & (units["county_code"] == "331102")]
    want = vil["status"].value_counts().to_dict()  # points drawn: met / not met (no data grey)
    want.pop("not_applicable", None)
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    blocked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:", "about:", "blob:")):
            return r.continue_()
        blocked.append(url)
        return r.abort()

    context.route("**/*", route)
    try:
        page = context.new_page()
        page.goto(Path(out).as_uri())
        frame = page.frame_locator("iframe")
        frame.locator("path.leaflet-interactive").first.wait_for(timeout=WAIT_MS)
        n = frame.locator("path.leaflet-interactive").count()
        assert n >= 10  # the county's townships are drawn
        assert frame.locator("path.cp-village").count() == 0  # the first layer is no village target
        frame.locator("label", has_text=village_target.label_zh).first.click()
        frame.locator("path.cp-village").first.wait_for(timeout=WAIT_MS)
        fills = frame.locator("path.cp-village").evaluate_all("els => els.map(e => e.getAttribute('fill'))")
        colour_of = {c: s for s, c in STATUS_COLOURS.items()}
        got: dict[str, int] = {}
        for f in fills:
            got[colour_of[f]] = got.get(colour_of[f], 0) + 1
        assert got == want and sum(want.values()) > 50
        page.screenshot(path=str(artifacts / "report_village_points.png"), full_page=False)
        assert blocked == []  # and nothing even tried to leave the machine
    finally:
        context.close()


def test_app_static_map_and_report_draw_offline_with_a_metric_scale(browser, tmp_path):
    """The app's static map download and the CLI report open with the network blocked: the
    map script runs to the end (polygons drawn, the metric scale bar added after the map)."""
    from covplan.cli import main
    from dashapp import exports, service

    service.configure(None)
    static = tmp_path / "static.html"
    static.write_text(exports.static_map_html("demo_child_home_per_township", 2024, None, (), None,
                                              ["child_home"], "zh"), encoding="utf-8")
    report = tmp_path / "report.html"
    assert main(["report", "--county", "莲都区", "-o", str(report)]) == 0
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith(("file:", "data:", "about:", "blob:")):
            return r.continue_()
        blocked.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(static.as_uri())
        page.locator("path.leaflet-interactive").first.wait_for(timeout=WAIT_MS)
        assert page.locator("path.leaflet-interactive").count() >= 173  # every township
        assert page.locator(".leaflet-control-scale-line").count() == 1  # metres only, no miles
        page.goto(report.as_uri())
        frame = page.frame_locator("iframe")
        frame.locator("path.leaflet-interactive").first.wait_for(timeout=WAIT_MS)
        assert frame.locator(".leaflet-control-scale-line").count() == 1
        assert errors == [] and blocked == []
    finally:
        context.close()
