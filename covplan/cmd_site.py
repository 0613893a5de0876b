"""``covplan site``: propose the actions that close a target's gaps, as a scenario.

``covplan site --target ID [--p N | --share S | --all-targets] [--scenario FILE] [--year Y]
[--time-limit S] [--costs FILE] -o proposals.csv [--save-scenario scenarios/NAME.toml]``

* a presence target: per failing unit, upgrade the basic 儿童之家 serving most children,
  else a new build at the most central village;
* a facility-share target (示范型 ≥ 15%): upgrades;
* a unit-share target (托育 in ≥ 50% of urban communities): new builds in the unserved
  member units with the most people;
* a capacity target (托位 per 1,000): slots per county and township, and where;
* an access target: ``--p N`` new sites (maximal covering) or ``--share S`` (fewest sites
  reaching the share; default the target's threshold);
* ``--all-targets``: one integer program choosing the cheapest actions meeting every
  selected target (``--target`` repeated, default every supported target: presence,
  示范型 and 母婴室 shares, 托位, walking access) together; one new site may house
  several facilities and serve several targets.

``--scenario FILE`` sites on top of a scenario; ``--save-scenario`` writes the proposals
(after the scenario's own edits) as a scenario that ``covplan scenario run`` runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from covplan._args import positive_int, positive_seconds, share
from layers.glossary import label


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``site`` sub-command."""
    p = subparsers.add_parser("site", help="propose sites and actions closing target gaps / 选址建议",
                              description="Propose upgrades, new builds and added capacity that "
                                          "close the gaps of plan targets.")
    p.add_argument("--target", action="append", metavar="ID",
                   help="plan target id (repeatable with --all-targets)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--p", type=positive_int, metavar="N", help="access targets: N ≥ 1 new sites (MCLP)")
    mode.add_argument("--share", type=share, metavar="S",
                      help="access targets: fewest sites reaching covered share S (LSCP)")
    mode.add_argument("--all-targets", action="store_true",
                      help="cheapest actions meeting every selected target together (joint model)")
    p.add_argument("--scenario", type=Path, metavar="FILE", help="site on top of this scenario")
    p.add_argument("--year", type=int, metavar="Y", help="inventory year (default: the latest)")
    p.add_argument("--time-limit", type=positive_seconds, default=60.0, metavar="S",
                   help="solver time limit in seconds; the best solution found is kept (default 60)")
    p.add_argument("--greedy", action="store_true",
                   help="access targets: fast greedy instead of the exact MILP (gap to the LP bound reported)")
    p.add_argument("--candidates", default="villages,public_places", metavar="KINDS",
                   help="access targets: candidate sites, comma-separated from villages, "
                        "public_places, nodes (walking-network nodes; default villages,public_places)")
    p.add_argument("--costs", type=Path, metavar="FILE", help="cost table (default data/siting_costs.toml)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="proposals.csv",
                   help="proposal table (.csv, UTF-8 with BOM, Chinese headers)")
    p.add_argument("--save-scenario", type=Path, metavar="scenarios/NAME.toml",
                   help="also save the proposals as a scenario under scenarios/")
    p.set_defaults(func=cmd_site)


def _dataset(args: argparse.Namespace) -> tuple[Any, list[Any], Any]:
    """Base dataset and targets, the scenario (or None) and the sited-on copies."""
    from covplan.cmd_scenario import load_base
    from scenarios.apply import apply_scenario
    from scenarios.model import Scenario, load_scenario

    sc = load_scenario(args.scenario) if args.scenario is not None else None
    ds, targets = load_base(args, sc or Scenario(name="base"))
    return ds, targets, sc


def _select(targets: list[Any], ids: list[str] | None, all_targets: bool) -> list[Any]:
    from coverage._errors import SitingError
    from coverage.siting import JOINT_KINDS

    by_id = {t.id: t for t in targets}
    if ids:
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise SitingError(f"unknown target id {', '.join(map(repr, unknown))}; "
                              f"valid ids: {', '.join(by_id)}")
        chosen = [by_id[i] for i in ids]
    elif all_targets:
        chosen = [t for t in targets if t.kind in JOINT_KINDS and getattr(t, "facility", None)]
    else:
        raise SitingError("give --target ID (or --all-targets)")
    if not all_targets and len(chosen) != 1:
        raise SitingError("give exactly one --target, or --all-targets for several")
    return chosen


