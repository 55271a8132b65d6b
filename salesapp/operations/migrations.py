"""Schema migrations for the catalog (alembic/control) and for stores (alembic/tenant).

Alembic runs programmatically on a connection of the owner role; after the migrations,
the same transaction grants the app role exactly what it needs (DML on tenant tables,
SELECT on the catalog's lookup tables), so every new table is covered without a
migration having to know the deployment's role names.

A migration never stalls a store for long: each statement waits at most
``salesapp.migration_lock_timeout`` for a lock (while it waits, every session that wants
the same table waits behind it: in a pooled store, every tenant), and a migration that
times out is rolled back and tried again after a pause. Every connection takes the
deployment's options (connect timeout; no prepared statements behind a transaction-mode
pooler). `salesapp migrate` writes each store's status to the catalog as that store
starts and ends, so a crash leaves only the stores it was migrating reading ``running``;
its worker processes die with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import io
import logging
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from alembic import command

from ..settings import Settings
from ..tenancy import urls
from ..tenancy.crypto import mask_secrets
from ..tenancy.directory import PLACEMENT_KINDS, StoreKind
from ..tenancy.errors import first_line
from ..tenancy.stores import connect_args
from .errors import OperationError
from .models import OperationOutcome, Store

log = logging.getLogger(__name__)

KINDS = ("control", "tenant")


def _scripts_dir() -> Path:
    """Where the migration scripts are: ``salesapp/_alembic`` in an installed wheel
    (setup.py maps the top-level ``alembic/`` there), the checkout's ``alembic/`` in a
    source tree or an editable install. Never a bare ``../alembic`` of an installed
    package: in site-packages that is the Alembic library itself."""
    package = Path(__file__).resolve().parents[1]
    candidates = (package / "_alembic", package.parent / "alembic")
    for candidate in candidates:
        if all((candidate / kind / "env.py").is_file() for kind in KINDS):
            return candidate
    return candidates[0]  # alembic_config() says it is missing, when it is used


#: the migration scripts; SALESAPP_ALEMBIC_DIR names another tree (the benchmark times a
#: trivial new revision from a copy, leaving this one as it is)
ALEMBIC_DIR = Path(os.environ.get("SALESAPP_ALEMBIC_DIR") or _scripts_dir())

#: tenant tables the app role may add to and read, never change or delete from
APPEND_ONLY = ("audit_events", "stock_movements")

#: the catalog tables the app role reads to resolve hosts; of these it writes only the
#: ``multi_location`` column of ``tenants`` (a one-location workspace's Admin turns
#: several locations on: salesapp/locations)
CATALOG_READABLE = ("tenants", "domains", "stores", "placements", "tenant_moves")

#: attempts at a migration that timed out waiting for a lock, in all; the pause before
#: the next attempt is LOCK_RETRY_PAUSE seconds times the attempts made so far
LOCK_ATTEMPTS = 5
LOCK_RETRY_PAUSE = 2.0

#: PostgreSQL's SQLSTATE for "canceling statement due to lock timeout"
LOCK_NOT_AVAILABLE = "55P03"

#: set to ``migrate:<database>`` (a store's name, ``<template>`` or ``catalog``) to have
#: `salesapp migrate` kill itself with SIGKILL right after that database's result is
#: written: the crash tests' stand-in for kill -9 (the mover reads the same variable)
CRASH_ENV = "SALESAPP_CRASH_AT"

#: prctl(2) option: the signal a process gets when the thread that made it ends
PR_SET_PDEATHSIG = 1


class MigrationStatus(enum.StrEnum):
    """A store's migration status in the catalog (``stores.migration_status``)."""

    RUNNING = "running"  # a migration of it began and has not ended: it runs, or was killed
    OK = "ok"
    FAILED = "failed"


class Outcome(enum.StrEnum):
    """What `salesapp migrate` did to one database (``StoreMigration.status``)."""

    PENDING = "pending"
    MIGRATED = "migrated"
    AT_HEAD = "at head"
    BEHIND = "behind"  # --check: not at head
    FAILED = "failed"


