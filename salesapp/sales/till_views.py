"""The till (point of sale): find products, build the cart, take payments, complete the
sale; park and resume carts; choose the register.

Every form on the page does, on Enter (implicit submission), what the field means,
with or without JavaScript: the browser clicks a form's *first* submit button, so each
form starts with its default action. The scan form's first button is "Add"; the cart
form's is a visually hidden "Update cart", so Enter in a quantity, a discount or a
payment amount recalculates (and keeps what was typed), and never removes a line or
completes a sale. A line's remove button comes after it. Completing is a deliberate
press of "Complete sale".

A product with an open price or sold by weight is never added without its price or
weight: the till asks for them first (``/pos?ask=<product id>``, the ``_ask`` piece).

A scan sent by pos.js (header ``X-Till-Fragment: cart``) is answered with the cart alone
(the ``_cart`` piece, the same one the page includes) when it was added in place; any
other answer (search results, a prompt, an error) is the one a form post gets, and
pos.js shows it as a page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render
from pyramid.response import Response
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from ..accounts.services import SignInThrottled
from ..customers.models import Customer
from ..customers.services import CustomerService
from ..db import KEEP_WRITES
from ..forms import CENT, Form, FormError, parse_uuid
from ..inventory.services import InventoryService
from ..pages import labelled
from ..products.models import Product
from ..products.services import MAX_MONEY, ProductService
from . import till
from .approval import approval_of, approve, approvers
from .cart import MAX_LABEL, Cart, parked_carts, read_lines, resume
from .models import CART_PARKED, PAYMENT_METHODS, PosCart
from .services import (
    HUNDRED,
    MAX_QUANTITY,
    ZERO,
    CartDiscount,
    DiscountOverCap,
    PaymentInput,
    SaleError,
    SaleService,
    check_key,
    fingerprint,
)
from .views import PAYMENT_LABELS, workspace_settings

POS_LOCATION = "pos_location"
SEARCH_LABELS = {"q": "Search", "customer_q": "Customer search"}
MAX_PAYMENT = Decimal("10000000")
#: the round amounts a customer hands over, for the quick-tender buttons
ROUND_STEPS = (Decimal(1), Decimal(5), Decimal(10), Decimal(20), Decimal(50), Decimal(100))
#: the form fields that are not what a sale asks for (left out of its fingerprint)
NOT_ASKED = frozenset({"csrf_token", "sale_key"})
#: the header pos.js sends with a scan to be answered with the cart alone; a fragment
#: answer carries it back, so the script tells the cart from a page
FRAGMENT_HEADER = "X-Till-Fragment"
CART_FRAGMENT = "cart"
#: the smallest weight the till takes (kg; weights have 3 decimals)
GRAM = Decimal("0.001")
#: the prompt's fields, shown back as typed when refused
TYPED = ("price", "quantity")


@dataclass
class Ask:
    """The till's question before it adds ``product``: its price (open price) and/or its
    weight (sold by weight), with what was typed and what was wrong with it."""

    product: Product
    price: str = ""
    weight: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def asks_for(product: Product) -> bool:
    """Does adding ``product`` need a value typed at the till (a price, a weight)?"""
    return bool(product.open_price or product.sold_by_weight)


def read_typed(form: Form, name: str, label: str, value, hint: str):
    """An amount typed at the till (a price, a weight) already read into ``value``:
    above 0, else None. An error (in ``form``) names ``label`` and ends with what to
    type (``hint``, written as the workspace writes numbers)."""
    if value is not None and value <= 0:
        form.error(name, "must be more than 0")
    if name in form.errors:
        message = form.errors[name]
        joint = " " if message[:1].islower() else ": "  # "JPY amounts have no decimal..."
        form.errors[name] = f"{label}{joint}{message}: {hint}"
        return None
    return value


def read_price(form: Form, name: str, label: str) -> Decimal | None:
    """A price typed at the till: in the currency's decimals (none for JPY), above 0, at
    most MAX_MONEY, read as the workspace's locale writes numbers."""
    value = form.money(name, maximum=MAX_MONEY)
    example = form.local.entry_money(Decimal("3.5")) if form.local else "3.50"
    return read_typed(form, name, label, value, hint=f"type the price, e.g. {example}")


