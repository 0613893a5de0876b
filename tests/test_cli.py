"""The ``covplan`` dispatcher: every command group is registered; errors are one line."""

from __future__ import annotations

import pytest

from covplan.cli import build_parser, main

COMMANDS = {"data", "info", "import", "evaluate", "gaps", "report", "access", "scenario", "site", "app", "serve",
            "user", "submit", "export", "store", "atlas"}
COMMANDS |= {"network", "fca"}  # covplan/cmd_network.py, cmd_fca.py (issue 15)


def test_every_command_group_is_registered() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == COMMANDS


def test_project_error_is_one_line_and_exit_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    code = main(["--data", str(missing), "info"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("covplan: error: ")
    assert str(missing) in err
    assert "Traceback" not in err
