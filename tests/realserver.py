"""A real waitress (`pserve`) serving the test deployment on a free port, for what only a
real HTTP server shows: the bytes of a request line and headers as a client sends them
(absolute-form targets, bytes outside ASCII), and how many connections it holds."""

from __future__ import annotations

import configparser
import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from salesapp.operations.pgbouncer import free_port, terminate
from tests.conftest import BASE_DOMAIN, REPO, wait_for, write_ini

BIN = Path(sys.executable).parent
#: the [server:main] keys that say where to listen, which a test chooses itself
WHERE = frozenset({"use", "listen", "host", "port", "unix_socket"})


def production_server_settings() -> dict[str, str]:
    """waitress's settings as production.ini gives them (where it listens aside)."""
    parser = configparser.RawConfigParser()
    parser.read(REPO / "production.ini")
    return {k: v for k, v in parser.items("server:main") if k not in WHERE}


@contextmanager
def pserve(settings, tmp_path: Path, server: dict[str, str]):
    """`pserve` with waitress's ``server`` settings on a free port; yields the port once
    the server answers, and stops it after."""
    port = free_port()
    ini = write_ini(settings, tmp_path / "app.ini")
    lines = [
        "" if settings.prepared_statements else "salesapp.prepared_statements = false",
        "[server:main]",
        "use = egg:waitress#main",
        f"listen = 127.0.0.1:{port}",
        *(f"{key} = {value}" for key, value in server.items()),
    ]
    ini.write_text(ini.read_text() + "\n".join(lines) + "\n")
    log_path = tmp_path / "pserve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "pserve"), str(ini)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},  # this checkout's code
        )
    try:
        ready = wait_for(lambda: _answers(port), timeout=60)
        assert ready, log_path.read_text()
        yield port
    finally:
        terminate(proc, timeout=30)


def _answers(port: int) -> bool:
    try:
        return exchange(port, request_bytes("GET", "/healthz", BASE_DOMAIN), 5).startswith(
            b"HTTP/1.1 200"
        )
    except OSError:
        return False


def request_bytes(method: str, target: str, host: str | bytes) -> bytes:
    """A request as a client writes it; ``host`` as bytes goes on the wire unchanged."""
    raw_host = host if isinstance(host, bytes) else host.encode("ascii")
    return (
        f"{method} {target} HTTP/1.1\r\n".encode("latin-1")
        + b"Host: "
        + raw_host
        + b"\r\nConnection: close\r\n\r\n"
    )


def exchange(port: int, data: bytes, timeout: float) -> bytes:
    """Send ``data`` on a new connection and read the whole answer (until the server
    closes the connection); OSError (a timeout included) if it does not come."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
