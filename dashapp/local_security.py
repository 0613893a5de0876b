"""Security headers and a loopback-only Host check for the single-user ``covplan app`` (#14).

``covplan app`` serves one planner on this machine. A web page the planner opens elsewhere
could still reach it through DNS rebinding (a hostile name that resolves to 127.0.0.1), so
every request whose ``Host`` is not a loopback name (``localhost``, ``127.x.x.x``, ``::1``)
gets 400 before Dash sees it. When the planner binds another address on purpose
(``--host 0.0.0.0``), IP literals and that host name are accepted as well (a rebinding
attack needs a DNS name). Every response carries the headers of :data:`HEADERS` and the
Content-Security-Policy of the city server (:func:`dashapp.server.security.content_security_policy`,
scripts from this server plus the hashes of Dash's own inline scripts, no ``eval``).

The multi-user city server (``dashapp/server``) has its own, stricter ``security.install``
(configurable allow-list, CSRF, cookies); :func:`is_loopback_host` and :data:`HEADERS` are
the pieces both can share.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Flask, Response, request

from layers.settings import MAX_UPLOAD_BYTES

__all__ = ["HEADERS", "MAX_REQUEST_BYTES", "activate_local", "deactivate_local", "host_name", "install_local", "is_loopback_host"]

#: headers on every response of ``covplan app`` (the CSP is added per app, with Dash's hashes)
HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
#: largest request body: an upload at the cap, base64-encoded, with room for the Stores
MAX_REQUEST_BYTES: int = MAX_UPLOAD_BYTES * 2


def host_name(host: str) -> str:
    """The name part of a Host header: ``127.0.0.1:8050`` → ``127.0.0.1``, ``[::1]:80`` → ``::1``."""
    host = (host or "").strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.rstrip(".")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    """Whether a Host header names this machine's loopback interface."""
    name = host_name(host)
    ip = _ip(name)
    return name == "localhost" or (ip is not None and ip.is_loopback)


def _allowed(host: str, bind_host: str) -> bool:
    if is_loopback_host(host):
        return True
    if is_loopback_host(bind_host):
        return False
    name = host_name(host)
    return _ip(name) is not None or name == host_name(bind_host)


def install_local(server: Flask, dash_app: Any = None) -> None:
    """Register the Host check and the headers on ``server`` (Dash's Flask), switched off.

    Called by :func:`dashapp.app.create_app` (hooks must exist before the first request);
    they act only once :func:`activate_local` has run, so the city server (which installs its
    own ``dashapp.server.security``) is unaffected.

    Parameters
    ----------
    dash_app : Dash, optional
        Gives the hashes of Dash's inline scripts for the CSP (``dash_app.csp_hashes()``);
        without it no CSP is set.
    """
    if server.extensions.get("covplan_local_security"):
        return
    server.extensions["covplan_local_security"] = True
    csp: list[str] = []

    @server.before_request
    def _check_host() -> Any:
        bind = server.config.get("COVPLAN_LOCAL_BIND_HOST")
        if bind is not None and not _allowed(request.host, bind):
            return Response("400 bad request: host not allowed\n", status=400, mimetype="text/plain")
        return None

    @server.after_request
    def _headers(resp: Response) -> Response:
        if server.config.get("COVPLAN_LOCAL_BIND_HOST") is None:
            return resp
        for key, value in HEADERS.items():
            resp.headers.setdefault(key, value)
        if dash_app is not None:
            if not csp:
                from dashapp.server.security import content_security_policy

                csp.append(content_security_policy(list(dash_app.csp_hashes())))
            resp.headers.setdefault("Content-Security-Policy", csp[0])
        return resp


def activate_local(server: Flask, bind_host: str = "127.0.0.1") -> None:
    """Switch the checks on for ``covplan app`` bound to ``bind_host`` (``--host``)."""
    server.config.update(DEBUG=False, MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES, COVPLAN_LOCAL_BIND_HOST=bind_host)


def deactivate_local(server: Flask) -> None:
    """Switch the checks off again (after ``covplan app`` stops)."""
    server.config["COVPLAN_LOCAL_BIND_HOST"] = None
