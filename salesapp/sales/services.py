"""Selling: pricing a cart, completing a sale in one transaction, voids and refunds.

Pricing follows the workspace's tax rules (:class:`Pricing`, from its settings): shelf
prices with tax included (the customer pays the shelf price; the tax is the part of it
``r / (100 + r)``) or without (tax is added); tax rounded on each line, or once per rate
on the whole sale and shared out over that rate's lines; every amount rounded half up to
the currency's smallest unit (cents; whole yen). A sale keeps how it was priced
(``prices_include_tax``, ``tax_rounding``) and each line the name of its rate.

Completing a sale writes the sale, its lines, its payments and its stock movements in
the request's one transaction, with a per-tenant gapless invoice number: the counter
row is incremented in that same transaction, so a sale that fails gives its number
back, and a second till waits for the first to commit (numbers never repeat).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from .. import formatting
from ..accounts.places import may_sell_at
from ..customers.models import Customer
from ..forms import CENT, FormError, money
from ..ids import uuid7
from ..inventory.services import InventoryService
from ..localization import Local
from ..preferences.services import SettingsService
from ..products.models import Product
from ..products.services import MAX_MONEY
from ..taxes.services import TaxService, label
from .models import (
    PAYMENT_METHODS,
    Payment,
    Refund,
    RefundLine,
    Sale,
    SaleCompletion,
    SaleLine,
)
from .writing import (
    LINE_COLUMNS,
    NUMBER,
    PAYMENT_COLUMNS,
    SALE_COLUMNS,
    SaleWrite,
    audit_rows,
    write_sale,
)

ZERO = Decimal("0")
HUNDRED = Decimal("100")
MAX_LINES = 50
MAX_QUANTITY = Decimal("100000")


MAX_KEY = 100
#: how a workspace rounds tax: each line's on its own, or once per rate on the whole sale
TAX_ROUNDINGS = ("line", "invoice")


@dataclass(frozen=True)
class Pricing:
    """How a workspace prices a sale (its settings, read once per quote).

    ``inclusive``: shelf prices include tax, so a line's total is its price less its
    discount and the tax is the part ``r / (100 + r)`` of it; otherwise the tax is added
    to that. ``rounding``: 'line' rounds each line's tax; 'invoice' rounds the tax of
    each rate once, on the sum of that rate's lines, then shares it out over them
    (:func:`share_out`), so line taxes still add up to the rate's. ``quantum``: the
    currency's smallest amount (0.01; 1 for JPY), never finer than a cent, as the
    columns keep cents.
    """

    inclusive: bool = False
    rounding: str = "line"
    quantum: Decimal = CENT

    @classmethod
    def of(cls, settings) -> Pricing:
        """The pricing of a workspace's settings row."""
        quantum = max(Local.of(settings).quantum, CENT)
        rounding = settings.tax_rounding if settings.tax_rounding in TAX_ROUNDINGS else "line"
        return cls(bool(settings.prices_include_tax), rounding, quantum)

    def round(self, value) -> Decimal:
        """An amount rounded half up to the currency's smallest unit."""
        return Decimal(value).quantize(self.quantum, rounding=ROUND_HALF_UP)

    def exact(self, value: Decimal) -> bool:
        """Is ``value`` a whole number of the currency's smallest unit (no 100.5 yen)?"""
        return value == value.quantize(self.quantum, rounding=ROUND_HALF_UP)

    def tax_on(self, charged: Decimal, rate: Decimal) -> Decimal:
        """The tax in ``charged`` (inclusive) or on it (exclusive) at ``rate`` percent."""
        if self.inclusive:
            return self.round(charged * rate / (HUNDRED + rate))
        return self.round(charged * rate / HUNDRED)

    def amounts_text(self) -> str:
        """How many decimals amounts have, in words: "no decimal places" (JPY), "2 ..."."""
        places = max(0, -self.quantum.as_tuple().exponent)
        return f"{places or 'no'} decimal place{'' if places == 1 else 's'}"


#: the pricing of a workspace that never changed its settings: tax added, per line, cents
EXCLUSIVE = Pricing()


class SaleError(FormError):
    """A refused sale, void or refund; per-field messages."""


class KeyReused(SaleError):
    """A completion key already used for a different sale request."""

    def __init__(self, key: str):
        super().__init__(
            {
                "idempotency_key": f"the key {key!r} was already used to complete a different "
                "sale; a retry must send the same sale, a new sale needs a new key"
            }
        )


def _columns(row, columns) -> dict:
    """{column: value} of an ORM object not yet written."""
    return {column: getattr(row, column) for column in columns}


