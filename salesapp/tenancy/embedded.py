"""The embedded default: a real PostgreSQL from the ``pgserver`` wheel, under var/.

It listens on a unix socket only (no TCP port to collide with or expose). With no
catalog URL configured, the app and the tests use it; never SQLite.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

_servers: dict[Path, object] = {}


def start(data_dir: Path) -> str:
    """Start (or join) the embedded server in ``data_dir``; return its superuser URL.

    The server stops when the last process that started it exits.
    """
    with warnings.catch_warnings():
        # pgserver keeps its lock file under the user's runtime dir; without
        # XDG_RUNTIME_DIR (as root, in CI) platformdirs warns and uses /tmp: harmless.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver  # imported here: only the embedded default needs it

    data_dir = Path(data_dir).resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = _servers.get(data_dir)
    if server is None:
        log.info("starting embedded PostgreSQL in %s", data_dir)
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        _servers[data_dir] = server
    return server.get_uri("postgres")
