"""Set up a deployment: roles, the catalog, the default pooled store and the template.

``init_deployment`` is idempotent: run it on every start of the embedded default and
by ``salesapp init`` on real servers. With a server-admin URL it creates the roles and
databases itself; without one it expects a DBA to have run docs/roles.sql.
"""

from __future__ import annotations

import dataclasses
import logging

import psycopg
from psycopg import sql
from sqlalchemy import select

from ..settings import Settings
from ..tenancy import urls
from ..tenancy.directory import StoreKind
from ..tenancy.stores import connect_args
from . import migrations
from .catalog import Catalog
from .identity import identity_of_store, read_identity, record_identity
from .models import Store

log = logging.getLogger(__name__)

DEFAULT_POOLED_STORE = "pool1"


def admin_connection(
    url: str, database: str = "postgres", *, settings: Settings | None = None
) -> psycopg.Connection:
    """An autocommit connection for DDL that cannot run in a transaction block.

    It never prepares statements, whoever calls it: it lives for a few statements, and
    behind a transaction-mode pooler psycopg's ``_pg3_N`` statements would clash between
    clients. Give the deployment's ``settings`` wherever they are at hand: the rest of
    their connection options (the timeout) then govern it too.
    """
    options = connect_args(settings) if settings is not None else {}
    options["prepare_threshold"] = None
    return psycopg.connect(
        urls.libpq_url(urls.with_database(url, database)), autocommit=True, **options
    )


def ensure_roles(admin_url: str, settings: Settings) -> None:
    """Create (or correct) the owner and app roles.

    owner: LOGIN CREATEDB, owns every schema object, runs migrations, never serves requests.
    app: LOGIN and nothing else: not superuser, no BYPASSRLS, owns nothing, DML grants only.
    """
    roles = (
        (settings.owner_role, settings.owner_password, "CREATEDB"),
        (settings.app_role, settings.app_password, "NOCREATEDB"),
    )
    with admin_connection(admin_url, settings=settings) as conn:
        for role, password, createdb in roles:
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            statement = sql.SQL(
                "{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS NOREPLICATION "
                + createdb
            ).format(verb=sql.SQL(verb), role=sql.Identifier(role))
            if password:
                statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
            conn.execute(statement)
        # the owner drops a dedicated database a tenant has left (or a deleted tenant's):
        # DROP DATABASE ... WITH (FORCE) must end the app role's idle connections to it
        conn.execute(
            sql.SQL("GRANT pg_signal_backend TO {}").format(sql.Identifier(settings.owner_role))
        )


def database_exists(conn: psycopg.Connection, name: str) -> bool:
    return (
        conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is not None
    )


def create_database(
    conn: psycopg.Connection, name: str, owner: str, app_role: str, template: str | None = None
) -> None:
    """CREATE DATABASE (cloned from ``template`` if given), reachable only by our roles."""
    statement = sql.SQL("CREATE DATABASE {} OWNER {}").format(
        sql.Identifier(name), sql.Identifier(owner)
    )
    if template:
        statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
    conn.execute(statement)
    restrict_database(conn, name, owner, app_role)


def restrict_database(
    conn: psycopg.Connection, name: str, owner: str, app_role: str | None
) -> None:
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
    grantees = [owner] + ([app_role] if app_role else [])
    conn.execute(
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
            sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, grantees))
        )
    )


def drop_database(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def deployment_names(conn: psycopg.Connection, prefix: str) -> tuple[list[str], list[str]]:
    """The databases and the roles named ``<prefix>_...`` on the server of ``conn``."""
    pattern = prefix.replace("_", "\\_") + "\\_%"
    databases = conn.execute("select datname from pg_database where datname like %s", (pattern,))
    names = [row[0] for row in databases]
    roles = conn.execute("select rolname from pg_roles where rolname like %s", (pattern,))
    return names, [row[0] for row in roles]


def drop_deployment(admin_url: str, prefix: str) -> None:
    """Drop every database and role named ``<prefix>_...`` on the server at ``admin_url``
    (a superuser URL): what the tests and the benchmark made, gone when they end."""
    with admin_connection(admin_url) as conn:
        names, roles = deployment_names(conn, prefix)
        for name in names:
            conn.execute(
                sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(name))
            )
            drop_database(conn, name)
        for role in roles:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def owner_server_url(settings: Settings) -> str:
    """The catalog server as the owner role (for CREATE DATABASE and migrations)."""
    return urls.with_role(settings.catalog_url, settings.owner_role, settings.owner_password)


