"""Registers, shifts and cash movements (alembic/tenant t0010)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, ForeignKeyConstraint, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.declare import Audit, Event, always, changed, changes
from ..db import Base, TenantScoped
from ..products.models import MONEY

#: what a cash movement does to the drawer
CASH_IN, CASH_OUT = "in", "out"


def _closed(shift: Shift) -> Iterator[Event]:
    """A shift's close, with what was expected and counted (the Z report's figures)."""
    if changes(shift, "closed_by"):  # closed_at may be SQL (now()), closed_by is a value
        yield Event(
            "shift.close",
            {
                "expected_cash": shift.expected_cash,
                "counted_cash": shift.counted_cash,
                "over_short": (shift.counted_cash or 0) - (shift.expected_cash or 0),
                "counted_card": shift.counted_card,
                "counted_mobile_money": shift.counted_mobile_money,
            },
        )


class Register(TenantScoped, Base):
    """A till of a location: where a shift is opened and sales are rung."""

    __tablename__ = "registers"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "location_id"], ["locations.tenant_id", "locations.id"]),
        UniqueConstraint("tenant_id", "location_id", "name"),
    )
    __audit__ = Audit(
        target=lambda register: f"register {register.name}",
        inserted=(always("register.create"),),
        updated=(changed("register.update", "name", "active"),),
    )

    location_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Shift(TenantScoped, Base):
    """A register's drawer from its counted float to its counted close. At most one open
    shift per register (a partial unique index in the migration). ``expected_cash`` is
    fixed at the close: the float, cash taken less change and cash refunds, and the cash
    moved in and out."""

    __tablename__ = "shifts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "register_id"], ["registers.tenant_id", "registers.id"]),
        ForeignKeyConstraint(["tenant_id", "opened_by"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "closed_by"], ["users.tenant_id", "users.id"]),
    )
    __audit__ = Audit(
        target=lambda shift: f"shift id {shift.id}",
        inserted=(
            always(
                "shift.open",
                lambda shift: {"register_id": shift.register_id, "float": shift.opening_float},
            ),
        ),
        updated=(_closed,),
    )

    register_id: Mapped[uuid.UUID]
    opened_by: Mapped[uuid.UUID]
    opened_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    opening_float: Mapped[Decimal] = mapped_column(MONEY)
    closed_by: Mapped[uuid.UUID | None]
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expected_cash: Mapped[Decimal | None] = mapped_column(MONEY)
    counted_cash: Mapped[Decimal | None] = mapped_column(MONEY)
    counted_card: Mapped[Decimal | None] = mapped_column(MONEY)
    counted_mobile_money: Mapped[Decimal | None] = mapped_column(MONEY)
    close_note: Mapped[str | None] = mapped_column(Text)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class CashMovement(TenantScoped, Base):
    """Cash put into (``in``) or taken out of (``out``) the drawer during a shift."""

    __tablename__ = "cash_movements"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "shift_id"], ["shifts.tenant_id", "shifts.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
    )
    __audit__ = Audit(
        target=lambda movement: f"shift id {movement.shift_id}",
        inserted=(
            lambda movement: iter(
                [
                    Event(
                        f"cash.{movement.kind}",
                        {"amount": movement.amount, "reason": movement.reason},
                    )
                ]
            ),
        ),
    )

    shift_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
