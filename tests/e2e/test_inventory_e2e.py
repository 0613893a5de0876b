"""End-to-end: edit a home's tier in the app's inventory editor; the change is in the store.

The app runs with ``COVPLAN_STORE`` pointing at a GeoPackage store built for this test from
the embedded data/ (never the checkout's own data/inventory.gpkg). Expected figures come
from the store and the coverage API, independently of the app process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.e2e.conftest import REPO, START_TIMEOUT_S, PageRecorder, _free_port, chromium_path

pytestmark = pytest.mark.e2e

TARGET = "demo_child_home_per_township"
WAIT_MS = 120_000
REASON = "验收为示范型（端到端测试）"


@pytest.fixture(scope="module")
def store_app(tmp_path_factory):
    """(url, store path) of a ``covplan app`` editing its own GeoPackage store."""
    from store import build_store

    chromium_path()
    root = tmp_path_factory.mktemp("store-app")
    path = root / "inventory.gpkg"
    build_store(path).engine.dispose()
    port = _free_port()
    log = root / "app.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1", COVPLAN_APP_WARM="0", COVPLAN_STORE=str(path))
    env.pop("TIANDITU_KEY", None)
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "covplan", "app", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"covplan app exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(url + "/", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"covplan app did not answer:\n{log.read_text(errors='replace')}")
            time.sleep(0.5)
        yield url, path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def _township_to_flip(path):
    """A township not meeting TARGET in 2024 with a basic home, and that home (from the store)."""
    from coverage.targets import evaluate, load_targets
    from store import FacilityStore

    st = FacilityStore(path)
    ds = st.dataset()
    target = [t for t in load_targets() if t.id == TARGET]
    units = evaluate(ds, target, year=2024).units
    not_met = units[(units["unit_level"] == "township") & (units["status"] == "not_met")]
    fac = st.facilities(2024)
    for code in sorted(not_met["unit_code"]):
        basic = fac[(fac["type"] == "child_home") & (fac["tier"] == "basic") & (fac["township_code"] == code)]
        if len(basic):
            row = basic.sort_values("facility_id").iloc[0]
            st.engine.dispose()
            return code, str(row["facility_id"]), len(not_met)
    pytest.fail("no not-met township with a basic 儿童之家")


def _open(page, fid):
    page.locator("#inv-facility-id").fill(fid)
    page.locator("#inv-open").click()
    page.wait_for_function("fid => document.querySelector('#inv-name')?.value?.length > 0 && "
                           "document.querySelector('#inv-facility-id').value === fid", arg=fid, timeout=WAIT_MS)


def test_editing_a_tier_flips_the_township_and_persists(store_app, browser, artifacts):
    from store import FacilityStore

    url, path = store_app
    code, fid, n_not_met = _township_to_flip(path)
    rec = PageRecorder(browser, url)
    try:
        page = rec.page
        page.goto(f"{url}/?lang=zh&target={TARGET}&year=2024")
        page.wait_for_selector(f"path.cp-code-{code}.cp-status-not_met", timeout=WAIT_MS)
        _open(page, fid)
        page.locator("#inv-tier").click()
        page.get_by_role("option", name="示范型").click()
        page.wait_for_function("() => document.querySelector('#inv-tier').innerText.includes('示范型')",
                               timeout=WAIT_MS)
        page.locator("#inv-reason").fill(REASON)
        page.locator("#inv-save").click()
        page.wait_for_selector("#inv-message .cp-ok", timeout=WAIT_MS)
        page.wait_for_selector(f"path.cp-code-{code}.cp-status-met", timeout=WAIT_MS)
        # the history is refreshed by its own callback after the save: wait for it (under load it lags)
        page.wait_for_function(f"() => (document.querySelector('#inv-history') || {{}}).innerText"
                               f"?.includes({REASON!r})", timeout=WAIT_MS)
        assert REASON in page.locator("#inv-history").inner_text()
        # reload: the change comes back from the store
        page.reload()
        page.wait_for_selector(f"path.cp-code-{code}.cp-status-met", timeout=WAIT_MS)
        _open(page, fid)
        history = page.locator("#inv-history").inner_text()
        assert REASON in history and "demonstration" in history and "basic" in history
        page.screenshot(path=str(artifacts / "inventory_editor.png"), full_page=False)
        assert rec.external_requests() == [] and rec.errors == []
    finally:
        rec.close()
    st = FacilityStore(path)
    try:
        assert st.facilities(2024).set_index("facility_id").loc[fid, "tier"] == "demonstration"
        assert st.facilities(2022).set_index("facility_id").loc[fid, "tier"] != "demonstration" \
            if fid in set(st.facilities(2022)["facility_id"]) else True
        last = st.history(fid).iloc[-1]
        assert last["reason"] == REASON and last["new_values"] == {"tier": "demonstration"}
    finally:
        st.engine.dispose()
