"""Products of a tenant's catalogue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, Index, Numeric, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.declare import Audit, always, changed
from ..db import Base, TenantScoped

MONEY = Numeric(12, 2)
QUANTITY = Numeric(12, 3)


class Product(TenantScoped, Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        UniqueConstraint("tenant_id", "barcode"),
        Index("ix_products_tenant_id_name", "tenant_id", "name"),
        Index("ix_products_tenant_id_category", "tenant_id", "category"),
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
            changed("product.price", "unit_price", "cost", "tax_rate"),
            changed("product.update", "name", "sku", "barcode", "is_active", "reorder_level"),
        ),
    )

    sku: Mapped[str] = mapped_column(Text)
    barcode: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text, default="", server_default="")
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    cost: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"), server_default="0")
    tax_rate: Mapped[Decimal] = mapped_column(  # percent, prices exclude tax
        Numeric(5, 2), default=Decimal("0"), server_default="0"
    )
    reorder_level: Mapped[Decimal] = mapped_column(
        QUANTITY, default=Decimal("0"), server_default="0"
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
