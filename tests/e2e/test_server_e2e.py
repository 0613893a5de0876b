"""The city server in Debian's chromium: log in, the map works under the server's CSP, the
user bar shows who is signed in, a scenario saved in the browser (CSRF header added by the
asset script) lands in the user's own rows, logout ends the session.

Runs ``covplan serve`` (gunicorn, 1 worker) on loopback against the PostGIS test cluster.
"""

from __future__ import annotations

import pytest

from dashapp.server.accounts import Accounts
from dashapp.server.harness import ServerProcess
from tests.e2e.conftest import PageRecorder

pytestmark = pytest.mark.e2e
PW = "browser password 1"


@pytest.fixture(scope="module")
def server_url(request, pg_cluster, tmp_path_factory):
    from store import FacilityStore
    from tests.pg import fresh_database

    url = fresh_database(pg_cluster, "server_e2e", template=request.getfixturevalue("_seeded_pg"))
    st = FacilityStore(url)
    Accounts(st.engine).add("planner", "county-editor", PW, county="331102")
    srv = ServerProcess(url, tmp_path_factory.mktemp("serve") / "serve.log", workers=1, threads=4)
    srv.start()
    yield srv.url
    srv.stop()
    st.engine.dispose()


def test_login_map_under_csp_save_and_logout(browser, server_url, artifacts):
    rec = PageRecorder(browser, server_url)
    csp_violations: list[str] = []
    rec.page.on("console", lambda m: csp_violations.append(m.text)
                if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    page = rec.page
    try:
        page.goto(server_url + "/")
        assert page.url.endswith("/login")
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", PW)
        page.click("button[type=submit]")
        page.wait_for_selector("#cp-user-bar", timeout=120_000)
        assert "planner（县级填报员 · 331102）" in page.inner_text("#cp-user-bar")
        page.wait_for_selector(".leaflet-interactive", timeout=120_000)
        page.locator("#drawer-tabs label", has_text="情景").click()  # the scenario tab of the tool drawer
        page.fill("#scenario-name", "浏览器情景")
        page.click("#save-scenario")
        # (a locator, not wait_for_function: the server's CSP forbids evaluating strings)
        page.locator("#scenario-message", has_text="planner/浏览器情景").wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts / "server_map.png"))
        page.click("#cp-user-bar button")
        page.wait_for_url("**/login", timeout=30_000)
        page.goto(server_url + "/")
        assert page.url.endswith("/login")
        assert csp_violations == [] and rec.errors == []
        assert rec.external_requests() == []
    finally:
        rec.close()
