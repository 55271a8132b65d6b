"""A local Citus cluster for the tests and the benchmark: a coordinator and workers, each a
PostgreSQL 15 data directory on a free port with ``shared_preload_libraries = 'citus'``,
trust authentication on 127.0.0.1, started and removed by whoever starts it.

    python scripts/citus_cluster.py start DIR [--workers 2]   # prints the coordinator URL
    python scripts/citus_cluster.py stop DIR

Needs the Citus extension installed into the machine's PostgreSQL 15 (CI runs
../shared/citus/build.sh; users install Citus from Citus's own packages,
docs/deployment.md). PostgreSQL refuses to run as root: as root the servers run as the
``postgres`` user.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path(os.environ.get("SALESAPP_PG_BIN", "/usr/lib/postgresql/15/bin"))
STATE = "cluster.json"


def citus_installed() -> bool:
    """Is the Citus extension installed into the PostgreSQL whose binaries we run?"""
    try:
        libdir = subprocess.run(
            [str(PG_BIN / "pg_config"), "--pkglibdir"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        try:
            libdir = subprocess.run(
                ["pg_config", "--pkglibdir"], capture_output=True, text=True
            ).stdout.strip()
        except OSError:
            return False
    return bool(libdir) and (Path(libdir) / "citus.so").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user() -> list[str]:
    """The command prefix that runs a server program as a non-root user."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class Node:
    name: str
    port: int
    datadir: str

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@dataclass
class Cluster:
    root: str
    coordinator: Node
    workers: list[Node] = field(default_factory=list)

    @property
    def nodes(self) -> list[Node]:
        return [self.coordinator, *self.workers]

    @property
    def url(self) -> str:
        """The coordinator's superuser URL (the cluster's front door)."""
        return self.coordinator.url

    def save(self) -> None:
        data = {
            "root": self.root,
            "coordinator": vars(self.coordinator),
            "workers": [vars(w) for w in self.workers],
        }
        (Path(self.root) / STATE).write_text(json.dumps(data))

    @classmethod
    def load(cls, root: str | Path) -> Cluster:
        data = json.loads((Path(root) / STATE).read_text())
        return cls(data["root"], Node(**data["coordinator"]), [Node(**w) for w in data["workers"]])


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kw)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


def _psql(node: Node, sql: str) -> str:
    import psycopg

    with psycopg.connect(node.url, autocommit=True, connect_timeout=10) as conn:
        cursor = conn.execute(sql)
        rows = cursor.fetchall() if cursor.description else []
        return "\n".join(str(r[0]) for r in rows)


def _init_node(root: Path, name: str) -> Node:
    datadir = root / name
    datadir.mkdir(parents=True)
    sockets = root / "sockets"
    sockets.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for path in (root, datadir, sockets):
            os.chown(path, pw.pw_uid, pw.pw_gid)
    _run(
        [
            *_as_server_user(),
            str(PG_BIN / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]
    )
    port = free_port()
    with open(datadir / "postgresql.conf", "a") as conf:
        conf.write(
            "\n# salesapp's local Citus cluster (scripts/citus_cluster.py)\n"
            "shared_preload_libraries = 'citus'\n"
            f"port = {port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{sockets}'\n"
            "max_connections = 200\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            "citus.shard_count = 8\n"
            "max_prepared_transactions = 100\n"
            "wal_level = logical\n"
        )
    return Node(name, port, str(datadir))


def _start_node(node: Node) -> None:
    log = Path(node.datadir).parent / f"{node.name}.log"
    if os.geteuid() == 0:
        log.touch()
        pw = pwd.getpwnam("postgres")
        os.chown(log, pw.pw_uid, pw.pw_gid)
    _run(
        [
            *_as_server_user(),
            str(PG_BIN / "pg_ctl"),
            "-D",
            node.datadir,
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "start",
        ]
    )


def start(root: str | Path, workers: int = 2) -> Cluster:
    """Make and start a cluster under ``root`` (created; must not exist or be empty)."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise RuntimeError(f"{root} is not empty: stop and remove the cluster there first")
    if not citus_installed():
        raise RuntimeError(
            "the Citus extension is not installed into PostgreSQL 15: run "
            "../shared/citus/build.sh (or install Citus's own packages)"
        )
    root.mkdir(parents=True, exist_ok=True)
    coordinator = _init_node(root, "coordinator")
    cluster = Cluster(
        str(root), coordinator, [_init_node(root, f"worker{i + 1}") for i in range(workers)]
    )
    cluster.save()
    for node in cluster.nodes:
        _start_node(node)
    for node in cluster.nodes:
        _psql(node, "create extension if not exists citus")
    _psql(coordinator, f"select citus_set_coordinator_host('127.0.0.1', {coordinator.port})")
    for worker in cluster.workers:
        _psql(coordinator, f"select citus_add_node('127.0.0.1', {worker.port})")
    return cluster


def stop(root: str | Path, remove: bool = True) -> None:
    """Stop every node of the cluster under ``root`` and (by default) remove its files."""
    root = Path(root)
    try:
        cluster = Cluster.load(root)
        nodes = cluster.nodes
    except (OSError, ValueError, KeyError):
        nodes = []
    for node in nodes:
        if (Path(node.datadir) / "postmaster.pid").exists():
            subprocess.run(
                [
                    *_as_server_user(),
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    node.datadir,
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                capture_output=True,
            )
    if remove:
        shutil.rmtree(root, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("start")
    s.add_argument("dir")
    s.add_argument("--workers", type=int, default=2)
    t = sub.add_parser("stop")
    t.add_argument("dir")
    t.add_argument("--keep", action="store_true", help="stop but keep the data directories")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            print(start(args.dir, args.workers).url)
        else:
            stop(args.dir, remove=not args.keep)
    except RuntimeError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
