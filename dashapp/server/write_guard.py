"""County rights enforced where the store is written, whatever code path asked for the write.

The Dash guard (:mod:`dashapp.server.guard`) and the facility API refuse a forbidden change
before it starts, with a clean 403. This module is the backstop under them: a SQLAlchemy
``before_execute`` listener on every engine of the server process looks at each statement
that writes facility records or batches while a signed-in user's request is being served:

* a new batch (any edit, submission, rollback, accepted scenario): refused for a viewer;
* a new facility record: its ``county_code`` must be the county editor's;
* ending or deleting a record (``UPDATE``/``DELETE`` of ``facilities`` by ``fid``): the
  record's county, read from the store, must be the county editor's.

A refused statement raises :class:`dashapp.server.roles.AccessDenied` inside the caller's
transaction, so nothing of the change is kept; the server answers 403 and the attempt goes
to the store's audit log and the security events. City admins, and writes outside a
request (the CLI, migrations, ``covplan serve``'s start-up), are not checked here.
"""

from __future__ import annotations

from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.sql.dml import Delete, Insert, Update

from dashapp.server.roles import CITY_ADMIN, AccessDenied, Actor

WATCHED = frozenset({"facilities", "batches"})

_INSTALLED: list[Callable] = []


def _fids(params: dict[str, Any]) -> list[int]:
    return [int(v) for k, v in params.items() if (k == "fid" or k.startswith("fid_")) and v is not None]


def check_statement(conn: sa.Connection, stmt: Any, actor: Actor | None) -> None:
    """Raise :class:`AccessDenied` if ``actor`` may not run this write (see module docstring)."""
    if actor is None or actor.role == CITY_ADMIN or not isinstance(stmt, (Insert, Update, Delete)):
        return
    table = getattr(stmt.table, "name", None)
    if table not in WATCHED:
        return
    if not actor.can_write:
        raise AccessDenied(f"{actor.name} ({actor.role}) may not change the store ({table})")
    params = stmt.compile(dialect=conn.dialect).params
    if isinstance(stmt, Insert) and table == "facilities":
        county = str(params.get("county_code") or "")
        if not actor.may_edit_county(county):
            raise AccessDenied(f"{actor.name} (county {actor.county}) may not write a facility of county {county}")
    elif isinstance(stmt, Insert) and table == "batches":
        county = str(params.get("county_code") or "")
        if not actor.may_edit_county(county):
            raise AccessDenied(f"{actor.name} (county {actor.county}) may not open a batch for county "
                               f"{county or 'the whole city'}")
    elif table == "facilities":
        fids = _fids(params)
        if not fids and isinstance(stmt, (Update, Delete)):
            raise AccessDenied(f"{actor.name} may not change facility records without naming them")
        f = stmt.table.c
        counties = set(conn.execute(sa.select(f.county_code).where(f.fid.in_(fids))).scalars())
        for county in counties:
            if not actor.may_edit_county(county):
                raise AccessDenied(f"{actor.name} (county {actor.county}) may not change a record of county {county}")


def install(actor_of_request: Callable[[], Actor | None]) -> None:
    """Listen on every engine of this process (once)."""
    if _INSTALLED:
        _INSTALLED[0] = actor_of_request
        return
    _INSTALLED.append(actor_of_request)

    @sa.event.listens_for(sa.engine.Engine, "before_execute")
    def _before_execute(conn, clauseelement, multiparams, params, execution_options):  # noqa: ANN001
        if isinstance(clauseelement, (Insert, Update, Delete)):
            check_statement(conn, clauseelement, _INSTALLED[0]())
