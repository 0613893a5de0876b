"""Which backend: a store URL → a SQLAlchemy engine.

``resolve_url(url)``: ``None`` → ``$COVPLAN_STORE`` → ``data/inventory.gpkg`` beside the
dataset. A path (``x.gpkg``) or ``gpkg:///abs/path.gpkg`` / ``sqlite:///…`` is the
GeoPackage backend; ``postgresql://…`` (or ``postgresql+psycopg://…``) is PostGIS through
psycopg 3.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from layers.settings import DEFAULT_DATA_DIR
from store._errors import StoreError

DEFAULT_STORE_NAME = "inventory.gpkg"


def default_store_path(data_dir: Path | str | None = None) -> Path:
    return Path(DEFAULT_DATA_DIR if data_dir is None else data_dir) / DEFAULT_STORE_NAME


def resolve_url(url: str | Path | None, data_dir: Path | str | None = None) -> str:
    """Normalised SQLAlchemy URL of a store (see the module docstring)."""
    if url is None or str(url) == "":
        url = os.environ.get("COVPLAN_STORE") or default_store_path(data_dir)
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if text.startswith("postgresql+"):
        return text
    for prefix in ("gpkg:///", "sqlite:///"):
        if text.startswith(prefix):
            text = text[len(prefix) - 1:] if prefix == "gpkg:///" else text[len(prefix):]
            break
    if "://" in text:
        raise StoreError(f"store URL {text!r}: use a .gpkg path or postgresql://… / 不支持的数据库地址")
    path = Path(text).expanduser().resolve()
    if path.suffix.lower() != ".gpkg":
        raise StoreError(f"store file {path} must end in .gpkg / 数据库文件须为 .gpkg")
    return f"sqlite:///{path}"


def describe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None          # SQLAlchemy's "begin" event issues BEGIN
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout = 30000")
    cur.close()


def _sqlite_begin(conn) -> None:
    # writers serialise at BEGIN, so a read-then-write transaction never deadlocks
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Engine for a resolved URL (GeoPackage files are created on first write)."""
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # bad URL syntax or a missing driver
        raise StoreError(f"cannot use store {describe(url)}: {exc}") from exc
    event.listen(engine, "do_connect", _application_name)
    return engine


def _application_name(_dialect, _rec, _cargs, cparams) -> None:
    """Name each PostgreSQL session after its process (``pg_stat_activity.application_name``
    = ``covplan pid N``, N read when the connection opens, so after a fork too): a DBA — or the
    server's fault test — sees which server worker holds a transaction or waits on a lock.
    A name in the URL (``?application_name=…``) wins."""
    cparams.setdefault("application_name", f"covplan pid {os.getpid()}")
