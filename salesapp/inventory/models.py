"""Stock as an append-only ledger of movements; on hand is always their sum."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKeyConstraint, Index, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, TenantScoped
from ..products.models import QUANTITY

#: kinds of movement; quantity is signed (+ into the location, - out of it)
MOVEMENT_KINDS = ("receive", "adjust", "transfer_out", "transfer_in", "sale", "refund", "void")


class StockMovement(TenantScoped, Base):
    __tablename__ = "stock_movements"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        ForeignKeyConstraint(["tenant_id", "location_id"], ["locations.tenant_id", "locations.id"]),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        Index("ix_stock_movements_tenant_id_product_id", "tenant_id", "product_id", "location_id"),
        Index("ix_stock_movements_tenant_id_reference", "tenant_id", "reference"),
    )

    product_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    kind: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    reference: Mapped[uuid.UUID | None]  # the sale, refund or transfer it belongs to
    user_id: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
