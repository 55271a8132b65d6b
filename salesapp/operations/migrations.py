"""Schema migrations for the catalog (alembic/control) and for stores (alembic/tenant).

Alembic runs programmatically on a connection of the owner role; after the migrations,
the same transaction grants the app role exactly what it needs (DML on tenant tables,
SELECT on the catalog's lookup tables), so every new table is covered without a
migration having to know the deployment's role names.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from alembic import command

from ..tenancy import urls
from ..tenancy.crypto import mask_secrets
from ..tenancy.errors import first_line
from .errors import OperationError

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

#: the catalog tables the app role reads to resolve hosts; it writes none of them
CATALOG_READABLE = ("tenants", "domains", "stores", "placements", "tenant_moves")


def alembic_config(
    kind: str, url: str | None = None, app_role: str | None = None, alembic_dir=None
) -> Config:
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
        config.set_main_option("sqlalchemy.url", str(urls.sqlalchemy_url(url)).replace("%", "%%"))
    config.attributes["app_role"] = app_role
    config.attributes["kind"] = kind
    return config


def head_revision(kind: str, alembic_dir=None) -> str:
    return ScriptDirectory.from_config(
        alembic_config(kind, alembic_dir=alembic_dir)
    ).get_current_head()


def current_revision(connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(kind: str, url: str, app_role: str, revision: str = "head", alembic_dir=None) -> str:
    """Migrate the database at ``url`` (owner role) to ``revision``; return the new revision.

    Alembic keeps its running context in a module global: one migration at a time per
    process (migrate_deployment runs parallel jobs in worker processes).
    """
    engine = create_engine(urls.sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            config = alembic_config(kind, url, app_role, alembic_dir)
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
    return [f"GRANT SELECT ON {', '.join(CATALOG_READABLE)} TO {app_role}"]


def run_env(context, target_metadata) -> None:
    """The body of both env.py files: online migrations, then the grants."""
    config = context.config
    kind = config.attributes.get("kind") or Path(config.get_main_option("script_location")).name
    x_args = context.get_x_argument(as_dictionary=True)
    app_role = config.attributes.get("app_role") or x_args.get("app_role")

    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=target_metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            for statement in grant_sql(kind, app_role):
                context.execute(statement)
        return

    def run(connection):
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
            for statement in grant_sql(kind, app_role):
                connection.execute(text(statement))

    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
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
    status: str = "pending"  # migrated | at head | behind | failed
    error: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "behind")


def revision_at(url: str) -> str | None:
    """The schema revision of the database at ``url`` (None: not migrated)."""
    engine = create_engine(urls.sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()


def _migrate_one(
    result: StoreMigration, kind: str, url: str, app_role: str, check: bool, alembic_dir
) -> StoreMigration:
    """Migrate (or check) one database; never raises: the result says what happened.
    A top-level function so that worker processes can run it."""
    started = time.monotonic()
    try:
        result.before = revision_at(url)
        head = head_revision(kind, alembic_dir)
        if check:
            result.after = result.before
            result.status = "at head" if result.before == head else "behind"
        else:
            result.after = upgrade(kind, url, app_role, alembic_dir=alembic_dir)
            result.status = "migrated" if result.before != result.after else "at head"
    except Exception as exc:
        result.status = "failed"
        result.error = mask_secrets(first_line(exc))
    result.seconds = time.monotonic() - started
    return result


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
    ``jobs`` at a time. One store's failure does not stop the others. Each store's
    status (running, ok, failed and why) is kept in the catalog, so a rerun after a
    crash resumes: stores at head are a no-op. The template database is kept at head.
    ``check`` changes nothing and reports what is behind. ``on_plan(n)`` is told how
    many databases there are, ``on_result`` is called as each finishes (for progress).
    """
    from .bootstrap import owner_server_url, template_database
    from .models import Store

    settings = catalog.settings
    on_result = on_result or (lambda result: None)
    alembic_dir = str(ALEMBIC_DIR)
    results = [
        _migrate_one(
            StoreMigration("catalog", "catalog"),
            "control",
            settings.catalog_url,
            settings.app_role,
            check,
            alembic_dir,
        )
    ]
    if results[0].status == "failed":
        on_result(results[0])
        return results  # the stores' bookkeeping lives in the catalog

    with catalog.session() as session:
        if tenant:
            _, chosen = catalog.placement(session, catalog.tenant(session, tenant))
            stores = [chosen]
        elif store:
            chosen = catalog.store_named(session, store)
            if chosen.kind == "dedicated-server":
                raise OperationError(
                    f"store {store!r} is a dedicated-server: it holds no schema of its own; "
                    "its dedicated stores are migrated by name or with the whole deployment"
                )
            stores = [chosen]
        else:
            stores = session.scalars(
                select(Store)
                .where(Store.kind.in_(("pooled", "dedicated")))
                .order_by(Store.kind.desc(), Store.name)
            ).all()
        targets = [(s.id, StoreMigration(s.name, s.kind), catalog.store_url(s)) for s in stores]
        if not check:
            for store_id, _, _ in targets:
                session.get(Store, store_id).migration_status = "running"
    if not tenant and not store:
        template_url = urls.with_database(owner_server_url(settings), template_database(settings))
        targets.insert(0, (None, StoreMigration("<template>", "template"), template_url))

    def finish(store_id, result):
        if store_id is not None and not check:
            with catalog.session() as session:
                row = session.get(Store, store_id)
                row.migration_status = "failed" if result.status == "failed" else "ok"
                row.migration_error = result.error
                if result.status != "failed":
                    row.schema_revision = result.after
                    row.migrated_at = func.now()
        on_result(result)
        return result

    if on_plan:
        on_plan(len(targets) + 1)  # and the catalog, done already
    on_result(results[0])
    args = [(r, "tenant", url, settings.app_role, check, alembic_dir) for _, r, url in targets]
    if jobs <= 1 or len(targets) <= 1:
        done = [_migrate_one(*a) for a in args]
        for (store_id, _, _), result in zip(targets, done, strict=True):
            finish(store_id, result)
    else:
        done = [None] * len(targets)
        context = multiprocessing.get_context("spawn")  # no inherited threads or sockets
        with ProcessPoolExecutor(max_workers=min(jobs, len(targets)), mp_context=context) as pool:
            futures = {pool.submit(_migrate_one, *a): i for i, a in enumerate(args)}
            for future in as_completed(futures):
                i = futures[future]
                done[i] = finish(targets[i][0], future.result())
    results += done

    if not check:
        failed = [r.name for r in results if r.status == "failed"]
        catalog.record(
            "migrate",
            "failed" if failed else "ok",
            store_name=store,
            tenant_slug=tenant,
            failed=failed,
            migrated=[r.name for r in results if r.status == "migrated"],
        )
    return results


def migration_sql(catalog) -> str:
    """The SQL `salesapp migrate` would run: the catalog's, then the stores', grouped by
    the revision each store is at. Changes nothing."""
    from .models import Store

    settings = catalog.settings
    out = io.StringIO()

    def emit(kind: str, revision: str | None, label: str):
        head = head_revision(kind)
        out.write(f"-- {label}: {revision or 'empty'} -> {head}\n")
        if revision == head:
            out.write("-- nothing to do\n\n")
            return
        config = alembic_config(kind, settings.catalog_url, settings.app_role)
        config.output_buffer = out
        command.upgrade(config, f"{revision}:head" if revision else "head", sql=True)
        out.write("\n")

    emit("control", revision_at(settings.catalog_url), "catalog")
    with catalog.session() as session:
        stores = session.scalars(
            select(Store).where(Store.kind.in_(("pooled", "dedicated"))).order_by(Store.name)
        ).all()
        by_revision: dict[str | None, list[str]] = {}
        for store in stores:
            by_revision.setdefault(revision_at(catalog.store_url(store)), []).append(store.name)
    for revision, names in by_revision.items():
        emit("tenant", revision, "stores " + ", ".join(names))
    return out.getvalue()
