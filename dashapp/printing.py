"""Print from the app: the current map as one landscape page, or the county atlas, as PDF.

Both are the pages of :mod:`coverage.outputs.atlas` (the same as ``covplan atlas``), built
from the session's view: the chosen year, county and target, with the session's scenario
edits applied, and printed by headless Chromium (:mod:`coverage.outputs.pdf`).
"""

from __future__ import annotations

from typing import Any, Sequence

from dashapp.service import get_service
from layers._errors import CovplanError


class PrintChoiceError(CovplanError):
    """The view cannot be printed as asked (e.g. no county chosen for an atlas)."""


def _inputs(year: Any, edits: Sequence[dict[str, Any]]) -> tuple[Any, Any, list[Any], int]:
    svc = get_service()
    year_i = svc.year(year)
    ds, targets = svc.scenario_data(list(edits), year_i)
    return ds, svc.evaluation(year_i, list(edits), None), list(targets), year_i


def print_pdf(kind: str, target_id: Any, county: Any, year: Any, edits: Sequence[dict[str, Any]],
              paper: Any, author: Any, date: Any, lang: str) -> tuple[str, bytes]:
    """``(file name, PDF bytes)`` of the map page (``kind="map"``) or the atlas (``"atlas"``).

    Raises
    ------
    PrintChoiceError
        No county chosen (both layouts show one county at a legible scale).
    """
    from coverage.outputs.atlas import PageSpec, atlas_html, single_page_html
    from coverage.outputs.pdf import html_to_pdf

    if not county:
        raise PrintChoiceError("print_needs_county")
    spec = PageSpec(paper=str(paper or "A4"), author=str(author or ""), date=str(date or ""), lang=lang)
    ds, result, targets, year_i = _inputs(year, edits)
    if kind == "atlas":
        doc, _ = atlas_html(ds, result, targets, str(county), year_i, spec)
        name = f"atlas_{county}_{year_i}.pdf"
    else:
        tg = get_service().target(target_id, targets)
        doc = single_page_html(ds, result, tg, str(county), year_i, spec)
        name = f"map_{county}_{tg.id}_{year_i}.pdf"
    return name, html_to_pdf(doc, paper=spec.checked().paper)
