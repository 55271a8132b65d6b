"""Stock as an append-only ledger of movements; on hand is always their sum. Beside it:
reorder levels per product and location, and stock counts (stock-takes) whose posted
differences become "adjust" movements (alembic/tenant t0018)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
)
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
        # the movements page: newest first, paged (t0018)
        Index("ix_stock_movements_tenant_id_created_at", "tenant_id", "created_at"),
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


class ReorderLevel(TenantScoped, Base):
    """The quantity at or below which a product is low at one location. Where a product
    has none for a location, its ``reorder_level`` applies there, but only once the
    product has stock history at that location (salesapp.inventory.services)."""

    __tablename__ = "reorder_levels"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "product_id"], ["products.tenant_id", "products.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "product_id", "location_id"),
        Index("ix_reorder_levels_tenant_id_location_id", "tenant_id", "location_id"),
        CheckConstraint("level >= 0", name="level_not_negative"),
    )

    product_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    level: Mapped[Decimal] = mapped_column(QUANTITY)


#: a stock count's states: open while counting, posted (read-only) once its differences
#: are in the ledger
COUNT_OPEN, COUNT_POSTED = "open", "posted"


class StockCount(TenantScoped, Base):
    """A stock-take of one location: a sheet of its products with the quantity expected
    on hand when the count began, and what was counted."""

    __tablename__ = "stock_counts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "location_id"], ["locations.tenant_id", "locations.id"]),
        ForeignKeyConstraint(["tenant_id", "started_by"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "posted_by"], ["users.tenant_id", "users.id"]),
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint("status in ('open', 'posted')", name="status_known"),
    )

    number: Mapped[int] = mapped_column(Integer)
    location_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(Text, default=COUNT_OPEN, server_default=COUNT_OPEN)
    started_by: Mapped[uuid.UUID | None]
    started_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    posted_by: Mapped[uuid.UUID | None]
    posted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StockCountLine(TenantScoped, Base):
    """One product of a count sheet: expected on hand at the start; counted (None: not
    counted yet, and left as it is when the count is posted)."""

    __tablename__ = "stock_count_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "count_id"], ["stock_counts.tenant_id", "stock_counts.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        UniqueConstraint("tenant_id", "count_id", "product_id"),
        CheckConstraint("counted is null or counted >= 0", name="counted_not_negative"),
    )

    count_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    expected: Mapped[Decimal] = mapped_column(QUANTITY)
    counted: Mapped[Decimal | None] = mapped_column(QUANTITY)
