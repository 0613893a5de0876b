"""Load and fault test of the city server: 20 simulated users for 2 minutes, then a worker killed.

Everything runs on this machine: a throw-away PostgreSQL + PostGIS cluster on a Unix socket
(tests/pg.py), ``covplan serve`` (gunicorn, 3 workers × 4 threads) on a free 127.0.0.1 port,
and simulated browsers (threads with ``requests`` sessions) that log in and send the same
Dash callback requests the page sends. Every loop is bounded by the run's deadline; requests
time out after 60 s; the script stops by itself and stops what it started.

Load phase (``--users 20 --duration 120``): viewers switch targets (the map callback),
counties and facility types, and open facility records; one county editor saves a capacity
edit about every 5 s (``--edit-every``) through ``POST /api/facilities/<id>``. Reported:
p50/p95/max latency per kind of request, errors, requests per second, server memory (master +
workers RSS) idle after start, after warm-up, every 5 s and at the end, and the store's audit
rows of the editor against the edits sent.

Fault phase (``--fault``, default on): the editor saves edits back to back; the worker that
holds the editor's connection (``/readyz`` names its pid) is killed with SIGKILL while an edit
is in flight. The other workers keep serving; the in-flight edit is either fully in the
store (record, batch, audit row) or not at all; the store passes ``store.integrity``'s check.
(tests/test_server_fault.py checks the same deterministically, the edit held in its transaction.)

    python bench/bench_server.py [--users 20] [--duration 120] [--workers 3] [--out bench/results]

Writes ``server_load.json`` to ``--out`` (bench/results/, not tracked); the figures quoted in
the README are kept in ``bench/server_load_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from dashapp.ids import Id  # noqa: E402
from dashapp.server.harness import Client, ServerProcess  # noqa: E402

PASSWORD = "bench password 1"
EDITOR_COUNTY = "331102"
#: capacities written by the fault phase's edits start above this (the load phase's above 1000)
FAULT_CAPACITY = 100000
MAP_OUT = f"{Id.TOWNSHIPS_LAYER.value}.hideout"
FAC_OUT = f"{Id.PACK_FACILITIES.value}.data"  # the facility layer, packed (dashapp/geopack.py)


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []

    def timed(self, kind: str, fn):
        t0 = time.perf_counter()
        try:
            r = fn()
        except requests.RequestException as exc:
            self.error(kind, f"{type(exc).__name__}")
            return None
        dt = time.perf_counter() - t0
        with self.lock:
            self.times[kind].append(dt)
        if r.status_code not in (200, 204) and not (kind == "login" and r.status_code == 302):
            self.error(kind, f"HTTP {r.status_code}")
        return r

    def error(self, kind: str, what: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.error_samples) < 20:
                self.error_samples.append(f"{kind}: {what}")

    def summary(self) -> dict:
        out = {}
        for kind, ts in sorted(self.times.items()):
            ts = sorted(ts)
            out[kind] = {"n": len(ts), "p50_ms": round(1000 * statistics.median(ts), 1),
                         "p95_ms": round(1000 * ts[min(len(ts) - 1, int(0.95 * len(ts)))], 1),
                         "max_ms": round(1000 * ts[-1], 1), "errors": self.errors.get(kind, 0)}
        for kind, n in self.errors.items():
            out.setdefault(kind, {"n": 0, "errors": n})
        return out


def map_values(target: str, county: str | None, types: list[str]) -> dict:
    return {f"{Id.TARGET.value}.value": target, f"{Id.COUNTY.value}.value": county,
            f"{Id.YEAR.value}.value": 2024, f"{Id.STORE_SCENARIO.value}.data": {"name": "", "edits": []},
            f"{Id.STORE_SELECTION.value}.data": {}, f"{Id.BASEMAP.value}.value": "none",
            f"{Id.STORE_LANG.value}.data": "zh", f"{Id.FACILITY_TYPES.value}.value": types,
            f"{Id.STORE_FACILITY_KEY.value}.data": None}


def viewer(url: str, name: str, deadline: float, rec: Recorder, targets: list[tuple[str, list[str]]],
           counties: list[str], fids: list[str], seed: int, think: tuple[float, float] = (0.5, 1.5)) -> None:
    rng = random.Random(seed)
    c = Client(url)
    if rec.timed("login", lambda: c.login(name, PASSWORD)) is None:
        return
    rec.timed("page", lambda: c.get("/"))
    rec.timed("layout", lambda: c.get("/_dash-layout"))
    c.deps()
    target, types = rng.choice(targets)
    while time.monotonic() < deadline:
        roll = rng.random()
        if roll < 0.45:
            target, types = rng.choice(targets)
            vals = map_values(target, None, types)
            rec.timed("switch_target", lambda: c.callback(MAP_OUT, vals, [f"{Id.TARGET.value}.value"]))
        elif roll < 0.65:
            vals = map_values(target, rng.choice(counties), types)
            rec.timed("switch_county", lambda: c.callback(MAP_OUT, vals, [f"{Id.COUNTY.value}.value"]))
        elif roll < 0.85:
            vals = map_values(target, None, types)
            rec.timed("facility_layer", lambda: c.callback(FAC_OUT, vals, [f"{Id.FACILITY_TYPES.value}.value"]))
        else:
            fid = rng.choice(fids)
            rec.timed("facility_record", lambda: c.get(f"/api/facilities/{fid}"))
        time.sleep(rng.uniform(*think))


class Editor:
    """One county editor saving capacity edits; every edit sent gets a unique capacity."""

    def __init__(self, url: str, name: str, fids: list[str], first_capacity: int = 1000) -> None:
        self.c = Client(url)
        self.first_capacity = first_capacity
        self.name = name
        self.fids = fids
        self.versions: dict[str, int] = {}
        self.sent: list[dict] = []  # {fid, capacity, status}
        self.counter = 0
        self.in_flight = threading.Event()

    def login(self, rec: Recorder) -> None:
        rec.timed("login", lambda: self.c.login(self.name, PASSWORD))
        for fid in self.fids:
            self.versions[fid] = int(self.c.get(f"/api/facilities/{fid}").json()["version"])

    def edit_once(self, rec: Recorder, rng: random.Random) -> None:
        fid = rng.choice(self.fids)
        self.counter += 1
        capacity = self.first_capacity + self.counter  # unique: finds the edit in the audit log
        entry = {"fid": fid, "capacity": capacity, "status": None}
        self.sent.append(entry)
        body = {"year": 2024, "changes": {"capacity": capacity}, "expected_version": self.versions[fid],
                "reason": "bench"}
        self.in_flight.set()
        r = rec.timed("edit", lambda: self.c.post(f"/api/facilities/{fid}", json=body))
        self.in_flight.clear()
        entry["status"] = None if r is None else r.status_code
        if r is not None and r.status_code == 200:
            self.versions[fid] = int(r.json()["version"])
        elif r is None or r.status_code == 409:  # unknown outcome or conflict: read the version again
            try:
                self.versions[fid] = int(self.c.get(f"/api/facilities/{fid}").json()["version"])
            except requests.RequestException:
                pass

    def run(self, deadline: float, rec: Recorder, pause: tuple[float, float], seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            self.edit_once(rec, rng)
            time.sleep(rng.uniform(*pause))


def audit_edits(st, user: str) -> list[dict]:
    log = st.audit_log()
    rows = log[(log["user_name"] == user) & (log["action"] == "update") & (log["outcome"] == "ok")]
    return [{"fid": r.facility_id, "capacity": json.loads(r.new_values or "{}").get("capacity")}
            for r in rows.itertuples()]


def integrity(st) -> list[str]:
    """Problems in the store (:func:`store.integrity.check_integrity`: spans, versions, audit ↔ records ↔ batches)."""
    from store.integrity import check_integrity

    return check_integrity(st)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--edit-every", type=float, default=5.0,
                    help="mean seconds between the editor's saves in the load phase (uniform ±40%%)")
    ap.add_argument("--no-fault", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from coverage.targets import load_targets
    from dashapp.queries import default_facility_types
    from dashapp.server.accounts import Accounts
    from store import FacilityStore, build_store
    from tests.pg import fresh_database, start_cluster, stop_cluster

    cluster = start_cluster()
    srv = None
    try:
        url = fresh_database(cluster, "bench_server")
        t0 = time.perf_counter()
        st = build_store(url)
        seed_s = time.perf_counter() - t0
        accts = Accounts(st.engine)
        accts.add("editor", "county-editor", PASSWORD, county=EDITOR_COUNTY)
        for i in range(args.users - 1):
            accts.add(f"viewer{i:02d}", "viewer", PASSWORD)
        fac = st.facilities(2024, county=EDITOR_COUNTY)
        edit_fids = list(fac[fac["type"] == "childcare"]["facility_id"][:5])
        all_fids = list(st.facilities(2024)["facility_id"].sample(200, random_state=1))
        targets = [(t.id, default_facility_types(t.id)) for t in load_targets() if t.kind != "access"]
        counties = sorted(st.units().counties["code"])

        srv = ServerProcess(url, args.out / "bench_server.log", workers=args.workers, threads=args.threads)
        t0 = time.perf_counter()
        srv.start()
        start_s = time.perf_counter() - t0
        mem_boot = srv.memory_kib()  # before any user: the app, dataset and caches of an idle worker
        # warm-up: one pass over the targets in every worker's cache is not guaranteed; a short burst
        rec_warm = Recorder()
        warm_deadline = time.monotonic() + 20
        ws = [threading.Thread(target=viewer, args=(srv.url, f"viewer{i:02d}", warm_deadline, rec_warm, targets,
                                                     counties, all_fids, 100 + i)) for i in range(min(6, args.users - 1))]
        for w in ws:
            w.start()
        for w in ws:
            w.join()
        # baseline: one user alone, no think time, same mix (the ratio's denominator)
        rec_one = Recorder()
        viewer(srv.url, "viewer00", time.monotonic() + 30, rec_one, targets, counties, all_fids, 99, (0.0, 0.0))
        baseline = rec_one.summary()
        mem_start = srv.memory_kib()
        load_avg_start = os.getloadavg()

        rec = Recorder()
        editor = Editor(srv.url, "editor", edit_fids)
        editor.login(rec)
        deadline = time.monotonic() + args.duration
        pause = (0.6 * args.edit_every, 1.4 * args.edit_every)
        threads = [threading.Thread(target=editor.run, args=(deadline, rec, pause, 7))]
        threads += [threading.Thread(target=viewer, args=(srv.url, f"viewer{i:02d}", deadline, rec, targets, counties,
                                                           all_fids, i)) for i in range(args.users - 1)]
        mem_samples = []
        t_run = time.perf_counter()
        for th in threads:
            th.start()
        while any(th.is_alive() for th in threads):
            mem_samples.append(srv.memory_kib()["workers"])
            time.sleep(5)
        run_s = time.perf_counter() - t_run
        mem_end = srv.memory_kib()
        sent_ok = [e for e in editor.sent if e["status"] == 200]
        audited = audit_edits(st, "editor")
        load = {
            "users": args.users, "duration_s": args.duration, "edit_every_s": args.edit_every, "workers": args.workers, "threads": args.threads,
            "store_seed_s": round(seed_s, 1), "server_start_s": round(start_s, 1),
            "requests": sum(len(v) for v in rec.times.values()),
            "requests_per_s": round(sum(len(v) for v in rec.times.values()) / run_s, 1),
            "latency": rec.summary(), "errors": sum(rec.errors.values()), "error_samples": rec.error_samples,
            "baseline_one_user": baseline,
            "p50_ratio_vs_one_user": {k: round(v["p50_ms"] / baseline[k]["p50_ms"], 1)
                                      for k, v in rec.summary().items()
                                      if k in baseline and v.get("p50_ms") and baseline[k].get("p50_ms")},
            "load_average_start_end": [round(load_avg_start[0], 1), round(os.getloadavg()[0], 1)],
            "memory_kib_server_started": mem_boot,
            "memory_kib_start": mem_start, "memory_kib_end": mem_end,
            "memory_workers_mib_start_end_max": [round(mem_start["workers"] / 1024), round(mem_end["workers"] / 1024),
                                                 round(max(mem_samples, default=0) / 1024)],
            "memory_workers_kib_samples": mem_samples,
            "edits_sent": len(editor.sent), "edits_ok": len(sent_ok), "audit_rows": len(audited),
            "audit_matches_sent": sorted((e["fid"], e["capacity"]) for e in sent_ok)
            == sorted((a["fid"], a["capacity"]) for a in audited),
            "integrity_problems": integrity(st),
        }
        print(json.dumps({k: v for k, v in load.items() if k != "memory_workers_kib_samples"}, indent=1,
                         ensure_ascii=False))
        result = {"load": load}

        if not args.no_fault:
            result["fault"] = fault_phase(srv, st, edit_fids, targets, counties, all_fids, args)
            print(json.dumps(result["fault"], indent=1, ensure_ascii=False))
        (args.out / "server_load.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
        st.engine.dispose()
    finally:
        if srv is not None:
            srv.stop()
        stop_cluster(cluster)
    return 0


def fault_phase(srv, st, edit_fids, targets, counties, all_fids, args) -> dict:
    """Kill the worker serving the editor while an edit is in flight; check all-or-nothing."""
    rec = Recorder()
    editor = Editor(srv.url, "editor", edit_fids, first_capacity=FAULT_CAPACITY)
    editor.login(rec)
    victim = int(editor.c.get("/readyz").json()["pid"])  # the worker holding the editor's connection
    workers_before = srv.worker_pids()
    deadline = time.monotonic() + 40
    viewers = [threading.Thread(target=viewer, args=(srv.url, f"viewer{i:02d}", deadline, rec, targets, counties,
                                                      all_fids, 500 + i)) for i in range(8)]
    for th in viewers:
        th.start()
    time.sleep(5)
    rng = random.Random(3)
    killed_during_edit = False
    kill_at = time.monotonic() + 5
    done = threading.Event()

    def killer() -> None:
        nonlocal killed_during_edit
        while time.monotonic() < kill_at or not editor.in_flight.is_set():
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)
        time.sleep(0.015)  # inside the request: validation / transaction
        killed_during_edit = editor.in_flight.is_set()
        os.kill(victim, signal.SIGKILL)
        done.set()

    kt = threading.Thread(target=killer)
    kt.start()
    while not done.is_set() and time.monotonic() < deadline:
        editor.edit_once(rec, rng)
    kt.join()
    in_flight_entry = editor.sent[-1]
    after_kill_t = time.monotonic()
    # keep editing (new connection, another worker) while the master replaces the killed one
    while time.monotonic() < deadline:
        editor.edit_once(rec, rng)
        time.sleep(0.5)
    for th in viewers:
        th.join()
    audited = [a for a in audit_edits(st, "editor") if (a["capacity"] or 0) > FAULT_CAPACITY]
    audited_keys = {(a["fid"], a["capacity"]) for a in audited}
    key = (in_flight_entry["fid"], in_flight_entry["capacity"])
    committed = key in audited_keys
    cur = st.records(facility_id=in_flight_entry["fid"])
    n_records = int((cur["capacity"] == in_flight_entry["capacity"]).sum())
    ok_keys = {(e["fid"], e["capacity"]) for e in editor.sent if e["status"] == 200}
    return {
        "victim_pid": victim, "workers_before": workers_before, "workers_after": srv.worker_pids(),
        "killed_during_edit": killed_during_edit, "in_flight_edit_status": in_flight_entry["status"],
        "in_flight_edit_committed": committed,
        # all or nothing: audited ⇔ exactly one record holds the edit's (unique) capacity
        "in_flight_all_or_nothing": (committed and n_records == 1) or (not committed and n_records == 0),
        "edits_ok": len(ok_keys), "audit_rows": len(audited),
        "every_ok_edit_audited": ok_keys <= audited_keys,
        "no_unsent_audit": audited_keys <= {(e["fid"], e["capacity"]) for e in editor.sent},
        "latency": rec.summary(), "errors": sum(rec.errors.values()), "error_samples": rec.error_samples,
        "seconds_after_kill": round(deadline - after_kill_t, 1),
        "integrity_problems": integrity(st),
    }


if __name__ == "__main__":
    sys.exit(main())
