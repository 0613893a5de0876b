"""Settings of the city server, read from ``COVPLAN_*`` environment variables.

``covplan serve`` writes them into the environment before gunicorn forks its workers,
so every worker builds the same :class:`ServerSettings` with :meth:`ServerSettings.from_env`.

=============================== ========================================================
variable                         meaning (default)
=============================== ========================================================
``COVPLAN_STORE``                the store's database URL (required)
``COVPLAN_ALLOWED_HOSTS``        comma-separated Host names answered (``127.0.0.1,localhost``)
``COVPLAN_PROXY_HOPS``           proxies in front whose ``X-Forwarded-*`` are trusted (0)
``COVPLAN_SECURE_COOKIES``       ``1``: cookies always ``Secure``; else only on HTTPS requests
``COVPLAN_IDLE_MINUTES``         a session idle this long must log in again (30)
``COVPLAN_MAX_REQUEST_MB``       largest request body, uploads included (8)
``COVPLAN_UPLOADS_PER_DAY``      uploads one user may send in 24 h (50)
``COVPLAN_UPLOAD_MB_PER_DAY``    upload volume one user may send in 24 h (100)
``COVPLAN_LOGIN_FAILS_PER_IP``   wrong logins from one address in 15 min before 429 (50)
``COVPLAN_DATA``                 dataset folder (the embedded data when unset)
=============================== ========================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from layers._errors import CovplanError

DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost")


def _int(env: dict[str, str], key: str, default: int, low: int = 0) -> int:
    raw = env.get(key, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CovplanError(f"{key}={raw!r}: not a whole number") from None
    if value < low:
        raise CovplanError(f"{key}={raw!r}: must be at least {low}")
    return value


def _float(env: dict[str, str], key: str, default: float) -> float:
    raw = env.get(key, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise CovplanError(f"{key}={raw!r}: not a number") from None
    if not value > 0:
        raise CovplanError(f"{key}={raw!r}: must be positive")
    return value


@dataclass(frozen=True)
class ServerSettings:
    store_url: str
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    proxy_hops: int = 0
    secure_cookies: bool = False
    idle_seconds: float = 30 * 60
    max_request_bytes: int = 8 * 1024 * 1024
    uploads_per_day: int = 50
    upload_bytes_per_day: int = 100 * 1024 * 1024
    login_fails_per_ip: int = 50
    data_dir: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "ServerSettings":
        env = dict(os.environ if env is None else env)
        url = env.get("COVPLAN_STORE", "").strip()
        if not url:
            raise CovplanError("COVPLAN_STORE: the server needs the store's database URL (covplan serve --store URL)")
        hosts = tuple(h.strip().lower() for h in env.get("COVPLAN_ALLOWED_HOSTS", "").split(",") if h.strip())
        return cls(
            store_url=url,
            allowed_hosts=hosts or DEFAULT_ALLOWED_HOSTS,
            proxy_hops=_int(env, "COVPLAN_PROXY_HOPS", 0),
            secure_cookies=env.get("COVPLAN_SECURE_COOKIES", "") == "1",
            idle_seconds=_float(env, "COVPLAN_IDLE_MINUTES", 30.0) * 60,
            max_request_bytes=int(_float(env, "COVPLAN_MAX_REQUEST_MB", 8.0) * 1024 * 1024),
            uploads_per_day=_int(env, "COVPLAN_UPLOADS_PER_DAY", 50),
            upload_bytes_per_day=int(_float(env, "COVPLAN_UPLOAD_MB_PER_DAY", 100.0) * 1024 * 1024),
            login_fails_per_ip=_int(env, "COVPLAN_LOGIN_FAILS_PER_IP", 50, low=1),
            data_dir=env.get("COVPLAN_DATA") or None,
        )
