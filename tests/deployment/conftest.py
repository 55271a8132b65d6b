"""The multi-process recipe of docs/deployment.md, started against the test deployment:
gunicorn loading the paste ini, its app made once and forked into workers (--preload).
Which worker served a request is read from gunicorn's access log, whose format names
the process (``%(p)s``): the app itself is not changed for the test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import update

from salesapp.operations.models import Tenant
from salesapp.operations.pgbouncer import free_port, terminate
from tests.conftest import REPO, wait_for, write_ini

BIN = Path(sys.executable).parent
#: one line a request: the worker's pid, the status, the Host header, the query string
ACCESS_FORMAT = "%(p)s %(s)s %({host}i)s %(q)s"


@dataclass
class Prefork:
    """A running gunicorn: its port, its master's pid and its access log."""

    port: int
    master: int
    access_log: Path

    def served(self, host: str, query: str) -> dict[int, set[int]]:
        """Worker pid -> the statuses it answered for ``host`` and ``query``, as logged so
        far (a worker writes its line after the answer: count by query, not by line)."""
        found: dict[int, set[int]] = {}
        for line in self.access_log.read_text().splitlines():
            pid, status, logged_host, logged_query = [*line.split(" ", 3), ""][:4]
            if (logged_host, logged_query) == (host, query):
                found.setdefault(int(pid.strip("<>")), set()).add(int(status))
        return found


@contextlib.contextmanager
def gunicorn(settings, tmp_path: Path, workers: int = 2, threads: int = 4):
    """docs/deployment.md's command (its options as written there) on a free port, with
    an access log; yields once every worker runs."""
    port = free_port()
    ini = write_ini(settings, tmp_path / "app.ini")
    if not settings.prepared_statements:  # SALESAPP_TEST_PGBOUNCER: as the ini would say
        ini.write_text(ini.read_text() + "salesapp.prepared_statements = false\n")
    access_log = tmp_path / "access.log"
    access_log.touch()
    log_path = tmp_path / "gunicorn.log"
    command = [
        str(BIN / "gunicorn"),
        "--paste", str(ini),
        "--preload",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--bind", f"127.0.0.1:{port}", "--forwarded-allow-ips", "127.0.0.1",
        "--worker-connections", "1000", "--keep-alive", "30", "--timeout", "30",
        "--graceful-timeout", "30",
        "--limit-request-line", "8190", "--limit-request-field_size", "65536",
        "--access-logfile", str(access_log),
        "--access-logformat", ACCESS_FORMAT,
        "--no-control-socket",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},  # this checkout's code
        )
    try:
        started = wait_for(lambda: len(worker_pids(proc.pid)) == workers, timeout=60)
        assert started, log_path.read_text()
        yield Prefork(port, proc.pid, access_log)
    finally:
        terminate(proc, timeout=30)


def worker_pids(master: int) -> set[int]:
    """The processes whose parent is ``master``."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                found.add(int(stat.parent.name))
    return found


@pytest.fixture
def set_status(catalog):
    """Set a tenant's status in the catalog (its trigger notifies every listener);
    suspended tenants are made active again at the end."""
    changed = []

    def set_(tenant, status: str) -> None:
        with catalog.session() as session:
            session.execute(
                update(Tenant)
                .where(Tenant.id == tenant.id)
                .values(status=status, status_reason="unpaid" if status == "suspended" else None)
            )
        changed.append(tenant)

    yield set_
    for tenant in changed:
        with catalog.session() as session:
            session.execute(update(Tenant).where(Tenant.id == tenant.id).values(status="active"))
