"""The tenant directory survives a fork (a pre-fork server's workers, gunicorn
--preload): the child listens for catalog changes itself, and neither process takes
the other's connections."""

from __future__ import annotations

import json
import os
import select
import time

import pytest
from sqlalchemy import text

from salesapp.tenancy import HostKind, HostMatch
from salesapp.tenancy.directory import Directory
from tests.conftest import wait_for


def backend_pid(directory: Directory) -> int:
    with directory.engine.connect() as conn:
        return conn.execute(text("select pg_backend_pid()")).scalar_one()


def read_line(fd: int, timeout: float) -> dict:
    """One JSON line from the child, or a failure after ``timeout`` seconds."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            pytest.fail(f"the forked child said nothing for {timeout} s (so far: {data!r})")
        chunk = os.read(fd, 4096)
        if not chunk:
            pytest.fail(f"the forked child exited early (it said {data!r})")
        data += chunk
    return json.loads(data)


def fork(job) -> tuple[int, int]:
    """Run ``job(write_fd)`` in a forked child, which then exits (never back into
    pytest); (the child's pid, the end to read what it writes)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            job(write_end)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def say(out: int, **what) -> None:
    os.write(out, (json.dumps(what) + "\n").encode())


def child(directory: Directory, match: HostMatch, out: int) -> None:
    """In the forked child: say when it listens, then how long the suspension took."""
    tenant = directory.lookup(match)  # the first look-up starts this process's listener
    say(out, listening=directory.listening.wait(10), status=str(tenant.status))
    started = time.monotonic()
    while time.monotonic() - started < 10:
        if directory.lookup(match).suspended:
            say(out, suspended_after=time.monotonic() - started)
            return
        time.sleep(0.01)
    say(out, suspended_after=None)


def test_a_forked_child_listens_on_its_own(settings, make_tenant, set_status):
    tenant = make_tenant("pooled")
    match = HostMatch(HostKind.SUBDOMAIN, tenant.slug, tenant.slug)
    directory = Directory(settings)
    try:
        directory.start_listener()
        assert directory.listening.wait(10)
        assert directory.lookup(match) is not None
        parents_connection = backend_pid(directory)

        pid, read_end = fork(lambda out: child(directory, match, out))
        try:
            ready = read_line(read_end, 15)
            assert ready == {"listening": True, "status": "active"}
            set_status(tenant, "suspended")  # the cache's TTL is 60 s: only NOTIFY is this fast
            seen = read_line(read_end, 15)
        finally:
            os.close(read_end)
            _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert seen["suspended_after"] is not None, "the child never saw the suspension"
        assert seen["suspended_after"] < 1.0

        # the parent listens still, and the child left its pooled connection alone
        assert wait_for(lambda: directory.lookup(match).suspended, 1.0)
        assert backend_pid(directory) == parents_connection
    finally:
        directory.close()


def test_a_closed_directory_starts_no_listener_in_a_child(settings, make_tenant):
    tenant = make_tenant("pooled")
    directory = Directory(settings)
    directory.start_listener()
    assert directory.listening.wait(10)
    directory.close()

    def look_up(out: int) -> None:
        directory.lookup(HostMatch(HostKind.SUBDOMAIN, tenant.slug, tenant.slug))
        time.sleep(0.5)
        say(out, listening=directory.listening.is_set())

    pid, read_end = fork(look_up)
    try:
        said = read_line(read_end, 15)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert said == {"listening": False}
