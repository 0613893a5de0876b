"""The ``covplan`` command line.

Each command group lives in its own module of this package and exposes
``register(subparsers)``; every sub-command sets ``func(args) -> int``.
Errors that are :class:`layers._errors.CovplanError` become a one-line message and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from layers._errors import CovplanError

#: command modules, in the order their commands appear in ``--help``
COMMAND_MODULES: tuple[str, ...] = (
    "covplan.cmd_data",
    "covplan.cmd_layers",
    "covplan.cmd_evaluate",
    "covplan.cmd_access",
    "covplan.cmd_network",
    "covplan.cmd_fca",
    "covplan.cmd_scenario",
    "covplan.cmd_site",
    "covplan.cmd_app",
    "covplan.cmd_serve",
    "covplan.cmd_user",
    "covplan.cmd_store",
    "covplan.cmd_atlas",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="covplan",
        description="丽水市妇女儿童发展规划 设施覆盖规划工具 / Lishui service-coverage planner",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="dataset folder with a manifest.toml (default: the embedded Lishui dataset)",
    )
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="facility store: a .gpkg file or postgresql://… (default: $COVPLAN_STORE, else "
             "DIR/inventory.gpkg when it exists, else the facility files)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except CovplanError as exc:
        msg = str(exc).strip().splitlines()
        print(f"covplan: error: {msg[0] if msg else type(exc).__name__}", file=sys.stderr)
        for line in msg[1:]:
            print(f"  {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`covplan evaluate | head`): stop quietly, as Unix tools do
        _silence_stdout()
        return 141


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (tests)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
