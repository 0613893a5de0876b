"""``covplan scenario``: run a what-if scenario against its base, list saved scenarios.

* ``scenario run FILE [--year Y] [--target ID] [-o FILE.xlsx|.csv] [--json]`` — apply the scenario's edits
  to a copy of the dataset, evaluate every target on both, and print what changed: units
  that flip between met and not met, shortfalls that change, people newly covered.
* ``scenario list`` — the example scenarios and the saved ones (``scenarios/saved/``).

The dataset is the global ``--data DIR`` if given, else the scenario's ``base``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from layers.glossary import label

EXAMPLES_DIR: Path = Path(__file__).resolve().parent.parent / "scenarios" / "examples"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scenario run`` and ``scenario list``."""
    p = subparsers.add_parser("scenario", help="what-if scenarios / 情景分析",
                              description="Run a what-if scenario file, or list scenarios.")
    sub = p.add_subparsers(dest="scenario_command", metavar="ACTION")
    sub.required = True
    r = sub.add_parser("run", help="evaluate every target under a scenario and compare with the base",
                       description="Apply a scenario (TOML) to a copy of the data and report the "
                                   "difference from the base for every plan target.")
    r.add_argument("file", type=Path, metavar="FILE", help="scenario file (.toml)")
    r.add_argument("--year", type=int, metavar="Y", help="inventory year (default: the scenario's)")
    r.add_argument("--target", action="append", metavar="ID",
                   help="evaluate only this target (repeatable; default: every target)")
    r.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write the comparison: .xlsx (汇总/状态变化/缺口变化) or .csv")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.set_defaults(func=cmd_run)
    ls = sub.add_parser("list", help="list example and saved scenarios")
    ls.set_defaults(func=cmd_list)


def load_base(args: argparse.Namespace, scenario: Any) -> tuple[Any, list[Any]]:
    """Dataset and targets for a scenario: ``--data`` wins over the scenario's ``base``."""
    from coverage.targets import load_targets
    from store.active import load_inventory

    data = args.data if getattr(args, "data", None) is not None else scenario.base_path()
    if data is not None and not Path(data).is_dir():
        raise scenario.error(f"base dataset folder {data} not found")
    ds = load_inventory(data, getattr(args, "store", None))
    tdir = Path(data) / "targets" if data is not None and (Path(data) / "targets").is_dir() else None
    return ds, load_targets(tdir)


def summary_lines(diff: Any) -> list[str]:
    """Plain-text report of a :class:`scenarios.diff.ScenarioDiff` (one line per target)."""
    lines = [f"{label('scenario')}: {diff.scenario.name}  ({label('year')} {diff.year})",
             f"{label('provenance')}: {diff.provenance}"]
    s = diff.summary
    if s is None or s.empty:
        return lines + ["(no target evaluated)"]
    changed = s[(s["newly_met"] > 0) | (s["newly_not_met"] > 0) | (s["shortfall_delta"].abs() > 1e-9)]
    if changed.empty:
        lines.append(label("no_change"))
    for _, r in changed.iterrows():
        unit = label(r["shortfall_unit"]) if r["shortfall_unit"] else ""
        lines.append(
            f"  {r['target_id']} [{label(r['unit_level'])}]: "
            f"{label('flipped_to_met')} {r['newly_met']}, {label('flipped_to_not_met')} {r['newly_not_met']}; "
            f"{label('shortfall')} {_fmt(r['shortfall_before'])} → {_fmt(r['shortfall_after'])}{unit}"
        )
    for tid, people in sorted(diff.people_newly_covered.items()):
        lines.append(f"  {tid}: {label('people_newly_covered')} {people:+,.0f}")
    return lines


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def cmd_run(args: argparse.Namespace) -> int:
    from scenarios.diff import run_scenario
    from scenarios.model import load_scenario

    sc = load_scenario(args.file)
    ds, targets = load_base(args, sc)
    if args.target:
        known = {t.id for t in targets}
        unknown = [t for t in args.target if t not in known]
        if unknown:
            raise sc.error(f"unknown target id {', '.join(map(repr, unknown))}; "
                           f"valid ids: {', '.join(sorted(known))}")
        # targets the scenario overrides stay in, so its override edits still apply
        keep = set(args.target) | {e.get("target") for e in sc.edits if e.op == "override_target"}
        targets = [t for t in targets if t.id in keep]
    diff = run_scenario(sc, ds, targets, year=args.year)
    if args.json:
        s = diff.summary
        out = {
            "scenario": sc.name, "year": diff.year, "provenance": diff.provenance,
            "people_newly_covered": diff.people_newly_covered,
            "summary": [] if s is None or s.empty else
            [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
             for row in s.to_dict(orient="records")],
        }
        print(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    else:
        print("\n".join(summary_lines(diff)))
    if args.output is not None:
        path = diff.write(args.output)
        if not args.json:
            print(f"→ {path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from scenarios.model import load_scenario
    from scenarios.store import list_saved
    from scenarios._errors import ScenarioError

    print(f"{label('scenario')} (examples: {EXAMPLES_DIR})")
    for f in sorted(EXAMPLES_DIR.glob("*.toml")):
        try:
            sc = load_scenario(f)
            print(f"  {f.name}: {sc.name} — {len(sc.edits)} edits")
        except ScenarioError as exc:
            print(f"  {f.name}: {str(exc).splitlines()[0]}")
    print(label("saved_scenarios"))
    for e in list_saved():
        status = e["error"].splitlines()[0] if e["error"] else f"{e['n_edits']} edits"
        print(f"  {e['name']}.toml: {e['title']} — {status}")
    return 0
