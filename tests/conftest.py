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
