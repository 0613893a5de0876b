"""``covplan submit``, ``covplan export inventory`` and ``covplan store …``: the facility store.

``covplan submit FILE --year 2025 --source 民政局 [--county 莲都区] [--crs gcj02]`` previews a
member unit's list against the store (new / changed with match score / missing / rejected) and
writes it as one batch after confirmation (``--yes`` in scripts). ``covplan export inventory
--county X --year Y -o X.xlsx`` writes the list in the layout ``submit`` reads.
``covplan store init|info|batches|history|check|rollback`` manage the store itself.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from contextlib import contextmanager
from pathlib import Path

from layers._errors import CovplanError


def _user(args: argparse.Namespace) -> str:
    if getattr(args, "user", None):
        return args.user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@contextmanager
def _store(args: argparse.Namespace):
    """The store of ``--store``/``--data``, its connections closed when the command ends."""
    from store import open_store

    st = open_store(getattr(args, "store", None), getattr(args, "data", None))
    try:
        yield st
    finally:
        st.engine.dispose()


def register(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser("submit", help="submit a member unit's inventory to the store / 报送台账",
                              description="Preview and apply a member unit's facility list as one batch.")
    s.add_argument("file", type=Path, help=".xlsx or .csv inventory")
    s.add_argument("--year", type=int, required=True, help="inventory year")
    s.add_argument("--source", required=True, help="submitting unit, e.g. 民政局, 卫健委, 教育局, 体育局, 残联")
    s.add_argument("--county", help="county name or code; rows of other counties are rejected")
    s.add_argument("--crs", default="wgs84", help="coordinates: wgs84 | cgcs2000 | gcj02 | bd09")
    s.add_argument("--sheet", help="worksheet (default: the first)")
    s.add_argument("--close-missing", action="store_true",
                   help="mark facilities missing from the list as closed in that year")
    s.add_argument("--user", help="submitter (default: the login name)")
    s.add_argument("--reason", default="", help="note stored with the batch")
    s.add_argument("--yes", action="store_true", help="apply without asking")
    s.add_argument("--dry-run", action="store_true", help="preview only")
    s.set_defaults(func=cmd_submit)

    e = subparsers.add_parser("export", help="export data from the store / 导出")
    esub = e.add_subparsers(dest="export_command", metavar="WHAT")
    esub.required = True
    inv = esub.add_parser("inventory", help="a county's 台账 of one year (.xlsx, the layout submit reads)")
    inv.add_argument("--county", required=True, help="county name or code")
    inv.add_argument("--year", type=int, required=True)
    inv.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.xlsx")
    inv.set_defaults(func=cmd_export_inventory)

    st = subparsers.add_parser("store", help="the facility store: init, info, batches, history, rollback")
    ssub = st.add_subparsers(dest="store_command", metavar="ACTION")
    ssub.required = True
    i = ssub.add_parser("init", help="create the store from the dataset's facility files if absent")
    i.add_argument("--replace", action="store_true", help="GeoPackage: delete and rebuild")
    i.set_defaults(func=cmd_init)
    ssub.add_parser("info", help="backend, years, counts, provenance per county").set_defaults(func=cmd_info)
    ssub.add_parser("batches", help="list batches").set_defaults(func=cmd_batches)
    h = ssub.add_parser("history", help="audit history of one facility")
    h.add_argument("facility_id")
    h.set_defaults(func=cmd_history)
    a = ssub.add_parser("accept", help="write a scenario as planned: new facilities, planned changes (one batch)")
    a.add_argument("scenario", type=Path, help="scenario .toml")
    a.add_argument("--year", type=int, help="year the planned facilities start (default: the scenario's)")
    a.add_argument("--user")
    a.add_argument("--reason", default="")
    a.set_defaults(func=cmd_accept)
    ssub.add_parser("check", help="integrity check: records, versions, audit rows, batches (exit 1 on a problem)"
                    ).set_defaults(func=cmd_check)
    r = ssub.add_parser("rollback", help="roll a batch back as a whole")
    r.add_argument("batch_id", type=int)
    r.add_argument("--user")
    r.add_argument("--reason", default="")
    r.set_defaults(func=cmd_rollback)


def print_preview(pv, out=None, limit: int = 30) -> None:
    out = out if out is not None else sys.stdout
    print(pv.summary(), file=out)
    for note in pv.notes:
        print(f"  注 / note: {note}", file=out)
    if len(pv.changed):
        print("变更 / changed (编号, 名称, 匹配方式, 匹配度, 字段):", file=out)
        for r in pv.changed.head(limit).itertuples():
            diffs = "; ".join(f"{k}: {r.old.get(k)!s} → {r.new.get(k)!s}" for k in sorted(r.new))
            print(f"  行{r.source_row} {r.facility_id} {r.name} [{r.match} {r.match_score:.2f}] {diffs}", file=out)
    if len(pv.new):
        print("新增 / new:", file=out)
        for r in pv.new.head(limit).itertuples():
            print(f"  行{r.source_row} {r.facility_id} {r.name} ({r.type}, {r.township_code})", file=out)
    if len(pv.missing):
        print("名单中缺失（可能已关闭）/ missing from the list (closed?):", file=out)
        for r in pv.missing.head(limit).itertuples():
            print(f"  {r.facility_id} {r.name} ({r.type}, {r.township_code})", file=out)
    if len(pv.rejected):
        print("拒绝 / rejected:", file=out)
        for r in pv.rejected.head(limit).itertuples():
            print(f"  行{r[1]} {r[2]}: {r[3]} / {r[4]}", file=out)


def cmd_submit(args: argparse.Namespace) -> int:
    with _store(args) as st:
        return _submit(args, st)


def _submit(args: argparse.Namespace, st) -> int:
    from store.submit import apply_submission, preview_submission

    pv = preview_submission(st, args.file, args.year, args.source, county=args.county, crs=args.crs,
                            sheet=args.sheet)
    print_preview(pv)
    if args.dry_run:
        return 0
    if not (len(pv.new) or len(pv.changed) or (args.close_missing and len(pv.missing))):
        print("nothing to write / 无需写入")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print("not applied: pass --yes to write this batch / 未写入：加 --yes 确认", file=sys.stderr)
            return 1
        if input("写入此批次？/ apply this batch? [y/N] ").strip().lower() not in ("y", "yes", "是"):
            print("not applied / 未写入")
            return 1
    bid = apply_submission(st, pv, user=_user(args), close_missing=args.close_missing, reason=args.reason)
    print(f"batch {bid} written / 已写入批次 {bid} (covplan store rollback {bid} undoes it)")
    return 0


def cmd_export_inventory(args: argparse.Namespace) -> int:
    from store.inventory_xlsx import export_inventory

    with _store(args) as st:
        path = export_inventory(st, args.county, args.year, args.output)
    print(f"inventory written / 台账已导出: {path}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from store import build_store

    st = build_store(getattr(args, "store", None), getattr(args, "data", None), replace=args.replace)
    print(f"{st!r}: {len(st.records())} records, years {', '.join(map(str, st.years()))}")
    st.engine.dispose()
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from layers.glossary import label

    with _store(args) as st:
        print(f"{st!r} ({st.backend}), revision {st.revision()}")
        names = dict(zip(st.units().counties["code"], st.units().counties["name"]))
        for y in st.years():
            prov = st.county_provenance(y)
            parts = ", ".join(f"{names.get(c, c)} {label(p) if p != 'partial' else '部分真实'}"
                              for c, p in prov.items())
            print(f"  {y}: {len(st.facilities(y))} open facilities; {parts}")
    return 0


def cmd_batches(args: argparse.Namespace) -> int:
    with _store(args) as st:
        df = st.batches()
    cols = ["batch_id", "kind", "year", "source", "county_code", "file_name", "submitted_by", "created_at",
            "status", "n_new", "n_changed", "n_closed"]
    print(df[cols].to_string(index=False))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with _store(args) as st:
        df = st.history(args.facility_id)
    if df.empty:
        raise CovplanError(f"no history for facility {args.facility_id!r}")
    for r in df.itertuples():
        print(f"{r.at} {r.user_name} {r.action} {r.year}: {r.old_values} → {r.new_values}  {r.reason}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from store.integrity import check_integrity

    with _store(args) as st:
        problems = check_integrity(st)
        name = repr(st)
    if not problems:
        print(f"{name}: integrity check passed / 数据完整性检查通过")
        return 0
    print(f"{name}: {len(problems)} integrity problem(s) / 数据完整性问题:")
    for p in problems:
        print(f"  {p}")
    return 1


def cmd_rollback(args: argparse.Namespace) -> int:
    with _store(args) as st:
        rb = st.rollback(args.batch_id, user=_user(args), reason=args.reason)
    print(f"batch {args.batch_id} rolled back (batch {rb}) / 已撤销")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    from scenarios import load_scenario
    from store.accept import accept_scenario

    sc = load_scenario(args.scenario)
    with _store(args) as st:
        out = accept_scenario(st, sc, user=_user(args), year=args.year, reason=args.reason)
    print(f"batch {out['batch_id']}: {len(out['planned'])} planned facilities / 规划设施 "
          f"({', '.join(out['planned'])})")
    for ch in out["changes"]:
        print(f"  planned change / 规划调整 {ch['facility_id']}: {ch['old']} → {ch['new']}")
    for e in out["skipped"]:
        print(f"  not written (not a facility edit) / 未写入: {e}")
    return 0