def alembic_config(
    kind: str,
    url: str | None = None,
    app_role: str | None = None,
    alembic_dir=None,
    settings: Settings | None = None,
) -> Config:
    """Alembic's configuration for ``kind`` (control or tenant); ``settings`` gives the
    connection options and the lock timeout (without them: libpq's defaults and the
    default lock timeout)."""
    if kind not in KINDS:
        raise ValueError(f"unknown schema kind {kind!r}; expected one of {KINDS}")
    scripts = Path(alembic_dir or ALEMBIC_DIR) / kind
    if not (scripts / "env.py").is_file():
        raise OperationError(
            f"no {kind} migration scripts at {scripts}: reinstall salesapp (its wheel ships "
            "them as salesapp/_alembic), or point SALESAPP_ALEMBIC_DIR at an alembic/ tree"
        )
    config = Config()
    config.set_main_option("script_location", str(scripts))
    if url:
        # with its password (str() of a URL masks it): env.py connects with it when it is
        # given no connection; "%" doubled for the ini-style interpolation of the option
        full = urls.sqlalchemy_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", full.replace("%", "%%"))
    config.attributes["app_role"] = app_role
    config.attributes["kind"] = kind
    config.attributes["settings"] = settings
    return config


def lock_timeout(settings: Settings | None) -> float:
    """Seconds a migration's statement waits for a lock (salesapp.migration_lock_timeout)."""
    return settings.migration_lock_timeout if settings else Settings.migration_lock_timeout


def _engine(url: str, settings: Settings | None):
    """A pool-less engine on ``url`` with the deployment's connection options: connect
    timeout, and no prepared statements behind a transaction-mode pooler."""
    return create_engine(
        urls.sqlalchemy_url(url),
        poolclass=NullPool,
        connect_args=connect_args(settings) if settings else {},
    )


def head_revision(kind: str, alembic_dir=None) -> str:
    return ScriptDirectory.from_config(
        alembic_config(kind, alembic_dir=alembic_dir)
    ).get_current_head()


def current_revision(connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(
    kind: str,
    url: str,
    app_role: str,
    revision: str = "head",
    alembic_dir=None,
    *,
    settings: Settings | None = None,
) -> str:
    """Migrate the database at ``url`` (owner role) to ``revision``; return the new revision.

    Each statement waits at most ``settings.migration_lock_timeout`` seconds for a lock.
    A migration that times out is rolled back whole and tried again after a pause,
    LOCK_ATTEMPTS times in all; then OperationError says what it waited for and what to
    do. Pass ``settings`` so that the connection honours the deployment's options (no
    prepared statements behind a transaction-mode pooler).

    Alembic keeps its running context in a module global: one migration at a time per
    process (migrate_deployment runs parallel jobs in worker processes).
    """
    attempt = 1
    while True:
        try:
            return _upgrade_once(kind, url, app_role, revision, alembic_dir, settings)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            waited = lock_timeout(settings)
            statement = " ".join(str(exc.statement or "").split())[:100]
            if attempt >= LOCK_ATTEMPTS:
                raise OperationError(
                    f"the {kind} migration of database {urls.database_of(url)} waited "
                    f"{waited:g} s for a lock {attempt} times, at `{statement}`: another "
                    "session holds a lock on that table (a transaction left open? see "
                    "pg_stat_activity); end it and run `salesapp migrate` again, or raise "
                    "salesapp.migration_lock_timeout"
                ) from None
            pause = LOCK_RETRY_PAUSE * attempt
            log.warning(
                "%s migration of %s waited %g s for a lock at `%s`; rolled back, trying "
                "again in %g s (attempt %d of %d)",
                kind,
                urls.database_of(url),
                waited,
                statement,
                pause,
                attempt + 1,
                LOCK_ATTEMPTS,
            )
            time.sleep(pause)
            attempt += 1


def _upgrade_once(kind, url, app_role, revision, alembic_dir, settings) -> str:
    """One attempt of :func:`upgrade`, in one transaction."""
    engine = _engine(url, settings)
    try:
        with engine.begin() as connection:
            config = alembic_config(kind, url, app_role, alembic_dir, settings)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            return current_revision(connection)
    finally:
        engine.dispose()


def grant_sql(kind: str, app_role: str | None) -> list[str]:
    """The grants that give the app role its least privileges on a migrated schema."""
    if not app_role:
        return []
    if kind == "tenant":
        return [
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app_role}",
            f"REVOKE ALL ON alembic_version FROM {app_role}",
            # the write fence's table: only the owner (and the fence trigger) touch it
            "DO $$ BEGIN IF to_regclass('public.tenant_fences') IS NOT NULL THEN "
            f"EXECUTE 'REVOKE ALL ON tenant_fences FROM {app_role}'; END IF; END $$",
            # only tables that exist: an older revision may not have them yet
            "DO $$ DECLARE t text; BEGIN FOREACH t IN ARRAY ARRAY["
            + ", ".join(f"'{t}'" for t in APPEND_ONLY)
            + "] LOOP IF to_regclass('public.' || t) IS NOT NULL THEN "
            f"EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM {app_role}', t); "
            "END IF; END LOOP; END $$",
        ]
    return [
        f"GRANT SELECT ON {', '.join(CATALOG_READABLE)} TO {app_role}",
        f"GRANT UPDATE (multi_location) ON tenants TO {app_role}",
        # failed sign-ins, counted by the request path (salesapp/accounts/throttle.py):
        # the app role's only write in the catalog; the table exists from c0005 on
        "DO $$ BEGIN IF to_regclass('public.failed_sign_ins') IS NOT NULL THEN "
        f"EXECUTE 'GRANT SELECT, INSERT, DELETE ON failed_sign_ins TO {app_role}'; END IF; END $$",
        # sign-ups waiting for their e-mail (salesapp/public/signups.py), from c0007 on
        "DO $$ BEGIN IF to_regclass('public.signups') IS NOT NULL THEN "
        f"EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON signups TO {app_role}'; END IF; END $$",
    ]


