"""Browser tests: start the real app (``covplan app``) and drive it in headless Chromium.

The app runs in a subprocess on a free loopback port with the embedded dataset; the
browser is Debian's chromium driven by Playwright through ``executable_path`` (no
Playwright-downloaded browser). Every request the page makes is recorded so a test can
prove that nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("COVPLAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: how long the app may take to start and answer (cold caches on a 2-core machine)
START_TIMEOUT_S = 240.0
#: the SRTM tile of the south of Lishui beside the checkout (not shipped; public domain): the
#: app's relief panel uses it ($COVPLAN_DEM overrides; absent → the panel says "no DEM")
DEM = Path(os.environ.get("COVPLAN_DEM") or REPO.parent / "shared" / "data" / "dem" / "N27E119.hgt")


def chromium_path() -> str:
    """Debian's chromium (``COVPLAN_CHROMIUM`` overrides); a clear failure when missing."""
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        pytest.fail(f"Debian's chromium is needed for the browser tests ({CHROMIUM}); run `make chromium`")
    return str(path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    """URL of a running ``covplan app`` (embedded dataset), stopped after the session."""
    chromium_path()
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    # no background warm-up: the tests' own requests get the two cores
    env = dict(os.environ, PYTHONUNBUFFERED="1", COVPLAN_APP_WARM="0")
    if DEM.is_file():
        env["COVPLAN_DEM"] = str(DEM)
    env.pop("TIANDITU_KEY", None)
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "covplan", "app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, env=env,
        )
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
                pytest.fail(f"covplan app did not answer within {START_TIMEOUT_S:.0f} s:\n{log.read_text(errors='replace')}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class PageRecorder:
    """A fresh page plus what it did: requests, dialogs, console errors."""

    def __init__(self, browser, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
        self.page = self.context.new_page()
        self.url = url
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def external_requests(self) -> list[str]:
        return [u for u in self.requests
                if not (u.startswith(self.url) or u.startswith("data:") or u.startswith("blob:"))]

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def session_page(browser, app_url):
    rec = PageRecorder(browser, app_url)
    try:
        yield rec
    finally:
        rec.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
