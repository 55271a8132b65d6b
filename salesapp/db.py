"""Tenant-schema models' base, and the per-request database session.

Every tenant table carries ``tenant_id``; the session sets ``app.tenant_id`` at the
start of every transaction, transaction-locally, so row-level security scopes every
statement to the request's tenant and the setting can never outlive the transaction
(nor leak to the next user of a pooled connection, nor break behind pgbouncer in
transaction mode).
"""

from __future__ import annotations

import uuid

import zope.sqlalchemy
from sqlalchemy import BigInteger, MetaData, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from .http_helpers import client_address
from .ids import uuid7
from .tenancy.binding import bind

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every tenant-schema model (alembic/tenant)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TenantScoped:
    """Columns every tenant table starts with: the composite primary key (tenant_id, id).

    ``tenant_id`` has no Python default on purpose: the row-level-security policy's
    WITH CHECK refuses any value but the session's tenant, and the services set it
    from ``request.tenant.id``.
    """

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)


def bind_session_to_tenant(session: Session, tenant_id: int) -> Session:
    """Make every transaction of ``session`` start by setting ``app.tenant_id``.

    The binding (salesapp.tenancy.binding) is transaction-local: it is gone at COMMIT or
    ROLLBACK, so a pooled connection carries nothing to its next user, even after an error.
    """
    session.info["tenant_id"] = int(tenant_id)
    return session


@event.listens_for(Session, "after_begin")
def _set_tenant_on_begin(session, transaction, connection):
    tenant_id = session.info.get("tenant_id")
    if tenant_id is not None:
        bind(connection, tenant_id)


_session_factory = sessionmaker(expire_on_commit=False)


def tenant_session(engine, tenant_id: int) -> Session:
    """A new session on ``engine`` scoped to one tenant (outside a web request)."""
    return bind_session_to_tenant(_session_factory(bind=engine), tenant_id)


def dbsession_for_request(request) -> Session:
    """``request.dbsession``: a new session per request, bound to the tenant's store.

    Never reused across requests or tenants: a shared identity map would leak rows.
    pyramid_tm owns the transaction (commit at the end, abort on error).
    """
    tenant = request.tenant
    if tenant is None:
        raise RuntimeError("request.dbsession is only available on a tenant host")
    engine = request.registry.stores.engine_for(tenant)
    if request.registry.salesapp_settings.tenancy:
        session = tenant_session(engine, tenant.id)
    else:  # the benchmark's baseline (salesapp.tenancy = off): no tenant setting
        session = _session_factory(bind=engine)
    # for the audit trail: who acts (read once request.user is known) and from where
    session.info["request"] = request
    session.info["address"] = client_address(request)
    zope.sqlalchemy.register(session, transaction_manager=request.tm)
    return session


#: a view sets this in request.environ to keep what it wrote although it answers an error
KEEP_WRITES = "salesapp.keep_writes"


def commit_veto(request, response) -> bool:
    """pyramid_tm's veto: roll back every request answered with an error status, so a
    refused form can never commit half of what it started; a view that must keep its
    writes on an error (the failed sign-in counter) says so with KEEP_WRITES."""
    return response.status_int >= 400 and not request.environ.get(KEEP_WRITES)


def includeme(config):
    config.add_request_method(dbsession_for_request, "dbsession", reify=True)
