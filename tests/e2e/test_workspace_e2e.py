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
    # every callback of the view has answered (no busy map, no pending Dash request) and the map is still
    page.wait_for_function("() => !document.querySelector('.cp-busy-on, [data-dash-is-loading=true]')",
                           timeout=WAIT_MS)
    page.wait_for_timeout(1500)


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
            page.locator("#search").click()
            page.locator("input.dash-dropdown-search").fill("垵口")
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


def _write_png(path, arr) -> None:
    """An RGB array as a PNG (no imaging library needed)."""
    import struct
    import zlib

    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def test_add_a_home_see_it_named_save_reload_warning_and_download(browser, app_url, artifacts, tmp_path):
    """Tasks 3 and 4: add a home (named with its township), save it; a reload warns while
    edits are unsaved; the scenario downloads as a .toml that reads back."""
    import tomllib

    from scenarios import Scenario

    year, not_met, _ = evaluate_summary(TARGET)
    from coverage.targets import evaluate, load_targets
    from layers.load import load_dataset

    ds = load_dataset()
    res = evaluate(ds, [t for t in load_targets() if t.id == TARGET], year)
    u = res.units[(res.units["unit_level"] == "township") & (res.units["status"] == "not_met")]
    code = sorted(u["unit_code"].astype(str))[0]
    name = str(ds.townships.set_index("code").loc[code, "name"])
    ctx, page = new_page(browser, 1280, 720)
    dialogs: list[str] = []

    def on_dialog(d) -> None:
        dialogs.append(d.type)
        d.dismiss()

    page.on("dialog", on_dialog)
    try:
        page.goto(f"{app_url}/?lang=zh&target={TARGET}")
        wait_ready(page)
        wait_for_count(page, "path.cp-status-not_met", not_met)
        page.locator("#drawer-tabs label", has_text="情景").click()
        page.locator("#scenario-mode label", has_text="点击地图添加设施").click()
        lat, lon = interior_points()[code]
        xy = page.evaluate("""([lat, lon]) => { const m = window.covplanMap.map,
            b = m.getContainer().getBoundingClientRect(), p = m.latLngToContainerPoint([lat, lon]);
            return [b.left + p.x, b.top + p.y]; }""", [lat, lon])
        page.mouse.click(*xy)
        page.wait_for_selector(f"path.cp-code-{code}.cp-status-met", timeout=WAIT_MS)
        item = page.locator(f"#edit-list li span[data-township='{name}']")
        item.wait_for(timeout=WAIT_MS)
        assert name in item.inner_text() and "儿童之家" in item.inner_text()
        page.screenshot(path=str(artifacts / "add-home-named-1280x720.png"))
        assert page.evaluate("() => window.covplanWorkspace.dirty") is True
        # a reload with unsaved edits is stopped by the browser's leave-page warning
        try:
            page.reload(timeout=4000)
        except Exception:  # noqa: BLE001 - the dismissed warning cancels the navigation
            pass
        assert "beforeunload" in dialogs
        assert page.locator(f"#edit-list li span[data-township='{name}']").count() == 1  # nothing lost
        # save under a name
        page.locator("#scenario-name").fill("e2e补点")
        page.locator("#save-scenario").click()
        page.wait_for_function("() => document.querySelector('#scenario-message')?.innerText.includes('情景已保存')",
                               timeout=WAIT_MS)
        assert page.evaluate("() => window.covplanWorkspace.dirty") is False
        # download the scenario file: it reads back to the same edits
        with page.expect_download(timeout=WAIT_MS) as info:
            page.locator("#download-scenario").click()
        dl = info.value
        assert dl.suggested_filename.endswith(".toml")
        text = (tmp_path / "s.toml")
        dl.save_as(str(text))
        sc = Scenario.from_dict(tomllib.loads(text.read_text(encoding="utf-8")), source=str(text))
        assert len(sc.edits) == 1 and sc.edits[0].to_dict()["type"] == "child_home"
        page.screenshot(path=str(artifacts / "saved-1280x720.png"))
    finally:
        ctx.close()
        from scenarios.store import SAVED_SUBDIR, SCENARIOS_ROOT

        for f in (SCENARIOS_ROOT / SAVED_SUBDIR).glob("e2e补点*.toml"):
            f.unlink()