def fingerprint(data) -> str:
    """A digest of what a completion asked for (JSON-able ``data``): a retry with the
    same key must ask for the same thing."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    """A client-made completion key: 1 to 100 printable ASCII characters; SaleError."""
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY or not (key.isascii() and key.isprintable()):
        raise SaleError(
            {"idempotency_key": f"must be 1 to {MAX_KEY} printable ASCII characters (a UUID)"}
        )
    return key


@dataclass
class CartLine:
    product_id: uuid.UUID
    quantity: Decimal
    discount: Decimal = ZERO  # amount off the line, before tax (unless ``percent``)
    #: the unit price typed at the till, for a product with ``open_price`` (else ignored)
    price: Decimal | None = None
    #: the discount as a percentage of the line's price; when set, ``discount`` is
    #: worked out from it (cents rounded half up)
    percent: Decimal | None = None


@dataclass(frozen=True)
class CartDiscount:
    """A discount on the whole sale, after the lines' own: an amount, or a percentage of
    what the lines come to. Shared out over the lines in proportion to their price, so
    each line's tax is on what was really charged (see :func:`share_out`)."""

    value: Decimal = ZERO
    percent: bool = False

    def __bool__(self) -> bool:
        return bool(self.value)

    def amount(self, charged: Decimal, pricing: Pricing = EXCLUSIVE) -> Decimal:
        """The amount off ``charged`` (what the lines come to after their own discounts)."""
        return pricing.round(charged * self.value / HUNDRED) if self.percent else self.value

    def __str__(self) -> str:
        return f"{formatting.quantity(self.value)}%" if self.percent else str(self.value)


@dataclass
class PaymentInput:
    method: str
    amount: Decimal
    reference: str = ""


@dataclass
class PricedLine:
    product: Product
    quantity: Decimal
    discount: Decimal  # the line's own discount and its share of the cart's
    gross: Decimal  # quantity x unit price: the shelf price (with tax, when inclusive)
    net: Decimal  # before tax
    tax: Decimal
    total: Decimal  # net + tax: what the customer pays for the line
    unit_price: Decimal = ZERO
    cart_share: Decimal = ZERO  # of ``discount``, what the cart discount took
    tax_name: str = ""  # the name of the product's tax rate

    @property
    def charged(self) -> Decimal:
        """The line's price less its discounts: its net (tax added) or its total (tax
        included). Tax is on this; the cart discount is shared out over it."""
        return self.gross - self.discount

    def with_tax(self, tax: Decimal, inclusive: bool) -> None:
        """Set the line's tax (e.g. its share of its rate's, rounded per invoice) and the
        net and total that follow from it."""
        self.tax = tax
        if inclusive:
            self.net, self.total = self.charged - tax, self.charged
        else:
            self.net, self.total = self.charged, self.charged + tax


@dataclass
class Quote:
    lines: list[PricedLine] = field(default_factory=list)
    subtotal: Decimal = ZERO
    discount_total: Decimal = ZERO
    tax_total: Decimal = ZERO
    total: Decimal = ZERO
    cart_discount: Decimal = ZERO  # of ``discount_total``, the cart discount
    #: the largest discount in the sale, in percent of a price (a line's own, or all of
    #: the sale's discounts against its price): what the seller's cap is held against
    discount_percent: Decimal = ZERO
    #: who approved a discount over the seller's cap (None: none was needed)
    approved_by: object = None
    #: how it was priced (the workspace's tax rules and currency)
    pricing: Pricing = EXCLUSIVE

    @property
    def gross(self) -> Decimal:
        """What the lines come to at their shelf prices, before any discount."""
        return sum((line.gross for line in self.lines), ZERO)


def unit_price(product: Product, price: Decimal | None = None) -> Decimal:
    """The price a line sells at: the one typed at the till for an open-price product,
    else the product's."""
    return price if product.open_price and price is not None else product.unit_price


def price_line(
    product: Product,
    quantity: Decimal,
    discount: Decimal,
    price: Decimal | None = None,
    pricing: Pricing = EXCLUSIVE,
) -> PricedLine:
    """A line at the product's price (or the typed ``price`` of an open-price product),
    less ``discount``, its tax rounded on the line, half up. Without tax included
    (the default) the tax is added; with it, the line's total is what it is charged and
    the tax the part ``r / (100 + r)`` of that."""
    unit = unit_price(product, price)
    gross = pricing.round(quantity * unit)
    line = PricedLine(product, quantity, discount, gross, ZERO, ZERO, ZERO, unit)
    line.with_tax(pricing.tax_on(line.charged, product.tax_rate), pricing.inclusive)
    return line


