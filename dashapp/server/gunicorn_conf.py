"""gunicorn settings of ``covplan serve`` and its JSON access log.

Each access-log line is one JSON object: time, worker pid, client address, the signed-in
user's name (``-`` before login), method, path (never the query string or body, so no
password or token can reach the log), status, bytes and duration in ms.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from typing import Any

from gunicorn.glogging import Logger


class JsonAccessLogger(Logger):
    """gunicorn's logger with JSON access lines."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict or self.cfg.syslog):
            return
        record = {
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
            "pid": os.getpid(),
            "remote": environ.get("REMOTE_ADDR", "-"),
            "user": environ.get("covplan.user") or "-",
            "method": environ.get("REQUEST_METHOD", "-"),
            "path": (environ.get("PATH_INFO") or "-")[:200],
            "status": getattr(resp, "status_code", None) or str(getattr(resp, "status", "-")).split(" ")[0],
            "bytes": getattr(resp, "sent", None),
            "ms": round(request_time.total_seconds() * 1000, 1),
        }
        try:
            self.access_log.info(json.dumps(record, ensure_ascii=False))
        except Exception:  # never let logging break a response
            self.exception("could not write the access log")


def options(bind: str, workers: int, threads: int, timeout: int, access_log: str) -> dict[str, Any]:
    """The gunicorn configuration ``covplan serve`` runs with."""
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "graceful_timeout": 20,
        # idle keep-alive connections are closed by the client side first (nginx: 60 s, below):
        # a server closing one just as a POST is sent on it fails that POST, never retried
        "keepalive": 75,
        "preload_app": False,  # each worker builds its own app, engine and caches
        "accesslog": access_log,
        "errorlog": "-",
        "loglevel": "info",
        "logger_class": JsonAccessLogger,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "proc_name": "covplan-serve",
        "control_socket_disable": True,  # no admin socket in the home folder
        "forwarded_allow_ips": "127.0.0.1,::1",
    }
