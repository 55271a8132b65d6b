"""Per-user API tokens: stored as a SHA-256 hash, shown once when made; each with a
scope that narrows its user's role (salesapp.api.grants) and an optional expiry."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.declare import Audit, Event, always, changes
from ..db import Base, TenantScoped
from .grants import SCOPE_NAMES, Scope


def _revoked(token: ApiToken) -> Iterator[Event]:
    if changes(token, "revoked_at"):
        yield Event("token.revoke", {"prefix": token.prefix})


class ApiToken(TenantScoped, Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "token_hash"),
        CheckConstraint(f"scope in {SCOPE_NAMES!r}", name="scope"),
    )
    __audit__ = Audit(
        target=lambda token: f"token {token.name}",
        inserted=(always("token.create", lambda token: {"prefix": token.prefix}),),
        updated=(_revoked,),
    )

    user_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(Text)  # sha256 hex of the token
    prefix: Mapped[str] = mapped_column(Text)  # the first characters, to tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # what the token may do (a Scope); the server default is what tokens made before
    # scopes existed got, and what an older app process inserting one still gets
    scope: Mapped[str] = mapped_column(Text, server_default=Scope.FULL.value)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # None: never

    def is_expired(self, now: dt.datetime) -> bool:
        """Whether the token has stopped working for age at ``now``."""
        return expired(self.expires_at, now)


def expired(expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a token expiring at ``expires_at`` (None: never) has expired at ``now``."""
    return expires_at is not None and expires_at <= now
