"""The WSGI application of the city server: the Dash app wrapped with logins and checks.

gunicorn calls the factory ``dashapp.server.wsgi:create_server()`` in every worker (``covplan serve``
sets the ``COVPLAN_*`` settings in the environment first). Each worker builds its own Dash
app, its own database engine and its own caches; they share nothing but the store.

The app's facilities come from the store (``--store URL``), read through
:class:`dashapp.server.store_service.StoreAppService` at the store's current revision.
Endpoints added to the Dash app: ``/login`` (GET form, POST), ``/logout`` (POST),
``/api/me``, ``/api/facilities/<id>`` (GET, POST: :mod:`dashapp.server.facilities_api`),
``/api/scenarios`` and ``/api/scenarios/<name>/share`` (:mod:`dashapp.server.user_scenarios`),
``/healthz`` (the process answers) and ``/readyz`` (the store answers and the dataset is
loaded: 200, else 503).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, has_request_context

from dashapp.server import auth, guard, security, write_guard
from dashapp.server.accounts import FORBIDDEN, Accounts
from dashapp.server.roles import AccessDenied, Actor
from dashapp.server.config import ServerSettings

log = logging.getLogger("covplan.server")


def _actor_of_request() -> Actor | None:
    return auth.current_actor() if has_request_context() else None


def county_lookup(st: Any):
    """``facility_id → county code`` of its latest record in the store (None if unknown)."""
    def county_of(fid: str) -> str | None:
        recs = st.records(facility_id=fid)
        if recs.empty:
            return None
        return str(recs.sort_values(["valid_from", "version"]).iloc[-1]["county_code"])
    return county_of


def create_server(settings: ServerSettings | None = None) -> Flask:
    """Build the Dash app and wrap its Flask server for many users (once per process)."""
    settings = settings or ServerSettings.from_env()
    from dashapp import service
    from dashapp.app import create_app
    from dashapp.saved_scenarios import set_repository
    from dashapp.server import facilities_api
    from dashapp.server.store_service import StoreAppService
    from dashapp.server import user_scenarios
    from dashapp.server.user_scenarios import UserScenarios
    from store import FacilityStore

    data = settings.data_dir
    st = FacilityStore(settings.store_url, data)  # migrated by `covplan serve` before the workers start
    engine = st.engine
    accounts = Accounts(engine)
    targets = Path(data) / "targets" if data and (Path(data) / "targets").is_dir() else None
    dash_app = create_app(data, targets)
    service.install(StoreAppService(st, Path(data) if data else None, targets))
    scenarios_repo = UserScenarios(engine)
    set_repository(scenarios_repo)
    server = dash_app.server
    server.secret_key = os.environ.get("COVPLAN_SECRET_KEY") or accounts.signing_secret()
    security.install(server, settings, dash_app.csp_hashes, auth.audit_refusal)
    auth.install(server, accounts, settings.idle_seconds, settings.login_fails_per_ip)
    guard.install(server, dash_app, settings, county_lookup(st))
    write_guard.install(_actor_of_request)

    @server.errorhandler(AccessDenied)
    def _denied(exc: AccessDenied) -> Any:
        actor = auth.current_actor()
        auth.audit_refusal(FORBIDDEN, str(exc))
        try:
            st.write_audit(user=actor.name if actor else "?", action="write", outcome="forbidden",
                           reason=str(exc)[:500])
        except Exception:  # the refusal stands; the security event is written
            log.exception("could not write the refusal to the store's audit log")
        return Response("403 forbidden\n", status=403, mimetype="text/plain")
    facilities_api.install(server, st)
    user_scenarios.install(server, scenarios_repo)

    @server.route("/healthz")
    def healthz() -> Any:
        return {"status": "ok", "pid": os.getpid()}

    @server.route("/readyz")
    def readyz() -> Any:
        try:
            with engine.connect() as con:
                con.execute(sa.text("SELECT 1"))
            from dashapp.service import get_service

            revision = get_service().ds.revision  # the store's dataset at its current revision
        except Exception as exc:  # not ready: say so without details
            log.warning("readyz: not ready: %s", type(exc).__name__)
            return {"status": "not ready"}, 503
        return {"status": "ready", "pid": os.getpid(), "revision": revision}

    return server
