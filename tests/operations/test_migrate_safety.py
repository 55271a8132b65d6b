"""`salesapp migrate` at its edges (issue 15, items 6, 7, 9 and 11).

- Killed with kill -9 (a real process; the crash hook SIGKILLs it right after a chosen
  database's result is written): each store's status was written as it finished, the
  stores not reached do not read "running", no worker process outlives it, the
  operations log shows the run started and never ended, and a rerun finishes the job.
- A migration queued behind an open read stalls the store's other sessions no longer
  than salesapp.migration_lock_timeout, and succeeds once the reader ends, or fails
  saying what it waited for.
- Behind PgBouncer in transaction mode, with prepared statements off, every connection
  a migration makes prepares nothing.

Each test makes its own deployment and its own copy of alembic/ with a new revision.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from salesapp.operations import door, migrations, pgbouncer, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.door import As
from salesapp.operations.models import Operation, Store
from salesapp.settings import SettingsError, parse_settings
from salesapp.tenancy import urls
from tests.conftest import REPO, write_ini

#: every process of a `salesapp migrate` run by a test carries this in its environment
MARK_ENV = "SALESAPP_TEST_MIGRATE_MARK"
#: the database in which the test revision sleeps (its worker is in flight when killed)
SLOW_ENV = "SALESAPP_TEST_SLOW_DATABASE"

REVISION = '''"""test: a note on locations"""
import os

from alembic import op

revision = "t9101"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE locations ADD COLUMN note text")
    database = op.get_bind().exec_driver_sql("select current_database()").scalar()
    if database == os.environ.get("{slow_env}"):
        op.execute("select pg_sleep(30)")
{extra}

def downgrade():
    op.execute("ALTER TABLE locations DROP COLUMN note")
'''
NEW = "t9101"


def alembic_tree(tmp_path: Path, extra: str = "") -> Path:
    """A copy of alembic/ with revision t9101 (a column on locations) on the tenant head;
    ``extra``: more lines of its upgrade()."""
    tree = tmp_path / "alembic"
    shutil.copytree(migrations.ALEMBIC_DIR, tree)
    (tree / "tenant" / "versions" / "9101_test_note.py").write_text(
        REVISION.format(head=migrations.head_revision("tenant"), slow_env=SLOW_ENV, extra=extra)
    )
    return tree


@dataclasses.dataclass
class Deployment:
    settings: object
    catalog: Catalog
    ini: Path
    tenants: dict
    old: str  # the tenant head before the test's revision

    def database(self, slug: str) -> str:
        return self.tenants[slug].database or self.settings.database_name("pool1")


@pytest.fixture
def deployment(make_deployment, tmp_path):
    """deployment(("pooled", "p1"), ("dedicated", "d1"), ...) -> Deployment: a new
    deployment with these tenants (dropped at the end of the module)."""
    made = []

    def make(*tenants):
        settings = make_deployment()
        catalog = Catalog(settings)
        made.append(catalog)
        created = {
            slug: provisioning.create_tenant(
                catalog,
                provisioning.TenantRequest(
                    name=slug, slug=slug, admin_email="a@b.org", placement=placement
                ),
            )
            for placement, slug in tenants
        }
        ini = write_ini(settings, tmp_path / "m.ini")
        return Deployment(settings, catalog, ini, created, migrations.head_revision("tenant"))

    yield make
    for catalog in made:
        catalog.dispose()


def store_rows(catalog) -> dict[str, tuple]:
    """{store: (schema revision, migration status)} as the catalog has them."""
    with catalog.session() as session:
        return {
            s.name: (s.schema_revision, s.migration_status)
            for s in session.scalars(select(Store).where(Store.kind != "dedicated-server"))
        }


def live_revision(catalog, store_name: str) -> str | None:
    return migrations.revision_at(door.store_url(catalog, store_name))


def migrate_log(catalog) -> list[Operation]:
    with catalog.session() as session:
        return session.scalars(
            select(Operation).where(Operation.action == "migrate").order_by(Operation.id)
        ).all()


def salesapp(ini, *args, env: dict) -> subprocess.CompletedProcess:
    """Run the real `salesapp -c INI ARGS...` in a process of its own. Its output goes
    to files, not pipes: an orphan it left behind would hold a pipe open, and the wait
    for its end with it."""
    command = [os.path.join(os.path.dirname(sys.executable), "salesapp"), "-c", str(ini), *args]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        done = subprocess.run(
            command, env={**os.environ, **env}, stdout=out, stderr=err, cwd=REPO, timeout=120
        )
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, done.returncode, out.read(), err.read())


def marked_processes(mark: str) -> list[int]:
    """Live processes whose environment carries ``MARK_ENV=mark`` (zombies have none)."""
    needle = f"{MARK_ENV}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def terminate_sessions(admin_url: str, database: str) -> None:
    """End the server sessions of a killed client (the server notices a dead client only
    when it next writes to it)."""
    with psycopg.connect(urls.libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity "
            "where datname = %s and pid <> pg_backend_pid()",
            (database,),
        )


# -- item 6 and 7: kill -9 ----------------------------------------------------------------
def test_kill_9_with_one_job_leaves_each_store_as_it_was_done(deployment, tmp_path):
    d = deployment(("pooled", "p1"), ("dedicated", "d1"), ("dedicated", "d2"))
    tree = alembic_tree(tmp_path)
    env = {"SALESAPP_ALEMBIC_DIR": str(tree)}

    # killed right after the catalog's migration: the run was logged before it
    killed = salesapp(d.ini, "migrate", env={**env, migrations.CRASH_ENV: "migrate:catalog"})
    assert killed.returncode == -9, killed.stderr
    assert [(e.outcome, e.finished_at) for e in migrate_log(d.catalog)] == [("started", None)]
    before = store_rows(d.catalog)
    assert {revision for revision, _ in before.values()} == {d.old}
    assert "running" not in {status for _, status in before.values()}, before

    killed = salesapp(d.ini, "migrate", env={**env, migrations.CRASH_ENV: "migrate:pool1"})
    assert killed.returncode == -9, killed.stderr

    # pool1 was done and says so; the dedicated stores were not reached and do not read
    # "running" (the catalog tells the truth: they are at the old revision)
    rows = store_rows(d.catalog)
    assert rows["pool1"] == (NEW, "ok")
    assert live_revision(d.catalog, "pool1") == NEW
    for name in ("dedicated-d1", "dedicated-d2"):
        assert rows[name] == (d.old, "ok"), (name, rows)
        assert live_revision(d.catalog, name) == d.old
    # the run is in the operations log, started and never ended
    entry = migrate_log(d.catalog)[-1]
    assert (entry.outcome, entry.finished_at) == ("started", None)

    again = salesapp(d.ini, "migrate", env=env)
    assert again.returncode == 0, again.stderr + again.stdout
    assert set(store_rows(d.catalog).values()) == {(NEW, "ok")}
    assert migrate_log(d.catalog)[-1].outcome == "ok"
    assert migrate_log(d.catalog)[-1].finished_at is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_with_two_jobs_takes_the_workers_with_it(deployment, tmp_path, server_admin_url):
    # in order: the template, pool1, dedicated-aslow (which sleeps), dedicated-bfast
    d = deployment(("pooled", "p1"), ("dedicated", "aslow"), ("dedicated", "bfast"))
    tree = alembic_tree(tmp_path)
    mark = secrets.token_hex(8)
    env = {"SALESAPP_ALEMBIC_DIR": str(tree), MARK_ENV: mark}
    slow = d.database("aslow")

    # killed right after bfast is written, while a worker sleeps in aslow's migration
    killed = salesapp(
        d.ini,
        "migrate",
        "--jobs",
        "2",
        env={**env, SLOW_ENV: slow, migrations.CRASH_ENV: "migrate:dedicated-bfast"},
    )
    assert killed.returncode == -9, killed.stderr
    deadline = time.monotonic() + 5
    while marked_processes(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = marked_processes(mark)
    for pid in survivors:  # ours: they carry this test's mark
        os.kill(pid, signal.SIGKILL)
    assert survivors == [], "a worker outlived `salesapp migrate`"

    rows = store_rows(d.catalog)
    assert rows["pool1"] == rows["dedicated-bfast"] == (NEW, "ok")
    assert rows["dedicated-aslow"] == (d.old, "running")  # it was being migrated
    terminate_sessions(server_admin_url, slow)  # the dead worker's
    assert live_revision(d.catalog, "dedicated-aslow") == d.old  # rolled back

    again = salesapp(d.ini, "migrate", "--jobs", "2", env=env)
    assert again.returncode == 0, again.stderr + again.stdout
    assert set(store_rows(d.catalog).values()) == {(NEW, "ok")}
    assert [e.outcome for e in migrate_log(d.catalog)] == ["started", "ok"]


def test_refusals_and_failures_are_logged(deployment, tmp_path):
    d = deployment(("dedicated", "d1"))
    refused = salesapp(d.ini, "migrate", "--store", "nope", env={})
    assert refused.returncode == 1 and "no store named" in refused.stderr + refused.stdout
    entry = migrate_log(d.catalog)[-1]
    assert (entry.outcome, entry.store_name) == ("refused", "nope")
    assert "no store named" in entry.detail["error"] and entry.finished_at is not None

    # d1's locations already has the column: the revision fails there
    with door.store_connection(d.catalog, "dedicated-d1") as conn:
        conn.exec_driver_sql("ALTER TABLE locations ADD COLUMN note text")
    env = {"SALESAPP_ALEMBIC_DIR": str(alembic_tree(tmp_path))}
    failed = salesapp(d.ini, "migrate", env=env)
    assert failed.returncode == 1
    entry = migrate_log(d.catalog)[-1]
    assert entry.outcome == "failed" and entry.detail["failed"] == ["dedicated-d1"]
    assert entry.detail["migrated"] == ["<template>", "pool1"]


# -- item 11: the lock timeout ------------------------------------------------------------
def test_the_lock_timeout_setting():
    assert parse_settings({}, environ={}).migration_lock_timeout == 3.0
    parsed = parse_settings({"salesapp.migration_lock_timeout": "0.5"}, environ={})
    assert parsed.migration_lock_timeout == 0.5
    for wrong in ("0", "abc", "-1"):
        with pytest.raises(SettingsError, match="salesapp.migration_lock_timeout"):
            parse_settings({"salesapp.migration_lock_timeout": wrong}, environ={})


def waiting_for_a_lock(admin_url: str, database: str) -> bool:
    with psycopg.connect(urls.libpq_url(admin_url), autocommit=True) as conn:
        return (
            conn.execute(
                "select count(*) from pg_stat_activity where datname = %s and wait_event_type = 'Lock'",
                (database,),
            ).fetchone()[0]
            > 0
        )


def read_locations(catalog, tenant, timeout: float) -> float:
    """Seconds one tenant's read of locations took, as the app role (``timeout`` if the
    statement timeout ended it)."""
    started = time.monotonic()
    with door.tenant_connection(catalog, tenant, As.APP) as conn:
        conn.execute(f"set local statement_timeout = '{int(timeout * 1000)}ms'")
        try:
            conn.execute("select count(*) from locations").fetchone()
        except psycopg.errors.QueryCanceled:
            return timeout
    return time.monotonic() - started


def test_a_migration_behind_an_open_read_stalls_no_one_for_long(
    deployment, tmp_path, monkeypatch, server_admin_url
):
    d = deployment(("pooled", "reader"), ("pooled", "other"))
    monkeypatch.setattr(migrations, "ALEMBIC_DIR", alembic_tree(tmp_path))
    monkeypatch.setattr(migrations, "LOCK_RETRY_PAUSE", 0.3)
    timeout = 1.0
    catalog = Catalog(dataclasses.replace(d.settings, migration_lock_timeout=timeout))
    pool = d.database("reader")
    outcome = {}
    migrator = threading.Thread(
        target=lambda: outcome.update(results=migrations.migrate_deployment(catalog, store="pool1"))
    )
    stalls = []
    try:
        with door.tenant_connection(d.catalog, d.tenants["reader"], As.APP) as reader:
            reader.execute("select count(*) from locations").fetchone()  # and stays open
            migrator.start()
            deadline = time.monotonic() + 10
            while not waiting_for_a_lock(server_admin_url, pool):
                assert time.monotonic() < deadline, "the migration never waited for its lock"
                time.sleep(0.05)
            # the other tenant reads on, stalled at most one lock timeout at a time
            until = time.monotonic() + 3
            while time.monotonic() < until:
                stalls.append(read_locations(d.catalog, d.tenants["other"], timeout=2.5))
            assert migrator.is_alive()  # waiting still, between pauses
            reader_ended = time.monotonic()
        migrator.join(60)
        migrated_at = time.monotonic()
    finally:
        migrator.join(60)
        catalog.dispose()
    assert max(stalls) < timeout + 0.75, stalls
    (_, pool1) = outcome["results"]
    assert (pool1.name, pool1.status, pool1.error) == ("pool1", "migrated", None)
    assert migrated_at > reader_ended
    assert store_rows(d.catalog)["pool1"] == (NEW, "ok")


def test_a_migration_that_never_gets_its_lock_fails_saying_why(deployment, tmp_path, monkeypatch):
    d = deployment(("pooled", "reader"))
    monkeypatch.setattr(migrations, "ALEMBIC_DIR", alembic_tree(tmp_path))
    monkeypatch.setattr(migrations, "LOCK_ATTEMPTS", 2)
    monkeypatch.setattr(migrations, "LOCK_RETRY_PAUSE", 0.2)
    catalog = Catalog(dataclasses.replace(d.settings, migration_lock_timeout=0.5))
    outcome = {}
    migrator = threading.Thread(
        target=lambda: outcome.update(results=migrations.migrate_deployment(catalog, store="pool1"))
    )
    try:
        with door.tenant_connection(d.catalog, d.tenants["reader"], As.APP) as reader:
            reader.execute("select count(*) from locations").fetchone()
            migrator.start()
            migrator.join(10)  # two attempts of 0.5 s and a pause of 0.2 s
            gave_up = not migrator.is_alive()
        migrator.join(60)
        assert gave_up, "the migration waited for its lock as long as the reader lived"
        (_, pool1) = outcome["results"]
        assert pool1.status == "failed"
        for words in (
            "waited 0.5 s for a lock 2 times",
            "ALTER TABLE locations ADD COLUMN note text",
            "salesapp migrate",
            "salesapp.migration_lock_timeout",
        ):
            assert words in pool1.error
        assert store_rows(d.catalog)["pool1"] == (d.old, "failed")
        entry = migrate_log(d.catalog)[-1]
        assert (entry.outcome, entry.detail["failed"]) == ("failed", ["pool1"])

        # the reader gone, the same command succeeds
        (_, pool1) = migrations.migrate_deployment(catalog, store="pool1")
        assert pool1.status == "migrated"
        assert store_rows(d.catalog)["pool1"] == (NEW, "ok")
    finally:
        catalog.dispose()


# -- item 9: behind a transaction-mode pooler ---------------------------------------------
def test_every_migration_connection_honours_prepared_statements_off(
    deployment, tmp_path, monkeypatch
):
    d = deployment(("pooled", "p1"), ("dedicated", "d1"))
    monkeypatch.setattr(migrations, "ALEMBIC_DIR", alembic_tree(tmp_path))
    catalog = Catalog(dataclasses.replace(d.settings, prepared_statements=False))
    made, of_catalog = [], []  # (connection, database, prepare threshold); connections

    def connected(dbapi_connection, record):
        made.append(
            (dbapi_connection, dbapi_connection.info.dbname, dbapi_connection.prepare_threshold)
        )

    def catalog_connected(dbapi_connection, record):
        of_catalog.append(dbapi_connection)  # the catalog's own engine, not a migration's

    event.listen(Engine, "connect", connected)
    event.listen(catalog.engine, "connect", catalog_connected)
    try:
        results = migrations.migrate_deployment(catalog)
    finally:
        event.remove(Engine, "connect", connected)
        catalog.dispose()
    assert {r.status for r in results} == {"migrated", "at head"}
    by_migrations = [m for m in made if not any(m[0] is c for c in of_catalog)]
    assert {database for _, database, _ in by_migrations} == {
        urls.database_of(d.settings.catalog_url),
        d.settings.database_name("template"),
        d.database("p1"),
        d.database("d1"),
    }
    assert [database for _, database, prepare in by_migrations if prepare is not None] == []


@pytest.mark.skipif(shutil.which("pgbouncer") is None, reason="pgbouncer is not installed")
def test_a_migration_through_pgbouncer_with_a_statement_prepared_before(
    deployment, tmp_path, monkeypatch
):
    """PgBouncer in transaction mode, one server connection, no reset between clients:
    a statement another client prepared there stays, and a migration that prepared its
    own would clash with it ("prepared statement _pg3_0 already exists")."""
    d = deployment(("pooled", "p1"))
    repeated = "".join("    op.execute('select count(*) from locations')\n" for _ in range(8))
    monkeypatch.setattr(migrations, "ALEMBIC_DIR", alembic_tree(tmp_path, extra=repeated))
    roles = [d.settings.app_role, d.settings.owner_role]
    with pgbouncer.start(d.settings.server_admin_url, roles, pool_size=1) as port:
        with pgbouncer.route_store(d.catalog, "pool1", port):
            bounced = door.store_url(d.catalog, "pool1")
            with psycopg.connect(urls.libpq_url(bounced), prepare_threshold=0) as other:
                other.execute("select 1").fetchone()  # prepared as _pg3_0, and left there
            catalog = Catalog(dataclasses.replace(d.settings, prepared_statements=False))
            try:
                (_, pool1) = migrations.migrate_deployment(catalog, store="pool1")
            finally:
                catalog.dispose()
    assert (pool1.status, pool1.error) == ("migrated", None)
    assert store_rows(d.catalog)["pool1"] == (NEW, "ok")
