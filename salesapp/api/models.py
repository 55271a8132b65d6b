"""Per-user API tokens: stored as a SHA-256 hash, shown once when made."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, ForeignKeyConstraint, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, TenantScoped


class ApiToken(TenantScoped, Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "token_hash"),
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
