"""``covplan evaluate``, ``covplan gaps`` and ``covplan report``.

* ``evaluate [--target ID] [--year Y] [--json]`` — city-wide summary per plan target (units
  evaluated, met, not met, no data; plan-level result), under a provenance line.
* ``gaps [--county NAME] [--target ID] [--year Y] [--lang zh|en] -o FILE`` — the township
  gap list; the format follows the extension (.xlsx, .csv, .geojson, .gpkg).
* ``report [--county NAME] [--year Y] -o FILE.html`` — the standalone HTML report, with the
  trend over every inventory year of the dataset and the units flagged 预计达标困难.

The dataset is the global ``--data DIR`` (the embedded one by default); its targets are
``DIR/targets`` when that folder exists, else the embedded ``data/targets``.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

from layers.glossary import label

__all__ = ["format_summary", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate``, ``gaps`` and ``report`` sub-commands."""
    p = subparsers.add_parser(
        "evaluate", help="city-wide summary per plan target / 全市规划目标达标汇总",
        description="Evaluate every plan target for every unit and print the city-wide summary.",
    )
    _add_common(p, county=False)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_evaluate)

    g = subparsers.add_parser(
        "gaps", help="township gap list (.xlsx/.csv/.geojson/.gpkg) / 乡镇缺口清单",
        description="Write the township gap list; the format follows the file extension.",
    )
    _add_common(g, county=True)
    g.add_argument("--lang", choices=("zh", "en"), default="zh", help="header language (default zh)")
    g.add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                   help="output file: .xlsx, .csv, .geojson or .gpkg")
    g.set_defaults(func=cmd_gaps)

    r = subparsers.add_parser(
        "report", help="standalone HTML gap report with map and trend / 缺口报告",
        description="Write a standalone HTML report (summary, gap map, trend) for the city or a county.",
    )
    r.add_argument("--county", metavar="NAME", help="county name (莲都区) or code (331102)")
    r.add_argument("--year", type=int, metavar="Y", help="inventory year (default: the latest)")
    r.add_argument("--lang", choices=("zh", "en"), default="zh", help="language (default zh)")
    r.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.html")
    r.set_defaults(func=cmd_report)


def _add_common(p: argparse.ArgumentParser, *, county: bool) -> None:
    if county:
        p.add_argument("--county", metavar="NAME", help="county name (莲都区) or code (331102)")
    p.add_argument("--target", action="append", metavar="ID",
                   help="plan target id (repeatable; default: every target)")
    p.add_argument("--year", type=int, metavar="Y", help="inventory year (default: the latest)")


# --------------------------------------------------------------------------- shared steps
def _targets_dir(data: Path | None) -> Path | None:
    if data is not None and (Path(data) / "targets").is_dir():
        return Path(data) / "targets"
    return None


