"""The catalog tables the public site reads and writes, as the app role.

The web process may not import the operator tools' models (salesapp.operations, by the
import contracts), so, like the sign-in throttle's ``failed_sign_ins``
(salesapp/accounts/throttle.py), the tables are declared here in SQLAlchemy Core:
``signups`` in full (migration c0007; the app role has SELECT, INSERT, UPDATE and
DELETE on it) and the one column of ``tenants`` sign-up reads (SELECT only).
"""

from __future__ import annotations

import enum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

from ..db import NAMING_CONVENTION


class SignupStatus(enum.StrEnum):
    """Where a sign-up is: waiting for its link, waiting for its workspace, done."""

    PENDING = "pending"  # the e-mail is sent; the link not followed yet
    VERIFIED = "verified"  # the link was followed: `salesapp signup process` makes it
    CREATED = "created"  # the workspace exists (tenant_id)
    FAILED = "failed"  # it could not be made (failure says why); nothing was kept


metadata = MetaData(naming_convention=NAMING_CONVENTION)

signups = Table(
    "signups",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("token_hash", Text, nullable=False),
    Column("business_name", Text, nullable=False),
    Column("slug", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("address", Text, nullable=False, server_default=""),
    Column("status", Text, nullable=False, server_default=SignupStatus.PENDING.value),
    Column("failure", Text),
    Column("tenant_id", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("verified_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    UniqueConstraint("token_hash"),
    # named by the convention: ck_signups_<name>, as migration c0007 names them
    CheckConstraint("status in ('pending', 'verified', 'created', 'failed')", name="status"),
    CheckConstraint("email = lower(email)", name="email_lower_case"),
    CheckConstraint("slug = lower(slug)", name="slug_lower_case"),
    Index("ix_signups_email", "email", "status"),
    Index("ix_signups_created_at", "created_at"),
    Index(
        "uq_signups_verified_slug",
        "slug",
        unique=True,
        postgresql_where=text("status = 'verified'"),
    ),
)

#: the catalog's tenants, as far as sign-up reads them (a subdomain is taken)
tenants = Table(
    "tenants", MetaData(), Column("id", BigInteger, primary_key=True), Column("slug", Text)
)
