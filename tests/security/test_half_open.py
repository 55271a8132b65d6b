"""Half-open connections against a real waitress run with production.ini's settings.

One client opening connections and never finishing a request used to stop everyone
else: waitress holds at most ``connection_limit`` connections (100 by default) and
stops accepting at the limit, so 110 idle sockets kept every other request waiting
until they timed out (``channel_timeout``, 120 s by default). production.ini now holds
many more (an idle connection costs a file descriptor, not a thread) and closes idle
ones sooner. Past any limit one client can still starve the rest until its connections
time out: that is what the reverse proxy's buffering and per-address connection limit
are for (docs/deployment.md), and the second test shows the timeout at work."""

from __future__ import annotations

import socket
from contextlib import ExitStack

import pytest

from tests.conftest import host_of
from tests.realserver import exchange, production_server_settings, pserve, request_bytes

#: more half-open connections than waitress's default connection_limit
HALF_OPEN = 110
#: seconds the normal request may take: generous, it is not a speed test
GENEROUS = 30


def half_open(stack: ExitStack, port: int, host: str, count: int) -> list[socket.socket]:
    """``count`` connections that each send the start of a request and then nothing."""
    sockets = []
    for _ in range(count):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
        sock.sendall(f"GET /login HTTP/1.1\r\nHost: {host}\r\n".encode("ascii"))
        sockets.append(sock)
    return sockets


def sign_in_page(port: int, tenant) -> bytes:
    return exchange(port, request_bytes("GET", "/login", host_of(tenant)), timeout=GENEROUS)


def test_production_settings_serve_a_request_past_110_half_open_connections(
    settings, tenant_a, tmp_path
):
    server = production_server_settings()
    assert int(server["connection_limit"]) > HALF_OPEN
    with pserve(settings, tmp_path, server) as port, ExitStack() as stack:
        half_open(stack, port, host_of(tenant_a), HALF_OPEN)
        answer = sign_in_page(port, tenant_a)
    assert answer.startswith(b"HTTP/1.1 200")
    assert f"Sign in to {tenant_a.name}".encode() in answer


@pytest.mark.parametrize("limit", [5])
def test_at_the_limit_idle_connections_are_closed_and_the_waiting_request_served(
    settings, tenant_a, tmp_path, limit
):
    """What ``channel_timeout`` does: at ``connection_limit`` a new connection waits in
    the kernel's backlog until waitress closes idle connections; then it is served."""
    server = production_server_settings() | {
        "connection_limit": str(limit),
        "channel_timeout": "2",
        "cleanup_interval": "1",
    }
    with pserve(settings, tmp_path, server) as port, ExitStack() as stack:
        idle = half_open(stack, port, host_of(tenant_a), limit)
        answer = sign_in_page(port, tenant_a)
        for sock in idle:
            sock.settimeout(GENEROUS)
            assert sock.recv(1) == b""  # closed by the server, with nothing sent
    assert answer.startswith(b"HTTP/1.1 200")
