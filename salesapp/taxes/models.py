"""A workspace's named tax rates (t0016)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, DateTime, Numeric, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.declare import Audit, always, changed
from ..db import Base, TenantScoped


class TaxRate(TenantScoped, Base):
    """A named rate ("Standard 16%", "Zero-rated", "Exempt"). Products point at one;
    a sale line keeps the name and percentage it was sold at (``sale_lines.tax_name``,
    ``tax_rate``), so changing a rate never rewrites past sales."""

    __tablename__ = "tax_rates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("rate >= 0 and rate <= 100", name="rate_percent"),
        CheckConstraint("length(name) between 1 and 60", name="name_length"),
    )
    __audit__ = Audit(
        target=lambda rate: f"tax rate {rate.name}",
        inserted=(always("tax_rate.create", lambda rate: {"rate": rate.rate}),),
        updated=(changed("tax_rate.update", "name", "rate", "is_active"),),
    )

    name: Mapped[str] = mapped_column(Text)
    rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))  # percent
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
