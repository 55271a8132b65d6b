"""Receipts e-mailed to customers (t0017): who sent which receipt to whom, and when."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, ForeignKeyConstraint, Index, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, TenantScoped


class ReceiptSend(TenantScoped, Base):
    """One e-mail of a sale's receipt (``refund_id`` empty) or of one of its credit
    notes. Written in the request that sends, whose commit releases the message
    (salesapp.mail): a row is a message handed to the SMTP server. Also what caps the
    sends per sale (salesapp.sales.receipts.MAX_SENDS_PER_SALE)."""

    __tablename__ = "receipt_sends"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "sale_id"], ["sales.tenant_id", "sales.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "refund_id"], ["refunds.tenant_id", "refunds.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        Index("ix_receipt_sends_tenant_id_sale_id", "tenant_id", "sale_id"),
    )

    sale_id: Mapped[uuid.UUID]
    refund_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID]
    recipient: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