def tax_per_invoice(lines: list[PricedLine], pricing: Pricing) -> None:
    """Round tax once per rate on the whole sale: for each percentage, the tax of the sum
    of its lines, shared out over them in proportion to what each is charged (largest
    remainders take the odd cents), so the lines' taxes add up to the rate's."""
    by_rate: dict[Decimal, list[PricedLine]] = defaultdict(list)
    for line in lines:
        by_rate[line.product.tax_rate].append(line)
    for rate, group in by_rate.items():
        tax = pricing.tax_on(sum((line.charged for line in group), ZERO), rate)
        shares = share_out(tax, [line.charged for line in group], pricing.quantum)
        for line, share in zip(group, shares, strict=True):
            line.with_tax(share, pricing.inclusive)


def share_out(amount: Decimal, weights: list[Decimal], quantum: Decimal = CENT) -> list[Decimal]:
    """``amount`` in units of ``quantum`` (cents; whole yen) over ``weights`` in
    proportion, summing exactly to ``amount`` (largest remainders get the odd units); no
    share exceeds its weight when ``amount`` does not exceed their sum."""
    total = sum(weights, ZERO)
    if not amount or not total:
        return [ZERO for _ in weights]
    exact = [amount * w / total for w in weights]
    shares = [e.quantize(quantum, ROUND_DOWN) for e in exact]
    left = int((amount - sum(shares, ZERO)) / quantum)
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[:left]:
        shares[i] += quantum
    return shares


def percent_of(part: Decimal, whole: Decimal) -> Decimal:
    """``part`` in percent of ``whole``, rounded up to hundredths (0 for nothing)."""
    return (part * HUNDRED / whole).quantize(CENT, ROUND_UP) if whole else ZERO


def refund_amount(line: SaleLine, quantity: Decimal, round=money) -> Decimal:
    """What refunding ``quantity`` more of ``line`` pays back.

    Allocated by cumulative quantity: what was paid for all the quantity refunded so
    far, this refund included, minus what was paid back before. Rounding then never
    accumulates over many small refunds, the line never pays back more than its total,
    and the refund of the last units pays back exactly the rest. Never negative: a line
    whose earlier refunds were rounded up by the old per-refund rule pays nothing until
    the allocation catches up. ``round``: to the currency's smallest unit
    (:meth:`Pricing.round`; cents by default). The line's total is what was paid with
    tax, whether prices included it or not, so this holds in both.
    """
    upto = line.refunded_quantity + quantity
    paid = round(line.line_total * upto / line.quantity)  # exactly line_total at the end
    return max(ZERO, paid - line.refunded_amount)


def _line_problem(product: Product, line: CartLine, pricing: Pricing = EXCLUSIVE):
    """(field, message) for a cart line's quantity, price or discount out of bounds, or
    typed finer than the currency's smallest unit (100.5 yen), or None."""
    if not ZERO < line.quantity <= MAX_QUANTITY:
        return "quantity", (
            f"quantity of {product.name} must be more than 0 and at most {MAX_QUANTITY}"
        )
    if product.open_price and line.price is not None and not ZERO <= line.price <= MAX_MONEY:
        return "price", f"the price of {product.name} must be between 0 and {MAX_MONEY}"
    typed = (("price", line.price if product.open_price else None), ("discount", line.discount))
    for name, amount in typed:
        if amount is not None and not pricing.exact(amount):
            return name, (
                f"the {name} of {product.name} is {amount}, but amounts in this currency "
                f"have {pricing.amounts_text()}"
            )
    gross = pricing.round(line.quantity * unit_price(product, line.price))
    if gross > MAX_MONEY:
        return "quantity", (
            f"{line.quantity.normalize():f} of {product.name} come to {gross}, more "
            f"than a sale can hold ({MAX_MONEY}); sell them in several sales"
        )
    if line.percent is not None and not ZERO <= line.percent <= HUNDRED:
        return "discount", f"discount on {product.name} must be between 0% and 100%"
    if not ZERO <= line_discount(line, gross, pricing.round) <= gross:
        return "discount", f"discount on {product.name} must be between 0 and the line's {gross}"
    return None


def line_discount(line: CartLine, gross: Decimal, round=money) -> Decimal:
    """The line's own discount as an amount (a percentage's rounded by ``round``)."""
    return round(gross * line.percent / HUNDRED) if line.percent is not None else line.discount


def own_percent(line: PricedLine, typed: Decimal | None) -> Decimal:
    """A priced line's own discount (its share of the cart's left out) in percent: as
    typed, or worked out from the amount (rounded up to hundredths)."""
    return typed if typed is not None else percent_of(line.discount - line.cart_share, line.gross)


