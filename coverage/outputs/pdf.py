"""Print HTML pages to PDF with headless Chromium (Playwright's ``page.pdf``).

The browser is Debian's ``chromium`` (``COVPLAN_CHROMIUM`` overrides the path), started
with no network access beyond the page itself: the pages printed here are self-contained
(inline SVG and CSS), so nothing is fetched. Playwright is an optional dependency (the
``test`` extra); without it, or without chromium, :class:`PrintError` says what to install.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from layers._errors import CovplanError

#: chromium switches for printing (no sandbox inside containers, no background traffic)
CHROMIUM_ARGS: tuple[str, ...] = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                  "--disable-component-update", "--disable-sync", "--no-first-run")


class PrintError(CovplanError):
    """PDF printing is not possible here (no Playwright, no chromium, or the print failed)."""


def chromium_path() -> str:
    path = os.environ.get("COVPLAN_CHROMIUM") or "/usr/bin/chromium"
    if not Path(path).exists():
        path = shutil.which("chromium") or ""
    if not path:
        raise PrintError("PDF printing needs Debian's chromium (apt-get install chromium, or `make chromium`)")
    return path


def html_to_pdf(document: str, paper: str = "A4", landscape: bool = True) -> bytes:
    """PDF bytes of an HTML document (its CSS ``@page`` sets the size; ``paper`` is the fallback)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise PrintError("PDF printing needs the Python package playwright (pip install playwright)") from exc
    exe = chromium_path()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, args=list(CHROMIUM_ARGS), headless=True)
            try:
                page = browser.new_page()
                page.route("**/*", lambda route: route.abort() if not route.request.url.startswith(("about:", "data:"))
                           else route.continue_())
                page.set_content(document, wait_until="load")
                return page.pdf(format=paper, landscape=landscape, print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise PrintError(f"printing the PDF failed: {exc}") from exc