def read_weight(form: Form, name: str, label: str) -> Decimal | None:
    """A weight in kg typed at the till: to the gram, above 0, at most MAX_QUANTITY."""
    value = form.decimal(name, places=3, maximum=MAX_QUANTITY)
    example = form.local.entry(Decimal("0.425")) if form.local else "0.425"
    return read_typed(form, name, label, value, hint=f"type the kg the scale shows, e.g. {example}")


def read_discount(form: Form, name: str, label: str) -> tuple[Decimal, bool] | None:
    """A discount as typed at the till: an amount ("1.50", in the currency's decimals) or
    a percentage ("10%", 0 to 100, up to 2 decimals), in the workspace's locale ("1,50"
    in German); blank is none. (value, is it a percentage), or None with the error in
    ``form``."""
    raw = str(form.data.get(name) or "").strip()
    percent = raw.endswith("%")
    probe = Form({name: raw[:-1].strip() if percent else raw}, local=form.local)
    bounds = {"minimum": ZERO, "required": False, "default": ZERO}
    if percent:
        value = probe.decimal(name, places=2, maximum=HUNDRED, **bounds)
    else:
        value = probe.money(name, maximum=MAX_MONEY, **bounds)
    if probe.errors:
        amount = form.local.entry_money(Decimal("1.5")) if form.local else "1.50"
        form.error(
            name, f"{label} {probe.errors[name]}: type an amount ({amount}) or a percentage (10%)"
        )
        return None
    return value, percent


def discount_entry(local, value: Decimal, percent: bool) -> str:
    """A discount as its field shows it, so it reads back the same: "10%", "1,50"."""
    if not value:
        return ""
    return f"{local.entry(value)}%" if percent else local.entry_money(value)


def typed_amount(local, item: dict[str, str]) -> Decimal | None:
    """A payment's amount as typed (``{"amount": "1.234,50"}``) read in the workspace's
    locale and currency; None if blank or not an amount (the cart form says why)."""
    return Form(item, local=local).money("amount", minimum=ZERO, required=False)


def tendered(local, payments: dict[str, dict[str, str]]) -> Decimal | None:
    """What the payments typed come to, or None when nothing is typed or something typed
    is not an amount (then no change is shown; the form says what is wrong)."""
    paid, typed = ZERO, False
    for item in payments.values():
        if not (item.get("amount") or "").strip():
            continue
        value = typed_amount(local, item)
        if value is None:
            return None
        paid, typed = paid + value, True
    return paid if typed else None


def quick_tenders(due: Decimal, count: int = 4, quantum: Decimal = CENT) -> list[Decimal]:
    """The next round amounts above ``due`` a customer is likely to hand over, smallest
    first, in the currency's decimals (``quantum``): 13.40 -> 14, 15, 20, 50."""
    amounts = []
    for step in ROUND_STEPS:
        amount = (due / step).to_integral_value(ROUND_CEILING) * step
        if amount > due and amount not in amounts:
            amounts.append(amount)
    return [a.quantize(quantum) for a in amounts[:count]]


