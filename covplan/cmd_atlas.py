"""``covplan atlas --county NAME -o atlas.pdf``: the county's gap atlas as a PDF.

One cover page (every target with the number of the county's units not met), then one
landscape page per target with gaps in the county: the township status map with a km
scale bar, north arrow, legend, 制图单位 and date, the provenance note, and the county's gap
table for that target (:mod:`coverage.outputs.atlas`). Printed with headless Chromium
(:mod:`coverage.outputs.pdf`); ``-o FILE.html`` writes the HTML pages instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from layers._errors import CovplanError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "atlas", help="county gap atlas as PDF (one page per target) / 县域缺口图集（PDF）",
        description="Print the county's gap atlas: a map page and gap table per plan target with gaps.",
    )
    p.add_argument("--county", required=True, metavar="NAME", help="county name (景宁畲族自治县) or code (331127)")
    p.add_argument("--target", action="append", metavar="ID", help="plan target id (repeatable; default: every target)")
    p.add_argument("--year", type=int, metavar="Y", help="inventory year (default: the latest)")
    p.add_argument("--paper", choices=("A4", "A3"), default="A4", help="landscape paper size (default A4)")
    p.add_argument("--author", default="", help="制图单位 printed on every page")
    p.add_argument("--date", default="", help="制图日期 printed on every page (default: today)")
    p.add_argument("--all-targets", action="store_true", help="a page for every target, also those without gaps")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("-o", "--output", required=True, type=Path, help="output .pdf (or .html)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from covplan.cmd_evaluate import _check_folder, _evaluate, _load, _result_year
    from coverage.outputs.atlas import PageSpec, atlas_html

    out: Path = args.output
    if out.suffix.lower() not in (".pdf", ".html"):
        raise CovplanError(f"{out}: the atlas is written as .pdf or .html")
    _check_folder(out)
    ds, targets = _load(args)
    year = _result_year(ds, args.year)
    result = _evaluate(ds, targets, year)
    spec = PageSpec(paper=args.paper, author=args.author, date=args.date, lang=args.lang)
    doc, pages = atlas_html(ds, result, targets, args.county, year, spec, all_targets=args.all_targets)
    if out.suffix.lower() == ".html":
        out.write_text(doc, encoding="utf-8")
    else:
        from coverage.outputs.pdf import html_to_pdf

        out.write_bytes(html_to_pdf(doc, paper=args.paper))
    print(f"{out}: {1 + len(pages)} pages (cover + {len(pages)} targets)")
    return 0
