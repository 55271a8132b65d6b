"""The audit trail: who did what, when. Append-only: the app role may insert and read
it, never change or delete it (see migrations.APPEND_ONLY)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, Index, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, TenantScoped


class AuditEvent(TenantScoped, Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_tenant_id_at", "tenant_id", "at"),
        Index("ix_audit_events_tenant_id_action", "tenant_id", "action", "at"),
    )

    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # no foreign key to users: the trail outlives a user's row
    user_id: Mapped[uuid.UUID | None]
    username: Mapped[str] = mapped_column(Text, default="", server_default="")
    action: Mapped[str] = mapped_column(Text)  # e.g. sale.complete, user.roles
    target: Mapped[str] = mapped_column(Text, default="", server_default="")
    detail: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
