"""Users, roles and membership, in the tenant schema (one row set per tenant, RLS-scoped)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterator

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
    and_,
    event,
    exists,
    func,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, object_session, relationship

from ..audit.declare import Audit, Event, always, changed, changes
from ..db import Base, TenantScoped
from ..preferences.models import SignInPolicy

#: the roles every tenant starts with (issue 4 gives them their permissions)
ROLE_NAMES = ("Admin", "Managers", "Cashiers")


def _signed_in_or_locked(user: User) -> Iterator[Event]:
    """Sign-ins and lock-outs, done by the user themself (nobody is signed in yet)."""
    if changes(user, "last_login_at"):
        yield Event("auth.sign_in", actor=user)
    if changes(user, "locked_until").get("locked_until", [None, None])[1]:
        yield Event("auth.locked", actor=user)


def _password_set(user: User) -> Iterator[Event]:
    """A new password (never its hash); a sign-in that rehashes it is not one."""
    if changes(user, "password_hash") and not changes(user, "last_login_at"):
        yield Event("user.password", {"one_time": bool(user.must_change_password)})


class User(TenantScoped, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "username"),
        UniqueConstraint("tenant_id", "email"),
    )
    __audit__ = Audit(
        target=lambda user: f"user {user.username}",
        inserted=(always("user.create"),),
        updated=(
            _signed_in_or_locked,
            changed("user.update", "is_active", "email", "full_name", "username"),
            _password_set,
        ),
    )

    username: Mapped[str] = mapped_column(Text)  # stored lower-case
    email: Mapped[str | None] = mapped_column(Text)  # stored lower-case
    full_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    password_hash: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: consecutive wrong second-factor codes (AccountService.verify_code)
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    #: set by wrong second-factor codes only (a wrong password throttles the address,
    #: never the account: salesapp.accounts.throttle)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: named by each session at sign-in; one more ends every session of the user
    #: (sign-out, a new password, deactivation, a change of roles: salesapp.security)
    session_generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: when the user followed a link sent to ``email`` (salesapp.accounts.resets); None
    #: again whenever the e-mail changes (_email_unverified_when_changed, below)
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    roles: Mapped[list[Role]] = relationship(
        secondary="user_roles",
        primaryjoin="and_(User.tenant_id == UserRole.tenant_id, User.id == UserRole.user_id)",
        secondaryjoin="and_(Role.tenant_id == UserRole.tenant_id, Role.id == UserRole.role_id)",
        viewonly=True,
        lazy="selectin",
    )

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(role.name for role in self.roles)


class Role(TenantScoped, Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(Text)


def _member(link: UserRole) -> str:
    """The audit target of a role granted or removed: the user, by name if known."""
    user = object_session(link).get(User, (link.tenant_id, link.user_id))
    return f"user {user.username if user else link.user_id}"


def _role(link: UserRole) -> dict[str, str]:
    role = object_session(link).get(Role, (link.tenant_id, link.role_id))
    return {"role": role.name if role else str(link.role_id)}


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "role_id"], ["roles.tenant_id", "roles.id"], ondelete="CASCADE"
        ),
        Index("ix_user_roles_tenant_id_role_id", "tenant_id", "role_id"),
    )
    __audit__ = Audit(
        target=_member,
        inserted=(always("user.role.add", _role),),
        deleted=(always("user.role.remove", _role),),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    role_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=False)


class TwoFactor(Base):
    """A user's TOTP secret (RFC 6238), encrypted. Its own table, so the secret is never
    loaded with the user on every request; ``enabled_at`` is None while enrolment waits
    for its first code."""

    __tablename__ = "user_two_factor"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    secret: Mapped[str] = mapped_column(Text)  # encrypted (salesapp.security)
    enabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: the time step of the last code taken: that code, and older ones, never count again
    last_step: Mapped[int | None] = mapped_column(BigInteger)


#: True when the workspace requires two-factor sign-in of Admins and this user has not
#: set it up (security.required_step applies it to Admins). Loaded with the user, in
#: the same statement: an Admin's every request needs it, and a query of its own each
#: time would be a round trip more per request (docs/benchmarks.md).
User.two_factor_due = column_property(
    and_(
        exists().where(
            SignInPolicy.tenant_id == User.tenant_id, SignInPolicy.admins_need_two_factor
        ),
        ~exists().where(
            TwoFactor.tenant_id == User.tenant_id,
            TwoFactor.user_id == User.id,
            TwoFactor.enabled_at.is_not(None),
        ),
    )
)


class RecoveryCode(TenantScoped, Base):
    """One of a user's single-use codes for signing in without their authenticator app
    (a lost phone), hashed (salesapp.accounts.recovery); ``used_at`` once taken. A new
    set replaces the old: the old rows are deleted."""

    __tablename__ = "user_recovery_codes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index("ix_user_recovery_codes_tenant_id_user_id", "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID]
    code_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SignInFailure(TenantScoped, Base):
    """A refused sign-in from an address, as counted per workspace until issue 16.

    No longer written: failed sign-ins are counted deployment-wide in the catalog
    (salesapp.accounts.throttle). The table stays so that archives made at t0006 and
    later restore as they are; dropping it is a migration of its own."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_tenant_id_address", "tenant_id", "address", "failed_at"),
        Index("ix_sign_in_failures_tenant_id_failed_at", "tenant_id", "failed_at"),
    )

    address: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class UserPin(Base):
    """A user's short PIN for a shared till (salesapp.accounts.pins), hashed with the
    deployment's Argon2 parameters like a password. Its own table, so the hash is never
    loaded with the user on every request; no row: no PIN."""

    __tablename__ = "user_pins"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    pin_hash: Mapped[str] = mapped_column(Text)
    set_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UserLocation(Base):
    """A user tied to a location: they may work at any of its registers
    (salesapp.accounts.places). A user with no ties at all may work anywhere."""

    __tablename__ = "user_locations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            ondelete="CASCADE",
        ),
        Index("ix_user_locations_tenant_id_location_id", "tenant_id", "location_id"),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    location_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class UserRegister(Base):
    """A user tied to one register (and so to its location, at that register only)."""

    __tablename__ = "user_registers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "register_id"],
            ["registers.tenant_id", "registers.id"],
            ondelete="CASCADE",
        ),
        Index("ix_user_registers_tenant_id_register_id", "tenant_id", "register_id"),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    register_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class LinkPurpose(enum.StrEnum):
    """What a link sent by e-mail (an :class:`EmailToken`) does when followed."""

    RESET = "reset"  # set a new password (the sign-in page's "Forgot your password?")
    VERIFY = "verify"  # prove the user's e-mail address is theirs


