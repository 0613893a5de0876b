"""Tables of the city server (``covplan serve``, issue #13), kept in the store's database.

Created by store migration 100 (:mod:`store.migrations`), so every store — PostGIS or
GeoPackage — knows them whether or not the server code is loaded. Plain SQLAlchemy types,
the same on both backends; none is a GeoPackage layer (they hold no geometry, and the
password hashes are no business of a GIS client). The server's code that reads and writes
them is ``dashapp/server/accounts.py`` and ``dashapp/server/user_scenarios.py``.

* ``app_users`` — name, role, county, argon2 password hash, disabled, consecutive wrong
  passwords, ``locked_until`` (epoch s), ``session_epoch`` (raised to end every session);
* ``app_security_events`` — logins, failures, lock-outs, refused (403/CSRF) requests, uploads;
* ``app_server_secret`` — the session-signing key every worker shares;
* ``app_user_scenarios`` — saved scenarios per (owner, name), TOML text, ``shared`` flag.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "app_users", metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("county", sa.String(6), nullable=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.Float, nullable=False, default=0.0),
    sa.Column("session_epoch", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

events = sa.Table(
    "app_security_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False, index=True),
    sa.Column("user_name", sa.String(40), nullable=True, index=True),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("path", sa.String(200), nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("size", sa.Integer, nullable=False, default=0),
)

server_secret = sa.Table(
    "app_server_secret", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("secret", sa.String(128), nullable=False),
)

user_scenarios = sa.Table(
    "app_user_scenarios", metadata,
    sa.Column("owner", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("toml", sa.Text, nullable=False),
    sa.Column("n_edits", sa.Integer, nullable=False, default=0),
    sa.Column("shared", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

#: in creation order
TABLES: tuple[sa.Table, ...] = (users, events, server_secret, user_scenarios)
