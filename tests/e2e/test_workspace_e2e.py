"""End-to-end: the map-first workspace as a planner uses it (Debian chromium, embedded data).

Expected values come from the layers/coverage API in this process, independently of the app.
Screenshots of each step go to ``test-artifacts/`` at 1280×720 and 1920×1080.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qs, urlparse

import pytest
import shapely

from tests.e2e.test_app_e2e import TARGET, WAIT_MS, evaluate_summary, wait_for_count

pytestmark = pytest.mark.e2e

SIZES = ((1280, 720), (1920, 1080))


@lru_cache(maxsize=None)
def interior_points() -> dict[str, tuple[float, float]]:
    """Township code → (lat, lon) of a point inside its displayed polygon (largest part)."""
    from dashapp.service import get_service

    out = {}
    for f in get_service().township_display("none")["features"]:
        geom = shapely.geometry.shape(f["geometry"])
        if geom.geom_type == "MultiPolygon":
            geom = max(geom.geoms, key=lambda g: g.area)
        pt = geom.representative_point()
        out[str(f["properties"]["code"])] = (pt.y, pt.x)
    return out


def new_page(browser, width: int, height: int):
    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    return ctx, ctx.new_page()


def wait_ready(page) -> None:
    """The target's colours have arrived and the first view is fitted."""
    page.wait_for_selector("path.cp-township", timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelector('#map-timing')?.innerText.length > 0", timeout=WAIT_MS)
    page.wait_for_function("() => window.covplanMap && window.covplanMap.map", timeout=WAIT_MS)
    page.wait_for_timeout(400)


HIT_JS = """points => {
    const m = window.covplanMap.map, box = m.getContainer().getBoundingClientRect(), bad = [];
    for (const [code, lat, lon] of points) {
        const p = m.latLngToContainerPoint([lat, lon]);
        const x = box.left + p.x, y = box.top + p.y;
        const el = document.elementFromPoint(x, y);
        const ok = el && el.classList && el.classList.contains('cp-code-' + code);
        if (!ok) bad.push([code, Math.round(x), Math.round(y), el ? (el.getAttribute('class') || el.tagName) : null]);
    }
    return bad;
}"""


def test_every_township_has_a_clickable_pixel_for_every_target(browser, app_url, artifacts):
    """At the default view (1280×720) each of the 173 townships' interior points hits the township
    polygon itself, never a marker, badge, label, service area or control, for every target."""
    from coverage.targets import load_targets

    pts = [[code, lat, lon] for code, (lat, lon) in interior_points().items()]
    assert len(pts) == 173
    ctx, page = new_page(browser, 1280, 720)
    failures = {}
    try:
        for tg in load_targets():
            page.goto(f"{app_url}/?lang=zh&target={tg.id}")
            wait_ready(page)
            bad = page.evaluate(HIT_JS, pts)
            if bad:
                failures[tg.id] = bad
                page.screenshot(path=str(artifacts / f"unclickable-{tg.id}.png"))
    finally:
        ctx.close()
    assert failures == {}


@pytest.mark.parametrize("size", SIZES, ids=["1280x720", "1920x1080"])
def test_townships_without_a_demonstration_home_can_each_be_clicked(browser, app_url, artifacts, size):
    """Task 1: find the townships without a 示范型 home and click each one: its details open."""
    year, not_met, _ = evaluate_summary(TARGET)
    from coverage.targets import evaluate, load_targets
    from layers.load import load_dataset

    ds = load_dataset()
    res = evaluate(ds, [t for t in load_targets() if t.id == TARGET], year)
    u = res.units[(res.units["unit_level"] == "township") & (res.units["status"] == "not_met")]
    codes = sorted(u["unit_code"].astype(str))
    assert len(codes) == not_met
    ctx, page = new_page(browser, *size)
    try:
        page.goto(f"{app_url}/?lang=zh&target={TARGET}")
        wait_ready(page)
        wait_for_count(page, "path.cp-status-not_met", not_met)
        page.screenshot(path=str(artifacts / f"workspace-start-{size[0]}x{size[1]}.png"))
        # the details panel is not empty on start: the target's summary with its counts
        assert page.locator("#side-panel h3[data-target]").count() == 1
        assert page.locator("#status-counts [data-status=not_met]").get_attribute("data-count") == str(not_met)
        pts = interior_points()
        for code in codes:
            lat, lon = pts[code]
            xy = page.evaluate("""([lat, lon]) => { const m = window.covplanMap.map,
                b = m.getContainer().getBoundingClientRect(), p = m.latLngToContainerPoint([lat, lon]);
                return [b.left + p.x, b.top + p.y]; }""", [lat, lon])
            page.mouse.click(*xy)
            page.wait_for_selector(f"#side-panel h3[data-township='{code}']", timeout=WAIT_MS)
        page.screenshot(path=str(artifacts / f"workspace-clicked-{size[0]}x{size[1]}.png"))
    finally:
        ctx.close()


def test_search_flies_to_and_selects_a_township(browser, app_url, artifacts):
    """Task 2: search 垵口乡 (a prefix is enough): the map flies there and selects it."""
    from layers.load import load_dataset

    tw = load_dataset().townships
    code = str(tw.loc[tw["name"] == "垵口乡", "code"].iloc[0])
    for w, h in SIZES:
        ctx, page = new_page(browser, w, h)
        try:
            page.goto(f"{app_url}/?lang=zh&target={TARGET}")
            wait_ready(page)
            page.locator("#search input").fill("垵口")
            option = page.locator("[role=option]", has_text="垵口乡 · 乡镇")
            option.wait_for(timeout=WAIT_MS)
            option.click()
            page.wait_for_selector(f"#side-panel h3[data-township='{code}']", timeout=WAIT_MS)
            page.wait_for_function("() => window.covplanMap.map.getZoom() >= 10", timeout=WAIT_MS)
            page.wait_for_timeout(800)
            inside = page.evaluate(f"""() => {{ const el = document.querySelector('path.cp-code-{code}');
                const r = el.getBoundingClientRect(), b = window.covplanMap.map.getContainer().getBoundingClientRect();
                return r.left >= b.left - 1 && r.right <= b.right + 1 && r.top >= b.top - 1 && r.bottom <= b.bottom + 1; }}""")
            assert inside, "the township is framed in the map"
            page.screenshot(path=str(artifacts / f"search-{w}x{h}.png"))
        finally:
            ctx.close()


def test_url_keeps_the_view_across_year_and_language(browser, app_url, artifacts):
    """Task 5: switch year and language: the URL follows, and the view (target, year, zoom) is kept."""
    ctx, page = new_page(browser, 1280, 720)
    try:
        page.goto(f"{app_url}/?lang=zh&target=fitness_10min_circle")
        wait_ready(page)
        page.evaluate("() => window.covplanMap.map.setView([28.45, 119.9], 11.5, {animate: false})")
        page.locator("#year-dropdown").click()
        page.locator("[role=option]", has_text="2022").click()
        page.wait_for_function("() => new URLSearchParams(location.search).get('year') === '2022'", timeout=WAIT_MS)
        page.wait_for_function("() => new URLSearchParams(location.search).get('zoom') === '11.5'", timeout=WAIT_MS)
        q = parse_qs(urlparse(page.url).query)
        assert q["target"] == ["fitness_10min_circle"] and q["lang"] == ["zh"]
        assert abs(float(q["lat"][0]) - 28.45) < 0.01 and abs(float(q["lon"][0]) - 119.9) < 0.01
        # a copied link reopens the same view
        ctx2, page2 = new_page(browser, 1280, 720)
        try:
            page2.goto(page.url)
            wait_ready(page2)
            assert page2.evaluate("() => window.covplanMap.map.getZoom()") == 11.5
            assert page2.locator("#year-dropdown").inner_text().strip().startswith("2022")
        finally:
            ctx2.close()
        page.locator("#lang-link-en").click()
        page.wait_for_function("() => document.querySelector('#header-title')?.innerText.startsWith('Lishui')",
                               timeout=WAIT_MS)
        wait_ready(page)
        q = parse_qs(urlparse(page.url).query)
        assert q["lang"] == ["en"] and q["year"] == ["2022"] and q["target"] == ["fitness_10min_circle"]
        assert page.evaluate("() => window.covplanMap.map.getZoom()") == 11.5
        page.screenshot(path=str(artifacts / "language-switch-1280x720.png"))
    finally:
        ctx.close()
