#!/usr/bin/env python3
"""salesapp's benchmark: throughput, latency, memory and database connections at 1, 100
and 1000 pooled tenants and 20 dedicated ones, against the same code with tenancy off;
tenant creation and a migration across every store. Writes docs/benchmarks.md.

    .venv/bin/python scripts/bench.py            # the full run (about 20 minutes)
    .venv/bin/python scripts/bench.py --quick    # a smoke run (1 and 10 tenants, 2 s loads)

What one run does:

1. Starts a fresh embedded PostgreSQL under var/bench (or uses --database-url, a
   superuser URL of a real server) and makes a deployment of its own on it (databases and
   roles named bench_<hex>_..., all dropped at the end).
2. Creates tenants as `salesapp tenant create` does (timed, one by one; the medians are
   the creation figures), then gives each demo data, stock of the product it sells and
   an API token of its admin (not timed).
3. For each tenant count, starts waitress (`pserve`, production settings, 8 threads) on
   127.0.0.1 and drives it with wrk (scripts/bench.lua rotates Host and token over the
   tenants): a warm-up, then READ (GET /api/products?limit=20) and MIXED (90% READ, 10%
   POST /api/sales of one line). It reads the server's RSS and counts the database
   connections the server holds, and takes the CPU time (user + system, /proc) the
   server's processes and PostgreSQL's (the postmaster, its backends and helpers) spent
   during each load: per request, the figure that moves least on a shared machine.
   --processes N serves with gunicorn's N workers (docs/deployment.md) instead of
   waitress alone; --processes 1,2 runs the pooled loads with each in every round.
4. At one tenant, runs the same loads against the same code with ``salesapp.tenancy =
   off`` (one database, as a role that row-level security does not apply to; no host
   resolution, no tween, no tenant setting per transaction), alternating with tenancy on,
   so the overhead is a ratio measured side by side.
5. With --pgbouncer, runs the 1000-tenant loads again with PgBouncer (transaction mode)
   between the app and the pooled store.
6. Times `salesapp migrate --jobs 2` applying a trivial new revision (one ADD COLUMN) to
   the catalog, the template, the pooled store of 1000 tenants and 20 dedicated stores.

With --abuse it runs only the "sign-in abuse" scenario instead: an authenticated API
call (GET /api/products?limit=20, one connection, so its latency is a user's) measured
alone, then while --abuse-loops anonymous loops post wrong passwords for made-up
usernames to several workspaces, with the deployment's throttling as configured, and
again with the per-address limit off (``max_failed_logins_per_address = 0``: attempts
from a crowd of addresses, which only the process's hashing slots bound). Argon2 at the
production parameters. Writes its own section of docs/benchmarks.md.

With --till it runs only "the till" scenario instead: --till-tenants pooled workspaces,
each with a register whose shift is open; the admin of each signs in over HTTP and
chooses the register, then --till-clients threads (http.client, one keep-alive
connection each) ring sales over the workspaces in turn: three scans (POST /pos/add of a
barcode) and "Complete sale" (POST /pos/complete, exact cash). Once without and once
with the header ``X-Till-Fragment: cart`` (the cart section instead of a redirect to the
whole page); a redirect is followed and counted, as a browser does. It reports the
latency of a scan and of a completion (p50, p95) and the bytes of a scan on the wire,
and checks that every sale the clients completed is in the store. Writes its own
section of docs/benchmarks.md and the "till" entry of docs/benchmarks.json. --quick
runs a small one too (10 workspaces, with the header only; about 7 s more).

With --profile it runs only a sampling profile: --profile-tenants pooled workspaces,
one server, py-spy sampling it (and its workers) during READ and then MIXED, and the top
functions by own and total time written to their own section of docs/benchmarks.md.

Needs wrk (apt-get install wrk), for --pgbouncer pgbouncer, for --processes gunicorn and
for --profile py-spy (both in the testing extra).
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import dataclasses
import datetime as dt
import html
import http.client
import io
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import bench_profile  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from salesapp.accounts.models import User  # noqa: E402
from salesapp.api.services import ApiTokenService  # noqa: E402
from salesapp.inventory.services import InventoryService  # noqa: E402
from salesapp.locations.models import Location  # noqa: E402
from salesapp.operations import (  # noqa: E402
    bootstrap,
    door,
    embedded,
    migrations,
    pgbouncer,
    provisioning,
)
from salesapp.operations.catalog import Catalog  # noqa: E402
from salesapp.operations.demo import generate  # noqa: E402
from salesapp.operations.pgbouncer import free_port, terminate  # noqa: E402
from salesapp.products.models import Product  # noqa: E402
from salesapp.registers.services import RegisterService  # noqa: E402
from salesapp.sales.models import Sale  # noqa: E402
from salesapp.settings import parse_settings  # noqa: E402
from salesapp.tenancy import urls  # noqa: E402
from salesapp.tenancy.crypto import mask_url  # noqa: E402

BASE_DOMAIN = "bench.test"
LUA = REPO / "scripts" / "bench.lua"
BIN = Path(sys.executable).parent


def production_threads() -> int:
    """waitress's threads in production.ini: the benchmark serves as production does."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "production.ini")
    return parser.getint("server:main", "threads", fallback=4)


#: what the sales of MIXED draw on: more than any run sells
STOCK = Decimal("900000")
#: the products a tenant's MIXED sales pick from at random (a sale locks its products'
#: rows until it commits: tills selling one product at once queue for it)
SOLD = 10
WORKLOADS = ("READ", "MIXED")
#: the float counted into each till's drawer when its shift opens
OPENING_FLOAT = Decimal("100.00")
#: what assess() adds to a run's JSON
DERIVED = ("overhead_pct", "scale_pct", "rss_mb", "worst_p99", "targets")


@dataclass
class Shop:
    """A benchmark tenant: where it lives and how the load signs in to it."""

    slug: str
    id: int
    kind: str
    create_seconds: float
    password: str = ""
    token: str = ""
    skus: list[str] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    #: the register its till rings on and that register's open shift (open_tills)
    register_id: str = ""
    shift_id: uuid.UUID | None = None

    @property
    def host(self) -> str:
        return f"{self.slug}.{BASE_DOMAIN}"


@dataclass
class Run:
    """One wrk run against one server."""

    label: str
    tenants: int
    kind: str
    tenancy: bool
    workload: str
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: dict
    rss_mb: float
    db_connections: dict
    pgbouncer: bool = False
    #: CPU milliseconds per request of the server's processes (the server, its workers)
    app_cpu_ms: float | None = None
    #: the same of PostgreSQL's processes (the postmaster, its backends and helpers),
    #: None on a server whose processes are not on this machine
    db_cpu_ms: float | None = None
    #: the same of PgBouncer's process (runs behind it)
    pgbouncer_cpu_ms: float | None = None
    #: the server's processes: 0 is waitress alone (pserve), N gunicorn's N workers
    processes: int = 0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