class EmailToken(TenantScoped, Base):
    """A link sent by e-mail to a user (salesapp.accounts.resets): single use, expiring.

    Only the SHA-256 of the token is kept: the database (a backup, a replica) never holds
    a link that works. ``used_at`` once followed; a newer link of the same purpose brings
    an unused one's ``expires_at`` forward to its own creation (void). A reset link also
    names the password it replaces (``password_stamp``, a digest of the hash): a password
    changed by any means since (the user, an Admin, the operator) voids it. A verify link
    names the address it went to: it verifies that address only.

    A row without ``token_hash`` is a request that sent nothing (no such account, no
    e-mail, deactivated): kept only so that requests are counted alike for throttling.
    """

    __tablename__ = "user_email_tokens"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "token_hash"),
        CheckConstraint("purpose in ('reset', 'verify')", name="purpose_known"),
        Index("ix_user_email_tokens_tenant_id_user_id", "tenant_id", "user_id", "created_at"),
        Index("ix_user_email_tokens_tenant_id_address", "tenant_id", "address", "created_at"),
    )

    user_id: Mapped[uuid.UUID | None]
    purpose: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str | None] = mapped_column(Text)
    #: the address the link went to
    email: Mapped[str | None] = mapped_column(Text)
    #: the client's network address that asked (throttling)
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    password_stamp: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


@event.listens_for(User.email, "set")
def _email_unverified_when_changed(user: User, value, old, initiator) -> None:
    """A new e-mail address is not verified, whoever changed it and how."""
    if value != old:
        user.email_verified_at = None