def line_within(line: PricedLine, typed: Decimal | None, cap: Decimal, round=money) -> bool:
    """Is a line's own discount within ``cap`` percent: a typed percentage at most the
    cap, or an amount at most the cap's share of the line's price (rounded as a typed
    percentage would be, so "10%" and its amount are alike)?"""
    if typed is not None:
        return typed <= cap
    return line.discount - line.cart_share <= round(line.gross * cap / HUNDRED)


def within(quote: Quote, own: dict[int, Decimal | None], cap: Decimal) -> bool:
    """Are the quote's discounts within ``cap`` percent: every line's own, and all of
    them together against the sale's price (each line's cap amount rounded as its own
    discount is, so lines at the cap never add up to more than it)? The price is the
    shelf price, with tax when prices include it."""
    round = quote.pricing.round
    if not all(line_within(line, own[i], cap, round) for i, line in enumerate(quote.lines)):
        return False
    allowance = max(
        sum((round(line.gross * cap / HUNDRED) for line in quote.lines), ZERO),
        round(quote.gross * cap / HUNDRED),
    )
    return quote.discount_total <= allowance


class DiscountOverCap(SaleError):
    """A discount larger than the seller's cap: a Manager may approve it with their PIN
    at the till (``needed``: the percentage to approve)."""

    def __init__(self, errors: dict, needed: Decimal, cap: Decimal):
        super().__init__(errors)
        self.needed, self.cap = needed, cap


def _checked_payments(payments: list[PaymentInput], total: Decimal):
    """(the payments with an amount, paid, change) for a sale of ``total``; SaleError
    saying what is wrong: an unknown method, a negative amount, too little paid, or
    change from anything but cash."""
    payments = [p for p in payments if p.amount]
    errors = {}
    for i, payment in enumerate(payments):
        if payment.method not in PAYMENT_METHODS:
            errors[f"payment:{i}"] = f"payment method must be one of {', '.join(PAYMENT_METHODS)}"
        elif payment.amount < 0:
            errors[f"payment:{i}"] = f"the {payment.method} amount must not be negative"
    if errors:
        raise SaleError(errors)
    paid = sum((p.amount for p in payments), ZERO)
    cash = sum((p.amount for p in payments if p.method == "cash"), ZERO)
    if paid < total:
        raise SaleError(
            {"payments": f"{total - paid} is still due: payments total {paid}, the sale is {total}"}
        )
    change = paid - total
    if change > cash:
        raise SaleError(
            {
                "payments": "card and mobile money payments may not exceed the amount due; "
                "only cash gives change"
            }
        )
    return payments, paid, change


def _shortage(quote, short) -> SaleError:
    """The refusal of a sale whose lines want more than is on hand: ``short`` holds
    (product id, wanted, on hand) for each such product of ``quote``."""
    products = {p.product.id: p.product for p in quote.lines}
    return SaleError(
        {
            f"product:{product_id}": (
                f"only {have.normalize():f} of {products[product_id].name} "
                f"({products[product_id].sku}) on hand, {want.normalize():f} wanted"
            )
            for product_id, want, have in short
        }
    )


