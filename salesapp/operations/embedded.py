"""The embedded default: a real PostgreSQL from the ``pgserver`` wheel, under var/.

It listens on a unix socket only (no TCP port to collide with or expose). With no
catalog URL configured, the app and the tests use it; never SQLite.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from .errors import OperationError

log = logging.getLogger(__name__)

_servers: dict[Path, object] = {}

#: what to do when pgserver is missing: it is an extra, so that an install for real
#: servers does not need it (it has no wheels for the newest Pythons)
INSTALL_HINT = (
    "no catalog URL is set and the embedded PostgreSQL is not installed: "
    "pip install 'salesapp[embedded]' (the pgserver package, Python 3.12 or older), "
    "or set SALESAPP_CATALOG_URL to a PostgreSQL server (docs/deployment.md)"
)


class EmbeddedUnavailable(OperationError):
    """The embedded default was wanted but the ``pgserver`` package cannot be imported."""


def _pgserver():
    with warnings.catch_warnings():
        # pgserver keeps its lock file under the user's runtime dir; without
        # XDG_RUNTIME_DIR (as root, in CI) platformdirs warns and uses /tmp: harmless.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        try:
            import pgserver  # imported here: only the embedded default needs it
        except ModuleNotFoundError as exc:
            if exc.name != "pgserver":
                raise  # pgserver is there but broken: its own error says more
            raise EmbeddedUnavailable(INSTALL_HINT) from None
    return pgserver


def start(data_dir: Path) -> str:
    """Start (or join) the embedded server in ``data_dir``; return its superuser URL.

    The server stops when the last process that started it exits. A server this
    process stopped (:func:`stop`) starts again, at the same URL.
    """
    pgserver = _pgserver()
    data_dir = Path(data_dir).resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = _servers.get(data_dir)
    if server is None:
        log.info("starting embedded PostgreSQL in %s", data_dir)
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        _servers[data_dir] = server
    elif not (data_dir / "postmaster.pid").exists():  # stopped (the process may linger)
        log.info("restarting embedded PostgreSQL in %s", data_dir)
        with server._lock:  # pgserver's inter-process start-up lock, as get_server takes it
            server.ensure_postgres_running()
    return server.get_uri("postgres")


def stop(data_dir: Path, mode: str = "fast") -> None:
    """Stop the embedded server this process started in ``data_dir`` (``mode`` as
    pg_ctl's: smart, fast or immediate, which is a crash); :func:`start` brings it back.
    For outage tests: the server goes away under connected clients."""
    data_dir = Path(data_dir).resolve()
    server = _servers[data_dir]
    _pgserver().pg_ctl(["-w", "-m", mode, "stop"], pgdata=data_dir, user=server.system_user)
    # stopped: pgserver must not stop it again at exit (an unreaped postmaster looks alive)
    server._postmaster_info = None
