"""docs/deployment.md's recipe for every core: gunicorn with 2 workers on the test
deployment serves requests from both, and a tenant's suspension reaches both within a
second (each worker listens for catalog changes; the cache's TTL is 60 s)."""

from __future__ import annotations

import http.client
import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import host_of, wait_for
from tests.deployment.conftest import gunicorn, worker_pids

#: requests sent at once, so that both workers take some (each accepts on its own)
AT_ONCE = 8


def get(port: int, host: str, path: str) -> int:
    """The status of one request on a connection of its own."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


def burst(port: int, host: str, phase: str, count: int = 4 * AT_ONCE) -> list[int]:
    """``count`` requests of /login?phase, AT_ONCE at a time; their statuses."""
    with ThreadPoolExecutor(AT_ONCE) as pool:
        return list(pool.map(lambda _: get(port, host, f"/login?{phase}"), range(count)))


def until_both_answered(server, workers: set[int], host: str, phase: str) -> dict:
    """Bursts of ``phase`` until each worker has answered one (20 at most); pid ->
    statuses. Their log lines come after the answers: waited for."""
    for _ in range(20):
        burst(server.port, host, phase)
        if wait_for(lambda: set(server.served(host, phase)) == workers, 1.0):
            break
    return server.served(host, phase)


def test_two_workers_serve_and_both_hear_a_suspension(settings, make_tenant, set_status, tmp_path):
    tenant = make_tenant("pooled")
    host = host_of(tenant)
    with gunicorn(settings, tmp_path, workers=2) as server:
        workers = worker_pids(server.master)
        assert len(workers) == 2

        # each worker serves the tenant (and so listens: its first look-up started its
        # listener, which connects in milliseconds; half a second is room on a busy box)
        served = until_both_answered(server, workers, host, "before")
        assert served == {pid: {200} for pid in workers}
        time.sleep(0.5)

        set_status(tenant, "suspended")
        time.sleep(1.0)
        suspended = until_both_answered(server, workers, host, "suspended")
        assert suspended == {pid: {403} for pid in workers}

        set_status(tenant, "active")
        time.sleep(1.0)
        active = until_both_answered(server, workers, host, "active")
        assert active == {pid: {200} for pid in workers}
