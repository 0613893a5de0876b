"""The socket guard itself must fail a test that reaches out."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NetworkAccessError


def test_outbound_connection_is_refused() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NetworkAccessError, match="93.184.216.34"):
            s.connect(("93.184.216.34", 80))
    finally:
        s.close()


def test_dns_lookup_is_refused() -> None:
    with pytest.raises(NetworkAccessError, match="example.org"):
        socket.getaddrinfo("example.org", 443)


def test_loopback_is_allowed() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect(server.getsockname())
    finally:
        client.close()
        server.close()