def run_env(context, target_metadata) -> None:
    """The body of both env.py files: the lock timeout, the migrations, then the grants,
    in one transaction; written out as SQL in offline mode (`salesapp migrate --sql`)."""
    config = context.config
    kind = config.attributes.get("kind") or Path(config.get_main_option("script_location")).name
    x_args = context.get_x_argument(as_dictionary=True)
    app_role = config.attributes.get("app_role") or x_args.get("app_role")
    settings = config.attributes.get("settings")
    # transaction-scoped (SET LOCAL): nothing outlives the migration, behind a pooler too
    timeout = f"{max(1, round(lock_timeout(settings) * 1000))}ms"

    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=target_metadata,
            literal_binds=True,
            # statements as psql runs them: "named" leaves "%" alone (the driver's
            # "pyformat" would print format('%I') as format('%%I'))
            dialect_opts={"paramstyle": "named"},
        )
        with context.begin_transaction():
            context.execute(f"SET LOCAL lock_timeout = '{timeout}'")
            context.run_migrations()
            for statement in grant_sql(kind, app_role):
                context.execute(statement)
        return

    def run(connection):
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            connection.execute(text("select set_config('lock_timeout', :t, true)"), {"t": timeout})
            context.run_migrations()
            for statement in grant_sql(kind, app_role):
                connection.execute(text(statement))

    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = _engine(config.get_main_option("sqlalchemy.url"), settings)
    with engine.begin() as connection:
        run(connection)
    engine.dispose()


# -- the whole deployment ---------------------------------------------------------------
@dataclass
class StoreMigration:
    """One database's result in `salesapp migrate`."""

    name: str
    kind: str
    before: str | None = None
    after: str | None = None
    status: Outcome = Outcome.PENDING
    error: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in (Outcome.FAILED, Outcome.BEHIND)


def revision_at(url: str, settings: Settings | None = None) -> str | None:
    """The schema revision of the database at ``url`` (None: not migrated)."""
    engine = _engine(url, settings)
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()


def _migrate_one(
    result: StoreMigration, kind: str, url: str, settings: Settings, check: bool, alembic_dir
) -> StoreMigration:
    """Migrate (or check) one database; never raises: the result says what happened.
    A top-level function so that worker processes can run it."""
    started = time.monotonic()
    try:
        result.before = revision_at(url, settings)
        head = head_revision(kind, alembic_dir)
        if check:
            result.after = result.before
            result.status = Outcome.AT_HEAD if result.before == head else Outcome.BEHIND
        else:
            result.after = upgrade(
                kind, url, settings.app_role, alembic_dir=alembic_dir, settings=settings
            )
            result.status = Outcome.MIGRATED if result.before != result.after else Outcome.AT_HEAD
    except Exception as exc:
        result.status = Outcome.FAILED
        result.error = mask_secrets(first_line(exc))
    result.seconds = time.monotonic() - started
    return result


