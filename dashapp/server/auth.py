"""Logins: Flask-Login sessions, the login page, lock-out, rate limiting, idle expiry.

Everything but ``/login``, ``/healthz`` and ``/readyz`` needs a signed-in user. A session
holds the user's name, the account's ``session_epoch`` (``user passwd``/``user disable``
raise it, ending every session of that user at its next request), the time of its last
request (idle longer than ``COVPLAN_IDLE_MINUTES`` → logged out, 401 for API and Dash
requests) and the CSRF token. The account is read from the store on every request, so a
disabled account is refused by every worker at once.

Wrong passwords: :mod:`dashapp.server.accounts` locks the account after 10 in a row; more
than ``COVPLAN_LOGIN_FAILS_PER_IP`` failures from one address within 15 minutes answer 429
for that address. The password is never logged (the JSON access log has only the path).
"""

from __future__ import annotations

import html
import time
from typing import Any

from flask import Flask, Response, abort, current_app, g, redirect, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from dashapp.server.accounts import FORBIDDEN, Accounts, User
from dashapp.server.roles import ROLE_LABELS_ZH, Actor
from dashapp.server.security import CSRF_FIELD, csrf_token, new_csrf_token

#: paths answered without a login
PUBLIC_PATHS = frozenset({"/login", "/healthz", "/readyz"})
#: window of the per-address login failure count (seconds)
IP_WINDOW_S = 15 * 60


class SessionUser(UserMixin):
    """Flask-Login's view of an account."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = user.name

    @property
    def actor(self) -> Actor:
        return self.user.actor


def accounts() -> Accounts:
    return current_app.extensions["covplan_accounts"]


def current_actor() -> Actor | None:
    """The signed-in actor of this request, or None."""
    if current_user and current_user.is_authenticated:
        return current_user.actor
    return None


def client_ip() -> str:
    return request.remote_addr or ""


def audit_refusal(kind: str, detail: str, *, size: int = 0) -> None:
    """Write a refused request (403, CSRF) to the security audit."""
    actor = current_actor() if _has_login_manager() else None
    try:
        accounts().record(kind, actor.name if actor else None, client_ip(), path=request.path, detail=detail,
                          size=size)
    except Exception:  # the refusal stands even if the audit write fails; the log says so
        current_app.logger.exception("could not write the security audit")


def forbid(detail: str) -> None:
    """Audit a forbidden attempt and answer 403."""
    audit_refusal(FORBIDDEN, detail)
    abort(403, detail)


def _has_login_manager() -> bool:
    return hasattr(current_app, "login_manager")


def _login_page(message: str = "", status: int = 200) -> Response:
    token = csrf_token()
    msg = f'<p class="err" role="alert">{html.escape(message)}</p>' if message else ""
    body = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>登录 · 丽水市设施覆盖规划图</title><meta name="viewport" content="width=device-width">
<style>body{{font-family:sans-serif;max-width:22rem;margin:4rem auto}}label{{display:block;margin:.6rem 0}}
input{{width:100%;padding:.3rem}}.err{{color:#b00}}</style></head><body>
<h1>丽水市设施覆盖规划图</h1><p>请登录 / Please sign in</p>{msg}
<form method="post" action="/login">
<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(token)}">
<label>用户名 / user <input name="username" required maxlength="40" autocomplete="username"></label>
<label>密码 / password <input name="password" type="password" required maxlength="1024" autocomplete="current-password"></label>
<button type="submit">登录 / Sign in</button></form></body></html>"""
    return Response(body, status=status, mimetype="text/html")


def _wants_json() -> bool:
    return request.method != "GET" or request.path.startswith(("/_dash", "/api/"))


def install(server: Flask, accts: Accounts, idle_seconds: float, login_fails_per_ip: int) -> None:
    """Add Flask-Login, the login/logout routes and the per-request session checks."""
    server.extensions["covplan_accounts"] = accts
    manager = LoginManager()
    manager.init_app(server)
    manager.session_protection = "basic"

    @manager.user_loader
    def _load(name: str) -> SessionUser | None:
        user = accts.get(name)
        if user is None or user.disabled or session.get("epoch") != user.session_epoch:
            return None
        return SessionUser(user)

    @manager.unauthorized_handler
    def _unauthorized() -> Any:
        if _wants_json():
            abort(401)
        return redirect("/login")

    @server.before_request
    def _require_login() -> Any:
        g.covplan_user = None
        if request.path in PUBLIC_PATHS:
            return None
        now = time.time()
        seen = session.get("seen")
        if current_user.is_authenticated and isinstance(seen, (int, float)) and now - seen > idle_seconds:
            logout_user()
            session.clear()
            if _wants_json():
                abort(401, "session expired")
            return redirect("/login")
        if not current_user.is_authenticated:
            return manager.unauthorized()
        session["seen"] = now
        g.covplan_user = current_user.user.name
        request.environ["covplan.user"] = current_user.user.name
        return None

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            return _login_page()
        ip = client_ip()
        if accts.count_events("login_failed", ip=ip, since=time.time() - IP_WINDOW_S) >= login_fails_per_ip:
            return _login_page("登录失败次数过多，请稍后再试 / too many failed logins, try later", 429)
        name = (request.form.get("username") or "").strip()
        result = accts.authenticate(name, request.form.get("password") or "", ip)
        if result.user is None:
            text = {"locked": "账户已锁定，请联系管理员 / account locked",
                    "disabled": "账户已停用 / account disabled"}.get(result.reason,
                                                                  "用户名或密码错误 / wrong user name or password")
            return _login_page(text, 401 if result.reason == "bad" else 403)
        session.clear()  # a fresh session: no fixation
        login_user(SessionUser(result.user))
        session["epoch"] = result.user.session_epoch
        session["seen"] = time.time()
        new_csrf_token()
        request.environ["covplan.user"] = result.user.name
        return redirect("/")

    @server.route("/logout", methods=["POST"])
    def logout() -> Any:
        logout_user()
        session.clear()
        return redirect("/login")

    @server.route("/api/me")
    def me() -> Any:
        actor = current_user.actor
        return {"name": actor.name, "role": actor.role, "role_zh": ROLE_LABELS_ZH[actor.role],
                "county": actor.county}
