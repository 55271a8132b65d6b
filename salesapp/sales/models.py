"""Sales: the sale, its lines and payments, refunds, and the per-tenant invoice counter."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    FetchedValue,
    ForeignKeyConstraint,
    Index,
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.declare import Audit, Event, always, changes
from ..db import Base, TenantScoped
from ..products.models import MONEY, QUANTITY

PAYMENT_METHODS = ("cash", "card", "mobile_money")
SALE_STATUSES = ("completed", "voided", "refunded", "partly_refunded")


class InvoiceCounter(Base):
    """The last invoice number of a tenant: gapless, because it is incremented in the
    sale's own transaction (a rolled-back sale gives its number back)."""

    __tablename__ = "invoice_counters"

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: the last credit-note number (t0017), kept the same way by the refunds' default
    last_credit_number: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


def _voided(sale: Sale) -> Iterator[Event]:
    """A sale's void is recorded, with its reason; its other status changes (refunds)
    are recorded as the refunds themselves."""
    status = changes(sale, "status")
    if status and status["status"][1] == "voided":
        yield Event("sale.void", {"reason": sale.void_reason})


def _discount_approved(sale: Sale) -> Iterator[Event]:
    """A discount over the seller's cap, approved at the till by a Manager's PIN."""
    if sale.discount_approved_by is not None:
        yield Event(
            "sale.discount_approved",
            {
                "approved_by": sale.discount_approved_by,
                "discount_percent": sale.discount_percent,
                "discount_total": sale.discount_total,
            },
        )


class Sale(TenantScoped, Base):
    __tablename__ = "sales"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(["tenant_id", "location_id"], ["locations.tenant_id", "locations.id"]),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        ForeignKeyConstraint(["tenant_id", "voided_by"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "discount_approved_by"], ["users.tenant_id", "users.id"]
        ),
        Index("ix_sales_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_sales_tenant_id_user_id", "tenant_id", "user_id", "created_at"),
        Index("ix_sales_tenant_id_customer_id", "tenant_id", "customer_id"),
        # what was paid back can never exceed what was paid (issue 16)
        CheckConstraint(
            "refunded_total >= 0 and refunded_total <= total", name="refunded_within_total"
        ),
    )
    __audit__ = Audit(
        target=lambda sale: f"sale {sale.number}",
        inserted=(
            always("sale.complete", lambda sale: {"total": sale.total}),
            _discount_approved,
        ),
        updated=(_voided,),
    )

    number: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID | None]
    #: where it was rung (empty for sales before registers existed; salesapp.registers)
    register_id: Mapped[uuid.UUID | None]
    shift_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(Text, default="completed", server_default="completed")
    subtotal: Mapped[Decimal] = mapped_column(MONEY)  # after line discounts, before tax
    discount_total: Mapped[Decimal] = mapped_column(MONEY)
    tax_total: Mapped[Decimal] = mapped_column(MONEY)
    total: Mapped[Decimal] = mapped_column(MONEY)
    paid_total: Mapped[Decimal] = mapped_column(MONEY)
    change_due: Mapped[Decimal] = mapped_column(MONEY)
    refunded_total: Mapped[Decimal] = mapped_column(MONEY, default=0, server_default="0")
    #: of ``discount_total``, the discount on the whole sale (t0014), shared out over
    #: the lines' ``discount``
    cart_discount: Mapped[Decimal] = mapped_column(MONEY, default=0, server_default="0")
    #: who approved a discount over the seller's cap with their PIN (t0014), and the
    #: largest discount of the sale in percent of a price
    discount_approved_by: Mapped[uuid.UUID | None]
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    #: how it was priced (t0016): prices with tax included, tax rounded per line or
    #: per rate on the whole sale ('invoice')
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    tax_rounding: Mapped[str] = mapped_column(Text, default="line", server_default="line")
    #: how many times its receipt was shown for printing (t0017): the first is the
    #: original, every later one is marked COPY (salesapp.sales.receipts)
    receipt_prints: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    voided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    voided_by: Mapped[uuid.UUID | None]
    void_reason: Mapped[str | None] = mapped_column(Text)

    lines: Mapped[list[SaleLine]] = relationship(
        primaryjoin="and_(Sale.tenant_id == SaleLine.tenant_id, Sale.id == SaleLine.sale_id)",
        foreign_keys="[SaleLine.tenant_id, SaleLine.sale_id]",
        order_by="SaleLine.position",
        lazy="selectin",
        viewonly=True,
    )
    payments: Mapped[list[Payment]] = relationship(
        primaryjoin="and_(Sale.tenant_id == Payment.tenant_id, Sale.id == Payment.sale_id)",
        foreign_keys="[Payment.tenant_id, Payment.sale_id]",
        order_by="Payment.position",
        lazy="selectin",
        viewonly=True,
    )


