"""Operator accounts (issue 19): the people who run the deployment, kept in the catalog.

An operator is nobody's user: no tenant's store holds them and no tenant's session can
name them. They sign in with a password and a TOTP code, both required
(salesapp.operations.operators). Two roles: ``operator`` may change things, ``viewer``
may only look. Failed sign-ins are counted in ``operator_failed_sign_ins``, apart from
the tenants' ``failed_sign_ins`` (whose rows name a tenant). Migration c0006 creates
both tables; the app role is granted neither (a web request of a tenant never reads an
operator's hash). Operators' API tokens (``operator_tokens``, migration c0010) are
here too; salesapp.operations.operator_tokens makes, checks and revokes them.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import CatalogBase


class OperatorRole(enum.StrEnum):
    """What an operator may do: OPERATOR changes things, VIEWER only looks."""

    OPERATOR = "operator"
    VIEWER = "viewer"


def _now_column():
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Operator(CatalogBase):
    """One operator account. ``name`` is the login, stored lower-case (so unique
    whatever the case typed); ``totp_secret`` is encrypted (SecretBox, its own purpose);
    ``session_generation`` moves on when the account is disabled or its password reset,
    ending every session signed before."""

    __tablename__ = "operators"
    __table_args__ = (
        CheckConstraint(f"role in {tuple(r.value for r in OperatorRole)}", name="role"),
        CheckConstraint("name = lower(name)", name="name_lower_case"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    role: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    totp_secret: Mapped[str] = mapped_column(Text)
    #: the last TOTP time step taken: that code, and older ones, never count again
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    #: wrong codes in a row after a right password; at MAX_FAILED_CODES the code step
    #: is locked until ``locked_until``
    failed_codes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now_column()
    password_changed_at: Mapped[dt.datetime] = _now_column()
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def can_change(self) -> bool:
        """May this operator change things (not only look)?"""
        return self.role == OperatorRole.OPERATOR


class OperatorFailedSignIn(CatalogBase):
    """A failed operator sign-in: per address, and per address and name as typed
    (known or not), as salesapp.accounts.throttle counts the tenants' users."""

    __tablename__ = "operator_failed_sign_ins"
    __table_args__ = (
        Index("ix_operator_failed_sign_ins_address", "address", "failed_at"),
        Index("ix_operator_failed_sign_ins_login", "address", "login", "failed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    address: Mapped[str] = mapped_column(Text)
    login: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[dt.datetime] = _now_column()


class OperatorTokenScope(enum.StrEnum):
    """What an operator API token may do: READ only reads (GET), WRITE makes every call.
    A viewer holds READ tokens only."""

    READ = "read"
    WRITE = "write"


class OperatorToken(CatalogBase):
    """One operator API token, stored as its SHA-256 hash (the token itself is shown
    once, when made). ``prefix`` keeps its first characters in clear, to tell tokens
    apart. It works while not revoked, not expired and its operator is not disabled:
    all three are checked at every call (salesapp.operations.operator_tokens)."""

    __tablename__ = "operator_tokens"
    __table_args__ = (
        CheckConstraint(f"scope in {tuple(s.value for s in OperatorTokenScope)}", name="scope"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(Text, default="", server_default="")
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    prefix: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # None: never
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