def _load(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """Dataset and plan targets of ``--data``, with ``--year`` and ``--target`` checked."""
    from coverage.outputs import SelectionError
    from coverage.targets import load_targets
    from store.active import load_inventory

    ds = load_inventory(args.data, getattr(args, "store", None))
    targets = load_targets(_targets_dir(args.data))
    year = getattr(args, "year", None)
    if year is not None and year not in ds.years:
        msg = f"no inventory year {year} in the dataset; years: {', '.join(map(str, ds.years))}"
        raise SelectionError(msg)
    wanted = getattr(args, "target", None)
    if wanted:
        ids = [t.id for t in targets]
        unknown = [t for t in wanted if t not in ids]
        if unknown:
            msg = f"unknown target id {', '.join(map(repr, unknown))}; valid ids: {', '.join(ids)}"
            raise SelectionError(msg)
        targets = [t for t in targets if t.id in wanted]
    return ds, targets


def _evaluate(ds: Any, targets: list[Any], year: int | None) -> Any:
    from coverage.targets import evaluate

    return evaluate(ds, targets, year=year)


def _check_folder(path: Path) -> None:
    """Fail before evaluating when the output folder does not exist."""
    from coverage.outputs import ExportError

    if not path.parent.exists():
        msg = f"cannot write {path}: the folder {path.parent} does not exist"
        raise ExportError(msg)


def _result_year(ds: Any, year: int | None) -> int | None:
    return year if year is not None else ds.latest_year


# --------------------------------------------------------------------------- evaluate
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(width - _width(text), 0)
    return fill + text if right else text + fill


def format_summary(summary: Any, lang: str = "zh") -> str:
    """The summary table as aligned text (CJK characters count two columns).

    The target label comes last so the numeric columns stay aligned however long it is.
    """
    from coverage.outputs.export import _number

    head = [label(k, lang) for k in ("target_id", "unit_level", "units_evaluated", "units_met",
                                     "units_not_met", "units_no_data", "shortfall", "plan_status",
                                     "target_label")]
    rows = []
    for r in summary.itertuples(index=False):
        prefix = label("max_of_units", lang) if r.shortfall_is_max else ""
        short = f"{prefix}{_number(r.shortfall)}{label(r.shortfall_unit, lang)}" if r.not_met else "0"
        rows.append([
            r.target_id,
            "/".join(label(p, lang) for p in str(r.unit_level).split("/") if p),
            str(r.n_units), str(r.met), str(r.not_met), str(r.no_data), short,
            label(r.plan_status, lang) if r.plan_status else "—",
            r.target_label,
        ])
    right = [False, False, True, True, True, True, True, False, False]
    widths = [max([_width(h)] + [_width(row[i]) for row in rows]) for i, h in enumerate(head)]
    lines = []
    for row in [head] + rows:
        cells = [_pad(c, widths[i], right[i]) if i < len(row) - 1 else c for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print the city-wide summary per target (table, or JSON with ``--json``)."""
    from coverage.outputs import provenance_statement
    from coverage.outputs import summary_table

    ds, targets = _load(args)
    res = _evaluate(ds, targets, args.year)
    summary = summary_table(res, targets)
    year = _result_year(ds, args.year)
    statement = provenance_statement(ds)
    if args.json:
        doc = {
            "dataset": ds.name,
            "year": year,
            "provenance": statement,
            "layer_provenance": dict(ds.layer_provenance),
            "targets": json.loads(summary.to_json(orient="records", force_ascii=False)),
            "errors": {tid: reason for (tid, _y), reason in getattr(res, "errors", {}).items()},
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    print(statement)
    print(f"{label('inventory_year')}：{year}；{label('plan_target')}：{len(summary)}")
    print(format_summary(summary))
    for (tid, _y), reason in getattr(res, "errors", {}).items():
        print(f"{tid}: 未能评估（{label('no_data')}）: {reason}")
    return 0


# --------------------------------------------------------------------------- gaps / report
def cmd_gaps(args: argparse.Namespace) -> int:
    """Write the township gap list to ``-o FILE``."""
    from coverage.outputs import FORMATS, ExportError, write_gap_list
    from coverage.outputs import resolve_county, township_gaps

    fmt = args.output.suffix.lower().lstrip(".")
    if fmt not in FORMATS:  # fail before the (slower) evaluation
        msg = (f"cannot export {args.output.name!r}: unknown extension {args.output.suffix or '(none)'!r}; "
               f"use one of: {', '.join('.' + f for f in FORMATS)}")
        raise ExportError(msg)
    _check_folder(args.output)
    ds, targets = _load(args)
    resolve_county(ds, args.county)
    res = _evaluate(ds, targets, args.year)
    gaps = township_gaps(res, ds, county=args.county, targets=targets)
    path = write_gap_list(gaps, args.output, dataset=ds, result=res, lang=args.lang, targets=targets)
    n = {sec: int((gaps["section"] == sec).sum()) for sec in ("county", "township", "village")}
    print(f"{path}: {n['county']} county/city rows, {n['township']} township rows, {n['village']} village rows "
          f"({_result_year(ds, args.year)})", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report: ``--year`` (default the latest) for the summary and the map;
    the trend table and the 预计达标困难 flags use every inventory year of the dataset."""
    from coverage.outputs import ExportError
    from coverage.outputs import resolve_county
    from coverage.outputs.report import write_report

    if args.output.suffix.lower() not in (".html", ".htm"):
        msg = f"cannot write the report to {args.output.name!r}: the file must end in .html"
        raise ExportError(msg)
    _check_folder(args.output)
    from coverage.targets import trend

    ds, targets = _load(args)
    resolve_county(ds, args.county)
    tr = trend(ds, targets)  # evaluates every inventory year once
    path = write_report(args.output, ds, tr.evaluation, tr, args.county, targets=targets,
                        lang=args.lang, year=_result_year(ds, args.year))
    print(f"{path}", file=sys.stderr)
    return 0
