"""Stores: add one to the catalog, list them with what each holds and whether it answers."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from ..tenancy import urls
from ..tenancy.directory import StoreKind
from ..tenancy.errors import first_line
from . import bootstrap, migrations
from .catalog import Catalog
from .errors import OperationError
from .models import Placement, Store

STORE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: the kinds of store an operator adds (dedicated stores are made by provisioning)
ADDABLE_KINDS = (StoreKind.POOLED, StoreKind.DEDICATED_SERVER)


def add_store(catalog: Catalog, name: str, url: str, kind: StoreKind | str) -> dict:
    """Register a store.

    pooled: ``url`` names a database (created if missing; it must be empty or already a
    salesapp store), migrated to head; many tenants will share it.
    dedicated-server: ``url`` names a server (any database on it, e.g. postgres) where
    new dedicated databases are created; its role needs CREATEDB.
    The app role must exist on the server (docs/roles.sql).
    """
    settings = catalog.settings
    name = (name or "").strip().lower()
    if not STORE_NAME_RE.match(name):
        raise OperationError(f"store name {name!r} must be 1-63 lower-case letters, digits, _ or -")
    if kind not in ADDABLE_KINDS:
        raise OperationError(f"--kind must be pooled or dedicated-server, not {kind!r}")
    kind = StoreKind(kind)
    try:
        url = urls.plain(url)
    except ValueError as exc:
        raise OperationError(f"--url: {exc}") from None
    database = urls.database_of(url)
    if not database:
        raise OperationError("the URL names no database: add /DATABASE_NAME")
    with catalog.session() as session:
        if catalog.store_by_name(session, name) is not None:
            raise OperationError(f"a store named {name!r} exists; choose another name")
    shown = urls.parse(url).render_as_string()
    try:
        admin_database = "postgres" if kind == StoreKind.POOLED else database
        with bootstrap.admin_connection(url, admin_database) as conn:
            role = conn.execute(
                "select rolcreatedb from pg_roles where rolname = current_user"
            ).fetchone()
            has_app_role = conn.execute(
                "select 1 from pg_roles where rolname = %s", (settings.app_role,)
            ).fetchone()
            created = False
            if kind == StoreKind.POOLED and not bootstrap.database_exists(conn, database):
                bootstrap.create_database(
                    conn,
                    database,
                    urls.parse(url).username or settings.owner_role,
                    settings.app_role,
                )
                created = True
    except OperationError:
        raise
    except Exception as exc:
        raise OperationError(
            f"cannot reach {shown}: {first_line(exc)}; check the URL, the password and "
            "that the server runs"
        ) from None
    if not has_app_role:
        raise OperationError(
            f"the app role {settings.app_role} does not exist on {shown}; create it there "
            "(docs/roles.sql) and run the command again"
        )
    revision = None
    if kind == StoreKind.DEDICATED_SERVER:
        if not role or not role[0]:
            raise OperationError(
                f"the role of {shown} lacks CREATEDB; grant it (ALTER ROLE ... CREATEDB) so "
                "dedicated databases can be created there"
            )
    else:
        try:
            _require_store_or_empty(url)
            revision = migrations.upgrade("tenant", url, settings.app_role)
        except Exception as exc:
            if created:
                with bootstrap.admin_connection(url) as conn:
                    bootstrap.drop_database(conn, database)
            if isinstance(exc, OperationError):
                raise
            raise OperationError(f"migrating {shown} failed: {first_line(exc)}") from None
    with catalog.session() as session:
        session.add(
            Store(
                name=name,
                kind=kind,
                url_encrypted=catalog.box.encrypt(url),
                schema_revision=revision,
                migration_status="ok" if revision else None,
            )
        )
    catalog.record("store.add", "ok", store_name=name, kind=kind, url=url, created=created)
    return {
        "name": name,
        "kind": kind,
        "url": shown,
        "created": created,
        "schema_revision": revision,
    }


def _require_store_or_empty(url: str) -> None:
    engine = create_engine(urls.sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = set(
                conn.scalars(text("select tablename from pg_tables where schemaname = 'public'"))
            )
    finally:
        engine.dispose()
    if tables and "alembic_version" not in tables:
        raise OperationError(
            f"database {urls.database_of(url)} holds {len(tables)} tables that are not a "
            "salesapp store; give an empty database or a new name"
        )


def store_status(catalog: Catalog, store: Store) -> dict:
    """Reachable, size and live schema revision of one store (or server)."""
    info = {"reachable": False, "size_bytes": None, "live_revision": None, "error": None}
    url = catalog.store_url(store)
    engine = create_engine(
        urls.sqlalchemy_url(url),
        poolclass=NullPool,
        connect_args={"connect_timeout": min(catalog.settings.connect_timeout, 3)},
    )
    try:
        with engine.connect() as conn:
            info["reachable"] = True
            if store.kind != StoreKind.DEDICATED_SERVER:
                info["size_bytes"] = conn.scalar(
                    text("select pg_database_size(current_database())")
                )
                info["live_revision"] = migrations.current_revision(conn)
    except Exception as exc:
        info["error"] = first_line(exc)
    finally:
        engine.dispose()
    return info


def list_stores(catalog: Catalog) -> list[dict]:
    with catalog.session() as session:
        counts = dict(
            session.execute(
                select(Placement.store_id, func.count()).group_by(Placement.store_id)
            ).all()
        )
        stores = session.scalars(select(Store).order_by(Store.kind.desc(), Store.name)).all()
    rows = []
    for store in stores:
        status = store_status(catalog, store)
        rows.append(
            {
                "name": store.name,
                "kind": store.kind,
                "default": store.is_default,
                "tenants": counts.get(store.id, 0),
                "size_bytes": status["size_bytes"],
                "schema_revision": status["live_revision"] or store.schema_revision,
                "migration_status": store.migration_status,
                "reachable": status["reachable"],
                "error": status["error"],
                "url": urls.parse(catalog.store_url(store)).render_as_string(),
            }
        )
    return rows
