"""User accounts, password hashes, lock-out and the security audit, kept in the store's database.

Tables (``store/server_schema.py``, created by store migration 100; the same on PostGIS
and on the GeoPackage's SQLite):

* ``app_users`` — name, role, county, argon2 password hash, disabled flag, the count of
  consecutive wrong passwords, ``locked_until`` (epoch seconds) and ``session_epoch``
  (raised by ``passwd``/``disable`` so every existing session of that user ends);
* ``app_security_events`` — login failures, lock-outs, refused (403) requests, uploads:
  who, when, from where, what;
* ``app_server_secret`` — the one signing key every worker shares (created on first start).

Passwords are hashed with argon2id (argon2-cffi's defaults: 64 MiB, 3 passes) and never
stored or logged in clear. Every counter is changed with one ``UPDATE … RETURNING``
statement, so several worker processes count consecutive failures correctly.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dashapp.server.roles import Actor, check_role, check_user_name
from layers._errors import CovplanError

#: consecutive wrong passwords that lock an account
MAX_FAILED_LOGINS: int = 10
#: how long a locked account stays locked (seconds); ``user passwd`` unlocks at once
LOCK_SECONDS: float = 15 * 60
#: shortest password accepted by ``user add`` / ``user passwd``
MIN_PASSWORD_LENGTH: int = 10

from store.server_schema import events, server_secret, users  # noqa: E402 (tables: store migration 100)

#: event kinds
LOGIN_OK, LOGIN_FAILED, LOCKED, FORBIDDEN, UPLOAD, CSRF = "login", "login_failed", "locked", "forbidden", "upload", "csrf"

_HASHER = PasswordHasher()
#: a hash to verify against when the user does not exist, so timing does not tell
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    name: str
    role: str
    county: str | None
    disabled: bool
    failed_logins: int
    locked_until: float
    session_epoch: int

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.role, self.county)

    def locked(self, now: float | None = None) -> bool:
        return self.locked_until > (time.time() if now is None else now)


@dataclass(frozen=True)
class LoginResult:
    """Outcome of :meth:`Accounts.authenticate`: ``user`` on success, else ``reason``."""

    user: User | None
    reason: str  # "ok" | "bad" | "locked" | "disabled"


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise CovplanError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise CovplanError("password: at most 1024 characters")
    return password


def _row_user(row: Any) -> User:
    return User(row.name, row.role, row.county, bool(row.disabled), int(row.failed_logins),
                float(row.locked_until), int(row.session_epoch))


class Accounts:
    """Users and security events in the database behind ``engine``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- schema -------------------------------------------------------------------------------
    def create_schema(self) -> None:
        """Bring the database to the store's current schema (migration 100 makes these tables)."""
        from store.migrations import migrate

        migrate(self.engine)

    # -- users --------------------------------------------------------------------------------
    def get(self, name: str) -> User | None:
        with self.engine.connect() as con:
            row = con.execute(sa.select(users).where(users.c.name == name)).first()
        return _row_user(row) if row is not None else None

    def list(self) -> list[User]:
        with self.engine.connect() as con:
            return [_row_user(r) for r in con.execute(sa.select(users).order_by(users.c.name))]

    def add(self, name: str, role: str, password: str, county: str | None = None) -> User:
        name = check_user_name(name)
        role, county = check_role(role, county)
        digest = _HASHER.hash(check_password(password))
        now = time.time()
        with self.engine.begin() as con:
            if con.execute(sa.select(users.c.name).where(users.c.name == name)).first() is not None:
                raise CovplanError(f"user {name!r} exists (use `covplan user passwd` to change the password)")
            con.execute(users.insert().values(
                name=name, role=role, county=county, password_hash=digest, disabled=False, failed_logins=0,
                locked_until=0.0, session_epoch=0, created_at=now, updated_at=now))
        user = self.get(name)
        assert user is not None
        return user

    def _update(self, name: str, **values: Any) -> User:
        values["updated_at"] = time.time()
        with self.engine.begin() as con:
            n = con.execute(users.update().where(users.c.name == name).values(**values)).rowcount
        if not n:
            raise CovplanError(f"user {name!r}: no such user")
        user = self.get(name)
        assert user is not None
        return user

    def set_password(self, name: str, password: str) -> User:
        """New password; unlocks the account and ends its existing sessions."""
        digest = _HASHER.hash(check_password(password))
        return self._update(name, password_hash=digest, failed_logins=0, locked_until=0.0,
                            session_epoch=users.c.session_epoch + 1)

    def set_disabled(self, name: str, disabled: bool = True) -> User:
        """Disable (or enable) an account; disabling ends its sessions at their next request."""
        return self._update(name, disabled=bool(disabled), session_epoch=users.c.session_epoch + 1)

    # -- logins -------------------------------------------------------------------------------
    def authenticate(self, name: str, password: str, ip: str | None = None) -> LoginResult:
        """Check a password; count failures; lock after :data:`MAX_FAILED_LOGINS` in a row."""
        now = time.time()
        with self.engine.connect() as con:
            row = con.execute(sa.select(users).where(users.c.name == str(name)[:40])).first()
        if row is None:
            try:  # same work as for a real user
                _HASHER.verify(_DUMMY_HASH, password or "-")
            except (VerificationError, InvalidHashError):
                pass
            self.record(LOGIN_FAILED, str(name)[:40], ip, detail="unknown user")
            return LoginResult(None, "bad")
        user = _row_user(row)
        if user.locked(now):
            self.record(LOGIN_FAILED, user.name, ip, detail="account locked")
            return LoginResult(None, "locked")
        try:
            _HASHER.verify(row.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            return self._failed(user, ip, now)
        if user.disabled:
            self.record(LOGIN_FAILED, user.name, ip, detail="account disabled")
            return LoginResult(None, "disabled")
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": 0.0}
        if _HASHER.check_needs_rehash(row.password_hash):
            values["password_hash"] = _HASHER.hash(password)
        with self.engine.begin() as con:
            con.execute(users.update().where(users.c.name == user.name).values(**values))
        self.record(LOGIN_OK, user.name, ip)
        return LoginResult(self.get(user.name), "ok")

    def _failed(self, user: User, ip: str | None, now: float) -> LoginResult:
        with self.engine.begin() as con:
            count = con.execute(
                users.update().where(users.c.name == user.name)
                .values(failed_logins=users.c.failed_logins + 1).returning(users.c.failed_logins)
            ).scalar_one()
            if count >= MAX_FAILED_LOGINS:
                con.execute(users.update().where(users.c.name == user.name)
                            .values(locked_until=now + LOCK_SECONDS, failed_logins=0))
        self.record(LOGIN_FAILED, user.name, ip, detail=f"wrong password ({count} in a row)")
        if count >= MAX_FAILED_LOGINS:
            self.record(LOCKED, user.name, ip, detail=f"{count} wrong passwords: locked for {LOCK_SECONDS:.0f} s")
            return LoginResult(None, "locked")
        return LoginResult(None, "bad")

    # -- security events ----------------------------------------------------------------------
    def record(self, kind: str, user_name: str | None, ip: str | None = None, *, path: str | None = None,
               detail: str | None = None, size: int = 0) -> None:
        with self.engine.begin() as con:
            con.execute(events.insert().values(
                at=time.time(), kind=kind, user_name=user_name, ip=(ip or "")[:64] or None,
                path=(path or "")[:200] or None, detail=(detail or "")[:2000] or None, size=int(size)))

    def count_events(self, kind: str, *, user_name: str | None = None, ip: str | None = None,
                     since: float = 0.0) -> int:
        q = sa.select(sa.func.count()).select_from(events).where(events.c.kind == kind, events.c.at >= since)
        if user_name is not None:
            q = q.where(events.c.user_name == user_name)
        if ip is not None:
            q = q.where(events.c.ip == ip)
        with self.engine.connect() as con:
            return int(con.execute(q).scalar_one())

    def sum_event_size(self, kind: str, user_name: str, since: float) -> int:
        q = sa.select(sa.func.coalesce(sa.func.sum(events.c.size), 0)).where(
            events.c.kind == kind, events.c.user_name == user_name, events.c.at >= since)
        with self.engine.connect() as con:
            return int(con.execute(q).scalar_one())

    def recent_events(self, kind: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        q = sa.select(events).order_by(events.c.id.desc()).limit(limit)
        if kind is not None:
            q = q.where(events.c.kind == kind)
        with self.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(q)]

    # -- the shared signing key ---------------------------------------------------------------
    def signing_secret(self) -> str:
        """The key that signs session cookies, the same in every worker; created once."""
        with self.engine.begin() as con:
            row = con.execute(sa.select(server_secret.c.secret).where(server_secret.c.id == 1)).first()
            if row is not None:
                return str(row.secret)
        try:
            with self.engine.begin() as con:
                con.execute(server_secret.insert().values(id=1, secret=secrets.token_hex(32)))
        except sa.exc.IntegrityError:
            pass  # another worker created it first
        with self.engine.connect() as con:
            return str(con.execute(sa.select(server_secret.c.secret).where(server_secret.c.id == 1)).scalar_one())
