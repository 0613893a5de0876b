"""Versioned schema migrations: a ``schema_migrations`` table and an ordered list of steps.

Each :class:`Migration` has a ``version`` (int, unique, applied in ascending order), a
``name`` and an ``upgrade(conn, tables)`` function that runs inside one transaction together
with the row it adds to ``schema_migrations``. :func:`migrate` applies every pending step
when a store is opened; a store newer than this code (an unknown version in the table) is
refused rather than guessed at.

Why not Alembic: the store must migrate a GeoPackage in place when the CLI or the app opens
it, with no ``alembic.ini`` or script folder beside a user's file, and a GeoPackage table is
only a layer once it is registered in ``gpkg_contents``/``gpkg_geometry_columns`` — which
Alembic's operations do not know about. The steps here are plain SQLAlchemy Core
(``Table.create``, ``insert``), the same on SQLite and PostgreSQL.

Numbering: versions 1–99 belong to the facility store (``store/``), 100–199 to the city
server (accounts and roles, issue #13). Register a step with :func:`register`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Connection, Engine

import store.gpkg as gpkg
from store._errors import StoreError
from store.schema import Tables, tables_for


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    upgrade: Callable[[Connection, Tables], None]


MIGRATIONS: dict[int, Migration] = {}


def register(version: int, name: str):
    """Decorator adding ``fn(conn, tables)`` as migration ``version``."""
    def deco(fn):
        if version in MIGRATIONS:
            raise RuntimeError(f"migration {version} registered twice")
        MIGRATIONS[version] = Migration(version, name, fn)
        return fn
    return deco


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@register(1, "facility records, batches, audit, inventory years")
def _initial(conn: Connection, t: Tables) -> None:
    now = now_iso()
    if t.dialect == "sqlite":
        gpkg.init_core(conn, now)
    elif t.dialect == "postgresql":
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    for table in (t.facilities, t.batches, t.audit, t.inventory_years, t.store_meta):
        table.create(conn)
    if t.dialect == "sqlite":
        gpkg.register_features(conn, "facilities", "geom", now,
                               "设施记录（含历史版本）/ facility records with valid_from/valid_to years")
        gpkg.register_attributes(conn, "batches", now, "批次 / submission and edit batches")
        gpkg.register_attributes(conn, "audit", now, "修改记录 / audit log")
        gpkg.register_attributes(conn, "inventory_years", now, "台账年度 / inventory years")
    conn.execute(insert(t.store_meta), [{"key": "revision", "value": "0"},
                                        {"key": "created_at", "value": now}])


def applied_versions(conn: Connection, t: Tables) -> set[int]:
    if not inspect(conn).has_table("schema_migrations"):
        return set()
    return {int(v) for v in conn.execute(select(t.schema_migrations.c.version)).scalars()}


def migrate(engine: Engine) -> list[int]:
    """Apply every pending migration; return the versions applied now."""
    t = tables_for(engine.dialect.name)
    done: list[int] = []
    with engine.begin() as conn:
        if not inspect(conn).has_table("schema_migrations"):
            t.schema_migrations.create(conn)
        have = applied_versions(conn, t)
    unknown = sorted(have - set(MIGRATIONS))
    if unknown:
        raise StoreError(f"store schema has migrations {unknown} this version of covplan does not know; "
                         "upgrade covplan / 数据库版本高于本程序")
    for version in sorted(set(MIGRATIONS) - have):
        m = MIGRATIONS[version]
        with engine.begin() as conn:
            m.upgrade(conn, t)
            conn.execute(insert(t.schema_migrations).values(version=version, name=m.name,
                                                             applied_at=now_iso()))
        done.append(version)
    return done


@register(100, "city server: users, security events, signing key, saved scenarios per user")
def _server_tables(conn: Connection, t: Tables) -> None:
    from store.server_schema import TABLES

    for table in TABLES:
        table.create(conn, checkfirst=True)