class SaleService:
    def __init__(self, dbsession, tenant_id: int, user, *, sees_all: bool):
        self.db = dbsession
        self.tenant_id = tenant_id
        self.user = user
        self.sees_all = sees_all  # Managers and Admin; Cashiers see their own sales
        self.inventory = InventoryService(dbsession, tenant_id, user.id if user else None)

    @classmethod
    def factory(cls, context, request):
        return cls(
            request.dbsession,
            request.tenant.id,
            request.user,
            sees_all=bool(request.has_permission("sales.view_all")),
        )

    # -- pricing ---------------------------------------------------------------------
    def pricing(self) -> Pricing:
        """How this workspace prices (its settings: tax included or not, rounding,
        currency)."""
        return Pricing.of(SettingsService(self.db, self.tenant_id).get())

    def cap_for(self, user) -> Decimal | None:
        """The most ``user`` may discount, in percent of a price (None: no cap): the
        workspace's cap for each of their roles, the most generous one counting; Admins
        have none. Enforced here, so the till and the API are both capped."""
        if user is None:
            return None
        return SettingsService(self.db, self.tenant_id).discount_cap(user.role_names)

    def discount_cap(self) -> Decimal | None:
        """The signed-in seller's cap (see :meth:`cap_for`)."""
        return self.cap_for(self.user)

    def quote(
        self,
        lines: list[CartLine],
        *,
        cart_discount: CartDiscount = CartDiscount(),
        approver=None,
        approved_up_to: Decimal | None = None,
        lock=False,
    ) -> Quote:
        """Price the cart against the current products; raise SaleError on bad lines,
        DiscountOverCap when the discounts are more than the seller's cap and
        ``approver`` (a user who approved them at the till, for discounts up to
        ``approved_up_to`` percent when given) does not cover them."""
        errors = {}
        if not lines:
            raise SaleError({"cart": "the cart is empty: add a product first"})
        if len(lines) > MAX_LINES:
            raise SaleError({"cart": f"a sale has at most {MAX_LINES} lines"})
        pricing = self.pricing()
        ids = [line.product_id for line in lines]
        if lock:
            products = self.inventory.lock_products(ids)
        else:
            products = {
                p.id: p for p in self.db.scalars(select(Product).where(Product.id.in_(ids)))
            }
        rates = TaxService(self.db, self.tenant_id).by_id(p.tax_rate_id for p in products.values())
        priced: list[PricedLine] = []
        own: dict[int, Decimal | None] = {}  # each line's own discount as typed in percent
        for i, line in enumerate(lines):
            product = products.get(line.product_id)
            if product is None or not product.is_active:
                errors[f"line:{i}"] = "this product is not for sale any more; remove the line"
                continue
            problem = _line_problem(product, line, pricing)
            if problem:
                errors[f"{problem[0]}:{i}"] = problem[1]
                continue
            gross = pricing.round(line.quantity * unit_price(product, line.price))
            discount = line_discount(line, gross, pricing.round)
            own[i] = line.percent
            priced.append(price_line(product, line.quantity, discount, line.price, pricing))
            rate = rates.get(product.tax_rate_id)
            priced[-1].tax_name = rate.name if rate else label(None, product.tax_rate)
        if errors:
            raise SaleError(errors)
        quote = self._with_cart_discount(priced, cart_discount, pricing)
        self._hold_to_cap(quote, own, approver, approved_up_to)
        return quote

    def _with_cart_discount(
        self, priced: list[PricedLine], cart: CartDiscount, pricing: Pricing = EXCLUSIVE
    ) -> Quote:
        """The quote of the priced lines, the cart discount shared out over what each
        is charged after its own discount (before tax, or with it when prices include
        it), then the tax rounded per line or per rate on the whole sale."""
        charged = sum((p.charged for p in priced), ZERO)
        if cart.percent and not ZERO <= cart.value <= HUNDRED:
            raise SaleError({"cart_discount": "the cart discount must be between 0% and 100%"})
        if not cart.percent and not pricing.exact(cart.value):
            raise SaleError(
                {
                    "cart_discount": f"the cart discount is {cart.value}, but amounts in this "
                    f"currency have {pricing.amounts_text()}"
                }
            )
        amount = cart.amount(charged, pricing)
        if not ZERO <= amount <= charged:
            raise SaleError(
                {"cart_discount": f"the cart discount must be between 0 and the lines' {charged}"}
            )
        quote = Quote(cart_discount=amount, pricing=pricing)
        shares = share_out(amount, [p.charged for p in priced], pricing.quantum)
        for p, share in zip(priced, shares, strict=True):
            line = price_line(p.product, p.quantity, p.discount + share, p.unit_price, pricing)
            line.unit_price, line.cart_share, line.tax_name = p.unit_price, share, p.tax_name
            quote.lines.append(line)
        if pricing.rounding == "invoice":
            tax_per_invoice(quote.lines, pricing)
        for line in quote.lines:
            quote.subtotal += line.net
            quote.discount_total += line.discount
            quote.tax_total += line.tax
            quote.total += line.total
        before_discounts = quote.gross
        if max(before_discounts, quote.total) > MAX_MONEY:
            raise SaleError(
                {
                    "cart": f"the sale comes to {max(before_discounts, quote.total)}, more "
                    f"than a sale can hold ({MAX_MONEY}); split it into several sales"
                }
            )
        return quote

    def _hold_to_cap(
        self,
        quote: Quote,
        own: dict[int, Decimal | None],
        approver,
        approved_up_to: Decimal | None,
    ) -> None:
        """Refuse discounts over the seller's cap unless ``approver``'s cap covers them,
        and what they approved does (then the quote names the approver)."""
        gross = quote.gross
        overall = percent_of(quote.discount_total, gross)
        quote.discount_percent = max(
            [overall, *(own_percent(line, own[i]) for i, line in enumerate(quote.lines))]
        )
        cap = self.discount_cap()
        if cap is None or within(quote, own, cap):
            return
        if approver is not None and (approved_up_to is None or within(quote, own, approved_up_to)):
            theirs = self.cap_for(approver)
            if theirs is None or within(quote, own, theirs):
                quote.approved_by = approver
                return
        errors = {}
        tail = "; a Manager must ring the sale, or approve the discount with their PIN at the till"
        for i, line in enumerate(quote.lines):
            if not line_within(line, own[i], cap, quote.pricing.round):
                most = quote.pricing.round(line.gross * cap / HUNDRED)
                errors[f"discount:{i}"] = (
                    f"a discount of {line.discount - line.cart_share} on {line.product.name} "
                    f"is over your cap of {formatting.quantity(cap)}% of the line's price "
                    f"{line.gross} (at most {most}){tail}"
                )
        if not errors:
            errors["cart_discount"] = (
                f"the discounts come to {quote.discount_total} ({overall}% of {gross}), over "
                f"your cap of {formatting.quantity(cap)}%{tail}"
            )
        raise DiscountOverCap(errors, quote.discount_percent, cap)

    # -- completing ------------------------------------------------------------------
    def complete(
        self,
        lines: list[CartLine],
        payments: list[PaymentInput],
        *,
        location_id,
        customer_id=None,
        register_id=None,
        shift_id=None,
        cart_discount: CartDiscount = CartDiscount(),
        approver=None,
        approved_up_to: Decimal | None = None,
        key: str | None = None,
        asked: str | None = None,
    ) -> Sale | None:
        """Write the sale, lines, payments and stock movements; all or nothing.
        ``register_id`` and ``shift_id``: where it was rung (salesapp.sales.till);
        ``approver``: who approved a discount over the seller's cap (their PIN, at the
        till), recorded with the sale. ``key`` and ``asked``: see :meth:`complete_once`
        (None: the key was taken by another completion, and nothing was written).

        After the products are locked, one statement checks their stock, takes the
        invoice number and writes every row (salesapp.sales.writing)."""
        location = self.inventory.location(location_id)
        if location is None or not location.is_active:
            raise SaleError({"location_id": "choose an active location to sell from"})
        if self.user is not None and not may_sell_at(self.db, self.user, location.id, register_id):
            raise SaleError(
                {"location_id": f"You are not set up to sell at {location.name}; ask an Admin"}
            )
        if customer_id is not None and self.db.get(Customer, (self.tenant_id, customer_id)) is None:
            raise SaleError({"customer_id": "no such customer; choose one from the list"})
        # products made before named rates get theirs now, before any product is locked
        # (the naming updates products; doing it later could deadlock two tills)
        TaxService(self.db, self.tenant_id).ensure()
        quote = self.quote(
            lines,
            cart_discount=cart_discount,
            approver=approver,
            approved_up_to=approved_up_to,
            lock=True,
        )

        payments, paid, change = _checked_payments(payments, quote.total)

        wanted: dict[uuid.UUID, Decimal] = {}
        for priced in quote.lines:
            wanted[priced.product.id] = wanted.get(priced.product.id, ZERO) + priced.quantity
        sale = Sale(
            tenant_id=self.tenant_id,
            id=uuid7(),
            number=NUMBER,  # the counter's, given by the statement that writes the sale
            location_id=location.id,
            user_id=self.user.id,
            customer_id=customer_id,
            register_id=register_id,
            shift_id=shift_id,
            status="completed",
            subtotal=quote.subtotal,
            discount_total=quote.discount_total,
            tax_total=quote.tax_total,
            total=quote.total,
            paid_total=paid,
            change_due=change,
            refunded_total=ZERO,
            cart_discount=quote.cart_discount,
            discount_approved_by=quote.approved_by.id if quote.approved_by else None,
            discount_percent=quote.discount_percent if quote.approved_by else None,
            prices_include_tax=quote.pricing.inclusive,
            tax_rounding=quote.pricing.rounding,
            receipt_prints=0,
            voided_at=None,
            voided_by=None,
            void_reason=None,
        )
        sale_lines, sale_payments, movements = [], [], []
        for position, priced in enumerate(quote.lines):
            product = priced.product
            sale_lines.append(
                SaleLine(
                    tenant_id=self.tenant_id,
                    id=uuid7(),
                    sale_id=sale.id,
                    position=position,
                    product_id=product.id,
                    description=product.name,
                    sku=product.sku,
                    quantity=priced.quantity,
                    unit_price=priced.unit_price,
                    unit_cost=product.cost,
                    discount=priced.discount,
                    tax_rate=product.tax_rate,
                    tax_name=priced.tax_name,
                    tax_amount=priced.tax,
                    line_total=priced.total,
                    refunded_quantity=ZERO,
                    refunded_amount=ZERO,
                )
            )
            movements.append(
                {
                    "id": uuid7(),
                    "product_id": product.id,
                    "location_id": location.id,
                    "quantity": -priced.quantity,
                    "kind": "sale",
                    "reason": "",
                    "reference": sale.id,
                    "user_id": self.user.id,
                }
            )
        for position, payment in enumerate(payments):
            sale_payments.append(
                Payment(
                    tenant_id=self.tenant_id,
                    id=uuid7(),
                    sale_id=sale.id,
                    position=position,
                    method=payment.method,
                    amount=payment.amount,
                    reference=payment.reference[:100],
                )
            )
        written = write_sale(
            self.db,
            SaleWrite(
                tenant_id=self.tenant_id,
                location_id=location.id,
                sale=_columns(sale, SALE_COLUMNS),
                lines=[_columns(line, LINE_COLUMNS) for line in sale_lines],
                payments=[_columns(payment, PAYMENT_COLUMNS) for payment in sale_payments],
                movements=movements,
                audit=audit_rows(self.db, sale),
                wanted=wanted,
                key=key,
                fingerprint=asked,
            ),
        )
        if written.short:
            raise _shortage(quote, written.short)
        if not written.claimed:
            return None
        sale.number, sale.created_at = written.number, written.created_at
        # the rows just written, as reading them back would give them: the sale, its
        # lines and payments join the session as loaded rows (no INSERT: the statement
        # wrote them), so a later look-up by key answers these very objects
        for row in (sale, *sale_lines, *sale_payments):
            make_transient_to_detached(row)
            self.db.add(row)
        set_committed_value(sale, "lines", sale_lines)
        set_committed_value(sale, "payments", sale_payments)
        return sale

    def complete_once(self, key: str, asked: str, *args, **kwargs) -> tuple[Sale, bool]:
        """:meth:`complete` at most once per client-made ``key``: (the sale, True) the
        first time; (the first sale, False) on a retry that asks the same (``asked``,
        a :func:`fingerprint`); KeyReused if it asks something else.

        The key is claimed (inserted) by the statement that writes the sale
        (salesapp.sales.writing): a concurrent completion with the same key waits on the
        primary key until the first commits, then finds it taken, writes nothing and
        answers the first sale; if the first fails and rolls back, the second goes ahead
        and is the first."""
        sale = self.complete(*args, key=key, asked=asked, **kwargs)
        if sale is None:
            return self.completed_with(key, asked), False
        return sale, True

    def completed_with(self, key: str, asked: str) -> Sale | None:
        """The sale completed earlier with ``key`` (None: the key is new); KeyReused if
        that completion asked something else than ``asked``."""
        row = self.db.execute(
            select(SaleCompletion.fingerprint, SaleCompletion.sale_id)
            .where(SaleCompletion.key == key)
            .execution_options(populate_existing=True)
        ).first()
        if row is None:
            return None
        if row.fingerprint != asked:
            raise KeyReused(key)
        return self.db.get(Sale, (self.tenant_id, row.sale_id)) if row.sale_id else None

    # -- reading ---------------------------------------------------------------------
    def _visible(self, query):
        return query if self.sees_all else query.where(Sale.user_id == self.user.id)

    def get(self, sale_id) -> Sale | None:
        """The sale, if this user may see it (Cashiers: only their own)."""
        if sale_id is None:
            return None
        sale = self.db.get(Sale, (self.tenant_id, sale_id))
        if sale is None or not (self.sees_all or sale.user_id == self.user.id):
            return None
        return sale

    def by_number(self, number: int) -> Sale | None:
        return self.db.scalars(self._visible(select(Sale).where(Sale.number == number))).first()

    def list(
        self, *, day_from: dt.date | None = None, day_to: dt.date | None = None, limit=50, offset=0
    ) -> list[Sale]:
        query = self._visible(select(Sale)).order_by(Sale.number.desc())
        if day_from:
            query = query.where(Sale.created_at >= dt.datetime.combine(day_from, dt.time(), dt.UTC))
        if day_to:
            end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(), dt.UTC)
            query = query.where(Sale.created_at < end)
        return list(self.db.scalars(query.limit(limit).offset(offset)))

    def refunds(self, sale: Sale) -> list[Refund]:
        return list(
            self.db.scalars(
                select(Refund).where(Refund.sale_id == sale.id).order_by(Refund.created_at)
            )
        )

    def names(self, sale: Sale) -> dict:
        """Who sold, where, to whom, who approved its discount: for the receipt and the
        detail page."""
        from ..accounts.models import User
        from ..locations.models import Location

        def name(user_id):
            user = self.db.get(User, (self.tenant_id, user_id)) if user_id else None
            return (user.full_name or user.username) if user else None

        location = self.db.get(Location, (self.tenant_id, sale.location_id))
        customer = (
            self.db.get(Customer, (self.tenant_id, sale.customer_id)) if sale.customer_id else None
        )
        return {
            "cashier": name(sale.user_id) or "?",
            "approver": name(sale.discount_approved_by),
            "location": location.name if location else "?",
            "customer": customer,
        }

    # -- voids and refunds -----------------------------------------------------------
    def _lock(self, sale: Sale) -> Sale:
        return self.db.scalars(
            select(Sale)
            .where(Sale.id == sale.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()

    def void(self, sale: Sale, reason: str) -> Sale:
        """Cancel a whole sale (a mistake at the till): every line back into stock."""
        reason = (reason or "").strip()
        if not reason:
            raise SaleError({"reason": "say why the sale is voided"})
        sale = self._lock(sale)
        if sale.status != "completed":
            raise SaleError(
                {
                    "sale": f"sale {sale.number} is {sale.status.replace('_', ' ')}; "
                    "only a completed sale without refunds can be voided"
                }
            )
        for line in sale.lines:
            self.inventory.record(
                "void",
                line.product_id,
                sale.location_id,
                line.quantity,
                reference=sale.id,
                reason=reason[:200],
            )
        sale.status = "voided"
        sale.voided_at = func.now()
        sale.voided_by = self.user.id
        sale.void_reason = reason[:500]
        self.db.flush()
        return sale

    def refund(
        self,
        sale: Sale,
        quantities: dict,
        *,
        method: str,
        reason: str = "",
        register_id=None,
        shift_id=None,
    ) -> Refund:
        """Return some or all of a sale's goods: back into stock, money back by ``method``.

        ``quantities``: {sale_line_id: quantity}. The amount of each line is allocated
        by cumulative quantity (:func:`refund_amount`), so a line never pays back more
        than its total and never a negative amount (the database checks both too).
        """
        sale = self._lock(sale)
        if sale.status not in ("completed", "partly_refunded"):
            raise SaleError(
                {
                    "sale": f"sale {sale.number} is {sale.status.replace('_', ' ')}; "
                    "nothing left to refund"
                }
            )
        if method not in PAYMENT_METHODS:
            raise SaleError({"method": f"must be one of {', '.join(PAYMENT_METHODS)}"})
        lines = {line.id: line for line in sale.lines}
        errors, chosen = {}, []
        for line_id, quantity in quantities.items():
            line = lines.get(line_id)
            if line is None:
                errors[f"line:{line_id}"] = "not a line of this sale"
                continue
            if not quantity:
                continue
            left = line.quantity - line.refunded_quantity
            if not ZERO < quantity <= left:
                errors[f"quantity:{line_id}"] = (
                    f"{line.description}: refund between 0 and {left.normalize():f}"
                )
                continue
            chosen.append((line, quantity))
        if errors:
            raise SaleError(errors)
        if not chosen:
            raise SaleError({"quantities": "enter the quantity to refund on at least one line"})

        refund = Refund(
            tenant_id=self.tenant_id,
            id=uuid7(),
            sale_id=sale.id,
            user_id=self.user.id,
            amount=ZERO,
            method=method,
            reason=reason[:500],
            register_id=register_id,
            shift_id=shift_id,
        )
        self.db.add(refund)
        self.db.flush()
        total, round = ZERO, self.pricing().round
        for line, quantity in chosen:
            amount = refund_amount(line, quantity, round)
            self.db.add(
                RefundLine(
                    tenant_id=self.tenant_id,
                    id=uuid7(),
                    refund_id=refund.id,
                    sale_line_id=line.id,
                    quantity=quantity,
                    amount=amount,
                )
            )
            line.refunded_quantity = line.refunded_quantity + quantity
            line.refunded_amount = line.refunded_amount + amount
            self.inventory.record(
                "refund",
                line.product_id,
                sale.location_id,
                quantity,
                reference=refund.id,
                reason=reason[:200],
            )
            total += amount
        refund.amount = total
        sale.refunded_total = sale.refunded_total + total
        fully = all(line.refunded_quantity == line.quantity for line in sale.lines)
        sale.status = "refunded" if fully else "partly_refunded"
        self.db.flush()
        return refund