def age(since: dt.datetime, now: dt.datetime | None = None) -> str:
    """How long ago, as a person says it at the till: "3 min", "2 h 5 min", "1 d 4 h"."""
    minutes = max(0, int(((now or dt.datetime.now(dt.UTC)) - since).total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _tiles_module():
    """salesapp.products.tiles, when the tiles are there (another part of issue 17)."""
    try:
        from ..products import tiles
    except ImportError:  # pragma: no cover - present in this tree
        return None
    return tiles


@view_defaults(renderer="sales/pos.jinja2", permission="sales.create")
class PointOfSale:
    """The till: one cart per screen, on the register the browser rings on."""

    def __init__(self, request):
        self.request = request
        self.sales = request.find_service(SaleService)
        self.inventory = request.find_service(InventoryService)
        self.location = self._location()
        self.register = till.till_register(request, self.location.id)
        self.cart = Cart.for_request(request, self.register.id if self.register else None)

    def _location(self):
        chosen = parse_uuid(self.request.session.get(POS_LOCATION))
        location = self.inventory.location(chosen) if chosen else None
        if location is None or not location.is_active or not self.request.tenant.multi_location:
            location = self.inventory.default_location()
        return location

    def _search(self, errors):
        """The product and customer searches of the query string, and their errors."""
        request = self.request
        search = Form(request.params)
        q = search.text("q", max_length=100)
        customer_q = search.text("customer_q", max_length=100)
        status = None
        if search.errors:
            labels = labelled(search.errors, SEARCH_LABELS)
            shown = {"code": labels.get("q"), "customer_id": labels.get("customer_q")}
            errors.update({k: v for k, v in shown.items() if v and k not in errors})
            q, customer_q, status = "", "", 400
        results = request.find_service(ProductService).search(q, limit=20) if q else []
        customers = (
            request.find_service(CustomerService).search(customer_q, limit=10) if customer_q else []
        )
        return {
            "q": q,
            "results": results,
            "customer_q": customer_q,
            "customers": customers,
        }, status

    def _quote(self, cart: Cart | None = None):
        """The quote of ``cart`` (this till's), its discount on the whole sale and a
        Manager's approval kept with it counted; SaleError, DiscountOverCap."""
        cart = cart or self.cart
        approver, up_to = approval_of(self.request, cart)
        return self.sales.quote(
            cart.lines, cart_discount=cart.discount, approver=approver, approved_up_to=up_to
        )

    def _priced(self):
        """The cart's quote (None if empty or refused), its errors, the discount to be
        approved (a DiscountOverCap, else None), and its products."""
        quote, errors, products, over_cap = None, {}, {}, None
        if self.cart.lines:
            try:
                quote = self._quote()
            except DiscountOverCap as exc:
                errors, over_cap = exc.errors, exc
            except SaleError as exc:
                errors = exc.errors
            if quote is not None:  # its lines have the products: no second look-up
                products = {line.product.id: line.product for line in quote.lines}
            else:
                ids = [line.product_id for line in self.cart.lines]
                products = {
                    p.id: p
                    for p in self.request.dbsession.scalars(
                        select(Product).where(Product.id.in_(ids))
                    )
                }
        return quote, errors, products, over_cap

    def _tiles(self):
        tiles = _tiles_module()
        if tiles is None:
            return None
        category = Form(self.request.params).text("category", max_length=100) or None
        return tiles.till_tiles(self.request.dbsession, self.location.id, category)

    def _cart_values(self, errors: dict, payments=None) -> dict:
        """What the cart piece (``sales/_cart.jinja2``) renders, with a fresh sale key."""
        request = self.request
        local = request.local
        quote, cart_errors, products, over_cap = self._priced()
        payments = payments if payments is not None else self.cart.payments
        paid = tendered(local, payments)
        settings = workspace_settings(request)
        return {
            "over_cap": over_cap,
            "approvers": (
                approvers(request, self.location.id, self.register.id if self.register else None)
                if over_cap
                else []
            ),
            "cart": self.cart,
            "products": products,
            "on_hand": self.inventory.on_hand(products, self.location.id) if products else {},
            "quote": quote,
            "errors": {**cart_errors, **errors},
            "payments": payments,
            #: what the payments typed leave as change (or still due: negative)
            "change": paid - quote.total if quote and paid is not None else None,
            "tenders": quick_tenders(quote.total, quantum=local.quantum) if quote else [],
            "tax_included": settings.prices_include_tax,
            #: the discounts as their fields show them ("1,50", "10%")
            "line_discounts": [
                discount_entry(
                    local,
                    line.percent if line.percent is not None else line.discount,
                    line.percent is not None,
                )
                for line in self.cart.lines
            ],
            "sale_discount": discount_entry(
                local, self.cart.discount.value, self.cart.discount.percent
            ),
            "location": self.location,
            "ringing": till.ringing(request, self.register),
            "customer": (
                request.dbsession.get(Customer, (request.tenant.id, self.cart.customer_id))
                if self.cart.customer_id
                else None
            ),
            "methods": [(m, PAYMENT_LABELS[m]) for m in PAYMENT_METHODS],
            "currency": settings.currency,
            "sale_key": str(uuid.uuid4()),
        }

    def _asked(self) -> Ask | None:
        """The prompt ``/pos?ask=<product id>`` names (an add redirected there), if that
        product is one to ask about."""
        product_id = parse_uuid(self.request.GET.get("ask"))
        product = self.request.find_service(ProductService).get(product_id) if product_id else None
        if product is None or not product.is_active or not asks_for(product):
            return None
        return Ask(product)

    def page(self, *, errors=None, payments=None, status=200, ask: Ask | None = None):
        request = self.request
        errors = dict(errors or {})
        searched, search_status = self._search(errors)
        values = self._cart_values(errors, payments)
        ringing = values["ringing"]
        request.response.status_int = search_status or status
        return {
            **searched,
            **values,
            "locations": self.inventory.locations() if request.tenant.multi_location else [],
            "register": self.register,
            "registers": [] if self.register else till.registers_at(request, self.location.id),
            "parked": len(parked_carts(request.dbsession, ringing.register_id)),
            "tiles": self._tiles(),
            "ask": ask or self._asked(),
        }

    def _cart_fragment(self) -> Response:
        """The cart piece alone: a scan's answer to pos.js, which swaps it in."""
        body = render("sales/_cart.jinja2", self._cart_values({}), request=self.request)
        response = Response(body, content_type="text/html", charset="utf-8")
        response.headers[FRAGMENT_HEADER] = CART_FRAGMENT
        return response

    def _category(self) -> str | None:
        """The tile category open on the screen (kept through an add)."""
        return self.request.POST.get("category") or self.request.params.get("category")

    def _back(self):
        """Back to the till, keeping the open tile category."""
        category = self._category()
        query = {"category": category} if category else {}
        return HTTPSeeOther(location=self.request.route_url("pos", _query=query))

    def _brings_values(self, product: Product) -> bool:
        """Does the post bring what ``product`` needs (the prompt's fields)?"""
        post = self.request.POST
        return (not product.open_price or "price" in post) and (
            not product.sold_by_weight or "quantity" in post
        )

    @view_config(route_name="pos", request_method="GET")
    def show(self):
        return self.page()

    @view_config(route_name="pos.add", request_method="POST")
    def add(self):
        """Add by product id (a result's button or a tile: ``add_product``; the prompt:
        ``product_id``) or by a scanned/typed barcode or SKU. A product with an open price
        or sold by weight is asked about first (``price``, ``quantity``), unless the post
        brings them."""
        request = self.request
        form = Form(request.POST, local=request.local)
        product_id = form.uuid("add_product", required=False) or form.uuid(
            "product_id", required=False
        )
        code = form.text("code", max_length=100)
        if form.errors:
            return self.page(errors=form.errors, status=400)
        products = request.find_service(ProductService)
        product = products.get(product_id) if product_id else None
        if product is None and code:
            product = products.by_barcode(code) or products.by_sku(code)
        if product is None or not product.is_active:
            if code:  # not an exact code: show what matches
                return HTTPSeeOther(location=request.route_url("pos", _query={"q": code}))
            if product_id:  # a tile or a result of a product gone since the page showed
                message = "no such product for sale (any more): scan it or search for it"
            else:
                message = "scan a barcode, or type a SKU or a name, then press Enter"
            return self.page(errors={"code": message}, status=400)
        if asks_for(product) and not self._brings_values(product):
            query = {"ask": str(product.id)}
            if self._category():
                query["category"] = self._category()
            return HTTPSeeOther(location=request.route_url("pos", _query=query))
        price = (
            read_price(form, "price", f"Price of {product.name}") if product.open_price else None
        )
        if product.sold_by_weight:
            quantity = read_weight(form, "quantity", f"Weight of {product.name} (kg)")
        else:
            quantity = form.decimal(
                "quantity", places=3, minimum=GRAM, maximum=MAX_QUANTITY, default=Decimal("1")
            )
        if form.errors:
            if asks_for(product):  # the prompt again, with what was typed
                typed = {name: (form.data.get(name) or "").strip()[:30] for name in TYPED}
                ask = Ask(product, typed["price"], typed["quantity"], form.errors)
                return self.page(ask=ask, status=400)
            return self.page(errors={"code": f"Quantity {form.errors['quantity']}"}, status=400)
        if not self.cart.add(product.id, quantity, price=price):
            return self.page(
                errors={"cart": "the cart is full: complete this sale first"}, status=400
            )
        self.cart.save()
        self.cart.remember(request.session)
        if request.headers.get(FRAGMENT_HEADER) == CART_FRAGMENT:
            return self._cart_fragment()
        return self._back()

    # -- the cart form ------------------------------------------------------------------
    def _apply_lines(self, form: Form) -> None:
        """Quantities, typed prices, discounts and a removal from the cart form."""
        remove = form.integer("remove", minimum=0, required=False)
        kept = []
        for i, line in enumerate(self.cart.lines):
            if remove is not None and remove == i:
                continue
            if f"qty_{i}" in form.data:
                line.quantity = form.decimal(
                    f"qty_{i}",
                    places=3,
                    minimum=Decimal("0.001"),
                    maximum=MAX_QUANTITY,
                    default=line.quantity,
                )
            if f"price_{i}" in form.data:  # an open-price line's typed price, corrected
                line.price = read_price(form, f"price_{i}", "Price") or line.price
            if f"discount_{i}" in form.data:
                typed = read_discount(form, f"discount_{i}", "Discount")
                if typed is not None:
                    value, percent = typed
                    line.discount, line.percent = (ZERO, value) if percent else (value, None)
            kept.append(line)
        self.cart.lines = kept
        if "cart_discount" in form.data:
            typed = read_discount(form, "cart_discount", "Discount on the sale")
            if typed is not None:
                self.cart.discount = CartDiscount(*typed)

    def _apply_customer(self, form: Form) -> None:
        if "customer_id" not in form.data:
            return
        customer_id = form.uuid("customer_id", required=False)
        db, tenant_id = self.request.dbsession, self.request.tenant.id
        if customer_id and db.get(Customer, (tenant_id, customer_id)) is None:
            form.error("customer_id", "no such customer")
        elif not form.errors.get("customer_id"):
            self.cart.customer_id = customer_id

    def _read_payments(self, form: Form) -> tuple[list[PaymentInput], dict]:
        """The payments typed (parsed; errors in ``form``) and as typed (shown back and
        kept with the cart, so an update never loses them)."""
        payments, typed = [], {}
        for method in PAYMENT_METHODS:
            if f"pay_{method}" not in form.data and f"ref_{method}" not in form.data:
                continue
            amount = form.money(f"pay_{method}", minimum=ZERO, maximum=MAX_PAYMENT, required=False)
            reference = form.text(f"ref_{method}", max_length=100)
            typed[method] = {
                "amount": (form.data.get(f"pay_{method}") or "").strip()[:30],
                "reference": reference,
            }
            if amount:
                payments.append(PaymentInput(method, amount, reference))
        return payments, typed

    def _apply_tender(self, form: Form, typed: dict) -> None:
        """A quick-tender button (``tender`` = ``method:amount`` or ``method:exact``):
        that method's amount becomes the round amount, or what is still due."""
        method, _, amount = (form.data.get("tender") or "").partition(":")
        if not method:
            return
        if method not in PAYMENT_METHODS:
            form.error("tender", f"must name one of {', '.join(PAYMENT_METHODS)}")
            return
        local = self.request.local
        if amount == "exact":
            tender = self._still_due(typed, method)
        else:  # the button's value: a plain decimal, as the page wrote it
            tender = Form({"tender": amount}).decimal(
                "tender", places=local.decimals, minimum=ZERO, maximum=MAX_PAYMENT
            )
        if tender is None:
            form.error("tender", "must be an amount")
            return
        # kept as the cashier would have typed it, in the workspace's locale
        typed[method] = {
            **typed.get(method, {"reference": ""}),
            "amount": local.entry_money(tender),
        }

    def _still_due(self, typed: dict, method: str) -> Decimal:
        """The cart's total less what the other methods were given (never negative)."""
        try:
            total = self._quote().total
        except SaleError:
            return ZERO
        others = ZERO
        for other, item in typed.items():
            value = typed_amount(self.request.local, item)
            if other != method and value:
                others += value
        return max(ZERO, total - others)

    @view_config(route_name="pos.update", request_method="POST")
    def update(self):
        """Recalculate: quantities, discounts, a removal, the customer, the payments typed
        (kept with the cart), a quick tender. What Enter does in any cart field."""
        form = Form(self.request.POST, local=self.request.local)
        self._apply_lines(form)
        self._apply_customer(form)
        _payments, typed = self._read_payments(form)
        typed = {**self.cart.payments, **typed}
        self._apply_tender(form, typed)
        if form.errors:
            return self.page(errors=form.errors, payments=typed, status=400)
        self.cart.payments = typed
        self.cart.save()
        self.cart.remember(self.request.session)
        return self._back()

    @view_config(route_name="pos.approve", request_method="POST")
    def approve_discount(self):
        """A Manager's (or Admin's) PIN typed on this till approves the cart's discounts
        over the seller's cap (salesapp.sales.approval); a wrong PIN counts against that
        person's PIN allowance and is in the audit trail."""
        request = self.request
        request.environ[KEEP_WRITES] = True  # a wrong PIN counts, in the audit trail too
        form = Form(request.POST)
        approver_id = form.uuid("approver_id", required=False)
        if approver_id is None:
            return self.page(errors={"approval": "Choose who approves."}, status=400)
        try:
            problem = approve(request, self.cart, approver_id, request.POST.get("pin", ""))
        except SignInThrottled as refused:
            request.response.headers["Retry-After"] = str(refused.retry_after)
            return self.page(errors={"approval": str(refused)}, status=refused.status)
        if problem:
            return self.page(errors={"approval": problem}, status=400)
        self.cart.remember(request.session)
        request.session.flash("Discount approved.")
        return self._back()

    @view_config(route_name="pos.clear", request_method="POST")
    def clear(self):
        self.cart.clear(self.request.session)
        return HTTPSeeOther(location=self.request.route_url("pos"))

    @view_config(route_name="pos.location", request_method="POST")
    def choose_location(self):
        location_id = parse_uuid(self.request.POST.get("location_id"))
        location = self.inventory.location(location_id) if location_id else None
        if location is None or not location.is_active or not self.request.tenant.multi_location:
            return self.page(errors={"location_id": "choose one of the locations"}, status=400)
        self.request.session[POS_LOCATION] = str(location.id)
        self.request.session.pop(till.TILL_REGISTER, None)
        return HTTPSeeOther(location=self.request.route_url("pos"))

    @view_config(route_name="pos.register", request_method="POST")
    def choose_register(self):
        """The register this browser rings on (one of the location's)."""
        register = till.usable_register(
            self.request, self.request.POST.get("register_id"), self.location.id
        )
        if register is None:
            return self.page(
                errors={"register_id": f"choose one of the registers of {self.location.name}"},
                status=400,
            )
        self.request.session[till.TILL_REGISTER] = str(register.id)
        return HTTPSeeOther(location=self.request.route_url("pos"))

    # -- completing -----------------------------------------------------------------------
    @view_config(route_name="pos.complete", request_method="POST")
    def complete(self):
        """Complete the sale once per form (its hidden ``sale_key``): a second press, or
        a retry after a network blip, shows the first sale's receipt."""
        request = self.request
        form = Form(request.POST, local=request.local)
        key, asked = None, None
        if "sale_key" in request.POST:
            try:
                key = check_key(request.POST["sale_key"])
                asked = fingerprint(
                    sorted((k, v) for k, v in request.POST.items() if k not in NOT_ASKED)
                )
                done = self.sales.completed_with(key, asked)
            except SaleError as exc:
                return self.page(errors=exc.errors, status=400)
            if done is not None:
                return self._receipt(done, again=True)
        self._apply_lines(form)
        self._apply_customer(form)
        payments, typed = self._read_payments(form)
        if form.errors:
            return self.page(errors=form.errors, payments=typed, status=400)
        ringing = till.ringing(request, self.register)
        if ringing.refusal:
            return self.page(errors={"shift": ringing.refusal}, payments=typed, status=400)
        if ringing.register is None and till.registers_at(request, self.location.id):
            message = f"choose the register of {self.location.name} you ring on"
            return self.page(errors={"register_id": message}, payments=typed, status=400)
        approver, up_to = approval_of(request, self.cart)
        where = {
            "location_id": self.location.id,
            "customer_id": self.cart.customer_id,
            "register_id": ringing.register_id,
            "shift_id": ringing.shift_id,
            "cart_discount": self.cart.discount,
            "approver": approver,
            "approved_up_to": up_to,
        }
        lines = self.cart.lines
        try:
            if key is None:
                sale, new = self.sales.complete(lines, payments, **where), True
            else:
                sale, new = self.sales.complete_once(key, asked, lines, payments, **where)
        except FormError as exc:
            return self.page(errors=exc.errors, payments=typed, status=400)
        if not new:
            return self._receipt(sale, again=True)
        self.cart.clear(request.session)
        change = request.local.cash(sale.change_due)
        request.session.flash(f"Sale {sale.number} completed. Change due: {change}")
        return HTTPSeeOther(location=request.route_url("sales.receipt", id=sale.id))

    def _receipt(self, sale, *, again: bool):
        if again:
            self.request.session.flash(
                f"Sale {sale.number} was already completed by this form; nothing was "
                "charged twice. Here is its receipt."
            )
        return HTTPSeeOther(location=self.request.route_url("sales.receipt", id=sale.id))

    # -- parking --------------------------------------------------------------------------
    @view_config(route_name="pos.park", request_method="POST")
    def park(self):
        """Put the cart aside with a label (a customer's name); the till gets a new one."""
        form = Form(self.request.POST)
        label = form.text("label", max_length=MAX_LABEL)
        if form.errors:
            return self.page(errors={"park_label": f"Label {form.errors['label']}"}, status=400)
        if not self.cart.lines:
            return self.page(
                errors={"cart": "the cart is empty: there is nothing to park"}, status=400
            )
        self.cart.park(self.request.session, label)
        self.request.session.flash(f"Sale parked{': ' + label if label else ''}.")
        return HTTPSeeOther(location=self.request.route_url("pos"))

    @view_config(route_name="pos.carts", request_method="GET", renderer="sales/parked.jinja2")
    def parked(self):
        """The parked carts of this register, with their age, lines and total."""
        rows = parked_carts(self.request.dbsession, self.register.id if self.register else None)
        return {"carts": [self._summary(row) for row in rows], "register": self.register}

    def _summary(self, row: PosCart) -> dict:
        lines = read_lines(row)
        try:
            total = (
                self._quote(Cart(self.request.dbsession, self.cart.till, row)).total
                if lines
                else ZERO
            )
        except SaleError:
            total = None  # a product gone or repriced out of bounds: shown when resumed
        return {"cart": row, "lines": len(lines), "total": total, "age": age(row.updated_at)}

    def _parked_or_404(self) -> PosCart:
        cart_id = parse_uuid(self.request.matchdict["id"])
        row = self.request.dbsession.get(PosCart, (self.request.tenant.id, cart_id))
        if cart_id is None or row is None or row.status != CART_PARKED:
            raise HTTPNotFound()
        if row.register_id != (self.register.id if self.register else None):
            raise HTTPNotFound()
        return row

    @view_config(route_name="pos.resume", request_method="POST")
    def resume(self):
        """Put a parked cart back on the screen; a cart on the screen with lines is parked
        in its place, so nothing is lost."""
        row = self._parked_or_404()
        if self.cart.lines:
            self.cart.park(self.request.session, "set aside to resume another sale")
        elif self.cart.row is not None:
            self.cart.clear(self.request.session)
        resume(self.request, row)
        return HTTPSeeOther(location=self.request.route_url("pos"))

    @view_config(route_name="pos.discard", request_method="GET", renderer="sales/discard.jinja2")
    def discard_confirm(self):
        return self._summary(self._parked_or_404())

    @view_config(route_name="pos.discard", request_method="POST", renderer="sales/discard.jinja2")
    def discard(self):
        """Throw a parked cart away (after the confirmation page)."""
        row = self._parked_or_404()
        if not self.request.POST.get("confirm"):
            self.request.response.status_int = 400
            return {**self._summary(row), "error": "tick the box to confirm"}
        self.request.dbsession.delete(row)
        self.request.session.flash("The parked sale was discarded.")
        return HTTPSeeOther(location=self.request.route_url("pos.carts"))

    # -- customers ------------------------------------------------------------------------
    @view_config(route_name="pos.customer", request_method="POST", permission="customers.quick_add")
    def quick_add_customer(self):
        """A new customer from a name and a phone, put on the cart."""
        form = Form(self.request.POST)
        name = form.text("new_customer_name", required=True, max_length=200)
        phone = form.text("new_customer_phone", max_length=50)
        if form.errors:
            labels = {"new_customer_name": "Name", "new_customer_phone": "Phone"}
            errors = {"new_customer": "; ".join(labelled(form.errors, labels).values())}
            return self.page(errors=errors, status=400)
        customer = self.request.find_service(CustomerService).create(name=name, phone=phone)
        self.cart.customer_id = customer.id
        self.cart.save()
        self.cart.remember(self.request.session)
        self.request.session.flash(f"Customer {customer.name} added to this sale.")
        return HTTPSeeOther(location=self.request.route_url("pos"))
