"""Receipts and credit notes: what they show (the business, tax per rate), reprints
marked COPY, and receipts e-mailed to customers.

A sale's receipt is the original the first time it is shown for printing (the till
sends the browser there once the sale is done) and a COPY every time after:
``sales.receipt_prints`` counts the showings. A refund's credit note carries the refund's
gapless ``credit_number`` (t0017: the column's default counts per workspace in the
refund's own transaction). An e-mailed receipt is recorded in ``receipt_sends`` in the
request that sends it, and the message leaves only when that request commits
(salesapp.mail).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import exists, func, select, update

from ..accounts.models import User
from ..forms import FormError
from ..locations.models import Location
from ..preferences.models import WorkspaceLogo, WorkspaceSettings
from ..registers.models import Register
from .models import Refund, RefundLine, Sale, SaleLine
from .receipt_models import ReceiptSend

#: the routes of receipts beyond salesapp/routes.py's sales.receipt (on a tenant's host)
ROUTES = (
    ("sales.credit_note", "/sales/{id}/refunds/{refund_id}"),
    ("sales.email", "/sales/{id}/email"),
)

#: the paper a receipt is laid out for: a till roll (the default) or a sheet
PAPERS = ("80mm", "a4")

#: e-mails of one sale's receipt and credit notes together: a few resends are normal, a
#: hundred is someone using the shop's mail server as theirs
MAX_SENDS_PER_SALE = 10

CENT = Decimal("0.01")


@dataclass(frozen=True)
class TaxRow:
    """Tax of one rate on a receipt: the rate's name (empty for a bare percentage)."""

    name: str
    rate: Decimal
    net: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


def tax_summary(parts: Iterable[tuple[str, Decimal, Decimal, Decimal]]) -> list[TaxRow]:
    """(name, rate, net, tax) parts summed per rate, highest rate first: the per-rate
    table of a receipt. A rate is its name and percentage together (two rates named
    alike at different percentages stay apart)."""
    sums: dict[tuple[str, Decimal], list[Decimal]] = {}
    for name, rate, net, tax in parts:
        row = sums.setdefault((name or "", Decimal(rate).normalize()), [Decimal(0), Decimal(0)])
        row[0] += net
        row[1] += tax
    rows = [TaxRow(name, rate, net, tax) for (name, rate), (net, tax) in sums.items()]
    return sorted(rows, key=lambda row: (-row.rate, row.name))


def sale_taxes(sale: Sale) -> list[TaxRow]:
    """The sale's tax per rate, from its lines as they were sold."""
    return tax_summary(
        (line.tax_name, line.tax_rate, line.line_total - line.tax_amount, line.tax_amount)
        for line in sale.lines
    )


def refunded_tax(line: SaleLine, amount: Decimal) -> Decimal:
    """The tax within ``amount`` paid back on ``line``: its share of the line's tax, to
    the cent (a whole line refunded gives back exactly the line's tax)."""
    if not line.line_total:
        return Decimal(0)
    if amount == line.line_total:
        return line.tax_amount
    return (amount * line.tax_amount / line.line_total).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Business:
    """Who the receipt is from: the workspace's details, the sale's location's address
    over the workspace's when it has one."""

    name: str
    legal_name: str
    address: str
    phone: str
    tax_number: str
    header: str
    footer: str
    has_logo: bool


@dataclass(frozen=True)
class CreditLine:
    line: SaleLine
    quantity: Decimal
    amount: Decimal
    tax: Decimal


@dataclass(frozen=True)
class CreditNote:
    """A refund as its credit note shows it."""

    refund: Refund
    lines: list[CreditLine]
    taxes: list[TaxRow]
    refunded_by: str


class RefusedSend(FormError):
    """An e-mail of a receipt that is not sent (bad address, too many sends)."""