def with_catalog_url(settings: Settings) -> Settings:
    """Fill in ``catalog_url`` from the server-admin URL when it is not set (embedded
    server, tests): the catalog database on that server, as the owner role."""
    if settings.catalog_url:
        return settings
    if not settings.server_admin_url:
        raise ValueError("set SALESAPP_CATALOG_URL (or a server-admin URL) to initialise")
    catalog_url = urls.with_role(
        urls.with_database(settings.server_admin_url, settings.database_name("catalog")),
        settings.owner_role,
        settings.owner_password,
    )
    return dataclasses.replace(settings, catalog_url=catalog_url)


def init_deployment(settings: Settings) -> Settings:
    """Create or upgrade roles, catalog, default pooled store and template; idempotent.

    Returns the settings with ``catalog_url`` filled in when it was derived from the
    server-admin URL.
    """
    admin_url = settings.server_admin_url
    settings = with_catalog_url(settings)
    owner_url = owner_server_url(settings)
    catalog_db = urls.database_of(settings.catalog_url)
    pool_db = settings.database_name(DEFAULT_POOLED_STORE)
    template_db = settings.database_name("template")

    if admin_url:
        ensure_roles(admin_url, settings)
    with admin_connection(admin_url or owner_url, settings=settings) as conn:
        for name in (catalog_db, pool_db, template_db):
            if not database_exists(conn, name):
                log.info("creating database %s", name)
                create_database(conn, name, settings.owner_role, settings.app_role)
        # Only the owner connects to the template, and only to migrate it: CREATE DATABASE
        # ... TEMPLATE refuses while anything is connected to it.
        conn.execute(
            sql.SQL("REVOKE CONNECT ON DATABASE {} FROM {}").format(
                sql.Identifier(template_db), sql.Identifier(settings.app_role)
            )
        )

    migrations.upgrade("control", settings.catalog_url, settings.app_role, settings=settings)
    pool_url = urls.with_database(owner_url, pool_db)
    template_url = urls.with_database(owner_url, template_db)
    migrations.upgrade("tenant", template_url, settings.app_role, settings=settings)
    pool_revision = migrations.upgrade("tenant", pool_url, settings.app_role, settings=settings)

    catalog = Catalog(settings)
    try:
        with catalog.session() as session:
            store = session.scalars(select(Store).where(Store.name == DEFAULT_POOLED_STORE)).first()
            if store is None:
                store = Store(
                    name=DEFAULT_POOLED_STORE,
                    kind=StoreKind.POOLED,
                    url_encrypted=catalog.box.encrypt(pool_url),
                    is_default=True,
                )
                session.add(store)
            store.schema_revision = pool_revision
            _record_pool_identity(settings, session, store, catalog.store_url(store))
    finally:
        catalog.dispose()
    return settings


def _record_pool_identity(settings: Settings, session, store: Store, url: str) -> None:
    """Record what the default pooled store's database is (system identifier and oid,
    read through the store's own URL), so that no second store row can name it and
    every undo can prove what it empties.

    Only a store row without an identity gets one, and only if no other row claims it:
    a conflict (two rows, one database, from before identities were recorded) or a
    recorded identity that differs from the live one is left for ``salesapp doctor`` to
    show and repair, rather than failing ``init``."""
    try:
        identity = read_identity(settings, url)
    except psycopg.Error as exc:
        log.warning("cannot read the identity of store %s: %s", store.name, exc)
        return
    recorded = identity_of_store(store)
    if recorded is not None:
        if recorded != identity:
            log.warning(
                "store %s records database %s but its URL reaches %s; see `salesapp doctor`",
                store.name,
                recorded,
                identity,
            )
        return
    session.flush()
    claimed = session.scalars(
        select(Store.name).where(
            Store.system_identifier == identity.system_identifier,
            Store.database_oid == identity.database_oid,
            Store.id != store.id,
        )
    ).first()
    if claimed is not None:
        log.warning(
            "store %s and store %s name one database (%s); see `salesapp doctor`",
            store.name,
            claimed,
            identity,
        )
        return
    record_identity(store, identity)


def template_database(settings: Settings) -> str:
    return settings.database_name("template")
