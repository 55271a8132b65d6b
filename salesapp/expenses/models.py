"""Expenses of a tenant: what was spent, when, where, by whom."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKeyConstraint, Index, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.declare import Audit, always
from ..db import Base, TenantScoped
from ..products.models import MONEY


class Expense(TenantScoped, Base):
    __tablename__ = "expenses"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "location_id"], ["locations.tenant_id", "locations.id"]),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        Index("ix_expenses_tenant_id_spent_on", "tenant_id", "spent_on"),
    )
    __audit__ = Audit(
        target=lambda expense: f"expense {expense.category}",
        inserted=(
            always(
                "expense.create",
                lambda expense: {"amount": expense.amount, "spent_on": expense.spent_on},
            ),
        ),
    )

    category: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    spent_on: Mapped[dt.date] = mapped_column(Date)
    location_id: Mapped[uuid.UUID]
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    user_id: Mapped[uuid.UUID]  # who recorded it
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
