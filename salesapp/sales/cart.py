"""The till's carts, kept in the tenant's store (``pos_carts``) until the sale is
completed, parked to be resumed, or discarded.

A cart used to live in the session cookie, which a browser caps at 4 KB: a cart near
its 50-line maximum no longer fitted and the till failed. In the store it has room,
survives a sign-out or a restart, and row-level security keeps it the tenant's.

The cart on a browser's screen is named by ``session["cart_id"]``; a session without
one (a new sign-in) takes back the user's latest open cart on the same register, so a
sign-out loses nothing. Several carts may be open or parked per register; a parked
cart is resumed on any till of its register.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from ..ids import uuid7
from .models import CART_OPEN, CART_PARKED, PAYMENT_METHODS, PosCart
from .services import MAX_LINES, CartDiscount, CartLine

CART_ID = "cart_id"
MAX_LABEL = 60


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _read_lines(rows) -> list[CartLine]:
    """The stored ``[product_id, quantity, discount, price, percent]`` rows (the last two
    may be missing or null) as cart lines; a damaged row loses that line, nothing else."""
    lines = []
    for row in rows if isinstance(rows, list) else []:
        try:
            product_id, quantity, discount, price, percent = [*row, None, None][:5]
            lines.append(
                CartLine(
                    uuid.UUID(product_id),
                    Decimal(quantity),
                    Decimal(discount),
                    _decimal(price),
                    _decimal(percent),
                )
            )
        except (TypeError, ValueError, InvalidOperation):
            continue
    return lines


def _stored(line: CartLine) -> list:
    optional = [line.price, line.percent]
    return [
        str(line.product_id),
        str(line.quantity),
        str(line.discount),
        *(None if value is None else str(value) for value in optional),
    ]


def _read_payments(value) -> dict[str, dict[str, str]]:
    """The stored payments as typed, ``{method: {"amount", "reference"}}``; anything
    else is dropped. An amount is kept as the cashier typed it, in the workspace's locale
    ("1.234,50" in German): it is shown back and parsed again, in that locale, at
    completion. Lines, by contrast, are stored as plain decimals (:func:`_stored`)."""
    payments = {}
    for method in PAYMENT_METHODS:
        item = value.get(method) if isinstance(value, dict) else None
        if isinstance(item, dict):
            payments[method] = {
                "amount": str(item.get("amount") or "")[:30],
                "reference": str(item.get("reference") or "")[:100],
            }
    return payments


@dataclass
class Till:
    """Where a request rings: the tenant, the user, the register (None when the
    workspace sells without registers)."""

    tenant_id: int
    user_id: uuid.UUID
    register_id: uuid.UUID | None


class Cart:
    """Lines (product, quantity, discount, typed price), a discount on the whole cart,
    typed payments, an optional customer and a Manager's approval of its discounts, of
    the cart on one till's screen. ``row`` is None until something is put in it."""

    def __init__(self, dbsession, till: Till, row: PosCart | None = None):
        self.db, self.till, self.row = dbsession, till, row
        self.lines: list[CartLine] = _read_lines(row.lines) if row else []
        self.payments: dict[str, dict[str, str]] = _read_payments(row.payments) if row else {}
        self.customer_id: uuid.UUID | None = row.customer_id if row else None
        self.discount = (
            CartDiscount(row.discount, row.discount_is_percent) if row else CartDiscount()
        )
        #: (who approved, up to what percentage) or None
        self.approval: tuple[uuid.UUID, Decimal] | None = (
            (row.approved_by, row.approved_percent)
            if row is not None and row.approved_by is not None
            else None
        )

    @classmethod
    def for_request(cls, request, register_id: uuid.UUID | None) -> Cart:
        """The cart named by the session if it is still open on this register, else the
        user's latest open cart there, else a new (unsaved) one."""
        till = Till(request.tenant.id, request.user.id, register_id)
        db = request.dbsession
        row = None
        try:
            chosen = uuid.UUID(str(request.session.get(CART_ID)))
        except ValueError:
            chosen = None
        if chosen is not None:
            row = db.get(PosCart, (till.tenant_id, chosen))
            if row is not None and (row.status != CART_OPEN or row.register_id != register_id):
                row = None
        if row is None:
            row = db.scalars(
                select(PosCart)
                .where(
                    PosCart.user_id == till.user_id,
                    PosCart.register_id.is_(None)
                    if register_id is None
                    else PosCart.register_id == register_id,
                    PosCart.status == CART_OPEN,
                )
                .order_by(PosCart.updated_at.desc(), PosCart.id.desc())
                .limit(1)
            ).first()
        if row is not None and request.session.get(CART_ID) != str(row.id):
            request.session[CART_ID] = str(row.id)  # a changed session is a new cookie
        return cls(db, till, row)

    @property
    def id(self) -> uuid.UUID | None:
        return self.row.id if self.row else None

    def save(self) -> None:
        """Write the cart, creating its row on the first save."""
        if self.row is None:
            self.row = PosCart(
                tenant_id=self.till.tenant_id,
                id=uuid7(),
                user_id=self.till.user_id,
                register_id=self.till.register_id,
                status=CART_OPEN,
            )
            self.db.add(self.row)
        self.row.lines = [_stored(line) for line in self.lines]
        self.row.payments = self.payments
        self.row.customer_id = self.customer_id
        self.row.discount, self.row.discount_is_percent = self.discount.value, self.discount.percent
        self.row.approved_by, self.row.approved_percent = self.approval or (None, None)
        self.db.flush()

    def remember(self, session) -> None:
        """Name this cart in the browser's session (after its first save)."""
        if self.row is not None and session.get(CART_ID) != str(self.row.id):
            session[CART_ID] = str(self.row.id)

    def clear(self, session) -> None:
        """Drop the cart (a completed sale, "Empty the cart"): its row goes."""
        if self.row is not None:
            self.db.delete(self.row)
            self.db.flush()
        self.row, self.lines, self.payments, self.customer_id = None, [], {}, None
        self.discount, self.approval = CartDiscount(), None
        session.pop(CART_ID, None)

    def park(self, session, label: str) -> None:
        """Put the cart aside (``parked``) with a label; the screen gets a new cart."""
        self.save()
        self.row.status = CART_PARKED
        self.row.label = label[:MAX_LABEL]
        self.db.flush()
        session.pop(CART_ID, None)

    def add(self, product_id: uuid.UUID, quantity: Decimal, price: Decimal | None = None) -> bool:
        """Add to the product's line at the same typed ``price`` (or a new line); False
        if the cart is full."""
        for line in self.lines:
            if line.product_id == product_id and line.price == price:
                line.quantity += quantity
                return True
        if len(self.lines) >= MAX_LINES:
            return False
        self.lines.append(CartLine(product_id, quantity, price=price))
        return True

    def __len__(self):
        return len(self.lines)


def parked_carts(dbsession, register_id: uuid.UUID | None) -> list[PosCart]:
    """The parked carts of a register (or of the workspace without registers), oldest
    first: the customer who has waited longest is served first."""
    where = (
        PosCart.register_id.is_(None)
        if register_id is None
        else (PosCart.register_id == register_id)
    )
    return list(
        dbsession.scalars(
            select(PosCart)
            .where(where, PosCart.status == CART_PARKED)
            .order_by(PosCart.updated_at, PosCart.id)
        )
    )


def resume(request, row: PosCart) -> None:
    """Put a parked cart back on this till's screen (the view first parks or drops the
    cart that was there)."""
    row.status = CART_OPEN
    request.session[CART_ID] = str(row.id)
    request.dbsession.flush()


def read_lines(row: PosCart) -> list[CartLine]:
    """A stored cart's lines (for the parked list's totals)."""
    return _read_lines(row.lines)
