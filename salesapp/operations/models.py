"""Catalog (control database) models: tenants, domains, stores, placements, operations.

The catalog never holds a tenant user account. Store connection URLs are encrypted
at rest (see crypto.SecretBox). The columns' closed sets of values are StrEnums, which
compare equal to the strings stored: StoreKind, TenantStatus and PlacementState live in
salesapp.tenancy.directory (the request path reads them too), MovePhase here.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ..db import NAMING_CONVENTION
from ..tenancy.directory import PlacementState, StoreKind, TenantStatus


class MovePhase(enum.StrEnum):
    """How far a tenant move has come (mobility.py): before FLIPPED the source store
    holds the truth, from FLIPPED on the target does."""

    PREPARING = "preparing"
    FENCED = "fenced"
    COPIED = "copied"
    VERIFIED = "verified"
    FLIPPED = "flipped"


def one_of(column: str, values: type[enum.StrEnum]) -> CheckConstraint:
    """A CHECK that ``column`` holds one of the set's values (named like the column)."""
    return CheckConstraint(f"{column} in {tuple(v.value for v in values)}", name=column)


class CatalogBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _now_column():
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Tenant(CatalogBase):
    __tablename__ = "tenants"
    __table_args__ = (
        one_of("status", TenantStatus),
        CheckConstraint("max_users > 0", name="max_users_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    admin_email: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default=TenantStatus.PROVISIONING.value)
    status_reason: Mapped[str | None] = mapped_column(Text)
    max_users: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    multi_location: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    trial_ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = _now_column()
    updated_at: Mapped[dt.datetime] = _now_column()

    domains: Mapped[list[Domain]] = relationship(back_populates="tenant", cascade="all")
    placement: Mapped[Placement | None] = relationship(back_populates="tenant", cascade="all")


class Domain(CatalogBase):
    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(Text, unique=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    tenant: Mapped[Tenant] = relationship(back_populates="domains")


class Store(CatalogBase):
    __tablename__ = "stores"
    __table_args__ = (
        one_of("kind", StoreKind),
        Index("uq_stores_identity", "system_identifier", "database_oid", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    url_encrypted: Mapped[str] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    schema_revision: Mapped[str | None] = mapped_column(Text)
    migration_status: Mapped[str | None] = mapped_column(Text)  # ok | failed | running
    migration_error: Mapped[str | None] = mapped_column(Text)
    migrated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = _now_column()
    #: what the database is, whatever URL reaches it: the server's system identifier
    #: and the database's oid (two store rows never name one database)
    system_identifier: Mapped[str | None] = mapped_column(Text)
    database_oid: Mapped[int | None] = mapped_column(BigInteger)
    #: a pooled store takes new tenants (placement.py) while accepting; one that is not
    #: is draining: it keeps its tenants until `salesapp store drain` moves them out
    accepting: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class Placement(CatalogBase):
    __tablename__ = "placements"
    __table_args__ = (one_of("state", PlacementState),)

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    state: Mapped[str] = mapped_column(
        Text, default=PlacementState.ACTIVE.value, server_default=PlacementState.ACTIVE.value
    )
    updated_at: Mapped[dt.datetime] = _now_column()

    tenant: Mapped[Tenant] = relationship(back_populates="placement")
    store: Mapped[Store] = relationship()


class OperationOutcome(enum.StrEnum):
    """Where a logged operation stands: STARTED until it ends (a row still STARTED with
    no ``finished_at`` was killed), then OK, FAILED or REFUSED (checks said no before
    anything was changed)."""

    STARTED = "started"
    OK = "ok"
    FAILED = "failed"
    REFUSED = "refused"


class Operation(CatalogBase):
    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = _now_column()
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    tenant_slug: Mapped[str | None] = mapped_column(Text, index=True)
    store_name: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class TenantMove(CatalogBase):
    """A move in progress (see mobility.py and MovePhase)."""

    __tablename__ = "tenant_moves"
    __table_args__ = (one_of("phase", MovePhase),)

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    source_store_id: Mapped[int] = mapped_column(BigInteger)
    target_store_id: Mapped[int | None] = mapped_column(BigInteger)
    created_target: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    keep_source: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    phase: Mapped[str] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = _now_column()
    updated_at: Mapped[dt.datetime] = _now_column()
    #: the mover beats while it lives; a move whose heartbeat is older than
    #: ``move_lease_seconds`` has no mover, and its catalog fence is void
    heartbeat_at: Mapped[dt.datetime] = _now_column()
    #: how long the tenant's writes are expected to pause (Retry-After while moving)
    expected_pause_seconds: Mapped[float | None] = mapped_column(Float)


class TenantCopy(CatalogBase):
    """A copy of a tenant's rows (or its whole database) kept in a store it no longer
    lives in (``tenant move --keep-source``). Deleting the tenant removes each copy or
    names it; ``salesapp doctor`` lists them."""

    __tablename__ = "tenant_copies"
    __table_args__ = (UniqueConstraint("tenant_id", "store_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    reason: Mapped[str] = mapped_column(Text)
    kept_at: Mapped[dt.datetime] = _now_column()
