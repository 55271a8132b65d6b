"""Suppliers, purchase orders and goods receipts (alembic/tenant t0018).

A goods receipt is goods in at one location, one stock movement ("receive") per line,
all written in one transaction; it may be made against a purchase order, whose status
follows from what its receipts brought in (salesapp.purchasing.services).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum

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

from ..db import Base, TenantScoped
from ..products.models import MONEY, QUANTITY


class OrderStatus(StrEnum):
    """A purchase order's life: draft (editable) -> sent -> partly received -> received;
    a draft or sent order may be cancelled."""

    DRAFT = "draft"
    SENT = "sent"
    PARTIAL = "partial"
    RECEIVED = "received"
    CANCELLED = "cancelled"


ORDER_STATUS_LABELS = {
    OrderStatus.DRAFT: "Draft",
    OrderStatus.SENT: "Sent",
    OrderStatus.PARTIAL: "Partly received",
    OrderStatus.RECEIVED: "Fully received",
    OrderStatus.CANCELLED: "Cancelled",
}


def _fk(column: str, target: str, **kw) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", column], [f"{target}.tenant_id", f"{target}.id"], **kw
    )


class Supplier(TenantScoped, Base):
    """Who goods are bought from."""

    __tablename__ = "suppliers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("length(name) between 1 and 120", name="name_length"),
    )

    name: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(Text, default="", server_default="")
    phone: Mapped[str] = mapped_column(Text, default="", server_default="")
    email: Mapped[str] = mapped_column(Text, default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class PurchaseOrder(TenantScoped, Base):
    """An order to a supplier for goods to be delivered to one location."""

    __tablename__ = "purchase_orders"
    __table_args__ = (
        _fk("supplier_id", "suppliers"),
        _fk("location_id", "locations"),
        _fk("created_by", "users"),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_purchase_orders_tenant_id_supplier_id", "tenant_id", "supplier_id"),
        CheckConstraint(
            "status in (" + ", ".join(f"'{status}'" for status in OrderStatus) + ")",
            name="status_known",
        ),
    )

    number: Mapped[int] = mapped_column(Integer)
    supplier_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(
        Text, default=OrderStatus.DRAFT, server_default=OrderStatus.DRAFT.value
    )
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PurchaseOrderLine(TenantScoped, Base):
    """A product on an order (at most once per order)."""

    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        _fk("order_id", "purchase_orders", ondelete="CASCADE"),
        _fk("product_id", "products"),
        UniqueConstraint("tenant_id", "order_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
    )

    order_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_cost: Mapped[Decimal] = mapped_column(MONEY)


class GoodsReceipt(TenantScoped, Base):
    """Goods delivered to a location, from a supplier, perhaps against an order."""

    __tablename__ = "goods_receipts"
    __table_args__ = (
        _fk("supplier_id", "suppliers"),
        _fk("location_id", "locations"),
        _fk("purchase_order_id", "purchase_orders"),
        _fk("user_id", "users"),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_goods_receipts_tenant_id_purchase_order_id", "tenant_id", "purchase_order_id"),
    )

    number: Mapped[int] = mapped_column(Integer)
    supplier_id: Mapped[uuid.UUID | None]
    location_id: Mapped[uuid.UUID]
    purchase_order_id: Mapped[uuid.UUID | None]
    #: the supplier's delivery note or invoice number
    reference: Mapped[str] = mapped_column(Text, default="", server_default="")
    user_id: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class GoodsReceiptLine(TenantScoped, Base):
    """One line of a receipt; its stock movement carries the receipt's id as reference."""

    __tablename__ = "goods_receipt_lines"
    __table_args__ = (
        _fk("receipt_id", "goods_receipts", ondelete="CASCADE"),
        _fk("product_id", "products"),
        _fk("movement_id", "stock_movements"),
        UniqueConstraint("tenant_id", "receipt_id", "line_number"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
    )

    receipt_id: Mapped[uuid.UUID]
    line_number: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_cost: Mapped[Decimal] = mapped_column(MONEY)
    movement_id: Mapped[uuid.UUID]
