"""Products of a tenant's catalogue, and the quick keys a Manager arranges per location
for the till."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.declare import Audit, always, changed
from ..db import Base, TenantScoped

MONEY = Numeric(12, 2)
QUANTITY = Numeric(12, 3)
#: the colours a quick key may have; the till's stylesheet (static/tiles.css) has a
#: class ``tile-<colour>`` for each, and the database checks the value (t0013)
PALETTE = ("grey", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink")


class Product(TenantScoped, Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        UniqueConstraint("tenant_id", "barcode"),
        Index("ix_products_tenant_id_name", "tenant_id", "name"),
        Index("ix_products_tenant_id_category", "tenant_id", "category"),
        ForeignKeyConstraint(["tenant_id", "tax_rate_id"], ["tax_rates.tenant_id", "tax_rates.id"]),
        Index("ix_products_tenant_id_tax_rate_id", "tenant_id", "tax_rate_id"),
    )
    __audit__ = Audit(
        target=lambda product: f"product {product.sku}",
        inserted=(
            always(
                "product.create",
                lambda product: {"unit_price": product.unit_price, "cost": product.cost},
            ),
        ),
        updated=(
            changed("product.price", "unit_price", "cost", "tax_rate", "tax_rate_id"),
            changed(
                "product.update",
                "name",
                "sku",
                "barcode",
                "is_active",
                "reorder_level",
                "open_price",
                "sold_by_weight",
            ),
        ),
    )

    sku: Mapped[str] = mapped_column(Text)
    barcode: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text, default="", server_default="")
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    cost: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"), server_default="0")
    tax_rate: Mapped[Decimal] = mapped_column(  # percent (the named rate's, when it has one)
        Numeric(5, 2), default=Decimal("0"), server_default="0"
    )
    #: the product's named tax rate (t0016; salesapp.taxes)
    tax_rate_id: Mapped[uuid.UUID | None]
    reorder_level: Mapped[Decimal] = mapped_column(
        QUANTITY, default=Decimal("0"), server_default="0"
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    #: the cashier types the price at the till; ``unit_price`` is only its default
    open_price: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    #: the quantity is a weight in kg, up to 3 decimals
    sold_by_weight: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class QuickKey(TenantScoped, Base):
    """A product key on the till of one location, in ``position`` order (0 first).

    A product is a key at most once per location. Two keys never share a position; the
    check waits for the commit, so moving a key swaps two positions in one transaction.
    Not in the audit trail: arranging the till's buttons changes no money or stock.
    """

    __tablename__ = "quick_keys"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint(
            "tenant_id", "location_id", "position", deferrable=True, initially="DEFERRED"
        ),
        UniqueConstraint("tenant_id", "location_id", "product_id"),
        Index("ix_quick_keys_tenant_id_product_id", "tenant_id", "product_id"),
        CheckConstraint(
            "colour in (" + ", ".join(f"'{colour}'" for colour in PALETTE) + ")",
            name="colour_palette",
        ),
        CheckConstraint("position >= 0", name="position_not_negative"),
    )

    location_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID]
    label: Mapped[str | None] = mapped_column(Text)
    colour: Mapped[str | None] = mapped_column(Text)
