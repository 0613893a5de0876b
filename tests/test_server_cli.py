"""`covplan serve` settings and `covplan user` on a store (no server started here)."""

from __future__ import annotations

import io

import pytest

from covplan.cli import build_parser, main
from covplan.cmd_serve import settings_env
from dashapp.server.config import ServerSettings
from layers._errors import CovplanError


def _args(*argv: str):
    return build_parser().parse_args(["serve", *argv])


def test_serve_defaults_to_loopback_and_needs_a_store(monkeypatch):
    monkeypatch.delenv("COVPLAN_STORE", raising=False)
    args = build_parser().parse_args(["serve"])
    assert args.bind == "127.0.0.1:8000" and args.workers == 3
    with pytest.raises(CovplanError, match="--store"):
        settings_env(args)


def test_serve_settings_reach_the_workers_environment():
    env = settings_env(_args("--store", "postgresql://u@/db", "--bind", "10.1.2.3:8000", "--proxy-hops", "1",
                             "--idle-minutes", "5", "--secure-cookies"))
    assert env["COVPLAN_ALLOWED_HOSTS"] == "127.0.0.1,localhost,10.1.2.3"
    s = ServerSettings.from_env(env)
    assert (s.proxy_hops, s.idle_seconds, s.secure_cookies) == (1, 300.0, True)
    assert s.allowed_hosts == ("127.0.0.1", "localhost", "10.1.2.3")
    env = settings_env(_args("--store", "x.gpkg", "--allowed-host", "planner.lishui.example"))
    assert env["COVPLAN_ALLOWED_HOSTS"] == "planner.lishui.example"
    with pytest.raises(CovplanError, match="--workers"):
        settings_env(_args("--store", "x.gpkg", "--workers", "0"))
    with pytest.raises(CovplanError, match="COVPLAN_IDLE_MINUTES"):
        ServerSettings.from_env({"COVPLAN_STORE": "x", "COVPLAN_IDLE_MINUTES": "soon"})


def test_user_commands_on_a_geopackage_store(tmp_path, monkeypatch, capsys):
    store = str(tmp_path / "inventory.gpkg")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password 1\n"))
    assert main(["user", "--store", store, "add", "jn", "--role", "county-editor", "--county", "331127",
                 "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "--store", store, "passwd", "jn", "--password-stdin"]) == 2
    assert "at least 10" in capsys.readouterr().err
    assert main(["user", "--store", store, "disable", "jn"]) == 0
    capsys.readouterr()
    assert main(["user", "--store", store, "list"]) == 0
    assert capsys.readouterr().out == "jn\tcounty-editor\t县级填报员\t331127\tdisabled\n"
    assert main(["user", "--store", store, "add", "x1", "--role", "viewer", "--county", "331127",
                 "--password-stdin"]) == 2