class SaleLine(TenantScoped, Base):
    __tablename__ = "sale_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "sale_id"], ["sales.tenant_id", "sales.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        Index("ix_sale_lines_tenant_id_sale_id", "tenant_id", "sale_id"),
        Index("ix_sale_lines_tenant_id_product_id", "tenant_id", "product_id"),
        # a line pays back at most what was paid for it, in money and in goods (issue 16)
        CheckConstraint(
            "refunded_amount >= 0 and refunded_amount <= line_total",
            name="refunded_amount_within_total",
        ),
        CheckConstraint(
            "refunded_quantity >= 0 and refunded_quantity <= quantity",
            name="refunded_quantity_within_quantity",
        ),
    )

    sale_id: Mapped[uuid.UUID]
    position: Mapped[int]
    product_id: Mapped[uuid.UUID]
    description: Mapped[str] = mapped_column(Text)  # the product's name at the time of sale
    sku: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    unit_cost: Mapped[Decimal] = mapped_column(MONEY)  # cost at the time of sale (COGS)
    discount: Mapped[Decimal] = mapped_column(MONEY)  # amount off this line
    tax_rate: Mapped[Decimal] = mapped_column(MONEY)
    tax_amount: Mapped[Decimal] = mapped_column(MONEY)
    #: the tax rate's name when sold (t0016), for tax per rate
    tax_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    line_total: Mapped[Decimal] = mapped_column(MONEY)  # net + tax
    refunded_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=0, server_default="0")
    #: the sum of this line's refund lines, kept by SaleService.refund so the database
    #: can hold it within line_total (a CHECK cannot sum other rows)
    refunded_amount: Mapped[Decimal] = mapped_column(MONEY, default=0, server_default="0")


class Payment(TenantScoped, Base):
    __tablename__ = "payments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "sale_id"], ["sales.tenant_id", "sales.id"], ondelete="CASCADE"
        ),
        Index("ix_payments_tenant_id_sale_id", "tenant_id", "sale_id"),
    )

    sale_id: Mapped[uuid.UUID]
    position: Mapped[int]
    method: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reference: Mapped[str] = mapped_column(Text, default="", server_default="")


class Refund(TenantScoped, Base):
    __tablename__ = "refunds"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "sale_id"], ["sales.tenant_id", "sales.id"]),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        Index("ix_refunds_tenant_id_sale_id", "tenant_id", "sale_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        UniqueConstraint("tenant_id", "credit_number"),
    )
    __audit__ = Audit(
        target=lambda refund: f"sale id {refund.sale_id}",
        inserted=(
            always(
                "sale.refund", lambda refund: {"method": refund.method, "reason": refund.reason}
            ),
        ),
    )

    sale_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    #: where the money went out (salesapp.registers); empty before registers existed
    register_id: Mapped[uuid.UUID | None]
    shift_id: Mapped[uuid.UUID | None]
    amount: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: the refund's credit-note number (t0017): gapless per workspace, given by the
    #: column's default in the refund's own transaction (salesapp_next_credit_number(),
    #: which counts in invoice_counters.last_credit_number); empty for refunds made
    #: before credit notes were numbered
    credit_number: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class RefundLine(TenantScoped, Base):
    __tablename__ = "refund_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "refund_id"], ["refunds.tenant_id", "refunds.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "sale_line_id"], ["sale_lines.tenant_id", "sale_lines.id"]
        ),
        Index("ix_refund_lines_tenant_id_refund_id", "tenant_id", "refund_id"),
        Index("ix_refund_lines_tenant_id_sale_line_id", "tenant_id", "sale_line_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    refund_id: Mapped[uuid.UUID]
    sale_line_id: Mapped[uuid.UUID]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    amount: Mapped[Decimal] = mapped_column(MONEY)


#: a cart on a till's screen, and one put aside to be resumed
CART_OPEN, CART_PARKED = "open", "parked"


class PosCart(TenantScoped, Base):
    """A cart at the till, kept in the store rather than in the session cookie (50 lines
    do not fit in a 4 KB cookie). Several per register: the one on the screen is
    ``open`` (its id in the browser's session), others may be ``parked`` and resumed
    later. ``lines`` is a JSON list of ``[product_id, quantity, discount]`` and
    ``payments`` a JSON object ``{method: {"amount", "reference"}}``, both as typed and
    read back leniently by salesapp.sales.cart. ``user_id`` is who opened it."""

    __tablename__ = "pos_carts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "register_id"],
            ["registers.tenant_id", "registers.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("status in ('open', 'parked')", name="status"),
        Index("ix_pos_carts_tenant_id_register_id_status", "tenant_id", "register_id", "status"),
        Index("ix_pos_carts_tenant_id_user_id", "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID]
    register_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(Text, default=CART_OPEN, server_default=CART_OPEN)
    label: Mapped[str] = mapped_column(Text, default="", server_default="")
    lines: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    payments: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    customer_id: Mapped[uuid.UUID | None]  # no foreign key: a deleted customer is dropped
    discount: Mapped[Decimal] = mapped_column(MONEY, default=0, server_default="0")
    discount_is_percent: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    #: a Manager's approval, by PIN, of discounts up to ``approved_percent`` (t0014);
    #: it goes on with the cart while its discounts stay within that
    approved_by: Mapped[uuid.UUID | None]
    approved_percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class SaleCompletion(Base):
    """The client-made key a sale was completed with (the till form's hidden key, the
    API's ``Idempotency-Key``) and a fingerprint of what was asked: a retry with the key
    returns the first sale, a different request with it is refused. The primary key is
    claimed before the sale is written, so a second completion with the same key waits
    for the first to commit and then finds its sale."""

    __tablename__ = "sale_completions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "sale_id"], ["sales.tenant_id", "sales.id"], ondelete="CASCADE"
        ),
        CheckConstraint("length(key) between 1 and 100", name="key_length"),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text)
    sale_id: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
