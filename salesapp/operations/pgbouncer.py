"""PgBouncer in transaction mode in front of a store, for the tests and the benchmark.

:func:`start` runs Debian's ``pgbouncer`` binary with a configuration of its own (trust
authentication, transaction pooling, one listening port on 127.0.0.1) in front of one
PostgreSQL server; :func:`route_store` points a store's URL in the catalog at it, so
every app process that resolves the store connects through the pooler. Behind it the
app needs ``salesapp.prepared_statements = false`` (PgBouncer 1.18 keeps no prepared
statements across transactions).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from ..tenancy import urls
from .models import Store


class PgBouncerError(RuntimeError):
    pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminate(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it has not exited in ``timeout``."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _server_address(server_url: str) -> tuple[str, int]:
    """Host (or unix-socket directory) and port of the server at ``server_url``."""
    parsed = urls.parse(server_url)
    host = parsed.host or parsed.query.get("host") or "127.0.0.1"
    return host, parsed.port or 5432


@contextlib.contextmanager
def start(server_url: str, roles: list[str], pool_size=20, reset=False):
    """Run PgBouncer in front of the server of ``server_url`` while the block runs;
    yields the port it listens on (127.0.0.1). ``roles`` may connect through it.
    ``reset``: DISCARD ALL after every transaction (for clients that may prepare).
    Its configuration and log live in a directory of its own, removed at the end."""
    binary = shutil.which("pgbouncer")
    if binary is None:
        raise PgBouncerError("pgbouncer is not installed: apt-get install pgbouncer")
    host, port = _server_address(server_url)
    listen = free_port()
    work_dir = Path(tempfile.mkdtemp(prefix="salesapp-pgbouncer-"))
    users = work_dir / "userlist.txt"
    users.write_text("".join(f'"{role}" ""\n' for role in roles))
    config = work_dir / "pgbouncer.ini"
    config.write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={host} port={port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {listen}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {users}",
                "pool_mode = transaction",
                "max_client_conn = 1000",
                f"default_pool_size = {pool_size}",
                "server_reset_query = " + ("DISCARD ALL" if reset else ""),
                f"server_reset_query_always = {int(reset)}",
                "ignore_startup_parameters = extra_float_digits",
                f"logfile = {work_dir / 'pgbouncer.log'}",
                "",
            ]
        )
    )
    command = [binary, str(config)]
    if os.geteuid() == 0:  # PgBouncer will not run as root
        # as whoever may reach the server's socket directory (the embedded server's)
        owner = Path(host).stat().st_uid if host.startswith("/") else None
        user = pwd.getpwuid(owner).pw_name if owner else "nobody"
        for path in (work_dir, users, config):
            shutil.chown(path, user)
        command[1:1] = ["-u", user]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace")
                log = work_dir / "pgbouncer.log"
                out += log.read_text(errors="replace") if log.exists() else ""
                raise PgBouncerError(f"pgbouncer exited ({proc.returncode}): {out[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", listen), 1):
                break
            if time.monotonic() > deadline:
                raise PgBouncerError("pgbouncer did not start listening in 10 s")
            time.sleep(0.1)
        yield listen
    finally:
        terminate(proc)
        shutil.rmtree(work_dir, ignore_errors=True)


def bounced_url(url: str, port: int) -> str:
    """``url`` (same role and database) through the PgBouncer on 127.0.0.1:``port``."""
    return urls.via(url, "127.0.0.1", port)


@contextlib.contextmanager
def route_store(catalog, store_name: str, port: int):
    """Point the store's URL in the catalog at the PgBouncer on ``port`` while the block
    runs (app processes hear of it by NOTIFY); put it back after."""
    with catalog.session() as session:
        store = session.scalars(select(Store).where(Store.name == store_name)).one()
        original = store.url_encrypted
        store.url_encrypted = catalog.box.encrypt(bounced_url(catalog.store_url(store), port))
    try:
        yield
    finally:
        with catalog.session() as session:
            session.scalars(
                select(Store).where(Store.name == store_name)
            ).one().url_encrypted = original
