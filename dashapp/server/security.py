"""Web security around the Flask server: Host allow-list, CSRF, headers, cookies, errors.

* **Host allow-list**: a request whose ``Host`` (port stripped) is not in
  ``ServerSettings.allowed_hosts`` gets 400 before anything else runs.
* **CSRF**: every POST/PUT/PATCH/DELETE must carry the session's token, either in the
  ``X-CSRF-Token`` header (Dash's callbacks: ``assets/covplan_server.js`` copies it from the
  readable ``covplan_csrf`` cookie into each same-origin POST — the double-submit pattern)
  or in the form field ``csrf_token`` (the login form). The token lives in the signed
  session, so a cookie planted by another site cannot match it.
* **Cookies**: the session cookie is HttpOnly and SameSite=Lax; both cookies are ``Secure``
  whenever the request came over HTTPS (``X-Forwarded-Proto`` from a trusted proxy, see
  ``COVPLAN_PROXY_HOPS``) or ``COVPLAN_SECURE_COOKIES=1``.
* **Headers** on every response: a Content-Security-Policy Dash runs under (scripts from
  this server plus the hashes of Dash's own inline scripts, no ``eval``), nosniff,
  ``X-Frame-Options: DENY`` with ``frame-ancestors 'none'``, ``Referrer-Policy: same-origin``.
* **Errors**: 4xx/5xx bodies are one short line; no traceback or debug page ever.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any, Callable

from flask import Flask, Response, abort, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from dashapp.server.config import ServerSettings

CSRF_COOKIE = "covplan_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: tile hosts of the optional basemaps (天地图, 高德); images only
TILE_HOSTS = ("https://*.tianditu.gov.cn", "https://*.is.autonavi.com")

log = logging.getLogger("covplan.server")


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, ``Secure`` whenever the request is HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:  # type: ignore[override]
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def content_security_policy(script_hashes: list[str]) -> str:
    parts = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],  # Dash components set inline styles
        "img-src": ["'self'", "data:", "blob:", *TILE_HOSTS],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{k} {' '.join(v)}" for k, v in parts.items())


def new_csrf_token() -> str:
    token = secrets.token_urlsafe(32)
    session["csrf"] = token
    return token


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get("csrf")
    return token if isinstance(token, str) and token else new_csrf_token()


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    host = (host or "").strip().lower()
    if host.startswith("["):  # [::1]:8000
        name = host[1:].split("]", 1)[0]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return bool(name) and name in allowed


def install(server: Flask, settings: ServerSettings, script_hashes: Callable[[], list[str]],
            audit: Callable[[str, str], None]) -> None:
    """Add the checks, headers and cookie settings to ``server`` (the Dash app's Flask).

    ``script_hashes`` gives the CSP hashes of Dash's inline scripts; it is called once, at
    the first response (after Dash has registered everything). ``audit(kind, detail)``
    records a refused request in the security audit.
    """
    if settings.proxy_hops:
        n = settings.proxy_hops
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]
    server.session_interface = _SessionInterface()
    server.config.update(
        DEBUG=False,
        PROPAGATE_EXCEPTIONS=False,
        TRAP_HTTP_EXCEPTIONS=False,
        SESSION_COOKIE_NAME="covplan_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_request_bytes,
    )
    csp: list[str] = []

    @server.before_request
    def _check_host_and_csrf() -> Any:
        if not _host_allowed(request.host, settings.allowed_hosts):
            abort(400, "host not allowed")
        if request.method in UNSAFE_METHODS:
            expected = session.get("csrf")
            sent = request.headers.get(CSRF_HEADER) or (
                request.form.get(CSRF_FIELD) if request.mimetype == "application/x-www-form-urlencoded" else None)
            if not (isinstance(expected, str) and expected and isinstance(sent, str)
                    and hmac.compare_digest(expected.encode(), sent.encode())):
                audit("csrf", "missing or wrong CSRF token")
                abort(403, "CSRF token missing or wrong")
        return None

    @server.after_request
    def _headers(resp: Response) -> Response:
        h = resp.headers
        if not csp:
            csp.append(content_security_policy(script_hashes()))
        h["Content-Security-Policy"] = csp[0]
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Referrer-Policy"] = "same-origin"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.is_secure:
            h["Strict-Transport-Security"] = "max-age=31536000"
        if not request.path.startswith(("/assets/", "/_dash-component-suites/")):
            h["Cache-Control"] = "no-store"
        token = session.get("csrf")
        if isinstance(token, str) and request.cookies.get(CSRF_COOKIE) != token:
            resp.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="Strict", path="/",
                            secure=settings.secure_cookies or request.is_secure)
        return resp

    @server.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        text = {400: "bad request", 401: "login required", 403: "forbidden", 404: "not found",
                405: "method not allowed", 413: "request too large", 429: "too many requests"}.get(code, "error")
        return Response(f"{code} {text}\n", status=code, mimetype="text/plain")

    @server.errorhandler(Exception)
    def _server_error(exc: Exception) -> Response:
        log.error("unhandled error on %s %s: %s", request.method, request.path, type(exc).__name__,
                  exc_info=exc)
        return Response("500 server error\n", status=500, mimetype="text/plain")
