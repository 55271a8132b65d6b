"""Stores: add one to the catalog, list them with what each holds and whether it answers,
and tell what database each one is.

A store row names a database by URL, and many URLs reach one database (``localhost`` and
``127.0.0.1``, a PgBouncer in front). What a database *is* is its identity
(salesapp.operations.identity: the server's system identifier and the database's oid),
so two store rows never name one database, the catalog and the tenant template are never
a store, and an operation that empties or drops a database first proves by identity that
no tenant lives there (salesapp.operations.mobility).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import psycopg
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from ..tenancy import urls
from ..tenancy.directory import StoreKind
from ..tenancy.errors import first_line
from ..tenancy.stores import connect_args
from . import bootstrap, migrations
from .catalog import Catalog
from .errors import OperationError
from .identity import (
    DatabaseIdentity,
    identity_of,
    identity_of_store,
    read_identity,
    record_identity,
)
from .models import Placement, Store

log = logging.getLogger(__name__)

STORE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: the kinds of store an operator adds (dedicated stores are made by provisioning)
ADDABLE_KINDS = (StoreKind.POOLED, StoreKind.DEDICATED_SERVER)


# -- what each database is ----------------------------------------------------------
NAMED_IDENTITY_SQL = (
    "select (select system_identifier from pg_control_system())::text, oid::bigint "
    "from pg_database where datname = %s"
)


def identity_named(conn: psycopg.Connection, database: str) -> DatabaseIdentity | None:
    """The identity of the database called ``database`` on the server ``conn`` is
    connected to, without connecting to it (None: there is none): exactly what
    ``DROP DATABASE`` of that name on this connection would drop."""
    row = conn.execute(NAMED_IDENTITY_SQL, (database,), prepare=False).fetchone()
    return DatabaseIdentity(row[0], int(row[1])) if row else None


@dataclass(frozen=True)
class KnownStore:
    """A store row and the database it names."""

    id: int
    name: str
    kind: StoreKind
    database: str  # the database name in its URL
    identity: DatabaseIdentity | None  # None: not recorded, and it cannot be reached now


def _read_quietly(catalog: Catalog, url: str) -> DatabaseIdentity | None:
    try:
        return read_identity(catalog.settings, url)
    except psycopg.Error as exc:
        log.warning("cannot read the identity of %s: %s", urls.parse(url), first_line(exc))
        return None


def _record_quietly(catalog: Catalog, store_id: int, identity: DatabaseIdentity) -> None:
    """Fill in an identity a store row lacks (registered before identities were kept).
    Another row with that identity (a database registered twice) keeps it unrecorded:
    the unique index refuses it, and `salesapp doctor` reports the pair."""
    try:
        with catalog.session() as session:
            # a row someone is changing (maybe our own caller, in a transaction still
            # open) is left for another time: this must never wait
            store = session.scalars(
                select(Store).where(Store.id == store_id).with_for_update(skip_locked=True)
            ).first()
            if store is not None and identity_of_store(store) is None:
                record_identity(store, identity)
    except IntegrityError:
        pass


def known_stores(catalog: Catalog) -> list[KnownStore]:
    """Every store with the database it names: its recorded identity, else the one read
    live now (recorded on the way for a pooled or dedicated store; a dedicated-server
    store names only the database it connects through, so its identity is read each
    time and never kept: two names for one server are harmless)."""
    with catalog.session() as session:
        rows = [
            (s.id, s.name, StoreKind(s.kind), catalog.store_url(s), identity_of_store(s))
            for s in session.scalars(select(Store).order_by(Store.id))
        ]
    known = []
    for store_id, name, kind, url, identity in rows:
        if identity is None:
            identity = _read_quietly(catalog, url)
            if identity is not None and kind != StoreKind.DEDICATED_SERVER:
                _record_quietly(catalog, store_id, identity)
        known.append(KnownStore(store_id, name, kind, urls.database_of(url), identity))
    return known


def reserved_databases(catalog: Catalog) -> dict[DatabaseIdentity, str]:
    """The databases that are never a store, with what each is: the catalog and the
    tenant template (on the catalog's server)."""
    settings = catalog.settings
    with psycopg.connect(
        urls.libpq_url(settings.catalog_url), autocommit=True, **connect_args(settings)
    ) as conn:
        reserved = {identity_of(conn): "the catalog database"}
        template = identity_named(conn, bootstrap.template_database(settings))
    if template is not None:
        reserved[template] = "the tenant template database"
    return reserved


def what_database_is(
    catalog: Catalog, identity: DatabaseIdentity, exclude: tuple[int, ...] = ()
) -> str | None:
    """What the database with ``identity`` already is: "store NAME", "the catalog
    database", "the tenant template database"; None if it is none of these (stores
    whose ids are in ``exclude`` aside)."""
    reserved = reserved_databases(catalog)
    if identity in reserved:
        return reserved[identity]
    for store in known_stores(catalog):
        if store.id not in exclude and store.identity == identity:
            return f"store {store.name}"
    return None


# -- adding a store --------------------------------------------------------------------
def add_store(
    catalog: Catalog, name: str, url: str, kind: StoreKind | str, *, accepting: bool = True
) -> dict:
    """Register a store.

    pooled: ``url`` names a database (created if missing; it must be empty or already a
    salesapp store), migrated to head; many tenants will share it. It must not be the
    catalog, the template or a database another store names (by any URL): its identity
    is compared and recorded.
    dedicated-server: ``url`` names a server (any database on it, e.g. postgres) where
    new dedicated databases are created; its role needs CREATEDB.
    The app role must exist on the server (docs/roles.sql).

    A pooled store accepts new tenants from the start (placement.py), unless
    ``accepting`` is False: then it is added draining, for tenants moved there by name.
    """
    with catalog.operation(
        "store.add", store_name=name, kind=str(kind), url=url, accepting=accepting
    ) as record:
        result = _add_store(catalog, name, url, kind, accepting)
        record.store_name = result["name"]
        record.detail.update(created=result["created"], identity=result["identity"])
        return result


def _add_store(
    catalog: Catalog, name: str, url: str, kind: StoreKind | str, accepting: bool
) -> dict:
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
        with bootstrap.admin_connection(url, admin_database, settings=settings) as conn:
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
    revision = identity = None
    if kind == StoreKind.DEDICATED_SERVER:
        if not role or not role[0]:
            raise OperationError(
                f"the role of {shown} lacks CREATEDB; grant it (ALTER ROLE ... CREATEDB) so "
                "dedicated databases can be created there"
            )
    else:
        try:
            # what this URL reaches, before anything is migrated there (it may be the
            # catalog, or a store by another URL)
            identity = read_identity(settings, url)
            if not created:
                _refuse_known_database(catalog, identity, shown)
            _require_store_or_empty(url)
            revision = migrations.upgrade("tenant", url, settings.app_role, settings=settings)
        except Exception as exc:
            if created:
                with bootstrap.admin_connection(url, settings=settings) as conn:
                    bootstrap.drop_database(conn, database)
            if isinstance(exc, OperationError):
                raise
            raise OperationError(f"migrating {shown} failed: {first_line(exc)}") from None
    try:
        with catalog.session() as session:
            store = Store(
                name=name,
                kind=kind,
                url_encrypted=catalog.box.encrypt(url),
                schema_revision=revision,
                migration_status="ok" if revision else None,
                accepting=accepting,
            )
            if identity is not None:
                record_identity(store, identity)
            session.add(store)
    except IntegrityError:  # registered meanwhile, under this name or this database
        raise OperationError(
            f"{shown} was registered meanwhile (as {name!r} or under another name); see "
            "`salesapp store list`"
        ) from None
    return {
        "name": name,
        "kind": kind,
        "url": shown,
        "created": created,
        "schema_revision": revision,
        "identity": str(identity) if identity else None,
    }


def _refuse_known_database(catalog: Catalog, identity: DatabaseIdentity, shown: str) -> None:
    """OperationError if the database is the catalog, the template or a store already."""
    what = what_database_is(catalog, identity)
    if what is None:
        return
    if what.startswith("store "):
        raise OperationError(
            f"{shown} is the database of {what} (the same database, by another URL); a "
            "database is registered once: see `salesapp store list`"
        )
    raise OperationError(
        f"{shown}: that is {what}; a pooled store needs a database of its own: give "
        "another database name (it is created if missing)"
    )


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
    """Every store with what it holds and whether it answers; a pooled store also with
    ``placement`` (accepting | draining) and ``next``: True for the one store a new
    pooled tenant would go to now (placement.py's measure of room)."""
    from .placement import Room, tenant_counts  # placement imports this module

    with catalog.session() as session:
        counts = dict(
            session.execute(
                select(Placement.store_id, func.count()).group_by(Placement.store_id)
            ).all()
        )
        counts_in = tenant_counts(session)
        stores = session.scalars(select(Store).order_by(Store.kind.desc(), Store.name)).all()
    rows, rooms = [], {}
    for store in stores:
        status = store_status(catalog, store)
        pooled = store.kind == StoreKind.POOLED
        if pooled and store.accepting and status["reachable"]:
            rooms[store.name] = Room(
                store.name,
                counts_in.get(store.id, 0),
                status["size_bytes"],
                True,
                is_default=store.is_default,
                id=store.id,
            ).key
        rows.append(
            {
                "name": store.name,
                "kind": store.kind,
                "default": store.is_default,
                "placement": ("accepting" if store.accepting else "draining") if pooled else None,
                "tenants": counts.get(store.id, 0),
                "size_bytes": status["size_bytes"],
                "schema_revision": status["live_revision"] or store.schema_revision,
                "migration_status": store.migration_status,
                "reachable": status["reachable"],
                "error": status["error"],
                "url": urls.parse(catalog.store_url(store)).render_as_string(),
            }
        )
    roomiest = min(rooms, key=rooms.get) if rooms else None
    for row in rows:
        row["next"] = row["name"] == roomiest
    return rows