def _crash_point(name: str) -> None:
    """The crash tests' kill -9 (CRASH_ENV), right after ``name``'s result is written."""
    if os.environ.get(CRASH_ENV) == f"migrate:{name}":
        os.kill(os.getpid(), signal.SIGKILL)


def _die_with_parent(parent: int) -> None:
    """Initializer of `migrate --jobs` worker processes: a worker dies with the process
    that made it (SIGKILL from the kernel on Linux, a watchdog thread elsewhere), so
    that a killed `salesapp migrate` leaves no orphan migrating behind its back, whose
    result nobody would write. The kernel's signal is tied to the thread that made the
    worker: migrate_deployment submits from the calling thread, which outlives the pool.
    """
    armed = False
    if sys.platform.startswith("linux"):
        try:
            armed = (
                ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                == 0
            )
        except (OSError, AttributeError):  # no libc prctl: the watchdog below
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:

        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


@dataclass
class _Target:
    """A database to migrate: a store (by catalog id) or the template (no id)."""

    store_id: int | None
    result: StoreMigration
    url: str


class _SomeFailed(Exception):
    """Raised inside Catalog.operation so that the log row reads ``failed`` when some
    databases failed (the results say which; migrate_deployment does not raise)."""


def migrate_deployment(
    catalog,
    *,
    tenant: str | None = None,
    store: str | None = None,
    jobs: int = 1,
    check: bool = False,
    on_result=None,
    on_plan=None,
) -> list[StoreMigration]:
    """Bring the catalog, then every store (or one tenant's, or one named store), to head.

    Each pooled store is migrated once, whatever its tenant count; dedicated stores run
    ``jobs`` at a time, in worker processes that die with this one. One store's failure
    does not stop the others. Each store's status is written to the catalog as it
    starts (running) and as it ends (ok, or failed and why), so after a crash only the
    stores being migrated read ``running``, and a rerun resumes: stores at head are a
    no-op. The template database is kept at head. The run is in the operations log,
    recorded before it starts. ``check`` changes and records nothing and reports what is
    behind. ``on_plan(n)`` is told how many databases there are, ``on_result`` is
    called as each finishes (for progress).
    """
    settings = catalog.settings
    on_result = on_result or (lambda result: None)
    alembic_dir = str(ALEMBIC_DIR)

    def migrate_catalog() -> StoreMigration:
        first = _migrate_one(
            StoreMigration("catalog", "catalog"),
            "control",
            settings.catalog_url,
            settings,
            check,
            alembic_dir,
        )
        if first.status == Outcome.FAILED:
            on_result(first)  # the stores' bookkeeping lives in the catalog: stop here
        else:
            _crash_point(first.name)
        return first

    def migrate_stores(first: StoreMigration) -> list[StoreMigration]:
        return _migrate_stores(
            catalog, first, tenant, store, jobs, check, alembic_dir, on_result, on_plan
        )

    if check:
        first = migrate_catalog()
        return [first] if first.status == Outcome.FAILED else [first, *migrate_stores(first)]

    where = {"tenant_slug": tenant, "store_name": store, "jobs": jobs}
    results: list[StoreMigration] = []
    try:
        with contextlib.ExitStack() as stack:
            # logged before anything runs, if the catalog can take the entry before its
            # own migration; else as soon as the catalog is migrated
            record = _log_start(stack, catalog, where)
            first = migrate_catalog()
            results.append(first)
            if first.status == Outcome.FAILED:
                if record is None:
                    _record_catalog_failure(catalog, first, where)
                raise _SomeFailed(f"the catalog failed: {first.error}")
            if record is None:
                record = stack.enter_context(catalog.operation("migrate", **where))
            results += migrate_stores(first)
            failed = [r.name for r in results if r.failed]
            record.detail["migrated"] = [r.name for r in results if r.status == Outcome.MIGRATED]
            record.detail["failed"] = failed
            if failed:
                raise _SomeFailed(f"{len(failed)} of {len(results)} failed: {', '.join(failed)}")
    except _SomeFailed:
        pass
    return results


