"""A throw-away PostgreSQL + PostGIS cluster for the store tests (Debian's packages).

:func:`start_cluster` runs ``initdb`` into a fresh temporary directory and starts ``postgres``
listening on a Unix socket inside it only (``listen_addresses=''``: no TCP at all), creates a
database with the ``postgis`` extension and returns its SQLAlchemy URL. When the tests run as
root (CI), the server runs as the ``postgres`` system user through ``runuser`` (PostgreSQL
refuses to run as root). :func:`stop_cluster` stops the server and removes the directory.
Nothing is mocked: the tests talk to a real server.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

DB_NAME = "covplan_test"
DB_USER = "covplan"


class ClusterError(RuntimeError):
    """The test cluster could not be started (message says what to install)."""


@dataclass
class Cluster:
    root: Path
    bindir: Path
    run_as: str | None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{DB_USER}@/{DB_NAME}?host={self.root}"


def find_bindir() -> Path:
    """Newest /usr/lib/postgresql/<v>/bin with initdb (Debian layout), else initdb on PATH."""
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if cands:
        return Path(cands[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ClusterError("PostgreSQL is not installed: `make test` installs it "
                       "(apt-get install postgresql postgis)")


def _run(cluster: Cluster, args: list[str]) -> subprocess.CompletedProcess:
    cmd = ([("runuser"), "-u", cluster.run_as, "--"] if cluster.run_as else []) + args
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise ClusterError(f"{' '.join(args[:2])} failed: {res.stderr.strip() or res.stdout.strip()}")
    return res


def start_cluster() -> Cluster:
    bindir = find_bindir()
    run_as = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="covplan-pg-"))
    if run_as:
        shutil.chown(root, user=run_as, group=None)
        os.chmod(root, 0o755)
    cluster = Cluster(root, bindir, run_as)
    _run(cluster, [str(bindir / "initdb"), "-D", str(cluster.datadir), "-U", DB_USER, "-A", "trust",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
    opts = f"-k {root} -c listen_addresses='' -F -c fsync=off -c full_page_writes=off"
    try:
        _run(cluster, [str(bindir / "pg_ctl"), "-D", str(cluster.datadir), "-l", str(root / "server.log"),
                       "-o", opts, "-w", "-t", "60", "start"])
    except ClusterError as exc:
        log = (root / "server.log").read_text(errors="replace")[-2000:] if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise ClusterError(f"{exc}\n{log}") from exc
    import psycopg

    with psycopg.connect(host=str(root), user=DB_USER, dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    with psycopg.connect(host=str(root), user=DB_USER, dbname=DB_NAME, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION postgis")
        except psycopg.Error as exc:
            stop_cluster(cluster)
            raise ClusterError(f"PostGIS is not installed (apt-get install postgis): {exc}") from exc
    return cluster


def fresh_database(cluster: Cluster, name: str, template: str = DB_NAME) -> str:
    """Create database ``name`` as a copy of ``template`` (default: empty PostGIS); return its URL."""
    import psycopg

    with psycopg.connect(host=str(cluster.root), user=DB_USER, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return f"postgresql+psycopg://{DB_USER}@/{name}?host={cluster.root}"


def stop_cluster(cluster: Cluster) -> None:
    try:
        _run(cluster, [str(cluster.bindir / "pg_ctl"), "-D", str(cluster.datadir), "-m", "immediate",
                       "-w", "stop"])
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)
