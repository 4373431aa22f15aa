"""Shared fixtures. Every test runs with the network switched off."""

from __future__ import annotations

import socket

import pytest


class NetworkAccessError(RuntimeError):
    pass


def _refuse(*args, **kwargs):
    raise NetworkAccessError(f"a test tried to reach the network: {args[:2]}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any attempt to resolve or connect to a non-local host."""
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1") or "/" in host):
            return real_connect(self, address)
        _refuse(address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host in (None, "localhost", "127.0.0.1", "::1"):
            return real_getaddrinfo(host, *args, **kwargs)
        _refuse(host)

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: _refuse(address))
