"""``covplan serve``: the city server (gunicorn, several workers, logins, county rights).

``covplan app`` stays the single-user planner with no login. ``serve`` runs the same Dash
app under gunicorn with ``--workers`` processes (each with ``--threads`` threads), the
store chosen by ``--store URL`` (or ``COVPLAN_STORE``), bound to 127.0.0.1 unless
``--bind`` says otherwise. Put the nginx TLS front end (``deploy/nginx/covplan.conf``) in
front of it for the intranet, with ``--proxy-hops 1``. Settings the workers read are
passed through ``COVPLAN_*`` environment variables (see ``dashapp/server/config.py``).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from layers._errors import CovplanError

DEFAULT_BIND = "127.0.0.1:8000"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the city server with logins (gunicorn) / 启动市级多用户服务",
        description="Serve the planner to many users: gunicorn workers, logins, roles, county rights.",
    )
    p.add_argument("--store", default=os.environ.get("COVPLAN_STORE"), metavar="URL",
                   help="the store's database URL, e.g. postgresql+psycopg://covplan@/covplan (or COVPLAN_STORE)")
    p.add_argument("--bind", default=DEFAULT_BIND, help=f"address:port to listen on (default {DEFAULT_BIND})")
    p.add_argument("--workers", type=int, default=3, help="worker processes (default 3)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    p.add_argument("--timeout", type=int, default=120, help="seconds before a silent worker is restarted")
    p.add_argument("--allowed-host", action="append", default=None, metavar="NAME",
                   help="Host name the server answers to (repeatable; default 127.0.0.1 and localhost)")
    p.add_argument("--proxy-hops", type=int, default=0,
                   help="trusted proxies in front (1 behind the nginx front end); trusts their X-Forwarded-*")
    p.add_argument("--secure-cookies", action="store_true", help="always mark cookies Secure (HTTPS only)")
    p.add_argument("--idle-minutes", type=float, default=None, help="idle session expiry (default 30)")
    p.add_argument("--access-log", default="-", metavar="FILE", help="JSON access log file ('-' = stdout)")
    p.set_defaults(func=run)


def settings_env(args: argparse.Namespace) -> dict[str, str]:
    """The ``COVPLAN_*`` variables the workers read (see ``ServerSettings.from_env``)."""
    if not args.store:
        raise CovplanError("covplan serve: --store URL (or COVPLAN_STORE) is required")
    if not 1 <= args.workers <= 64:
        raise CovplanError(f"--workers {args.workers}: use 1-64")
    if not 1 <= args.threads <= 64:
        raise CovplanError(f"--threads {args.threads}: use 1-64")
    env = {"COVPLAN_STORE": args.store, "COVPLAN_PROXY_HOPS": str(max(0, args.proxy_hops))}
    hosts = list(args.allowed_host or [])
    host = args.bind.rsplit(":", 1)[0].strip("[]")
    if not hosts:
        hosts = ["127.0.0.1", "localhost"] + ([host] if host not in ("", "0.0.0.0", "::") else [])
    env["COVPLAN_ALLOWED_HOSTS"] = ",".join(dict.fromkeys(hosts))
    if args.secure_cookies:
        env["COVPLAN_SECURE_COOKIES"] = "1"
    if args.idle_minutes is not None:
        env["COVPLAN_IDLE_MINUTES"] = str(args.idle_minutes)
    if getattr(args, "data", None) is not None:
        env["COVPLAN_DATA"] = str(args.data)
    return env


def run(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from dashapp.server.config import ServerSettings
    from dashapp.server.gunicorn_conf import options

    env = settings_env(args)
    os.environ.update(env)
    settings = ServerSettings.from_env()  # a bad setting fails here, not in every worker
    from store import open_store
    from store.engine import resolve_url

    # migrate (and seed an empty store from the dataset's files) once, before the workers start
    env["COVPLAN_STORE"] = os.environ["COVPLAN_STORE"] = resolve_url(settings.store_url, settings.data_dir)
    open_store(os.environ["COVPLAN_STORE"], settings.data_dir).engine.dispose()
    opts = options(args.bind, args.workers, args.threads, args.timeout, args.access_log)

    class _App(BaseApplication):
        def load_config(self) -> None:
            for key, value in opts.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from dashapp.server.wsgi import create_server

            return create_server()

    print(f"covplan serve: http://{args.bind}/  ({args.workers} workers × {args.threads} threads)", flush=True)
    _App().run()
    return 0
