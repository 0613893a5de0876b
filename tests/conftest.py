"""Shared fixtures and the network guard.

Any test that opens a socket to anything but the loopback interface fails: the
project must work offline, and the tests must prove it.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkAccessError(RuntimeError):
    """Raised when a test tries to reach the network."""


def _is_loopback(host: object) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check_address(address: object) -> None:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return
    if isinstance(address, tuple) and address and _is_loopback(address[0]):
        return
    raise NetworkAccessError(f"test tried to open a network connection to {address!r}")


def _guarded_connect(self, address):  # noqa: ANN001
    _check_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):  # noqa: ANN001
    _check_address(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):  # noqa: ANN001
    if not _is_loopback(host if not isinstance(host, bytes) else host.decode()):
        raise NetworkAccessError(f"test tried to resolve the host name {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _network_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only public source data beside the checkout."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"../shared/data not found at {SHARED_DATA}; the tests need it beside the checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def osm_dir(shared_data: Path) -> Path:
    """Real OSM extracts (ODbL, © OpenStreetMap contributors); see tests/data/README.md."""
    return shared_data / "osm"


@pytest.fixture(scope="session")
def pg_cluster():
    """A throw-away PostgreSQL + PostGIS server on a Unix socket (see tests/pg.py); stopped at the end."""
    from tests.pg import ClusterError, start_cluster, stop_cluster

    try:
        cluster = start_cluster()
    except ClusterError as exc:
        pytest.fail(str(exc))
    yield cluster
    stop_cluster(cluster)


@pytest.fixture(scope="session")
def postgis_url(pg_cluster) -> str:
    """SQLAlchemy URL of an empty PostGIS database (postgresql+psycopg://…?host=<socket dir>)."""
    return pg_cluster.url


@pytest.fixture(scope="session")
def _seeded_gpkg(tmp_path_factory) -> Path:
    from tests.store_helpers import seeded_gpkg

    return seeded_gpkg(tmp_path_factory.mktemp("store-seed"))


@pytest.fixture(scope="session")
def _seeded_pg(pg_cluster) -> str:
    """Name of a PostGIS database seeded from data/, used as the template of each test's copy."""
    from store import build_store
    from tests.pg import fresh_database

    url = fresh_database(pg_cluster, "seed_template")
    st = build_store(url)
    st.engine.dispose()
    return "seed_template"


@pytest.fixture(params=["geopackage", "postgis"])
def store(request, tmp_path):
    """A store seeded from the embedded data/, fresh for each test, on each backend."""
    if request.param == "geopackage":
        from tests.store_helpers import gpkg_copy

        st = gpkg_copy(request.getfixturevalue("_seeded_gpkg"), tmp_path / "inventory.gpkg")
    else:
        from store import FacilityStore
        from tests.pg import fresh_database

        template = request.getfixturevalue("_seeded_pg")
        cluster = request.getfixturevalue("pg_cluster")
        st = FacilityStore(fresh_database(cluster, f"t_{abs(hash(request.node.nodeid)) % 10**8}", template))
    yield st
    st.engine.dispose()
