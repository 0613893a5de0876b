"""Fault test of the city server: a worker killed (SIGKILL) while its edit is in flight.

The real ``covplan serve`` (gunicorn, 2 workers) runs on loopback against a throw-away
PostGIS database (tests/pg.py). Every write transaction ends by raising the store's revision
(``UPDATE store_meta``), so the test holds that row (``SELECT … FOR UPDATE`` on its own
connection): the editor's save then stops inside its transaction with the batch, the new
record and the audit row written but not committed. ``pg_stat_activity`` names the worker
that waits (``application_name = covplan pid N``, set by ``store.engine``); that worker is
killed. Then: the other worker kept serving throughout, the killed worker's edit left
nothing (revision, batches, audit rows, the facility's record and version as before), the
same edit saved through the other worker succeeds (version + 1, one audit row), gunicorn
replaces the killed worker, and the store passes ``store.integrity.check_integrity``.

Nothing is timed; every wait is bounded.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest
import requests
from sqlalchemy import func, select, text

from dashapp.server.accounts import Accounts
from dashapp.server.harness import Client, ServerProcess
from store.integrity import check_integrity

PW = {"lishui_ed": "editor password 1", "look": "viewer password 1"}
COUNTY = "331102"


@pytest.fixture(scope="module")
def store_url(request, pg_cluster):
    from tests.pg import fresh_database

    return fresh_database(pg_cluster, "server_fault", template=request.getfixturevalue("_seeded_pg"))


@pytest.fixture(scope="module")
def store(store_url):
    from store import FacilityStore

    st = FacilityStore(store_url)
    a = Accounts(st.engine)
    a.create_schema()
    a.add("lishui_ed", "county-editor", PW["lishui_ed"], county=COUNTY)
    a.add("look", "viewer", PW["look"])
    yield st
    st.engine.dispose()


@pytest.fixture(scope="module")
def server(store, store_url, tmp_path_factory):
    srv = ServerProcess(store_url, tmp_path_factory.mktemp("serve-fault") / "serve.log", workers=2, threads=2)
    srv.start()
    yield srv
    srv.stop()


def login(server, name: str) -> Client:
    c = Client(server.url)
    r = c.login(name, PW[name])
    assert r.status_code == 302, r.text
    return c


def pinned_elsewhere(c: Client, victim: int, tries: int = 40) -> int:
    """Reconnect ``c`` until its keep-alive connection is served by a worker other than ``victim``."""
    for _ in range(tries):
        pid = int(c.get("/readyz").json()["pid"])
        if pid != victim:
            return pid
        c.http.close()  # drop the connection (the cookies stay): the next request opens a new one
    pytest.fail(f"no connection reached a worker other than {victim} in {tries} tries")


def waiting_worker(store, deadline: float) -> int | None:
    """Pid of the server worker whose session waits on a lock in ``UPDATE store_meta`` (or None)."""
    q = text("SELECT application_name FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
             "AND query ILIKE 'UPDATE store_meta%'")
    while time.monotonic() < deadline:
        with store.engine.connect() as c:
            names = [r[0] for r in c.execute(q)]
        pids = [int(m.group(1)) for n in names if (m := re.fullmatch(r"covplan pid (\d+)", n or ""))]
        if pids:
            assert len(pids) == 1, names
            return pids[0]
        time.sleep(0.05)
    return None


def audit_ok(store, fid: str) -> int:
    a = store.t.audit.c
    with store.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(store.t.audit)
                             .where(a.facility_id == fid, a.outcome == "ok")).scalar_one())


def test_a_worker_killed_mid_edit_leaves_nothing_and_the_other_keeps_serving(server, store):
    fac = store.facilities(2024, county=COUNTY)
    fid = str(fac[fac["type"] == "childcare"].sort_values("facility_id")["facility_id"].iloc[0])
    editor, viewer = login(server, "lishui_ed"), login(server, "look")
    before = editor.get(f"/api/facilities/{fid}").json()
    v0, cap0 = int(before["version"]), before["capacity"]
    rev0, n_batches0, n_audit0 = store.revision(), len(store.batches()), audit_ok(store, fid)
    sent = int(cap0 or 0) + 37
    workers_before = set(server.worker_pids())
    assert len(workers_before) == 2

    outcome: dict = {}

    def save() -> None:
        try:
            outcome["response"] = editor.post(f"/api/facilities/{fid}", timeout=90, json={
                "year": 2024, "changes": {"capacity": sent}, "expected_version": v0, "reason": "fault test"})
        except requests.RequestException as exc:
            outcome["error"] = exc

    meta = store.t.store_meta
    with store.engine.connect() as hold:
        hold.execute(select(meta.c.value).where(meta.c.key == "revision").with_for_update())
        th = threading.Thread(target=save, daemon=True)
        th.start()
        victim = waiting_worker(store, time.monotonic() + 60)
        assert victim is not None, f"the edit never reached its commit: {outcome}\n{server.log()[-3000:]}"
        assert victim in workers_before and "response" not in outcome
        # it is mid-write: its transaction has inserted into batches and audit and changed facilities
        with store.engine.connect() as c:
            written = set(c.execute(text(
                "SELECT DISTINCT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.application_name = :n "
                "AND l.mode = 'RowExclusiveLock'"), {"n": f"covplan pid {victim}"}).scalars())
        assert {"batches", "audit", "facilities", "store_meta"} <= written, written
        # while that edit is held, the other worker answers reads of the same facility
        survivor = pinned_elsewhere(viewer, victim)
        assert viewer.get(f"/api/facilities/{fid}").json()["version"] == v0
        os.kill(victim, signal.SIGKILL)
        th.join(timeout=60)
        assert not th.is_alive()
        # the editor's request died with its worker: no answer, only a broken connection
        assert isinstance(outcome.get("error"), requests.ConnectionError), outcome
        hold.rollback()

    # the killed worker's database session ends, its transaction rolled back (bounded wait)
    q = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with store.engine.connect() as c:
            if c.execute(q, {"n": f"covplan pid {victim}"}).scalar_one() == 0:
                break
        time.sleep(0.1)
    else:
        pytest.fail("the killed worker's database session never ended")

    # nothing of the in-flight edit is in the store
    assert store.revision() == rev0
    assert len(store.batches()) == n_batches0
    assert audit_ok(store, fid) == n_audit0
    recs = store.records(facility_id=fid)
    assert not (recs["capacity"] == sent).any()
    with store.engine.connect() as c:
        now = store.record_at(c, fid, 2024)
    assert int(now["version"]) == v0 and now["capacity"] == cap0

    # the server keeps serving, writes too: the same edit on the version read succeeds once
    r = editor.post(f"/api/facilities/{fid}", json={"year": 2024, "changes": {"capacity": sent},
                                                     "expected_version": v0, "reason": "fault test, again"})
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["capacity"]) == (v0 + 1, sent)
    assert audit_ok(store, fid) == n_audit0 + 1           # the record's version and its audit rows agree
    assert store.revision() == rev0 + 1
    assert int((store.records(facility_id=fid)["capacity"] == sent).sum()) == 1
    assert viewer.get("/_dash-layout").status_code == 200

    # gunicorn replaces the killed worker (bounded wait)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        pids = set(server.worker_pids())
        if len(pids) == 2 and victim not in pids:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the killed worker was not replaced: {server.worker_pids()}")
    assert survivor in pids

    assert check_integrity(store) == []