def test_print_the_jingning_atlas(browser, app_url, artifacts, tmp_path):
    """Task 6: print the 景宁 atlas from the app: one cover + one page per target with gaps."""
    import numpy as np
    import pypdfium2 as pdfium

    from coverage.targets import evaluate, load_targets
    from layers.load import load_dataset

    ds = load_dataset()
    res = evaluate(ds, load_targets(), ds.latest_year)
    code = str(ds.counties.loc[ds.counties["name"] == "景宁畲族自治县", "code"].iloc[0])
    u = res.units
    mine = (u["unit_code"].astype(str).str.startswith(code) & (u["status"] == "not_met")
            & u["unit_level"].isin(["township", "village", "county"]))
    expected = sorted(set(u.loc[mine, "target_id"]))
    ctx, page = new_page(browser, 1920, 1080)
    try:
        page.goto(f"{app_url}/?lang=zh&target={TARGET}&county={code}")
        wait_ready(page)
        page.locator("#drawer-tabs label", has_text="导入/导出").click()
        page.locator("#print-author").fill("丽水市妇儿工委办")
        page.locator("#print-date").fill("2026-12-02")
        page.locator("#print-date").press("Tab")
        with page.expect_download(timeout=WAIT_MS * 2) as info:
            page.locator("#print-atlas").click()
        path = tmp_path / "atlas.pdf"
        info.value.save_as(str(path))
        page.screenshot(path=str(artifacts / "print-atlas-1920x1080.png"))
    finally:
        ctx.close()
    pdf = pdfium.PdfDocument(str(path))
    assert len(pdf) == 1 + len(expected)
    cover = pdf[0].get_textpage().get_text_range()
    assert "景宁畲族自治县" in cover and "丽水市妇儿工委办" in cover and "2026-12-02" in cover
    labels = {t.id: t.label_zh for t in load_targets()}
    second = pdf[1].get_textpage().get_text_range()
    assert "km" in second and "N" in second and "制图单位" in second
    assert any(labels[t][:8] in second for t in expected)
    bm = pdf[1].render(scale=1.5)
    arr = bm.to_numpy()
    if bm.mode.startswith("BGR"):
        arr = arr[..., [2, 1, 0]]
    _write_png(artifacts / "atlas-page-2.png", np.ascontiguousarray(arr[..., :3]))


@pytest.mark.parametrize("size", SIZES, ids=["1280x720", "1920x1080"])
def test_village_view_lists_the_lacking_villages_and_flies_to_one(browser, app_url, artifacts, size):
    """Task: pick a village target, open a township, see its villages lacking the facility
    (computed here with the coverage API), click one: the map flies there and rings it; a
    village row of the gap list does the same."""
    from coverage.targets import evaluate, load_targets
    from layers.load import load_dataset

    target = "child_home_every_village"
    ds = load_dataset()
    res = evaluate(ds, [t for t in load_targets() if t.id == target], ds.latest_year)
    v = res.units[res.units["unit_level"] == "village"]
    lacking = v[v["status"].isin(["not_met", "no_data"])]
    town = lacking["township_code"].astype(str).value_counts().index[0]  # the township lacking most
    want = set(lacking.loc[lacking["township_code"].astype(str) == town, "unit_code"].astype(str))
    assert want
    ctx, page = new_page(browser, *size)
    try:
        page.goto(f"{app_url}/?lang=zh&target={target}")
        wait_ready(page)
        lat, lon = interior_points()[town]
        xy = page.evaluate("""([lat, lon]) => { const m = window.covplanMap.map,
            b = m.getContainer().getBoundingClientRect(), p = m.latLngToContainerPoint([lat, lon]);
            return [b.left + p.x, b.top + p.y]; }""", [lat, lon])
        page.mouse.click(*xy)
        page.wait_for_selector(f"#side-panel h3[data-township='{town}']", timeout=WAIT_MS)
        page.wait_for_selector("#side-panel tr.cp-village-row", timeout=WAIT_MS)
        listed = set(page.eval_on_selector_all("#side-panel tr.cp-village-row", "els => els.map(e => e.dataset.village)"))
        assert listed == want
        first = page.locator("#side-panel tr.cp-village-row").first
        code = first.get_attribute("data-village")
        first.locator("button").click()
        page.wait_for_selector(f".cp-vmark-{code}", state="attached", timeout=WAIT_MS)
        page.wait_for_function("() => window.covplanMap.map.getZoom() >= 13", timeout=WAIT_MS)
        page.wait_for_timeout(1200)
        vil = ds.villages.set_index("code").loc[code].geometry
        at = page.evaluate("""([lat, lon]) => { const m = window.covplanMap.map, p = m.latLngToContainerPoint([lat, lon]),
            s = m.getSize(); return [p.x, p.y, s.x, s.y]; }""", [vil.y, vil.x])
        assert 0 <= at[0] <= at[2] and 0 <= at[1] <= at[3], "the village is in view"
        page.screenshot(path=str(artifacts / f"village-view-{size[0]}x{size[1]}.png"))
        # a village row of the gap list (the first one shown) flies to that village too
        ids = page.eval_on_selector_all("#gap-table .ag-center-cols-container .ag-row",
                                        "els => els.map(e => e.getAttribute('row-id'))")
        row_id = next(i for i in ids if i and "|village|" in i and not i.endswith(code))
        other = row_id.rsplit("|", 1)[-1]
        page.locator(f"#gap-table .ag-center-cols-container .ag-row[row-id='{row_id}'] .ag-cell").first.click()
        page.wait_for_selector(f".cp-vmark-{other}", state="attached", timeout=WAIT_MS)
        assert page.locator(f".cp-vmark-{code}").count() == 0  # one village ringed at a time
        page.screenshot(path=str(artifacts / f"village-row-{size[0]}x{size[1]}.png"))
    finally:
        ctx.close()