def _log_start(stack: contextlib.ExitStack, catalog, where: dict):
    """Enter the operations-log entry of a migration (Catalog.operation) on ``stack``;
    None when the catalog cannot take it yet: a catalog older than the log's columns
    (its migration adds them) or one that cannot be reached."""
    try:
        return stack.enter_context(catalog.operation("migrate", **where))
    except DBAPIError as exc:
        log.info("the migration is logged after the catalog's: %s", first_line(exc))
        return None


def _record_catalog_failure(catalog, result: StoreMigration, where: dict) -> None:
    """Log a migration whose catalog step failed, if the catalog still takes the entry
    (it may be the catalog that cannot be reached)."""
    try:
        catalog.record(
            "migrate",
            OperationOutcome.FAILED,
            **where,
            failed=["catalog"],
            error=result.error,
        )
    except Exception as exc:
        log.warning("could not log the failed migration in the catalog: %s", first_line(exc))


def _targets(catalog, tenant: str | None, store: str | None) -> list[_Target]:
    """The databases to migrate after the catalog: the template (whole deployment only),
    then the chosen stores, pooled before dedicated."""
    from .bootstrap import owner_server_url, template_database

    settings = catalog.settings
    with catalog.session() as session:
        if tenant:
            _, chosen = catalog.placement(session, catalog.tenant(session, tenant))
            stores = [chosen]
        elif store:
            chosen = catalog.store_named(session, store)
            if chosen.kind == StoreKind.DEDICATED_SERVER:
                raise OperationError(
                    f"store {store!r} is a dedicated-server: it holds no schema of its own; "
                    "its dedicated stores are migrated by name or with the whole deployment"
                )
            stores = [chosen]
        else:
            # only columns every catalog revision has (--check runs on a catalog behind)
            stores = session.execute(
                select(Store.id, Store.name, Store.kind, Store.url_encrypted)
                .where(Store.kind.in_(PLACEMENT_KINDS))
                .order_by(Store.kind.desc(), Store.name)
            ).all()
        targets = [
            _Target(s.id, StoreMigration(s.name, s.kind), catalog.store_url(s)) for s in stores
        ]
    if not tenant and not store:
        template_url = urls.with_database(owner_server_url(settings), template_database(settings))
        targets.insert(0, _Target(None, StoreMigration("<template>", "template"), template_url))
    return targets


def _migrate_stores(
    catalog, first, tenant, store, jobs, check, alembic_dir, on_result, on_plan
) -> list[StoreMigration]:
    """Migrate (or check) the targets, writing each one's status as it starts and ends."""
    settings = catalog.settings
    targets = _targets(catalog, tenant, store)

    def begin(target: _Target) -> None:
        if target.store_id is not None and not check:
            with catalog.session() as session:
                session.execute(
                    update(Store)
                    .where(Store.id == target.store_id)
                    .values(migration_status=MigrationStatus.RUNNING)
                )

    def finish(target: _Target, result: StoreMigration) -> StoreMigration:
        if target.store_id is not None and not check:
            failed = result.status == Outcome.FAILED
            values = {
                "migration_status": MigrationStatus.FAILED if failed else MigrationStatus.OK,
                "migration_error": result.error,
            }
            if not failed:
                values.update(schema_revision=result.after, migrated_at=func.now())
            with catalog.session() as session:
                session.execute(update(Store).where(Store.id == target.store_id).values(**values))
        on_result(result)
        _crash_point(result.name)
        return result

    def arguments(target: _Target) -> tuple:
        return (target.result, "tenant", target.url, settings, check, alembic_dir)

    if on_plan:
        on_plan(len(targets) + 1)  # and the catalog, done already
    on_result(first)
    if jobs <= 1 or len(targets) <= 1:
        done = []
        for target in targets:
            begin(target)
            done.append(finish(target, _migrate_one(*arguments(target))))
        return done

    # ``jobs`` at a time, each marked running only when it is handed to a worker
    done: list[StoreMigration | None] = [None] * len(targets)
    waiting = iter(range(len(targets)))
    context = multiprocessing.get_context("spawn")  # no inherited threads or sockets
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(targets)),
        mp_context=context,
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        running = {}

        def hand_out() -> None:
            i = next(waiting, None)
            if i is None:
                return
            begin(targets[i])
            try:
                running[pool.submit(_migrate_one, *arguments(targets[i]))] = i
            except BrokenProcessPool as exc:
                done[i] = finish(targets[i], _worker_lost(targets[i].result, exc))
                hand_out()

        for _ in range(min(jobs, len(targets))):
            hand_out()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                i = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as exc:  # a worker was killed (OOM killer, kill)
                    result = _worker_lost(targets[i].result, exc)
                done[i] = finish(targets[i], result)
                hand_out()
    return done