class ReceiptService:
    """Receipts of one tenant, read and counted as ``user``."""

    def __init__(self, dbsession, tenant_id: int, user):
        self.db, self.tenant_id, self.user = dbsession, tenant_id, user

    @classmethod
    def factory(cls, context, request):
        return cls(request.dbsession, request.tenant.id, request.user)

    # -- what a receipt shows ------------------------------------------------------------
    def business(self, sale: Sale, tenant_name: str) -> Business:
        settings = self.db.get(WorkspaceSettings, self.tenant_id) or WorkspaceSettings()
        location = self.db.get(Location, (self.tenant_id, sale.location_id))
        address = (location.address if location else "") or settings.address or ""
        has_logo = self.db.scalar(select(exists().where(WorkspaceLogo.tenant_id == self.tenant_id)))
        return Business(
            name=tenant_name,
            legal_name=settings.legal_name or "",
            address=address.strip(),
            phone=settings.phone or "",
            tax_number=settings.tax_number or "",
            header=settings.receipt_header or "",
            footer=settings.receipt_footer or "",
            has_logo=bool(has_logo),
        )

    def register_name(self, sale: Sale) -> str | None:
        if sale.register_id is None:
            return None
        register = self.db.get(Register, (self.tenant_id, sale.register_id))
        return register.name if register else None

    def user_names(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Users' names as staff know them (full name, else username), by id."""
        ids = {user_id for user_id in user_ids if user_id}
        if not ids:
            return {}
        users = self.db.scalars(select(User).where(User.id.in_(ids)))
        return {user.id: user.full_name or user.username for user in users}

    # -- reprints --------------------------------------------------------------------------
    def count_print(self, sale: Sale) -> bool:
        """Count one more showing of the sale's receipt; True if it is a copy (shown
        before). One UPDATE: two tabs printing at once cannot both get the original."""
        prints = self.db.execute(
            update(Sale)
            .where(Sale.tenant_id == self.tenant_id, Sale.id == sale.id)
            .values(receipt_prints=Sale.receipt_prints + 1)
            .returning(Sale.receipt_prints)
        ).scalar_one()
        return prints > 1

    # -- credit notes ----------------------------------------------------------------------
    def refund_of(self, sale: Sale, refund_id) -> Refund | None:
        if refund_id is None:
            return None
        refund = self.db.get(Refund, (self.tenant_id, refund_id))
        return refund if refund is not None and refund.sale_id == sale.id else None

    def credit_note(self, sale: Sale, refund: Refund) -> CreditNote:
        lines = {line.id: line for line in sale.lines}
        credit = []
        for row in self.db.scalars(
            select(RefundLine).where(RefundLine.refund_id == refund.id).order_by(RefundLine.id)
        ):
            line = lines[row.sale_line_id]
            credit.append(
                CreditLine(line, row.quantity, row.amount, refunded_tax(line, row.amount))
            )
        credit.sort(key=lambda c: c.line.position)
        taxes = tax_summary(
            (c.line.tax_name, c.line.tax_rate, c.amount - c.tax, c.tax) for c in credit
        )
        names = self.user_names([refund.user_id])
        return CreditNote(refund, credit, taxes, names.get(refund.user_id, "?"))

    # -- e-mailed receipts -----------------------------------------------------------------
    def sends(self, sale: Sale) -> list[ReceiptSend]:
        return list(
            self.db.scalars(
                select(ReceiptSend)
                .where(ReceiptSend.sale_id == sale.id)
                .order_by(ReceiptSend.created_at)
            )
        )

    def record_send(self, sale: Sale, recipient: str, refund: Refund | None = None) -> ReceiptSend:
        """Record an e-mail of the sale's receipt (or of ``refund``'s credit note) to
        ``recipient``, within the cap; the caller sends it in the same transaction. The
        sale's row is locked first, so two sends at once cannot both take the last one."""
        self.db.execute(select(Sale.id).where(Sale.id == sale.id).with_for_update()).scalar_one()
        sent = self.db.scalar(
            select(func.count()).select_from(ReceiptSend).where(ReceiptSend.sale_id == sale.id)
        )
        if sent >= MAX_SENDS_PER_SALE:
            raise RefusedSend(
                {
                    "email": f"sale {sale.number}'s receipts were e-mailed {sent} times "
                    f"already, the most a sale may have: print it instead"
                }
            )
        row = ReceiptSend(
            tenant_id=self.tenant_id,
            sale_id=sale.id,
            refund_id=refund.id if refund else None,
            user_id=self.user.id,
            recipient=recipient,
        )
        self.db.add(row)
        self.db.flush()
        return row


def includeme(config):
    config.register_service_factory(ReceiptService.factory, iface=ReceiptService)
    for name, pattern in ROUTES:
        config.add_route(name, pattern, site="tenant")
