"""``covplan data build``: rebuild the embedded Lishui dataset from ``../shared/data``.

The same code runs as ``python -m layers.build``. Only the files the build owns are
rewritten (boundaries, units, facilities, indicators, network, manifest and notes); hand-made
folders such as ``data/targets/`` are left alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from layers.build import DEFAULT_SEED, build_dataset
from layers.settings import DEFAULT_DATA_DIR, SHARED_DATA_DIR


def _add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shared", type=Path, default=None, metavar="DIR",
                        help=f"public source folder (default: {SHARED_DATA_DIR})")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="dataset folder to write (default: the global --data folder, else "
                             f"{DEFAULT_DATA_DIR})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed of every random draw (default: {DEFAULT_SEED})")
    parser.add_argument("--no-network", action="store_true",
                        help="skip the synthetic walking network")


def run_build(args: argparse.Namespace) -> int:
    """Run the build for parsed arguments and print its summary; return the exit code."""
    out = args.out if args.out is not None else getattr(args, "data", None)
    report = build_dataset(shared_dir=args.shared, out_dir=out, seed=args.seed,
                           network=not args.no_network)
    print(report.summary())
    from store import build_store
    from store.engine import default_store_path

    path = default_store_path(out)
    st = build_store(path, out, replace=True)
    print(f"facility store / 设施库: {path} ({len(st.records())} records, years "
          f"{', '.join(map(str, st.years()))})")
    st.engine.dispose()
    return 0


def register(subparsers) -> None:
    """Add ``data build`` to the ``covplan`` parser."""
    data = subparsers.add_parser("data", help="build the embedded dataset / 构建内置数据集")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    sub.required = True
    build = sub.add_parser("build", help="rebuild data/ from ../shared/data (deterministic)")
    _add_build_arguments(build)
    build.set_defaults(func=run_build)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m layers.build`` (same options as ``covplan data build``)."""
    from layers._errors import CovplanError

    parser = argparse.ArgumentParser(prog="python -m layers.build",
                                     description="rebuild the embedded Lishui dataset")
    _add_build_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_build(args)
    except CovplanError as exc:
        print(f"layers.build: error: {exc}", file=sys.stderr)
        return 2