def propose(ds: Any, targets: list[Any], chosen: list[Any], *, year: int | None, p: int | None,
            share: float | None, all_targets: bool, time_limit_s: float, progress: bool,
            costs: dict[str, Any], greedy: bool = False,
            candidates: tuple[str, ...] = ("villages", "public_places")) -> Any:
    """Dispatch to the proposal function of the target kind (or the joint model)."""
    from coverage.targets import evaluate
    from coverage.siting import propose_for_target
    from coverage.siting import propose_joint

    if all_targets:
        res = evaluate(ds, chosen, year=year)
        return propose_joint(ds, chosen, res.units, year=year, costs=costs,
                             time_limit_s=time_limit_s, progress=progress)
    return propose_for_target(ds, chosen[0], year=year, p=p, share=share, costs=costs,
                              time_limit_s=time_limit_s, progress=progress,
                              method="greedy" if greedy else "milp", candidates=candidates)


def _candidates(text: str) -> tuple[str, ...]:
    from coverage._errors import SitingError

    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in ("villages", "public_places", "nodes")]
    if bad or not kinds:
        raise SitingError(f"--candidates: unknown kind(s) {bad or text!r}; "
                          "use villages, public_places, nodes")
    return kinds


def cmd_site(args: argparse.Namespace) -> int:
    from coverage.siting import load_costs
    from scenarios.apply import apply_scenario
    from scenarios.model import Scenario
    from scenarios.store import save_scenario

    if args.save_scenario is not None:  # refuse a bad destination before any work
        from scenarios.store import resolve_destination

        resolve_destination(args.save_scenario)
    base_ds, base_targets, sc = _dataset(args)
    year = args.year if args.year is not None else (sc.year if sc and sc.year else base_ds.latest_year)
    if year not in base_ds.years:
        from coverage._errors import SitingError

        raise SitingError(f"no inventory year {year} in the dataset; years: {base_ds.years}")
    ds, targets = base_ds, base_targets
    if sc is not None:
        ds, targets = apply_scenario(sc.with_year(year), base_ds, base_targets)
    chosen = _select(targets, args.target, args.all_targets)
    costs = load_costs(args.costs)
    progress = not args.no_progress and sys.stderr.isatty()
    ps = propose(ds, targets, chosen, year=year, p=args.p, share=args.share,
                 all_targets=args.all_targets, time_limit_s=args.time_limit, progress=progress,
                 costs=costs, greedy=args.greedy, candidates=_candidates(args.candidates))
    out = ps.write_csv(args.output)
    gap = "" if ps.gap != ps.gap else f", {label('optimality_gap')} {ps.gap:.4%}"
    print(f"{label('siting')}: {', '.join(t.id for t in chosen)} — {len(ps.actions)} "
          f"{label('actions_count')}, {label('cost')} {ps.total_cost:,.1f}; "
          f"{label('solver_status')} {ps.status}{gap}; {ps.method}")
    print(f"{label('provenance')}: {ps.provenance}")
    for note in ps.notes:
        print(f"  {label('notes')}: {note}")
    print(f"→ {out}")
    if args.save_scenario is not None:
        edits = ([e.to_dict() for e in sc.edits] if sc is not None else []) + ps.edits()
        name = args.save_scenario.stem
        desc = (f"covplan site 生成的建议（{', '.join(t.id for t in chosen)}；{ps.method}）"
                + (f"，基于情景“{sc.name}”" if sc is not None else ""))
        new = Scenario.from_edits(name, edits, year=year, description=desc,
                                  base=sc.base if sc is not None else "embedded" if args.data is None
                                  else str(Path(args.data).resolve()))
        apply_scenario(new, base_ds, base_targets)  # every edit must apply to the base
        path = save_scenario(new, path=args.save_scenario)
        print(f"{label('scenario_saved')} → {path}")
    return 0
