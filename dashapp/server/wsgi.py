"""The WSGI application of the city server: the Dash app wrapped with logins and checks.

gunicorn calls the factory ``dashapp.server.wsgi:create_server()`` in every worker (``covplan serve``
sets the ``COVPLAN_*`` settings in the environment first). Each worker builds its own Dash
app, its own database engine and its own caches; they share nothing but the store.

Endpoints added to the Dash app: ``/login`` (GET form, POST), ``/logout`` (POST),
``/api/me``, ``/healthz`` (the process answers) and ``/readyz`` (the store answers and the
dataset is loaded: 200, else 503).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from dashapp.server import auth, guard, security
from dashapp.server.accounts import Accounts
from dashapp.server.config import ServerSettings

log = logging.getLogger("covplan.server")


def make_engine(url: str) -> sa.Engine:
    """An engine for the store's database; a connection is checked before each use."""
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5) if url.startswith(
        "postgresql") else sa.create_engine(url)


def _county_of_from_dataset(fid: str) -> str | None:
    from dashapp.service import get_service

    fac = get_service().ds.facilities
    rows = fac.loc[fac["facility_id"] == fid, "county_code"]
    return str(rows.iloc[0]) if len(rows) else None


def create_server(settings: ServerSettings | None = None) -> Flask:
    """Build the Dash app and wrap its Flask server for many users (once per process)."""
    settings = settings or ServerSettings.from_env()
    from dashapp.app import create_app
    from dashapp.saved_scenarios import set_repository
    from dashapp.server.user_scenarios import UserScenarios

    engine = make_engine(settings.store_url)
    accounts = Accounts(engine)
    accounts.create_schema()
    data = settings.data_dir
    targets = Path(data) / "targets" if data and (Path(data) / "targets").is_dir() else None
    dash_app = create_app(data, targets)
    set_repository(UserScenarios(engine))
    server = dash_app.server
    server.secret_key = os.environ.get("COVPLAN_SECRET_KEY") or accounts.signing_secret()
    security.install(server, settings, dash_app.csp_hashes, auth.audit_refusal)
    auth.install(server, accounts, settings.idle_seconds, settings.login_fails_per_ip)
    guard.install(server, dash_app, settings, _county_of_from_dataset)

    @server.route("/healthz")
    def healthz() -> Any:
        return {"status": "ok", "pid": os.getpid()}

    @server.route("/readyz")
    def readyz() -> Any:
        try:
            with engine.connect() as con:
                con.execute(sa.text("SELECT 1"))
            from dashapp.service import get_service

            get_service().ds  # noqa: B018 - loads (cached) the dataset
        except Exception as exc:  # not ready: say so without details
            log.warning("readyz: not ready: %s", type(exc).__name__)
            return {"status": "not ready"}, 503
        return {"status": "ready", "pid": os.getpid()}

    return server