@dataclass
class Bench:
    args: argparse.Namespace
    admin_url: str
    settings: object
    work: Path
    catalog: Catalog = None
    shops: list[Shop] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    #: the server that server() starts: 0 waitress alone, N gunicorn with N workers
    processes: int = 0

    # -- tenants -------------------------------------------------------------------
    def pooled(self) -> list[Shop]:
        return [s for s in self.shops if s.kind == "pooled"]

    def dedicated(self) -> list[Shop]:
        return [s for s in self.shops if s.kind == "dedicated"]

    def create(self, kind: str, count: int) -> list[Shop]:
        made = []
        for _ in range(count):
            number = len([s for s in self.shops if s.kind == kind]) + 1
            slug = f"{kind[0]}{number:04d}"
            request = provisioning.TenantRequest(
                name=f"Bench {slug}",
                slug=slug,
                admin_email=f"admin@{slug}.example.org",
                placement=kind,
            )
            started = time.perf_counter()
            tenant = provisioning.create_tenant(self.catalog, request)
            shop = Shop(slug, tenant.id, kind, time.perf_counter() - started)
            shop.password = tenant.admin_password
            self.fill(shop)
            self.shops.append(shop)
            made.append(shop)
        return made

    def fill(self, shop: Shop) -> None:
        """Demo data (a month of it), stock to sell and the admin's API token."""
        with door.tenant_session(self.catalog, shop.slug) as db:
            generate(db, shop.id, seed=shop.id, months=1, customers=10, sales_per_day=(0, 2))
            admin = db.scalars(select(User).where(User.username == "admin")).one()
            products = db.scalars(select(Product).order_by(Product.sku).limit(SOLD)).all()
            location = db.scalars(select(Location).where(Location.is_default)).one()
            inventory = InventoryService(db, shop.id, admin.id)
            for product in products:
                inventory.receive(product.id, location.id, STOCK, "benchmark stock")
            _, shop.token = ApiTokenService(db, shop.id).create(admin, "benchmark")
            shop.skus = [p.sku for p in products]
            shop.barcodes = [p.barcode for p in products]

    def open_tills(self, shops: list[Shop]) -> None:
        """A register at each shop's default location with a shift open on it (a float
        of 100), as an Admin makes them on /registers: what the till rings sales on."""
        for shop in shops:
            if shop.shift_id is not None:
                continue
            with door.tenant_session(self.catalog, shop.slug) as db:
                admin = db.scalars(select(User).where(User.username == "admin")).one()
                location = db.scalars(select(Location).where(Location.is_default)).one()
                registers = RegisterService(db, shop.id)
                register = registers.create(location.id, "Till 1")
                shift = registers.open_shift(register, OPENING_FLOAT, admin)
                shop.register_id, shop.shift_id = str(register.id), shift.id

    def postmaster_pid(self) -> int | None:
        """The PostgreSQL server's postmaster: the embedded one's from its data directory;
        on --database-url's server, the parent of a backend if that runs on this machine
        (None if not: its CPU is not measured then)."""
        if not self.args.database_url:
            pid_file = self.work / "pgdata" / "postmaster.pid"
            return int(pid_file.read_text().split()[0]) if pid_file.exists() else None
        with bootstrap.admin_connection(self.admin_url) as conn:
            backend = conn.execute("select pg_backend_pid()").fetchone()[0]
        return bench_profile.parent_of(backend)

    def sales_in_shifts(self, shops: list[Shop]) -> int:
        """The sales the stores hold in the shops' till shifts."""
        found = 0
        for shop in shops:
            with door.tenant_session(self.catalog, shop.slug) as db:
                query = select(func.count()).select_from(Sale)
                found += db.scalar(query.where(Sale.shift_id == shop.shift_id))
        return found

    def tenants_file(self, shops: list[Shop]) -> Path:
        path = self.work / f"tenants-{len(shops)}-{shops[0].kind}.txt"
        path.write_text("".join(f"{s.host} {s.token} {','.join(s.skus)}\n" for s in shops))
        return path

    # -- servers -------------------------------------------------------------------
    def ini(self, name: str, port: int, extra: dict) -> Path:
        s = self.settings
        values = {
            "salesapp.production": "true",
            "salesapp.catalog_url": s.catalog_url,
            "salesapp.secret_key": s.secret_key,
            "salesapp.base_domains": BASE_DOMAIN,
            "salesapp.role_prefix": s.role_prefix,
            "salesapp.var_dir": str(self.work / "var"),
            "salesapp.log_dir": str(self.work / "logs"),
            **dict(item.split("=", 1) for item in self.args.set),
            **extra,
        }
        lines = ["[app:main]", "use = egg:salesapp", "pyramid.reload_templates = false"]
        lines += [f"{k} = {v.replace('%', '%%')}" for k, v in values.items()]
        lines += [
            "",
            "[server:main]",
            "use = egg:waitress#main",
            f"listen = 127.0.0.1:{port}",
            f"threads = {self.args.threads}",
            "",
            "[loggers]\nkeys = root\n\n[handlers]\nkeys = console\n\n[formatters]\nkeys = plain",
            "\n[logger_root]\nlevel = WARN\nhandlers = console",
            "\n[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nformatter = plain",
            "\n[formatter_plain]\nformat = %%(asctime)s %%(levelname)s [%%(name)s] %%(message)s",
        ]
        path = self.work / f"{name}.ini"
        path.write_text("\n".join(lines) + "\n")
        return path

    @contextlib.contextmanager
    def server(self, name: str, extra: dict | None = None):
        """The server on a free port, as production runs it: waitress (pserve) alone, or
        with --processes N gunicorn's recipe of docs/deployment.md (N workers of
        --threads threads each, the app made once and forked). Yields (process, port)."""
        self.settle()
        port = free_port()
        ini = self.ini(name, port, extra or {})
        log = open(self.work / f"{name}.log", "w")  # noqa: SIM115
        if self.processes:
            command = [
                str(BIN / "gunicorn"), "--paste", str(ini), "--preload",
                "--workers", str(self.processes), "--worker-class", "gthread",
                "--threads", str(self.args.threads), "--bind", f"127.0.0.1:{port}",
                "--no-control-socket",
            ]  # fmt: skip
        else:
            command = [str(BIN / "pserve"), str(ini)]
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            wait_for_health(port, proc, self.work / f"{name}.log")
            yield proc, port
        finally:
            terminate(proc)
            log.close()

    def settle(self) -> None:
        """VACUUM ANALYZE every database of the deployment, then CHECKPOINT, so that a
        load does not meet autovacuum or a checkpoint catching up on tenant creation."""
        with bootstrap.admin_connection(self.admin_url) as conn:
            names, _ = bootstrap.deployment_names(conn, self.settings.role_prefix)
        for name in names:
            with bootstrap.admin_connection(self.admin_url, name) as conn:
                conn.execute("VACUUM ANALYZE")
        with bootstrap.admin_connection(self.admin_url) as conn:
            conn.execute("CHECKPOINT")

    def connections(self) -> dict:
        """The database connections of the app's roles, by database."""
        roles = [self.settings.app_role, f"{self.settings.role_prefix}_norls"]
        with bootstrap.admin_connection(self.admin_url) as conn:
            rows = conn.execute(
                "select datname, count(*) from pg_stat_activity where usename = any(%s) "
                "group by datname order by datname",
                (roles,),
            ).fetchall()
        return {name: count for name, count in rows}

    # -- load ----------------------------------------------------------------------
    def load(self, port, shops, workload, seconds, connections=None) -> dict:
        connections = connections or self.args.connections
        write = {"READ": 0, "MIXED": 10, "WARMUP": 10}[workload]
        command = [
            "wrk", "-t", str(self.args.wrk_threads), "-c", str(connections),
            "-d", f"{seconds}s", "--timeout", "10s", "-s", str(LUA),
            f"http://127.0.0.1:{port}", "--", str(self.tenants_file(shops)), str(write),
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        line = next(x for x in out.splitlines() if x.startswith("BENCH "))
        return json.loads(line[6:])

    def cpu(self, proc) -> tuple[float | None, ...]:
        """CPU seconds so far of the server's processes, PostgreSQL's and PgBouncer's."""
        bouncers = bench_profile.named_children(os.getpid(), "pgbouncer")
        return (
            bench_profile.tree_cpu_seconds(proc.pid),
            bench_profile.tree_cpu_seconds(
                self.notes.setdefault("postmaster", self.postmaster_pid())
            ),
            sum(bench_profile.cpu_seconds(pid) for pid in bouncers) if bouncers else None,
        )

    def measure(self, label, proc, port, shops, *, tenancy=True, pgbouncer=False):
        """Warm up, then READ and MIXED; one Run each."""
        label += processes_label(self.processes)
        self.load(port, shops, "WARMUP", self.args.warmup)
        for workload in ("READ", "MIXED"):
            before = self.cpu(proc)
            result = self.load(port, shops, workload, self.args.duration)
            after = self.cpu(proc)
            used = [
                None if a is None or b is None else a - b
                for a, b in zip(after, before, strict=True)
            ]
            app_ms, db_ms, bouncer_ms = (
                bench_profile.per_request_ms(u, result["requests"]) for u in used
            )
            seconds = result["duration_us"] / 1e6
            run = Run(
                label=label,
                tenants=len(shops),
                kind=shops[0].kind,
                tenancy=tenancy,
                workload=workload,
                connections=self.args.connections,
                seconds=round(seconds, 1),
                requests=result["requests"],
                rps=round(result["requests"] / seconds, 1),
                p50_ms=result["latency_us"]["p50"] / 1000,
                p99_ms=result["latency_us"]["p99"] / 1000,
                errors={k: v for k, v in result["errors"].items() if v},
                rss_mb=round(tree_rss_mb(proc.pid), 1),
                db_connections=self.connections(),
                pgbouncer=pgbouncer,
                app_cpu_ms=app_ms,
                db_cpu_ms=db_ms,
                pgbouncer_cpu_ms=bouncer_ms,
                processes=self.processes,
            )
            self.runs.append(run)
            print(
                f"  {label:<28} {workload:<5} {run.rps:8.1f} req/s  p50 {run.p50_ms:6.1f} ms  "
                f"p99 {run.p99_ms:6.1f} ms  CPU/req app {cpu_ms(app_ms)} PG {cpu_ms(db_ms)}"
                + (f" PgBouncer {cpu_ms(bouncer_ms)}" if bouncer_ms is not None else "")
                + f"  RSS {run.rss_mb:6.1f} MB  db conns {sum(run.db_connections.values()):3d}"
                + (f"  ERRORS {run.errors}" if run.errors else ""),
                flush=True,
            )

    def tenancy_off_url(self) -> str:
        """The pooled store, as a role row-level security does not apply to (BYPASSRLS),
        with the app role's privileges: the baseline of a single-tenant app."""
        role = f"{self.settings.role_prefix}_norls"
        with bootstrap.admin_connection(self.admin_url) as conn:
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN BYPASSRLS IN ROLE {}").format(
                        sql.Identifier(role), sql.Identifier(self.settings.app_role)
                    )
                )
        with self.catalog.session() as session:
            store = self.catalog.default_pooled_store(session)
            url = self.catalog.store_url(store)
        return urls.with_role(url, role, None)

    # -- migration -----------------------------------------------------------------
    def migrate_trivial_revision(self) -> dict:
        """Copy the migration scripts, add one revision (ADD COLUMN) and time `salesapp
        migrate` applying it everywhere."""
        tree = self.work / "alembic"
        shutil.copytree(REPO / "alembic", tree, ignore=shutil.ignore_patterns("__pycache__"))
        head = migrations.head_revision("tenant")
        (tree / "tenant" / "versions" / "9999_bench_trivial.py").write_text(
            '"""benchmark: a trivial revision"""\n'
            "import sqlalchemy as sa\nfrom alembic import op\n\n"
            f'revision = "bench1"\ndown_revision = "{head}"\n'
            "branch_labels = None\ndepends_on = None\n\n\n"
            "def upgrade():\n"
            '    op.add_column("products", sa.Column("bench_note", sa.Text()))\n'
        )
        ini = self.ini("migrate", free_port(), {})
        env = {**os.environ, "SALESAPP_ALEMBIC_DIR": str(tree)}
        started = time.perf_counter()
        out = subprocess.run(
            [str(BIN / "salesapp"), "-c", str(ini), "migrate", "--jobs", "2", "--json"],
            capture_output=True, text=True, env=env, cwd=REPO,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        if out.returncode:
            raise SystemExit(f"salesapp migrate failed:\n{out.stdout}\n{out.stderr}")
        rows = json.loads(out.stdout[out.stdout.index("[") :])
        stores = {r["name"]: r for r in rows}
        pooled = [r for r in rows if r["kind"] == "pooled"]
        dedicated = [r for r in rows if r["kind"] == "dedicated"]
        return {
            "command_seconds": round(seconds, 2),
            "databases": len(rows),
            "migrated": sum(r["status"] == "migrated" for r in rows),
            "pooled_store_seconds": pooled[0]["seconds"] if pooled else None,
            "pooled_store_tenants": len(self.pooled()),
            "dedicated_store_seconds_median": (
                statistics.median(r["seconds"] for r in dedicated) if dedicated else None
            ),
            "dedicated_stores": len(dedicated),
            "catalog_seconds": stores["catalog"]["seconds"],
        }


# -- helpers -------------------------------------------------------------------------
def wait_for_health(port: int, proc, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer /healthz in {timeout:.0f} s; see {log}")


def stop_leftover_server(data_dir: Path) -> None:
    """Stop the embedded server an interrupted run left behind (fast shutdown)."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """The RSS of a server and its workers, summed (pages a fork shares are counted in
    each process: an upper bound)."""
    return rss_mb(pid) + sum(rss_mb(child) for child in bench_profile.children(pid))


def cpu_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def median_ms(values) -> float:
    return round(statistics.median(values) * 1000, 1)


def versions(admin_url: str) -> dict:
    from importlib.metadata import version

    import pyramid
    import sqlalchemy
    import waitress  # noqa: F401

    with bootstrap.admin_connection(admin_url) as conn:
        server = conn.execute("show server_version").fetchone()[0]
        max_connections = conn.execute("show max_connections").fetchone()[0]
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    del pyramid
    return {
        "python": platform.python_version(),
        "postgresql": server,
        "max_connections": int(max_connections),
        "pyramid": version("pyramid"),
        "sqlalchemy": sqlalchemy.__version__,
        "psycopg": version("psycopg"),
        "waitress": version("waitress"),
        "wrk": wrk.split(" [")[0],
    }


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
    }


@contextlib.contextmanager
def bouncer(bench: Bench):
    """PgBouncer in transaction mode between the app and the pooled store: the store's
    URL in the catalog points at it while the block runs; yields the app's settings."""
    s = bench.settings
    with pgbouncer.start(bench.admin_url, [s.app_role, s.owner_role]) as port:
        with bench.catalog.session() as session:
            name = bench.catalog.default_pooled_store(session).name
        with pgbouncer.route_store(bench.catalog, name, port):
            yield {"salesapp.prepared_statements": "false"}


# -- the report ----------------------------------------------------------------------
def _median(runs, **match) -> float | None:
    values = [r["rps"] for r in runs if all(r[k] == v for k, v in match.items())]
    return statistics.median(values) if values else None


def connection_bound(settings, pooled_stores: int = 1) -> int:
    """The most database connections one app process may hold, by configuration: each
    pooled store's engine and at most max_dedicated_engines dedicated ones (pool_size +
    max_overflow each), and the catalog's (3, and the listener's 1)."""
    per_engine = settings.pool_size + settings.max_overflow
    return (pooled_stores + settings.max_dedicated_engines) * per_engine + 4


def command_line(argv) -> str:
    return "python scripts/bench.py " + " ".join(argv if argv is not None else sys.argv[1:])


def collect(bench: Bench, counts: list[int], seconds: float, argv) -> dict:
    """Everything the run measured, as JSON (docs/benchmarks.json)."""
    return {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(argv),
        "seconds": round(seconds),
        "machine": machine(),
        "versions": versions(bench.admin_url),
        "server_threads": bench.args.threads,
        "processes": bench.args.process_counts,
        "connections": bench.args.connections,
        "counts": counts,
        "settings": {
            "pool_size": bench.settings.pool_size,
            "max_overflow": bench.settings.max_overflow,
            "max_dedicated_engines": bench.settings.max_dedicated_engines,
            "connection_bound": connection_bound(bench.settings),
        },
        "creation_ms": {
            "pooled_median": bench.notes["pooled_create_ms"],
            "dedicated_median": bench.notes["dedicated_create_ms"],
            "pooled_median_last": bench.notes["pooled_create_ms_last"],
            "pooled_last_range": bench.notes["pooled_create_last_range"],
            "samples": bench.args.creations,
        },
        "migrate": bench.notes["migrate"],
        "runs": [dataclasses.asdict(r) for r in bench.runs],
    }


def assess(report: dict) -> dict:
    """The ratios and the targets, from what was measured (with several --processes, by
    the runs of the first, which every configuration ran with)."""
    first = report.get("processes", [0])[0]
    runs = [r for r in report["runs"] if r.get("processes", 0) == first]
    counts = report["counts"]
    top = counts[-1]
    pooled_on = {"tenancy": True, "kind": "pooled", "pgbouncer": False}
    on1 = {w: _median(runs, **pooled_on, tenants=1, workload=w) for w in WORKLOADS}
    off1 = {w: _median(runs, tenancy=False, workload=w) for w in WORKLOADS}
    at_top = {w: _median(runs, **pooled_on, tenants=top, workload=w) for w in WORKLOADS}
    rss = {
        n: max(
            (r["rss_mb"] for r in runs if r["tenancy"] and r["tenants"] == n),
            default=None,
        )
        for n in counts
    }
    top_runs = [r for r in runs if all(r[k] == v for k, v in pooled_on.items())]
    top_runs = [r for r in top_runs if r["tenants"] == top]
    # each run's p99, then the median over the rounds (as for req/s), per workload; the
    # target holds for the worse workload
    p99_top = max(
        statistics.median(r["p99_ms"] for r in top_runs if r["workload"] == w) for w in WORKLOADS
    )
    p99_any = max(runs, key=lambda r: r["p99_ms"])
    conns = max(sum(r["db_connections"].values()) for r in runs if r["tenancy"])
    bound = report["settings"]["connection_bound"]
    overhead = {w: round((1 - on1[w] / off1[w]) * 100, 1) for w in WORKLOADS}
    scale = {w: round(at_top[w] / on1[w] * 100, 1) for w in WORKLOADS}
    growth = round(rss[top] - rss[1], 1)
    c, g = report["creation_ms"], report["migrate"]
    one_store = g["dedicated_store_seconds_median"] or 0
    n = report["connections"]
    targets = [
        ("tenancy overhead, READ", "<= 10%", f"{overhead['READ']}%", overhead["READ"] <= 10),
        ("tenancy overhead, MIXED", "<= 10%", f"{overhead['MIXED']}%", overhead["MIXED"] <= 10),
        (f"throughput at {top} vs 1, READ", ">= 90%", f"{scale['READ']}%", scale["READ"] >= 90),
        (f"throughput at {top} vs 1, MIXED", ">= 90%", f"{scale['MIXED']}%", scale["MIXED"] >= 90),
        (
            f"p99 at {top} tenants, {n} connections (median of runs, worse workload)",
            "< 100 ms",
            f"{p99_top:.1f} ms",
            p99_top < 100,
        ),
        (f"RSS growth, 1 to {top} tenants", "< 50 MB", f"{growth} MB", growth < 50),
        (
            "database connections, most held",
            f"<= {bound} (configuration)",
            str(conns),
            conns <= bound,
        ),
        (
            "pooled creation, median",
            "< 100 ms",
            f"{c['pooled_median']} ms",
            c["pooled_median"] < 100,
        ),
        (
            "dedicated creation, median",
            "< 1500 ms",
            f"{c['dedicated_median']} ms",
            c["dedicated_median"] < 1500,
        ),
        (
            f"migration of the pooled store of {g['pooled_store_tenants']} tenants",
            "what one tenant's store costs",
            f"{g['pooled_store_seconds']} s vs {one_store} s",
            g["pooled_store_seconds"] <= 2 * one_store + 0.05,
        ),
    ]
    return {
        **report,
        "overhead_pct": overhead,
        "scale_pct": scale,
        "rss_mb": rss,
        "worst_p99": {k: p99_any[k] for k in ("label", "workload", "p99_ms")},
        "targets": [{"what": w, "target": t, "measured": m, "met": ok} for w, t, m, ok in targets],
    }


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
ABUSE_BEGIN, ABUSE_END = "<!-- bench:abuse:begin -->", "<!-- bench:abuse:end -->"
TILL_BEGIN, TILL_END = "<!-- bench:till:begin -->", "<!-- bench:till:end -->"
PROFILE_BEGIN, PROFILE_END = "<!-- bench:profile:begin -->", "<!-- bench:profile:end -->"


def markdown(report: dict) -> str:
    m, v = report["machine"], report["versions"]
    lines = [
        BEGIN,
        f"## Latest run: {report['when']}",
        "",
        f"`{report['command']}` ({report['seconds']} s in all)",
        "",
        f"- machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, Linux {m['kernel']}",
        f"- PostgreSQL {v['postgresql']} (max_connections {v['max_connections']}), Python "
        f"{v['python']}, Pyramid {v['pyramid']}, SQLAlchemy {v['sqlalchemy']}, psycopg "
        f"{v['psycopg']}, waitress {v['waitress']} ({report['server_threads']} threads), "
        f"{v['wrk']}",
        f"- app settings: pool_size {report['settings']['pool_size']}, max_overflow "
        f"{report['settings']['max_overflow']}, max_dedicated_engines "
        f"{report['settings']['max_dedicated_engines']}",
        "",
        "| target | wanted | measured | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t['what']} | {t['target']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |"
        for t in report["targets"]
    ]
    w = report["worst_p99"]
    lines += [
        "",
        "Each configuration ran as many times as `--rounds` says, each on a fresh server; "
        "the targets use the medians over those runs. Tenancy overhead is 1 - (on / off) "
        f"of the {report['counts'][0]}-tenant medians. The worst p99 of any single run was "
        f"{w['p99_ms']:.1f} ms ({w['label']}, {w['workload']}).",
        "",
        *cpu_table(report["runs"]),
        "| run | workload | req/s | p50 ms | p99 ms | app CPU ms/req | PostgreSQL CPU ms/req "
        "| errors | RSS MB | db connections |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        errors = sum(r["errors"].values())
        lines.append(
            f"| {r['label']} | {r['workload']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {cpu_cell(r.get('app_cpu_ms'))} | {db_cpu_cell(r)} | "
            f"{errors} | {r['rss_mb']:.0f} | {sum(r['db_connections'].values())} |"
        )
    c, g = report["creation_ms"], report["migrate"]
    lines += [
        "",
        f"Tenant creation (`provisioning.create_tenant`, what `salesapp tenant create` runs; "
        f"median of {c['samples']}): pooled **{c['pooled_median']} ms**, dedicated "
        f"**{c['dedicated_median']} ms**; pooled tenants {c['pooled_last_range']}: "
        f"{c['pooled_median_last']} ms.",
        "",
        f"`salesapp migrate --jobs 2`, a trivial new revision (ADD COLUMN) on "
        f"{g['databases']} databases: **{g['command_seconds']} s** for the command; the "
        f"pooled store of {g['pooled_store_tenants']} tenants took "
        f"**{g['pooled_store_seconds']} s**, a dedicated store of one tenant "
        f"{g['dedicated_store_seconds_median']} s (median of {g['dedicated_stores']}).",
        END,
    ]
    return "\n".join(lines) + "\n"


def cpu_cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def db_cpu_cell(run: dict) -> str:
    """PostgreSQL's CPU per request, and PgBouncer's beside it on a run behind it."""
    cell = cpu_cell(run.get("db_cpu_ms"))
    if run.get("pgbouncer_cpu_ms") is not None:
        cell += f" (+ PgBouncer {run['pgbouncer_cpu_ms']:.2f})"
    return cell


def cpu_table(runs: list[dict]) -> list[str]:
    """The medians over the rounds of each configuration's CPU per request: the figure
    that moves least on a shared machine (req/s moves with whatever else runs)."""
    measured = [r for r in runs if r.get("app_cpu_ms") is not None]
    if not measured:
        return []
    lines = [
        "CPU time per request (user + system, of the server's processes and of PostgreSQL's, "
        "over the load, divided by its requests; medians over the rounds). It moves far "
        "less than req/s when other work shares the machine.",
        "",
        "| run | workload | app CPU ms/req | PostgreSQL CPU ms/req | rounds |",
        "|---|---|---|---|---|",
    ]
    for label in dict.fromkeys(r["label"] for r in measured):
        for workload in WORKLOADS:
            mine = [r for r in measured if r["label"] == label and r["workload"] == workload]
            if not mine:
                continue
            app = statistics.median(r["app_cpu_ms"] for r in mine)
            dbs = [r["db_cpu_ms"] for r in mine if r.get("db_cpu_ms") is not None]
            db = cpu_cell(statistics.median(dbs)) if dbs else "-"
            lines.append(f"| {label} | {workload} | {app:.2f} | {db} | {len(mine)} |")
    return [*lines, ""]


def write_markdown(path: Path, section: str, begin=BEGIN, end=END) -> None:
    """Put the run's section between the markers, keeping the rest of the file (a file
    without them gets the section at its end)."""
    text_ = path.read_text() if path.exists() else "# Benchmarks\n"
    if begin in text_ and end in text_:
        head, rest = text_.split(begin, 1)
        tail = rest.split(end, 1)[1]
        path.write_text(head + section.rstrip("\n") + tail)
    else:
        path.write_text(text_.rstrip("\n") + "\n\n" + section)


# -- sign-in abuse -------------------------------------------------------------------
class Abuser(threading.Thread):
    """One anonymous loop: GET /login (its session and CSRF token), then POST a wrong
    password for a made-up username, over the workspaces in turn, until stopped."""

    def __init__(self, port: int, hosts: list[str], stop: threading.Event, number: int):
        super().__init__(daemon=True)
        self.port, self.hosts, self.stop, self.number = port, hosts, stop, number
        self.answers: dict[int, int] = {}

    def attempt(self, host: str, i: int) -> int:
        """One wrong sign-in; its status. The session cookie is passed by hand: in
        production it is Secure, which a cookie jar keeps from plain HTTP."""
        base = f"http://127.0.0.1:{self.port}/login"
        page = urllib.request.urlopen(urllib.request.Request(base, headers={"Host": host}))
        cookie = page.headers.get("Set-Cookie", "").split(";", 1)[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
        body = urllib.parse.urlencode(
            {"csrf_token": token, "username": f"guess{self.number}x{i}", "password": "wrong"}
        ).encode()
        headers = {"Host": host, "Cookie": cookie}
        try:
            answer = urllib.request.urlopen(urllib.request.Request(base, body, headers))
        except urllib.error.HTTPError as refused:
            answer = refused
        if answer.status == 400 and b"Wrong username or password" not in answer.read():
            return -400  # refused for another reason (the CSRF token): not a sign-in
        return answer.status

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            try:
                status = self.attempt(self.hosts[i % len(self.hosts)], i)
            except OSError:
                status = 0
            self.answers[status] = self.answers.get(status, 0) + 1
            i += 1


def abuse_run(bench: Bench, label: str, extra: dict, loops: int, *, lead_in=False) -> dict:
    """The API's latency on one connection, alone and while ``loops`` anonymous loops
    post wrong passwords to every benchmark workspace (one server, ``extra`` settings).

    With ``lead_in`` the measurement starts once the address is throttled (its first
    429, at most 120 s): the steady state of an attack from one address, whose first
    ``max_failed_logins_per_address`` attempts are the only expensive ones in 15
    minutes; how long that took is reported."""
    shops = bench.pooled()
    seconds = bench.args.duration
    with bench.server(f"abuse-{label}", extra) as (_proc, port):
        bench.load(port, shops[:1], "WARMUP", bench.args.warmup)
        alone = bench.load(port, shops[:1], "READ", seconds, connections=1)
        stop = threading.Event()
        abusers = [Abuser(port, [s.host for s in shops], stop, n) for n in range(loops)]
        for abuser in abusers:
            abuser.start()
        started = time.perf_counter()
        time.sleep(1)
        while lead_in and time.perf_counter() - started < 120:
            if any(a.answers.get(429) for a in abusers):
                break
            time.sleep(0.2)
        lead_seconds = round(time.perf_counter() - started, 1)
        try:
            under = bench.load(port, shops[:1], "READ", seconds, connections=1)
        finally:
            stop.set()
            for abuser in abusers:
                abuser.join(timeout=35)
    answers: dict[str, int] = {}
    for abuser in abusers:
        for status, count in abuser.answers.items():
            answers[str(status)] = answers.get(str(status), 0) + count

    def figures(result):
        return {
            "p50_ms": round(result["latency_us"]["p50"] / 1000, 1),
            "p99_ms": round(result["latency_us"]["p99"] / 1000, 1),
            "requests": result["requests"],
        }

    row = {"label": label, "loops": loops, "alone": figures(alone), "abused": figures(under)}
    row["lead_in_seconds"] = lead_seconds
    row["sign_in_answers"] = answers
    print(f"  {label}: {row}", flush=True)
    return row


def abuse_markdown(rows: list[dict], args) -> str:
    lines = [
        ABUSE_BEGIN,
        "## Sign-in abuse",
        "",
        f"`scripts/bench.py --abuse` ({dt.date.today().isoformat()}, {os.cpu_count()} CPUs, "
        f"waitress {args.threads} threads, Argon2 at the production parameters): GET "
        "/api/products?limit=20 on one connection, alone and while "
        f"{rows[0]['loops']} anonymous loops post wrong passwords for made-up usernames to "
        f"{args.abuse_tenants} workspaces, {args.duration} s each.",
        "",
        "| throttling | API p50 alone | API p99 alone | API p50 abused | API p99 abused "
        "| abuse ran before measuring | sign-in answers (status: count) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        a, b = r["alone"], r["abused"]
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(r["sign_in_answers"].items()))
        lines.append(
            f"| {r['label']} | {a['p50_ms']} ms | {a['p99_ms']} ms | {b['p50_ms']} ms "
            f"| {b['p99_ms']} ms | {r['lead_in_seconds']} s | {answers} |"
        )
    lines.append(ABUSE_END)
    return "\n".join(lines) + "\n"


def run_abuse(bench: Bench) -> list[dict]:
    args = bench.args
    print(f"creating {args.abuse_tenants} pooled tenants", flush=True)
    bench.create("pooled", args.abuse_tenants)
    return [
        abuse_run(bench, "as configured (20 per address)", {}, args.abuse_loops, lead_in=True),
        abuse_run(
            bench,
            "per-address limit off (hashing slots only)",
            {"salesapp.max_failed_logins_per_address": "0"},
            args.abuse_loops,
        ),
    ]


# -- the till ------------------------------------------------------------------------
#: what asks POST /pos/add for the cart section instead of a redirect to the whole page
#: (docs/till.md); a server without that mode ignores it and redirects
FRAGMENT_HEADER = {"X-Till-Fragment": "cart"}
SCANS_PER_SALE = 3
#: the targets: a scan's answer on the wire, and a scan's p95 at 100 workspaces
TILL_SCAN_BYTES = 5 * 1024
TILL_SCAN_P95_MS = 30.0
#: the paced phase: tills ringing at once, and a cashier's pause between two steps (a
#: scan every half second is a brisk cashier; 16 such tills at once are ~25 scans a
#: second, a busy hour of 100 shops); its figures are the p95 target's
TILL_PACED_CLIENTS, TILL_PACE = 16, 0.5
RECEIPT_PATH = re.compile(r"/sales/[^/?]+/receipt")
_CART_FORM = re.compile(r'<form\b[^>]*\bid="cart-form"[^>]*>(.*?)</form>', re.S)
_INPUT = re.compile(r"<input\b([^>]*)>")
_ATTRIBUTE = re.compile(r'(?:^|\s)(name|value|type)="([^"]*)"')
_TOTAL = re.compile(r'data-testid="total"[^>]*>([^<]+)<')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class TillError(Exception):
    """An answer a working till would not get: an error status, a scan that added
    nothing, a completion that did not end on a receipt."""


class _CountedIO(socket.SocketIO):
    """A socket's raw reads, added up in ``counter.received``."""

    def __init__(self, sock: socket.socket, counter: CountingSocket):
        super().__init__(sock, "rb")
        self._counter = counter

    def readinto(self, buffer) -> int | None:
        read = super().readinto(buffer)
        self._counter.received += read or 0
        return read


class CountingSocket:
    """A connected socket that counts every byte read from it: status lines, headers
    and bodies as they came over the wire (http.client reads answers through
    ``makefile``; everything else is the socket's own)."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self.received = 0

    def makefile(self, mode="rb", *args, **kwargs):
        return io.BufferedReader(_CountedIO(self._sock, self))

    def __getattr__(self, name):
        return getattr(self._sock, name)


class WireConnection(http.client.HTTPConnection):
    """A keep-alive HTTP/1.1 connection whose answers are counted in bytes."""

    def connect(self) -> None:
        super().connect()
        self.sock = CountingSocket(self.sock)


def merge_cookies(jar: dict[str, str], set_cookies: list[str]) -> None:
    """Keep what Set-Cookie headers say in ``jar``, as a browser does; a cookie with an
    empty value or ``Max-Age=0`` is deleted. Attributes are not checked: the session
    cookie is Secure in production, which a browser would not send over plain HTTP."""
    for header in set_cookies:
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        expired = any(a.strip().lower() == "max-age=0" for a in attributes)
        if expired or value.strip('"') == "":
            jar.pop(name, None)
        else:
            jar[name] = value


def cart_form_fields(page: str) -> dict[str, str]:
    """The fields a browser posts from the till's cart form (``id="cart-form"``), in the
    whole page or the cart fragment: its inputs, named, with their values. No button:
    "Complete sale" has no name."""
    form = _CART_FORM.search(page)
    fields = {}
    for attributes in _INPUT.findall(form.group(1) if form else ""):
        found = dict(_ATTRIBUTE.findall(attributes))
        if "name" in found and found.get("type") not in ("checkbox", "radio", "submit"):
            fields[html.unescape(found["name"])] = html.unescape(found.get("value", ""))
    return fields


def cart_total(page: str) -> str | None:
    """The total the till shows for the cart (what exact cash pays), or None."""
    found = _TOTAL.search(page)
    return html.unescape(found.group(1)).strip() if found else None


def csrf_token(page: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(page)
    if found is None:
        raise TillError("the page has no form with a CSRF token")
    return found.group(1)


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile: the smallest value with ``pct`` % of them at or
    below it."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


@dataclass
class Answer:
    status: int
    #: a redirect's target, path and query ("" for any other answer)
    location: str
    body: str
    wire_bytes: int
    #: how long the app took, from its ``Server-Timing: app;dur=`` header (0 if none)
    server_ms: float = 0.0


def server_ms(header: str | None) -> float:
    """The ``app`` duration of a Server-Timing header (salesapp.headers), 0 if absent."""
    found = re.search(r"\bapp;dur=([0-9.]+)", header or "")
    return float(found.group(1)) if found else 0.0


@dataclass
class Step:
    """One scan or one completion as the cashier waits for it: the POST and, if it
    answered with a redirect, the page it points to."""

    ms: float
    wire_bytes: int
    requests: int
    #: the POST's own answer
    first_status: int
    first_ms: float
    first_bytes: int
    #: the app's own time for the step's answers (Server-Timing), queueing excluded
    server_ms: float = 0.0


def step_figures(steps: list[Step]) -> dict:
    """What a report says of a list of steps of one kind."""
    answered: dict[str, int] = {}
    for step in steps:
        answered[str(step.first_status)] = answered.get(str(step.first_status), 0) + 1
    ms, first = [s.ms for s in steps], [s.first_ms for s in steps]
    sizes = [s.wire_bytes for s in steps]
    server = [s.server_ms for s in steps]
    return {
        "server_p50_ms": round(percentile(server, 50), 1),
        "server_p95_ms": round(percentile(server, 95), 1),
        "count": len(steps),
        "requests": sum(s.requests for s in steps),
        "answered": answered,
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "first_p50_ms": round(percentile(first, 50), 1),
        "first_p95_ms": round(percentile(first, 95), 1),
        "bytes_median": round(statistics.median(sizes)),
        "bytes_max": max(sizes),
        "first_bytes_median": round(statistics.median(s.first_bytes for s in steps)),
    }


@dataclass
class Cashier:
    """One workspace's till as a browser holds it: its cookies, its CSRF token, the cart
    form it shows (fields and total), and how many sales it has rung and completed."""

    shop: Shop
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    form: dict[str, str] = field(default_factory=dict)
    total: str | None = None
    rung: int = 0
    completed: int = 0


class TillClient:
    """One client: a keep-alive connection to the server, and the requests of a till."""

    def __init__(self, port: int):
        self.conn = WireConnection("127.0.0.1", port, timeout=30)
        self.pause = random.Random(port * 1000 + threading.get_ident() % 1000)

    def close(self) -> None:
        self.conn.close()

    def send(self, cashier: Cashier, method: str, path: str, form=None, headers=None) -> Answer:
        sent = {"Host": cashier.shop.host, **(headers or {})}
        if cashier.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cashier.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            if self.conn.sock is None:
                self.conn.connect()
            counter = self.conn.sock
            before = counter.received
            self.conn.request(method, path, body, sent)
            response = self.conn.getresponse()
            text_ = response.read().decode()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            raise TillError(f"{method} {path}: {exc!r}") from None
        merge_cookies(cashier.cookies, response.msg.get_all("Set-Cookie") or [])
        target = urllib.parse.urlsplit(response.getheader("Location") or "")
        location = target.path + (f"?{target.query}" if target.query else "")
        return Answer(
            response.status,
            location,
            text_,
            counter.received - before,
            server_ms(response.getheader("Server-Timing")),
        )

    def expect(self, answer: Answer, what: str, statuses=range(200, 400)) -> Answer:
        if answer.status not in statuses:
            shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer.body))
            error = re.search(r'role="alert">([^<]+)<', answer.body)
            detail = error.group(1) if error else shown.strip()[:300]
            raise TillError(f"{what} answered {answer.status}: {detail}")
        return answer

    def post(self, cashier: Cashier, path: str, form, headers, goes_to) -> tuple[Step, Answer]:
        """POST, and follow a redirect (``goes_to`` says where it may lead) as a browser
        does; the step and the last answer."""
        started = time.perf_counter()
        first = self.expect(self.send(cashier, "POST", path, form, headers), f"POST {path}")
        first_ms = (time.perf_counter() - started) * 1000
        last, answers = first, [first]
        if 300 <= first.status < 400:
            if not goes_to(first.location):
                raise TillError(f"POST {path} led to {first.location or 'nowhere'}")
            last = self.expect(self.send(cashier, "GET", first.location), f"GET {first.location}")
            answers.append(last)
        step = Step(
            ms=(time.perf_counter() - started) * 1000,
            wire_bytes=sum(a.wire_bytes for a in answers),
            requests=len(answers),
            first_status=first.status,
            first_ms=first_ms,
            first_bytes=first.wire_bytes,
            server_ms=sum(a.server_ms for a in answers),
        )
        return step, last

    # -- a till's day ----------------------------------------------------------------
    def sign_in(self, cashier: Cashier) -> None:
        """Sign in as the workspace's admin, then choose the register (once a browser)."""
        page = self.expect(self.send(cashier, "GET", "/login"), "GET /login")
        form = {"csrf_token": csrf_token(page.body), "username": "admin"}
        form["password"] = cashier.shop.password
        for _ in range(40):  # one hashing slot per process: a busy one answers 503
            answer = self.send(cashier, "POST", "/login", form)
            if answer.status != 503:
                break
            time.sleep(0.25)
        if answer.status != 303 or answer.location != "/":
            raise TillError(f"signing in answered {answer.status} {answer.location}")
        page = self.expect(self.send(cashier, "GET", "/pos"), "GET /pos")
        cashier.csrf = csrf_token(page.body)
        if cashier.shop.register_id:
            choice = {"csrf_token": cashier.csrf, "register_id": cashier.shop.register_id}
            self.post(cashier, "/pos/register", choice, {}, lambda where: where == "/pos")
            page = self.expect(self.send(cashier, "GET", "/pos"), "GET /pos")
            if "shift open" not in page.body:
                raise TillError("the till does not show its register's open shift")

    def scan(self, cashier: Cashier, code: str, fragment: bool) -> Step:
        form = {"csrf_token": cashier.csrf, "code": code}
        headers = FRAGMENT_HEADER if fragment else {}
        # a code that is not exact redirects to /pos?q=code: it added nothing
        step, last = self.post(cashier, "/pos/add", form, headers, lambda to: to == "/pos")
        cashier.form, cashier.total = cart_form_fields(last.body), cart_total(last.body)
        cashier.csrf = cashier.form.get("csrf_token") or cashier.csrf
        return step

    def complete(self, cashier: Cashier) -> Step:
        """Complete sale: the cart form as shown, paid with exact cash."""
        form = dict(cashier.form)
        lines = sum(name.startswith("qty_") for name in form)
        if lines != SCANS_PER_SALE or cashier.total is None:
            raise TillError(
                f"after {SCANS_PER_SALE} scans the till shows {lines} lines, total {cashier.total}"
            )
        form["pay_cash"] = cashier.total
        form["csrf_token"] = form.get("csrf_token") or cashier.csrf
        form["sale_key"] = form.get("sale_key") or str(uuid.uuid4())
        step, _ = self.post(cashier, "/pos/complete", form, {}, RECEIPT_PATH.fullmatch)
        cashier.completed += 1
        cashier.form, cashier.total = {}, None
        return step

    def sale(
        self, cashier: Cashier, fragment: bool, steps: dict | None = None, pace: float = 0.0
    ) -> None:
        """Three scans of the shop's stocked products, then Complete sale; ``pace``: the
        cashier's pause before each step, in seconds on average (0: none, as fast as it
        answers): drawn between half and one and a half of it, so tills do not step in
        time with each other as no shop's cashiers do."""
        codes = cashier.shop.barcodes
        first = cashier.rung * SCANS_PER_SALE
        cashier.rung += 1
        scans = []
        for i in range(SCANS_PER_SALE):
            time.sleep(self.pause.uniform(pace / 2, pace * 1.5))
            scans.append(self.scan(cashier, codes[(first + i) % len(codes)], fragment))
        time.sleep(self.pause.uniform(pace / 2, pace * 1.5))
        done = self.complete(cashier)
        if steps is not None:
            steps["scan"] += scans
            steps["complete"].append(done)

    def recover(self, cashier: Cashier) -> None:
        """After an error, an empty cart for the next sale (errors here are not counted:
        the one before is)."""
        with contextlib.suppress(TillError):
            self.send(cashier, "POST", "/pos/clear", {"csrf_token": cashier.csrf})


class TillLoop(threading.Thread):
    """One client thread over its share of the workspaces: ``job(client, cashier)``
    for each in turn, once (``stop`` None) or round and round until ``stop`` is set."""

    def __init__(self, port: int, cashiers: list[Cashier], job, stop=None):
        super().__init__(daemon=True)
        self.port, self.cashiers, self.job, self.stop = port, cashiers, job, stop
        self.errors: list[str] = []

    def run(self) -> None:
        client = TillClient(self.port)
        turn = 0
        try:
            while not (self.stop.is_set() if self.stop else turn == len(self.cashiers)):
                cashier = self.cashiers[turn % len(self.cashiers)]
                try:
                    self.job(client, cashier)
                except Exception as exc:  # any, so that no thread dies unreported
                    shown = exc if isinstance(exc, TillError) else repr(exc)
                    self.errors.append(f"{cashier.shop.slug}: {shown}")
                    client.recover(cashier)
                turn += 1
        finally:
            client.close()


def in_threads(port: int, groups: list[list[Cashier]], job, seconds: float | None = None):
    """Run ``job`` on every cashier of each group, a thread per group: once each, or
    for ``seconds`` (the sales under way then finish); the errors and the time taken."""
    stop = threading.Event() if seconds is not None else None
    loops = [TillLoop(port, group, job, stop) for group in groups]
    started = time.perf_counter()
    for loop in loops:
        loop.start()
    if stop is not None:
        time.sleep(seconds)
        stop.set()
    for loop in loops:
        loop.join()
    return [e for loop in loops for e in loop.errors], time.perf_counter() - started


@dataclass
class CpuWatch:
    """How much of the machine other work took while a phase ran: its busy CPU time
    (/proc/stat) less that of this process (the clients), the server and the embedded
    PostgreSQL (the postmaster, its backends, and those it reaped). Without the
    postmaster (--database-url) it is not measured."""

    server_pid: int
    postmaster_pid: int | None

    def snapshot(self) -> tuple[float, float, float] | None:
        if self.postmaster_pid is None:
            return None
        cpu = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq = map(int, cpu[:7])
        busy = (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
        own = bench_profile.cpu_seconds(os.getpid()) + bench_profile.cpu_seconds(self.server_pid)
        own += bench_profile.tree_cpu_seconds(self.postmaster_pid)
        return time.monotonic(), busy, own

    @staticmethod
    def others_pct(before, after) -> float | None:
        """The share of all CPUs the other work used between two snapshots."""
        if before is None or after is None:
            return None
        seconds = (after[0] - before[0]) * (os.cpu_count() or 1)
        return round(max(0.0, (after[1] - before[1]) - (after[2] - before[2])) / seconds * 100)


def shares(cashiers: list[Cashier], clients: int) -> list[list[Cashier]]:
    """The cashiers dealt out to at most ``clients`` client threads."""
    clients = min(clients, len(cashiers))
    return [cashiers[i::clients] for i in range(clients)]


def till_phase(
    port, cashiers, fragment: bool, clients: int, seconds, watch: CpuWatch, pace: float = 0.0
) -> dict:
    """Sales for ``seconds`` from ``clients`` threads, with or without the fragment
    header: the figures, and how much of the CPUs other work than the benchmark took."""
    groups = shares(cashiers, clients)
    steps: dict[str, list[Step]] = {"scan": [], "complete": []}
    lock = threading.Lock()

    def ring(client: TillClient, cashier: Cashier) -> None:
        mine: dict[str, list[Step]] = {"scan": [], "complete": []}
        client.sale(cashier, fragment, mine, pace)
        with lock:
            for kind, done in mine.items():
                steps[kind] += done

    before = watch.snapshot()
    errors, took = in_threads(port, groups, ring, seconds)
    others = watch.others_pct(before, watch.snapshot())
    phase = {"fragment_header": fragment, "clients": len(groups), "seconds": round(took, 1)}
    phase["pace_s"] = pace
    phase.update(other_cpu_pct=others, errors=errors)
    for kind, done in steps.items():
        phase[kind] = step_figures(done) if done else None
    shown = [
        f"{kind} {f['count']} (answered {f['answered']}) p50 {f['p50_ms']} ms p95 "
        f"{f['p95_ms']} ms, {f['bytes_median']} bytes (largest {f['bytes_max']})"
        for kind, f in ((kind, phase[kind]) for kind in steps)
        if f
    ]
    print(
        f"  {'with' if fragment else 'without'} X-Till-Fragment, {len(groups)} clients, "
        f"other work {others}% of the CPUs: {'; '.join(shown)}"
        + (f"; {len(errors)} ERRORS, the first: {errors[0]}" if errors else ""),
        flush=True,
    )
    return phase


#: what --till runs, phase by phase: (the fragment header sent, client threads; None:
#: --till-clients). One client alone shows a request's own time, without queueing.
TILL_PHASES = (
    (False, None, 0.0),
    (True, None, 0.0),
    (True, 1, 0.0),
    (True, TILL_PACED_CLIENTS, TILL_PACE),
)


def run_till(bench: Bench, shops: list[Shop], command: str, plan=TILL_PHASES):
    """The till on ``shops`` (stocked pooled workspaces): each gets a register with an
    open shift, signs in and rings one sale; then sales for --duration seconds per phase
    of ``plan``. The figures for docs/benchmarks.json, and the errors seen (a sale
    missing from its store is one)."""
    args = bench.args
    bench.open_tills(shops)
    cashiers = [Cashier(shop) for shop in shops]
    clients = min(args.till_clients, len(cashiers))

    def begin(client: TillClient, cashier: Cashier) -> None:
        client.sign_in(cashier)
        client.sale(cashier, fragment=True)

    with bench.server("till") as (proc, port):
        print(f"  {len(shops)} tills: sign-in, register, one sale each", flush=True)
        errors, begun = in_threads(port, shares(cashiers, clients), begin)
        watch = CpuWatch(proc.pid, bench.postmaster_pid())
        phases = [
            till_phase(port, cashiers, fragment, n or clients, args.duration, watch, pace)
            for fragment, n, pace in ([] if errors else plan)
        ]
        rss = round(rss_mb(proc.pid), 1)
    errors += [e for phase in phases for e in phase["errors"]]
    completed = sum(c.completed for c in cashiers)
    stored = bench.sales_in_shifts(shops)
    if stored != completed:
        errors.append(f"the clients completed {completed} sales; the stores hold {stored}")
    till = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "machine": machine(),
        "versions": versions(bench.admin_url),
        "server_threads": args.threads,
        "tenants": len(shops),
        "clients": clients,
        "seconds": args.duration,
        "begin_seconds": round(begun, 1),
        "rss_mb": rss,
        "sales_completed": completed,
        "sales_in_stores": stored,
        "phases": [{**phase, "errors": len(phase["errors"])} for phase in phases],
    }
    if phases and not errors:
        till["targets"] = till_targets(till)
    return till, errors


def till_targets(till: dict) -> list[dict]:
    """The till's targets: the bytes read on the phase with the fragment header (the
    till's JavaScript sends it) and every client at full speed; the p95 on the paced
    phase (tills at a cashier's pace) when there is one, else on that same phase."""
    phases = till["phases"]
    wanted = [
        p
        for p in phases
        if p["fragment_header"] and p["clients"] == till["clients"] and not p.get("pace_s")
    ]
    phase = (wanted or phases)[0]
    paced = [p for p in phases if p["fragment_header"] and p.get("pace_s")]
    timed = (paced or [phase])[0]
    how = "with" if phase["fragment_header"] else "without"
    load = (
        f"{timed['clients']} tills at a step every {timed['pace_s']:g} s"
        if timed.get("pace_s")
        else f"{timed['clients']} clients at full speed"
    )
    rows = [
        (
            f"a scan's answer on the wire, largest ({how} X-Till-Fragment)",
            f"< {TILL_SCAN_BYTES / 1024:g} KB",
            f"{phase['scan']['bytes_max'] / 1024:.1f} KB",
            phase["scan"]["bytes_max"] < TILL_SCAN_BYTES,
        ),
        (
            f"scan p95, server time (Server-Timing), at {till['tenants']} workspaces, {load}",
            f"< {TILL_SCAN_P95_MS:g} ms",
            f"{timed['scan']['server_p95_ms']} ms",
            timed["scan"]["server_p95_ms"] < TILL_SCAN_P95_MS,
        ),
    ]
    return [{"what": w, "target": t, "measured": m, "met": ok} for w, t, m, ok in rows]


def till_rows(phase: dict) -> list[str]:
    """A phase's rows of the till's table: its scans and its completions."""
    how = "with `X-Till-Fragment: cart`" if phase["fragment_header"] else "without it"
    rows, other = [], phase.get("other_cpu_pct")
    other = "?" if other is None else f"{other}%"
    for kind in ("scan", "complete"):
        f = phase[kind]
        answered = ", ".join(f"{k}: {n}" for k, n in sorted(f["answered"].items()))
        rows.append(
            f"| {how} | {phase['clients']} | {phase.get('pace_s') or '-'} | {other} | {kind} "
            f"| {f['count']} "
            f"| {f['count'] / phase['seconds']:.1f} | {f['requests']} | {answered} "
            f"| {f['server_p50_ms']} / {f['server_p95_ms']} "
            f"| {f['p50_ms']} | {f['p95_ms']} | {f['first_p50_ms']} / {f['first_p95_ms']} "
            f"| {f['bytes_median']:,} ({f['bytes_max']:,}) | {phase['errors']} |"
        )
    return rows


def till_markdown(till: dict) -> str:
    m, v = till["machine"], till["versions"]
    lines = [
        TILL_BEGIN,
        "## The till",
        "",
        f"`{till['command']}` ({till['when']}; {m['cpus']} CPUs ({m['cpu']}); waitress "
        f"{till['server_threads']} threads; PostgreSQL {v['postgresql']}, Python "
        f"{v['python']}). {till['tenants']} pooled workspaces with demo data, each with a "
        "register whose shift is open: the till reads the register and its shift on every "
        "page, and rings every sale on them. The admin of each signs in over HTTP (`GET "
        "/login`, then the form with its CSRF token), chooses the register and rings one "
        "sale, not measured. Then client threads, each with one keep-alive connection "
        "(Python's `http.client`), ring sales over the workspaces in turn for "
        f"{till['seconds']} s per phase (a phase is a pair of rows below): a sale is 3 "
        "scans (`POST /pos/add`, `code` = a product's barcode) and *Complete sale* (`POST "
        "/pos/complete`: the cart form as shown, exact cash, the page's `sale_key`). A "
        "redirect is followed, as a browser does, and counted in its step: a scan "
        "answered 303 is the POST and `GET /pos`; a completion is the POST and the receipt.",
        "",
        "Latencies are the client's, on localhost, on the machine the server and "
        "PostgreSQL run on: from sending the POST to having read the step's last answer "
        "(*first answer*: the POST's own). Bytes are what a step's answers brought over "
        "the wire: status lines, headers and bodies, uncompressed (the app does not "
        "compress; a proxy in front may). Percentiles are nearest-rank. *Other work* is "
        "the share of the CPUs that processes other than the benchmark's (this client, "
        "the server, its PostgreSQL) used during the phase: other people's work on the "
        "machine, which the latencies then include. *Server* is the app's own time for "
        "the step's answers, from its `Server-Timing: app;dur=` header (salesapp.headers: "
        "from the outermost tween's start to its end, the commit included): what the "
        "issue's target is about. The client's latency adds the wait for a free server "
        "thread and for the CPUs, which the benchmark's own client threads share with "
        "the server and PostgreSQL on this machine. *Pause s*: the cashier's pause before "
        "each step. The phases without one ring as fast as the server answers, which "
        "saturates the two CPUs (every request then waits for the others): a load test. "
        f"The paced phase is {TILL_PACED_CLIENTS} tills ringing at once, each a step every "
        f"{TILL_PACE:g} s on average (a brisk cashier; each pause drawn between "
        f"{TILL_PACE / 2:g} and {TILL_PACE * 1.5:g} s, so the tills do not step in time), "
        "about 20 scans a second: a busy hour of 100 shops. The p95 target is read there.",
        "",
        "| target | wanted | measured | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t['what']} | {t['target']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |"
        for t in till.get("targets", [])
    ]
    lines += [
        "",
        "| scanning | clients | pause s | other work | step | steps | steps/s | HTTP requests "
        "| POST answered "
        "| server p50 / p95 ms | p50 ms | p95 ms | first answer p50 / p95 ms "
        "| bytes on the wire, median (largest) | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for phase in till["phases"]:
        lines += till_rows(phase)
    lines += [
        "",
        f"Sales the clients completed (the unmeasured ones too): {till['sales_completed']}; "
        f"sales the stores hold in the tills' shifts: {till['sales_in_stores']}. The "
        f"server's RSS at the end: {till['rss_mb']} MB.",
        TILL_END,
    ]
    return "\n".join(lines) + "\n"


def run_till_only(bench: Bench, command: str):
    args = bench.args
    print(f"creating {args.till_tenants} pooled tenants", flush=True)
    started = time.perf_counter()
    bench.create("pooled", args.till_tenants)
    print(f"  {time.perf_counter() - started:.0f} s", flush=True)
    return run_till(bench, bench.pooled(), command)


def failed_till(errors: list[str]) -> None:
    print(f"THE TILL RUN FAILED: {len(errors)} errors; the first ones:", flush=True)
    for error in errors[:10]:
        print(f"  {error}", flush=True)


def write_till(args, till: dict) -> None:
    """The till's section of the Markdown, and its entry in the JSON (the rest kept)."""
    path = Path(args.json)
    report = json.loads(path.read_text()) if path.exists() else {}
    report["till"] = till
    path.write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(Path(args.out), till_markdown(till), TILL_BEGIN, TILL_END)
    print(f"wrote {args.out} and {args.json}")


# -- the run -------------------------------------------------------------------------
def arguments(argv) -> argparse.Namespace:
    """The command line, with --quick's smaller figures filled in."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="superuser URL of a PostgreSQL server to use")
    parser.add_argument("--tenants", default="1,100,1000", help="pooled tenant counts")
    parser.add_argument("--dedicated", type=int, default=20, help="dedicated tenants")
    parser.add_argument("--creations", type=int, default=20, help="creations to time, per kind")
    parser.add_argument("--duration", type=int, default=15, help="seconds per load")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--threads", type=int, default=production_threads(), help="waitress threads"
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="runs of each configuration (medians are reported)"
    )
    parser.add_argument("--pgbouncer", action="store_true", help="also behind PgBouncer")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an app setting for every server, e.g. salesapp.pool_size=10",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 and 10 tenants")
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    parser.add_argument("--json", default=str(REPO / "docs" / "benchmarks.json"))
    parser.add_argument("--render", action="store_true", help="only rewrite --out from --json")
    parser.add_argument(
        "--abuse", action="store_true", help='only the "sign-in abuse" scenario (see above)'
    )
    parser.add_argument("--abuse-loops", type=int, default=4, help="anonymous sign-in loops")
    parser.add_argument("--abuse-tenants", type=int, default=4, help="workspaces they target")
    parser.add_argument("--till", action="store_true", help='only "the till" scenario (see above)')
    parser.add_argument(
        "--till-tenants", type=int, default=100, help="workspaces of the till (--quick: 10)"
    )
    parser.add_argument("--till-clients", type=int, default=4, help="client threads of the till")
    parser.add_argument(
        "--processes",
        default="0",
        metavar="N[,N...]",
        help="serve with gunicorn's N worker processes (docs/deployment.md) instead of "
        "waitress alone (0); several, e.g. 1,2: the pooled loads run with each in turn "
        "in every round, the others with the first",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only a sampling profile (py-spy) of the server during READ and MIXED at "
        "--profile-tenants pooled tenants, written to --out",
    )
    parser.add_argument("--profile-tenants", type=int, default=100, help="tenants of --profile")
    args = parser.parse_args(argv)
    if args.till_tenants < 1 or args.till_clients < 1:
        parser.error("--till-tenants and --till-clients must be at least 1")
    try:
        args.process_counts = [int(n) for n in args.processes.split(",")]
    except ValueError:
        parser.error(f"--processes takes numbers separated by commas, not {args.processes!r}")
    if min(args.process_counts) < 0 or args.profile_tenants < 1:
        parser.error("--processes must be 0 or more and --profile-tenants at least 1")
    if args.quick and not args.render:
        args.tenants, args.dedicated, args.creations = "1,10", 2, 3
        args.duration, args.warmup, args.rounds = 2, 1, 1
        if args.till_tenants == parser.get_default("till_tenants"):
            args.till_tenants = 10
        if args.profile_tenants == parser.get_default("profile_tenants"):
            args.profile_tenants = 10
        if args.out == parser.get_default("out"):
            args.out = str(REPO / "var" / "bench" / "quick.md")
            args.json = str(REPO / "var" / "bench" / "quick.json")
    return args


def main(argv=None) -> int:
    args = arguments(argv)
    if args.render:
        return render(args.json, args.out)
    counts = sorted({int(n) for n in args.tenants.split(",")})
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if args.pgbouncer and shutil.which("pgbouncer") is None:
        raise SystemExit("pgbouncer is not installed: apt-get install pgbouncer")

    work = REPO / "var" / "bench"
    if work.exists():
        stop_leftover_server(work / "pgdata")
        shutil.rmtree(work)
    work.mkdir(parents=True)
    admin_url = (
        urls.plain(args.database_url) if args.database_url else embedded.start(work / "pgdata")
    )
    prefix = "bench_" + secrets.token_hex(3)
    raw = {
        "here": str(REPO),
        "salesapp.role_prefix": prefix,
        "salesapp.base_domains": BASE_DOMAIN,
        "salesapp.secret_key": secrets.token_urlsafe(32),
        "salesapp.production": "true",
    }
    settings = dataclasses.replace(parse_settings(raw, environ={}), server_admin_url=admin_url)
    started = time.perf_counter()
    print(f"benchmark deployment {prefix} on {mask_url(admin_url)}", flush=True)
    settings = bootstrap.init_deployment(settings)
    bench = Bench(args, admin_url, settings, work, processes=args.process_counts[0])
    bench.catalog = Catalog(settings)
    till, till_errors = None, []
    try:
        if args.abuse:
            rows = run_abuse(bench)
        elif args.profile:
            profiles = run_profile(bench, command_line(argv))
        elif args.till:
            till, till_errors = run_till_only(bench, command_line(argv))
        else:
            run_all(bench, counts)
            if args.quick:  # a small till: with the fragment header only
                print(f"the till, {args.till_tenants} pooled", flush=True)
                begun = time.perf_counter()
                shops = bench.pooled()[: args.till_tenants]
                till, till_errors = run_till(bench, shops, command_line(argv), ((True, None, 0.0),))
                print(f"  the till took {time.perf_counter() - begun:.0f} s", flush=True)
    finally:
        bench.catalog.dispose()
        bootstrap.drop_deployment(admin_url, prefix)
    if till_errors:
        failed_till(till_errors)
    if args.abuse:
        write_markdown(Path(args.out), abuse_markdown(rows, args), ABUSE_BEGIN, ABUSE_END)
        print(f"wrote {args.out}")
        return 0
    if args.profile:
        section = "\n".join(bench_profile.profile_markdown(p) for p in profiles)
        section = f"{PROFILE_BEGIN}\n{section}{PROFILE_END}\n"
        write_markdown(Path(args.out), section, PROFILE_BEGIN, PROFILE_END)
        print(f"wrote {args.out}")
        return 0
    if args.till:
        if till_errors:
            print(f"{args.out} and {args.json} were not written", flush=True)
            return 1
        write_till(args, till)
        return 0
    report = assess(collect(bench, counts, time.perf_counter() - started, argv))
    write_run(args, report, None if till_errors else till)
    return 0 if all(r.failed == 0 for r in bench.runs) and not till_errors else 1


def write_run(args, report: dict, till: dict | None) -> None:
    """The run's JSON and Markdown; the till's figures are this run's (--quick) or
    those the last --till wrote, kept."""
    previous = Path(args.json)
    previous = json.loads(previous.read_text()) if previous.exists() else {}
    if till is not None:
        report["till"] = till
    elif "till" in previous:
        report["till"] = previous["till"]
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(Path(args.out), markdown(report))
    if "till" in report:
        write_markdown(Path(args.out), till_markdown(report["till"]), TILL_BEGIN, TILL_END)
    print(f"wrote {args.out} and {args.json}")


def render(path: str, out: str) -> int:
    """Write the Markdown again from a run's JSON (after a change to the report)."""
    report = json.loads(Path(path).read_text())
    till = report.pop("till", None)
    if "runs" in report:
        report = assess({k: report[k] for k in report if k not in DERIVED})
        write_markdown(Path(out), markdown(report))
    if till is not None:  # last, as a run writes it
        report["till"] = {**till, "targets": till_targets(till)}
        write_markdown(Path(out), till_markdown(report["till"]), TILL_BEGIN, TILL_END)
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out} and {path}")
    return 0


def run_profile(bench: Bench, command: str) -> list[dict]:
    """A sampling profile of the server during READ, then MIXED, at --profile-tenants
    pooled tenants (one server, after a warm-up): the top functions of each."""
    args = bench.args
    print(f"creating {args.profile_tenants} pooled tenants", flush=True)
    shops = bench.create("pooled", args.profile_tenants)
    profiles = []
    with bench.server("profile") as (proc, port):
        bench.load(port, shops, "WARMUP", args.warmup)
        for workload in WORKLOADS:
            out = bench.work / f"profile-{workload}.txt"
            spy = bench_profile.record(proc.pid, args.duration, out)
            time.sleep(0.5)  # py-spy attaches before the load begins
            before = bench.cpu(proc)[0]
            result = bench.load(port, shops, workload, args.duration)
            used = bench.cpu(proc)[0] - before
            _, errors = spy.communicate(timeout=60)
            if spy.returncode or not out.exists():
                raise SystemExit(f"py-spy failed ({spy.returncode}): {errors.decode()[-2000:]}")
            summary = bench_profile.summarize(bench_profile.parse_collapsed(out.read_text()))
            seconds = result["duration_us"] / 1e6
            profiles.append(
                {
                    "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                    "command": command,
                    "server": server_name(args),
                    "workload": workload,
                    "tenants": len(shops),
                    "seconds": args.duration,
                    "rps": result["requests"] / seconds,
                    "app_cpu_ms": bench_profile.per_request_ms(used, result["requests"]),
                    **summary,
                }
            )
            top = ", ".join(f"{name} {pct}%" for name, pct in summary["packages"][:5])
            print(f"  {workload}: {summary['samples']} samples; own time by package: {top}")
    return profiles


def server_name(args) -> str:
    processes = args.process_counts[0]
    if processes:
        return f"gunicorn, {processes} workers of {args.threads} threads"
    return f"waitress, {args.threads} threads"


def processes_label(processes: int) -> str:
    """What a run's label says of its server (nothing for waitress alone)."""
    if not processes:
        return ""
    return f", gunicorn {processes} process" + ("es" if processes > 1 else "")


def run_all(bench: Bench, counts: list[int]) -> None:
    args = bench.args
    print("creating 1 pooled tenant", flush=True)
    bench.create("pooled", 1)
    one = bench.pooled()[:1]

    print("tenancy on and off, 1 tenant", flush=True)
    off = {
        "salesapp.tenancy": "off",
        "salesapp.single_tenant": one[0].slug,
        "salesapp.single_database_url": bench.tenancy_off_url(),
    }
    # on, off, then off, on: a machine that speeds up or slows down during the run
    # (it does, by 10-20%) favours neither side
    sides = [
        ("on", {}, "tenancy on, 1 pooled", True),
        ("off", off, "tenancy off, 1 database", False),
    ]
    for round_ in range(args.rounds):
        for name, extra, label, tenancy in sides if round_ % 2 == 0 else sides[::-1]:
            with bench.server(f"{name}-{round_}", extra) as (proc, port):
                bench.measure(label, proc, port, one, tenancy=tenancy)

    print(f"creating {args.creations - 1} pooled and {args.dedicated} dedicated tenants")
    bench.create("pooled", max(args.creations - 1, 0))
    bench.create("dedicated", max(args.dedicated, args.creations))
    bench.notes["pooled_create_ms"] = median_ms(
        s.create_seconds for s in bench.pooled()[: args.creations]
    )
    bench.notes["dedicated_create_ms"] = median_ms(
        s.create_seconds for s in bench.dedicated()[: args.creations]
    )
    print(
        f"  creation medians: pooled {bench.notes['pooled_create_ms']} ms, "
        f"dedicated {bench.notes['dedicated_create_ms']} ms",
        flush=True,
    )

    for n in counts:
        if n == 1:
            continue
        missing = n - len(bench.pooled())
        if missing > 0:
            print(f"creating {missing} pooled tenants (up to {n})", flush=True)
            t0 = time.perf_counter()
            bench.create("pooled", missing)
            print(f"  {time.perf_counter() - t0:.0f} s", flush=True)
        for round_ in range(args.rounds):
            for processes in args.process_counts:
                bench.processes = processes
                with bench.server(f"on-{n}-{round_}-{processes}") as (proc, port):
                    bench.measure(f"tenancy on, {n} pooled", proc, port, bench.pooled()[:n])
        bench.processes = args.process_counts[0]
    last = bench.pooled()[-args.creations :]
    bench.notes["pooled_create_ms_last"] = median_ms(s.create_seconds for s in last)
    bench.notes["pooled_create_last_range"] = (
        f"{len(bench.pooled()) - len(last) + 1}-{len(bench.pooled())}"
    )

    with bench.server("on-dedicated") as (proc, port):
        bench.measure(
            f"tenancy on, {args.dedicated} dedicated",
            proc,
            port,
            bench.dedicated()[: args.dedicated],
        )

    if args.pgbouncer:
        with bouncer(bench) as extra:
            n = counts[-1]
            with bench.server("on-pgbouncer", extra) as (proc, port):
                bench.measure(
                    f"tenancy on, {n} pooled, pgbouncer",
                    proc,
                    port,
                    bench.pooled()[:n],
                    pgbouncer=True,
                )

    print("salesapp migrate: a trivial new revision everywhere", flush=True)
    bench.notes["migrate"] = bench.migrate_trivial_revision()
    print(f"  {bench.notes['migrate']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
