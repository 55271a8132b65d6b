"""The one door into a tenant's store for operator code, scripts and tests.

Given a tenant, :func:`tenant_session` yields a SQLAlchemy session and
:func:`tenant_connection` a psycopg connection, each in a transaction already bound to
that tenant (salesapp.tenancy.binding), as the store's owner or as the app role. The
transaction commits when the block ends and rolls back if it raises; the connection is
closed either way (operator work is occasional: no pool is kept).

For work over many tenants of one store, :func:`store_connection` gives one transaction
bound to no tenant yet: bind each in turn with ``salesapp.tenancy.binding.bind``. Code
that drives a raw connection through a protocol of its own (a move's COPY and fence
locks, the isolation probe) binds with that same function, never with SQL of its own.

Row-level security is forced on every tenant table, so the owner too sees only the
bound tenant's rows; only the app role is what web requests use, and what isolation
checks must connect as (a superuser or the tables' owner without FORCE would bypass
RLS and make such a check pass falsely).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from .. import db
from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.stores import connect_args
from .catalog import Catalog
from .models import Store


class As(enum.StrEnum):
    """Which database role a door opens as."""

    OWNER = "owner"  # owns the schema; migrations and operator tools
    APP = "app"  # what web requests use: DML only, never bypasses RLS


@dataclass(frozen=True)
class TenantAddress:
    """Where a tenant's rows are: its id and the store (by name) that holds them."""

    id: int
    store: str


def address(catalog: Catalog, tenant) -> TenantAddress:
    """The address of ``tenant``: a subdomain (looked up in the catalog; NotFound if no
    active or suspended tenant has it), or anything with an ``id`` and a ``store_name``
    (provisioning's result) or a ``store`` with a ``name`` (a request's tenant snapshot),
    or a TenantAddress."""
    if isinstance(tenant, TenantAddress):
        return tenant
    if isinstance(tenant, str):
        with catalog.session() as session:
            row = catalog.tenant(session, tenant)
            _, store = catalog.placement(session, row)
            return TenantAddress(row.id, store.name)
    store = getattr(tenant, "store_name", None)
    if store is None:
        store = tenant.store.name
    return TenantAddress(int(tenant.id), store)


def store_url(catalog: Catalog, store: Store | str, role: As = As.OWNER) -> str:
    """The URL of ``store`` (a catalog row, or its name: NotFound if no store has it)
    for ``role`` (the catalog keeps the owner's, encrypted)."""
    if isinstance(store, str):
        with catalog.session() as session:
            store = catalog.store_named(session, store)
    url = catalog.store_url(store)
    return catalog.app_url(url) if role == As.APP else url


def url_engine(settings, url: str) -> Engine:
    """A pool-less engine on the database at ``url`` with the deployment's connection
    options (timeout, prepared statements off behind a pooler): for a database the
    catalog does not name yet (a dedicated store being made, a store being added).
    Dispose it when done."""
    return create_engine(
        urls.sqlalchemy_url(url), poolclass=NullPool, connect_args=connect_args(settings)
    )


def store_engine(catalog: Catalog, store: Store | str, role: As = As.OWNER) -> Engine:
    """A pool-less engine on a store as ``role``, with the deployment's connection
    options (timeout, prepared statements off behind a pooler); dispose it when done."""
    return url_engine(catalog.settings, store_url(catalog, store, role))


@contextmanager
def store_connection(
    catalog: Catalog, store: Store | str, role: As = As.OWNER
) -> Iterator[Connection]:
    """One transaction on a store as ``role``, bound to no tenant yet (so it sees no
    tenant row): for work over several tenants of one store, binding each in turn with
    salesapp.tenancy.binding.bind. Committed when the block ends, rolled back if it
    raises."""
    engine = store_engine(catalog, store, role)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


@contextmanager
def engine_session(engine: Engine, tenant_id: int) -> Iterator[Session]:
    """A session on ``engine`` in one transaction bound to ``tenant_id`` (as
    :func:`tenant_session`), for a store the catalog does not name yet: the database
    of a tenant being provisioned."""
    with db.tenant_session(engine, tenant_id) as session, session.begin():
        yield session


@contextmanager
def tenant_session(catalog: Catalog, tenant, role: As = As.OWNER) -> Iterator[Session]:
    """A SQLAlchemy session on the tenant's store (``tenant`` as :func:`address` takes
    it) as ``role``, in one transaction bound to the tenant; committed when the block
    ends, rolled back if it raises."""
    where = address(catalog, tenant)
    engine = store_engine(catalog, where.store, role)
    try:
        with engine_session(engine, where.id) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def tenant_connection(
    catalog: Catalog,
    tenant,
    role: As = As.OWNER,
    *,
    autocommit: bool = False,
    snapshot: bool = False,
) -> Iterator[psycopg.Connection]:
    """A psycopg connection to the tenant's store (``tenant`` as :func:`address` takes
    it) as ``role``, in a transaction bound to the tenant; committed when the block ends,
    rolled back if it raises.

    With ``snapshot`` the transaction is REPEATABLE READ, READ ONLY: every statement sees
    the same consistent state of the tenant's rows (a backup). With ``autocommit`` every
    statement is its own transaction and none is bound: the caller binds inside its own
    ``with conn.transaction():`` blocks."""
    where = address(catalog, tenant)
    args = connect_args(catalog.settings)
    url = urls.libpq_url(store_url(catalog, where.store, role))
    with psycopg.connect(url, autocommit=autocommit, **args) as conn:
        if snapshot:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
        if not autocommit:
            bind(conn, where.id)
        yield conn
