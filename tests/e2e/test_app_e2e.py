"""End-to-end: the real app in headless Chromium, on the embedded Lishui dataset.

Expected figures are computed here through the coverage API (the functions behind
``covplan evaluate``), independently of the app process.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

TARGET = "demo_child_home_per_township"
OTHER = "elderly_centre_every_township"
HOSTILE = "<img src=x onerror=alert(1)>"
WAIT_MS = 120_000


@lru_cache(maxsize=None)
def evaluate_summary(target_id: str) -> tuple[int, int, int]:
    """(year, townships not met, townships met) as `covplan evaluate --target ID` reports them."""
    from coverage.targets import evaluate
    from coverage.outputs import summary_table
    from coverage.targets import load_targets
    from layers.load import load_dataset

    ds = load_dataset()
    targets = [t for t in load_targets() if t.id == target_id]
    res = evaluate(ds, targets, year=ds.latest_year)
    row = summary_table(res, targets).iloc[0]
    units = res.units[(res.units["unit_level"] == "township")]
    assert int(row["not_met"]) == int((units["status"] == "not_met").sum())
    return ds.latest_year, int(row["not_met"]), int(row["met"])


def wait_for_count(page, selector: str, n: int) -> None:
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length === n", arg=[selector, n], timeout=WAIT_MS
    )


def click_inside(page, selector: str) -> None:
    """Click well inside ``selector``'s element: a point where it is the topmost element and
    so are its grid neighbours (away from the edge, where the display simplification of the
    boundary could put the click in the neighbouring unit)."""
    point = page.evaluate(
        """sel => {
            const el = document.querySelector(sel);
            if (!el) return null;
            const r = el.getBoundingClientRect(), n = 30, hit = [];
            const at = (i, j) => {
                const x = r.left + r.width * i / n, y = r.top + r.height * j / n;
                if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) return false;
                return document.elementFromPoint(x, y) === el;
            };
            let any = null;
            for (let i = 1; i < n; i++) for (let j = 1; j < n; j++) {
                if (!at(i, j)) continue;
                any = any || [i, j];
                if (at(i - 1, j) && at(i + 1, j) && at(i, j - 1) && at(i, j + 1)
                    && at(i - 1, j - 1) && at(i + 1, j + 1) && at(i - 1, j + 1) && at(i + 1, j - 1))
                    return [r.left + r.width * i / n, r.top + r.height * j / n];
            }
            return any && [r.left + r.width * any[0] / n, r.top + r.height * any[1] / n];
        }""",
        selector,
    )
    assert point is not None, f"no visible point of {selector}"
    page.mouse.click(point[0], point[1])


def open_tab(page, label: str) -> None:
    """Open a tab of the tool drawer (目标, 情景, 选址, 导入/导出)."""
    page.locator("#drawer-tabs label", has_text=label).click()


def open_map(rec, target: str = TARGET, lang: str = "zh"):
    page = rec.page
    page.goto(f"{rec.url}/?lang={lang}&target={target}")
    page.wait_for_selector("path.cp-township", timeout=WAIT_MS)
    return page


def test_map_shows_the_evaluated_not_met_townships(session_page, artifacts):
    year, not_met, met = evaluate_summary(TARGET)
    page = open_map(session_page)
    wait_for_count(page, "path.cp-status-not_met", not_met)
    wait_for_count(page, "path.cp-status-met", met)
    assert page.locator("path.cp-township").count() == 173
    counts = page.locator("#status-counts [data-status=not_met]")
    assert counts.get_attribute("data-count") == str(not_met)
    # choose another target with the chooser
    _, other_not_met, _ = evaluate_summary(OTHER)
    page.locator(f"#{'target-dropdown'}").click()
    page.locator(f"[role=option]:has(input[value='{OTHER}'])").click()
    wait_for_count(page, "path.cp-status-not_met", other_not_met)
    assert page.locator("#status-counts [data-status=not_met]").get_attribute("data-count") == str(other_not_met)
    assert "条款" in page.locator("#target-clause").inner_text()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "map.png"), full_page=False)
    # provenance banner, offline: every request went to the app itself
    banner = page.locator("#provenance-banner").inner_text()
    assert "合成演示数据" in banner and "估算数据" in banner
    assert session_page.external_requests() == []
    assert session_page.errors == []


def test_scenario_add_flips_a_township_and_shows_a_hostile_name_as_text(session_page, artifacts):
    page = open_map(session_page)
    _, not_met, _ = evaluate_summary(TARGET)
    wait_for_count(page, "path.cp-status-not_met", not_met)
    # the first row of the gap table is a township without a 示范型 home: zoom to it
    first = page.locator("#gap-table .ag-center-cols-container .ag-row").first
    code = first.locator("[col-id=unit_code]").inner_text().strip()
    first.locator("[col-id=unit_name]").click()
    page.wait_for_function(
        "sel => { const e = document.querySelector(sel); return e && e.getBoundingClientRect().width > 150; }",
        arg=f"path.cp-code-{code}", timeout=WAIT_MS,
    )
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(1200)  # let the fly-to animation end
    # scenario mode (the 情景 tab of the drawer): add a 示范型 儿童之家 named with a hostile string
    open_tab(page, "情景")
    page.locator("#scenario-mode label", has_text="点击地图添加设施").click()
    page.locator("#add-name").fill(HOSTILE)
    page.locator("#add-name").press("Enter")
    page.wait_for_timeout(300)
    started = time.perf_counter()
    click_inside(page, f"path.cp-code-{code}")
    page.wait_for_selector(f"path.cp-code-{code}.cp-status-met", timeout=WAIT_MS)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"\nclick → map updated: {elapsed_ms:.0f} ms (browser, including server time)")
    wait_for_count(page, "path.cp-status-not_met", not_met - 1)
    page.wait_for_function(  # the gap table no longer lists it (the grid re-renders async)
        """code => ![...document.querySelectorAll('#gap-table .ag-cell[col-id=unit_code]')]
                    .some(c => c.innerText.trim() === code)""",
        arg=code, timeout=WAIT_MS,
    )
    assert page.locator("#gap-table .ag-row").count() > 0
    # the new facility: its tooltip and the side panel show the name as text
    page.locator("#scenario-mode label", has_text="浏览").click()
    marker = page.locator(".cp-added").first
    marker.wait_for(timeout=WAIT_MS)
    marker.hover()
    tip = page.locator(".leaflet-tooltip .cp-tooltip").first
    tip.wait_for(timeout=WAIT_MS)
    assert tip.inner_text().startswith(HOSTILE)
    marker.click()
    page.wait_for_selector("#side-panel h3[data-facility]", timeout=WAIT_MS)
    assert page.locator("#side-panel h3").inner_text() == HOSTILE
    assert page.locator("img[src='x']").count() == 0
    assert session_page.dialogs == []
    assert HOSTILE in page.locator("#edit-list").inner_text()
    page.screenshot(path=str(artifacts / "scenario.png"), full_page=False)


def test_gap_list_download_matches_covplan_gaps(session_page, tmp_path):
    from covplan.cli import main

    year, not_met, _ = evaluate_summary(TARGET)
    page = open_map(session_page)
    wait_for_count(page, "path.cp-status-not_met", not_met)
    open_tab(page, "导入/导出")
    with page.expect_download(timeout=WAIT_MS) as info:
        page.locator("#export-csv").click()
    download = info.value
    got = Path(download.path()).read_bytes()
    assert download.suggested_filename == f"township_gaps_{year}_{TARGET}.csv"
    cli = tmp_path / "gaps.csv"
    assert main(["gaps", "--target", TARGET, "--year", str(year), "-o", str(cli)]) == 0
    assert got == cli.read_bytes()
    text = got.decode("utf-8-sig")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1 + not_met  # header + one row per township not met
    assert "统计代码" in lines[0] and "缺口量" in lines[0]


def test_switch_to_english(session_page):
    _, not_met, _ = evaluate_summary(TARGET)
    page = open_map(session_page)
    wait_for_count(page, "path.cp-status-not_met", not_met)
    page.locator("#lang-link-en").click()
    page.wait_for_function(
        "() => document.querySelector('#header-title')?.innerText.startsWith('Lishui')", timeout=WAIT_MS
    )
    wait_for_count(page, "path.cp-status-not_met", not_met)
    assert "Not met" in page.locator("#status-counts").inner_text()
    assert "Township gap list" in page.content()
    assert "Synthetic (demo)" in page.locator("#provenance-banner").inner_text()


def test_summary_page_charts_every_county(session_page):
    page = session_page.page
    page.goto(f"{session_page.url}/summary?lang=zh")
    page.wait_for_selector("#summary-county-chart .xtick", timeout=WAIT_MS)
    assert page.locator("#summary-county-chart .xtick").count() == 9  # the nine counties
    assert page.locator("#summary-trend-chart .xtick").count() >= 2  # one tick per inventory year
    page.wait_for_selector("#summary-table .ag-row", timeout=WAIT_MS)
    assert session_page.external_requests() == []


def test_edit_mode_upgrades_a_clicked_facility(session_page):
    """Click a basic 儿童之家 of a township without a 示范型 one, upgrade it: the township is met."""
    from layers.load import load_dataset

    page = open_map(session_page)
    _, not_met, _ = evaluate_summary(TARGET)
    wait_for_count(page, "path.cp-status-not_met", not_met)
    first = page.locator("#gap-table .ag-center-cols-container .ag-row").first
    code = first.locator("[col-id=unit_code]").inner_text().strip()
    fac = load_dataset().facilities_for(None)
    basic = fac[(fac["type"] == "child_home") & (fac["tier"] == "basic") & (fac["township_code"] == code)]
    assert len(basic), f"township {code} has no basic 儿童之家 to upgrade"
    fid = str(basic.iloc[0]["facility_id"])
    first.locator("[col-id=unit_name]").click()
    page.evaluate("window.scrollTo(0, 0)")
    marker = page.locator(f".cp-fid-{fid}")
    marker.wait_for(timeout=WAIT_MS)  # zoomed in far enough for single facilities
    open_tab(page, "情景")
    page.locator("#scenario-mode label", has_text="点击设施关闭或升级").click()
    marker.click()
    page.wait_for_selector(f"#side-panel h3[data-facility='{fid}']", timeout=WAIT_MS)
    upgrade = page.locator("#upgrade-facility")
    page.wait_for_function("() => !document.querySelector('#upgrade-facility').disabled", timeout=WAIT_MS)
    upgrade.click()
    page.wait_for_selector(f"path.cp-code-{code}.cp-status-met", timeout=WAIT_MS)
    assert "升级为示范型" in page.locator("#edit-list").inner_text()


def test_childcare_places_layer_toggles_with_legend_and_panel(session_page, artifacts):
    """The 2SFCA context layer: switched on in the 目标 tab, one fill per township with a
    tooltip, its legend and provenance note; a click shows the township's villages; off again."""
    page = open_map(session_page, target="childcare_slots_per_1000")
    toggle = page.locator("#acc-fca-toggle input[type=checkbox]")
    toggle.check()
    wait_for_count(page, "path.cp-fca", 173)
    legend = page.locator("#acc-fca-legend")
    legend.wait_for(timeout=WAIT_MS)
    assert "托位可达性" in legend.inner_text() and "个/千人" in legend.inner_text()
    assert "合成演示数据" in page.locator("#acc-fca-note").inner_text()
    code = "331102001"  # 紫金街道
    click_inside(page, f"path.cp-fca-code-{code}")
    page.wait_for_selector("#acc-panel .cp-fca-table", timeout=WAIT_MS)
    assert "紫金街道" in page.locator("#acc-panel .cp-fca-table").inner_text()
    page.locator(f"path.cp-fca-code-{code}").hover()
    tip = page.locator(".leaflet-tooltip .cp-tooltip").first
    tip.wait_for(timeout=WAIT_MS)
    assert "增强两步移动搜索法可达性" in tip.inner_text()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "fca_layer.png"), full_page=False)
    toggle.uncheck()
    wait_for_count(page, "path.cp-fca", 0)
    assert session_page.errors == []


def test_walking_target_panel_shows_who_loses_coverage_on_slopes(session_page, artifacts):
    """10-minute walk on the DEM: 左溪镇 (inside the SRTM tile) loses coverage on its slopes; the
    panel's numbers are those of `covplan access --dem --json` (tests/test_relief_panel.py)."""
    from tests.e2e.conftest import DEM

    if not DEM.is_file():
        pytest.skip("SRTM tile N27E119.hgt not present")
    page = open_map(session_page, target="fitness_10min_circle")
    code = "331126105"  # 左溪镇, 庆元县
    page.locator(f"path.cp-code-{code}").wait_for(timeout=WAIT_MS)
    click_inside(page, f"path.cp-code-{code}")
    relief = page.locator("#acc-panel .cp-relief[data-dem=full]")
    relief.wait_for(timeout=WAIT_MS)
    text = relief.inner_text()
    assert "计坡度步行时间（10分钟）" in text and "2,135" in text
    assert page.locator("#acc-panel .cp-relief-lost").inner_text() == "2,135"
    page.wait_for_selector(f"#side-panel h3[data-township='{code}']", timeout=WAIT_MS)
    page.locator("#acc-panel").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "relief_panel.png"), full_page=False)
    assert session_page.errors == []