def _worker_lost(result: StoreMigration, exc: BaseException) -> StoreMigration:
    result.status = Outcome.FAILED
    result.error = (
        f"the worker process migrating it died ({first_line(exc)}); run `salesapp migrate` again"
    )
    return result


# -- the SQL for a DBA ------------------------------------------------------------------
def _where(url: str) -> str:
    """Where a database is, for a heading: its name and server, no credentials."""
    parsed = urls.parse(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    server = f"{host}:{parsed.port}" if parsed.port else host
    return f"{parsed.database} at {server}"


def migration_sql(catalog) -> str:
    """The SQL `salesapp migrate` would run, for a DBA to read or run by hand. Changes
    nothing.

    One section per group of databases at one revision: the catalog, then the template
    and the stores (each pooled store once). Each section is headed by ``-- on <database>
    at <server> (<name>)`` lines, one per database it is for, and is one transaction, to
    be run on each of them as the owner role (``psql -v ON_ERROR_STOP=1 -f``). A database
    that cannot be reached is named in a comment and left out. OperationError when a
    revision cannot be written out as SQL (it reads the database as it runs).
    """
    from .bootstrap import owner_server_url, template_database

    settings = catalog.settings
    out = io.StringIO()
    out.write(
        f"-- salesapp migrate --sql: run each section on each database it names, as "
        f"{settings.owner_role}\n\n"
    )

    def emit(kind: str, revision: str | None, databases: list[tuple[str, str]]):
        head = head_revision(kind)
        for name, url in databases:
            out.write(f"-- on {_where(url)} ({name})\n")
        out.write(f"-- {revision or 'empty'} -> {head}\n")
        if revision == head:
            out.write("-- nothing to do\n\n")
            return
        section = io.StringIO()
        config = alembic_config(kind, settings.catalog_url, settings.app_role, settings=settings)
        config.output_buffer = section
        try:
            command.upgrade(config, f"{revision}:head" if revision else "head", sql=True)
        except Exception as exc:
            running = re.findall(r"^-- Running upgrade (\S+) -> (\S+)", section.getvalue(), re.M)
            step = f"revision {running[-1][1]}" if running else "a revision"
            raise OperationError(
                f"the SQL of {', '.join(n for n, _ in databases)} cannot be printed: {step} "
                f"reads the database as it runs ({first_line(exc)}); "
                "run `salesapp migrate` instead, which migrates them live"
            ) from None
        out.write(section.getvalue())
        out.write("\n")

    emit(
        "control", revision_at(settings.catalog_url, settings), [("catalog", settings.catalog_url)]
    )

    template_url = urls.with_database(owner_server_url(settings), template_database(settings))
    databases = [("<template>", template_url)]
    with catalog.session() as session:
        # only columns every catalog revision has: the catalog may be behind the code
        rows = session.execute(
            select(Store.name, Store.url_encrypted)
            .where(Store.kind.in_(PLACEMENT_KINDS))
            .order_by(Store.kind.desc(), Store.name)
        ).all()
        databases += [(row.name, catalog.store_url(row)) for row in rows]
    by_revision: dict[str | None, list[tuple[str, str]]] = {}
    unreachable = []
    for name, url in databases:
        try:
            revision = revision_at(url, settings)
        except Exception as exc:
            unreachable.append(f"{name} ({mask_secrets(first_line(exc))})")
            continue
        by_revision.setdefault(revision, []).append((name, url))
    for revision, group in by_revision.items():
        emit("tenant", revision, group)
    for line in unreachable:
        out.write(f"-- left out, not reachable: {line}\n")
    return out.getvalue()
