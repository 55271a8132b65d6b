"""Stock as an append-only ledger of movements; on hand is always their sum."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKeyConstraint, Index, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.declare import Audit, Event
from ..db import Base, TenantScoped
from ..products.models import QUANTITY

#: kinds of movement; quantity is signed (+ into the location, - out of it)
MOVEMENT_KINDS = ("receive", "adjust", "transfer_out", "transfer_in", "sale", "refund", "void")


#: the movements the audit trail records, by kind: the ones a person makes by hand (a
#: sale's, refund's or void's movements are recorded as that sale, refund or void)
AUDITED_KINDS = {
    "receive": "stock.receive",
    "adjust": "stock.adjust",
    "transfer_out": "stock.transfer",
}


def _moved_by_hand(movement: StockMovement) -> Iterator[Event]:
    action = AUDITED_KINDS.get(movement.kind)
    if action:
        yield Event(
            action,
            {
                "quantity": movement.quantity,
                "reason": movement.reason,
                "location_id": str(movement.location_id),
            },
        )


class StockMovement(TenantScoped, Base):
    __tablename__ = "stock_movements"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        ForeignKeyConstraint(["tenant_id", "location_id"], ["locations.tenant_id", "locations.id"]),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        Index("ix_stock_movements_tenant_id_product_id", "tenant_id", "product_id", "location_id"),
        Index("ix_stock_movements_tenant_id_reference", "tenant_id", "reference"),
    )
    __audit__ = Audit(
        target=lambda movement: f"product id {movement.product_id}",
        inserted=(_moved_by_hand,),
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
