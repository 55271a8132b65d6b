"""The JSON API under /api: products, customers, sales (the point of sale's own
service), stock levels, and the OpenAPI document that describes them.

Only an API token authenticates here (salesapp.security: a session cookie counts for
nothing under /api), so CSRF cannot apply and the views say ``require_csrf=False``.
Permissions are the web pages' own. Views are thin: read and check the input
(:mod:`.jsonio`), call the domain's service, represent the result. Money and
quantities travel as strings ("12.50") so decimals stay exact; ids as UUID strings.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

from pyramid.view import view_config, view_defaults

from ..customers.services import CUSTOMER_FIELDS, CustomerService, read_customer_fields
from ..forms import FormError, parse_uuid
from ..inventory.services import InventoryService
from ..products.services import (
    MAX_MONEY,
    PRODUCT_FIELDS,
    TILL_FLAGS,
    VALUE_FIELDS,
    ProductService,
    read_product_fields,
)
from ..sales import till
from ..sales.models import PAYMENT_METHODS
from ..sales.services import (
    HUNDRED,
    MAX_LINES,
    MAX_QUANTITY,
    ZERO,
    CartDiscount,
    CartLine,
    KeyReused,
    PaymentInput,
    SaleError,
    SaleService,
    check_key,
    fingerprint,
)
from .jsonio import ApiError, ApiForm, invalid, read_json, read_paging
from .openapi import LINE_AMOUNTS, SALE_AMOUNTS, document

ACTIVE_FILTERS = ("all", "yes", "no")
SALE_FIELDS = (
    "lines",
    "payments",
    "customer_id",
    "location_id",
    "register_id",
    "cart_discount",
    "cart_discount_percent",
)
LINE_FIELDS = ("product_id", "sku", "quantity", "discount", "discount_percent", "price")
PAYMENT_FIELDS = ("method", "amount", "reference")
MAX_PAYMENTS = 10
MAX_PAYMENT = Decimal("10000000")  # as on the point of sale
MIN_QUANTITY = Decimal("0.001")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9998, 12, 31)


# -- representations -----------------------------------------------------------------
CENT, MILLI = Decimal("0.01"), Decimal("0.001")


def _num(value, places=CENT) -> str | None:
    """A decimal as a string with the column's scale: "12.50" for money and rates,
    "3.000" for quantities (the same before and after a round trip to the database)."""
    return None if value is None else format(Decimal(value).quantize(places), "f")


def _qty(value) -> str | None:
    return _num(value, MILLI)


def _time(value) -> str | None:
    return None if value is None else value.isoformat()


def _id(value) -> str | None:
    return None if value is None else str(value)


def sees_cost(request) -> bool:
    """Whether the token's user may see cost prices (never a Cashier): as on the pages."""
    return bool(request.has_permission("products.edit") or request.has_permission("reports.view"))


def product_json(product, *, with_cost: bool) -> dict:
    found = {
        "id": str(product.id),
        "sku": product.sku,
        "barcode": product.barcode,
        "name": product.name,
        "category": product.category,
        "unit_price": _num(product.unit_price),
        "cost": _num(product.cost),
        "tax_rate": _num(product.tax_rate),
        "reorder_level": _qty(product.reorder_level),
        "open_price": product.open_price,
        "sold_by_weight": product.sold_by_weight,
        "is_active": product.is_active,
        "created_at": _time(product.created_at),
        "updated_at": _time(product.updated_at),
    }
    if not with_cost:
        del found["cost"]
    return found


def customer_json(customer) -> dict:
    return {
        "id": str(customer.id),
        "name": customer.name,
        "phone": customer.phone,
        "email": customer.email,
        "notes": customer.notes,
        "created_at": _time(customer.created_at),
    }


def sale_json(sale) -> dict:
    return {
        "id": str(sale.id),
        "number": sale.number,
        "status": sale.status,
        "created_at": _time(sale.created_at),
        "location_id": str(sale.location_id),
        "user_id": str(sale.user_id),
        "customer_id": _id(sale.customer_id),
        "register_id": _id(sale.register_id),
        "shift_id": _id(sale.shift_id),
        "discount_approved_by": _id(sale.discount_approved_by),
        **{name: _num(getattr(sale, name)) for name in SALE_AMOUNTS},
        "lines": [
            {
                "id": str(line.id),
                "product_id": str(line.product_id),
                "sku": line.sku,
                "description": line.description,
                "quantity": _qty(line.quantity),
                "refunded_quantity": _qty(line.refunded_quantity),
                **{name: _num(getattr(line, name)) for name in LINE_AMOUNTS},
            }
            for line in sale.lines
        ],
        "payments": [
            {"method": p.method, "amount": _num(p.amount), "reference": p.reference}
            for p in sale.payments
        ],
    }


def stock_json(product, location, on_hand) -> dict:
    return {
        "product_id": str(product.id),
        "sku": product.sku,
        "name": product.name,
        "location_id": str(location.id),
        "location": location.name,
        "on_hand": _qty(on_hand),
        "reorder_level": _qty(product.reorder_level),
        "low": on_hand <= product.reorder_level,
    }


def page_json(items, limit, offset, total=None, more=None) -> dict:
    """A page of a list: the items and where they are in it (``has_more``: another
    page follows; ``total`` where counting is cheap)."""
    page = {"items": items, "limit": limit, "offset": offset}
    if total is not None:
        page["total"] = total
        more = offset + len(items) < total
    page["has_more"] = bool(more)
    return page


# -- input helpers -------------------------------------------------------------------
def query_form(request) -> ApiForm:
    """The query string as an ApiForm; 400 if it does not decode as UTF-8."""
    try:
        params = request.GET
    except UnicodeDecodeError:
        raise invalid({"url": "is not valid UTF-8 once percent-decoded"}) from None
    return ApiForm(params)


def read_day(form: ApiForm, name: str) -> dt.date | None:
    raw = form.text(name, max_length=10)
    if not raw or name in form.errors:
        return None
    try:
        day = dt.date.fromisoformat(raw) if DATE.fullmatch(raw) else None
    except ValueError:
        day = None
    if day is None:
        form.error(name, f"must be a date like 2024-12-31, got {raw!r}")
    elif not FIRST_DAY <= day <= LAST_DAY:
        form.error(name, f"must be between {FIRST_DAY} and {LAST_DAY}")
        day = None
    return day


def not_found(what: str, field: str | None = None) -> ApiError:
    errors = {field: f"no such {what}"} if field else {}
    return ApiError(404, f"No such {what} in this workspace", errors)


def created(request, body: dict, location: str | None = None) -> dict:
    request.response.status_int = 201
    if location:
        request.response.headers["Location"] = location
    return body


API_VIEW = {"renderer": "json", "require_csrf": False}


# -- the document ----------------------------------------------------------------------
@view_config(route_name="api.openapi", request_method="GET", **API_VIEW)
def openapi_document(request):
    """The OpenAPI 3 document: public, like any API's documentation."""
    return document()


# -- products ------------------------------------------------------------------------
@view_defaults(route_name="api.products", **API_VIEW)
class ProductsApi:
    def __init__(self, request):
        self.request = request
        self.products = request.find_service(ProductService)

    @view_config(request_method="GET", permission="products.view")
    def list(self):
        form = query_form(self.request)
        q = form.text("q", max_length=200)
        category = form.text("category", max_length=100)
        active = form.choice("active", ACTIVE_FILTERS, required=False, default="all")
        limit, offset = read_paging(form)
        form.check()
        rows, total = self.products.listing(
            q, category=category, active=active, limit=limit, offset=offset
        )
        with_cost = sees_cost(self.request)
        return page_json(
            [product_json(p, with_cost=with_cost) for p in rows], limit, offset, total=total
        )

    @view_config(request_method="POST", permission="products.edit")
    def create(self):
        form = ApiForm(
            read_json(self.request), known=(*PRODUCT_FIELDS, *TILL_FLAGS), nullable={"barcode"}
        )
        flags = {name: form.boolean(name, default=False) for name in TILL_FLAGS}
        fields = {**read_product_fields(form, open_price=flags["open_price"]), **flags}
        fields["is_active"] = form.boolean("is_active", default=True)
        form.check()
        try:
            product = self.products.create(**fields)
        except FormError as exc:
            raise conflict(exc) from None
        url = self.request.route_url("api.product", id=product.id)
        return created(self.request, product_json(product, with_cost=True), url)


def conflict(exc: FormError) -> ApiError:
    return invalid(exc.errors, "; ".join(exc.errors.values()), status=409)


@view_defaults(route_name="api.product", **API_VIEW)
class ProductApi:
    def __init__(self, request):
        self.request = request
        self.products = request.find_service(ProductService)

    def product(self):
        product = self.products.get(self.request.matchdict["id"])
        if product is None:
            raise not_found("product")
        return product

    @view_config(request_method="GET", permission="products.view")
    def get(self):
        return product_json(self.product(), with_cost=sees_cost(self.request))

    @view_config(request_method="PATCH", permission="products.edit")
    def update(self):
        product = self.product()
        data = read_json(self.request)
        form = ApiForm(data, known=(*PRODUCT_FIELDS, *TILL_FLAGS), nullable={"barcode"})
        flags = {name: form.boolean(name) for name in TILL_FLAGS if name in data}
        open_price = flags.get("open_price", product.open_price)
        fields = read_product_fields(
            form, [name for name in VALUE_FIELDS if name in data], open_price=open_price
        )
        fields.update(flags)
        if "is_active" in data:
            fields["is_active"] = form.boolean("is_active")
        form.check()
        try:
            self.products.update(product, **fields)
        except FormError as exc:
            raise conflict(exc) from None
        return product_json(product, with_cost=True)


# -- customers -----------------------------------------------------------------------
@view_defaults(route_name="api.customers", **API_VIEW)
class CustomersApi:
    def __init__(self, request):
        self.request = request
        self.customers = request.find_service(CustomerService)

    @view_config(request_method="GET", permission="customers.view")
    def list(self):
        form = query_form(self.request)
        q = form.text("q", max_length=200)
        limit, offset = read_paging(form)
        form.check()
        rows = self.customers.search(q, limit=limit, offset=offset)
        total = self.customers.count(q)
        return page_json([customer_json(c) for c in rows], limit, offset, total=total)

    @view_config(request_method="POST", permission="customers.edit")
    def create(self):
        form = ApiForm(read_json(self.request), known=CUSTOMER_FIELDS)
        fields = read_customer_fields(form)
        form.check()
        customer = self.customers.create(**fields)
        return created(self.request, customer_json(customer))


# -- sales ---------------------------------------------------------------------------
@dataclass
class SaleInput:
    """A sale as the body asks for it, checked for type and bounds; nothing looked up."""

    #: {product_id, sku, quantity, discount, percent, price} per line, in order
    lines: list[dict]
    payments: list[PaymentInput]
    customer_id: uuid.UUID | None
    location_id: uuid.UUID | None
    register_id: uuid.UUID | None
    cart_discount: CartDiscount
    #: the body's name for the cart discount, to name it in a refusal
    cart_discount_field: str = "cart_discount"


def _either(form: ApiForm, data: dict, amount: str, percent: str) -> None:
    """An error on ``percent`` when ``data`` gives both ways of saying one discount."""
    if amount in data and percent in data:
        form.error(percent, f"give {amount} (an amount) or {percent}, not both")


def read_sale(data: dict) -> SaleInput:
    """The sale's lines (product_id or sku, quantity, discount or discount_percent, a
    typed price), payments, customer, location, register and cart discount, checked for
    type and bounds (400, every problem at once); the products are looked up later."""
    form = ApiForm(data, known=SALE_FIELDS, nullable={"customer_id", "location_id", "register_id"})
    lines = []
    for i, item in enumerate(form.array("lines", max_items=MAX_LINES)):
        where = f"lines[{i}]"
        if not isinstance(item, dict):
            form.error(where, "must be an object with product_id or sku, and quantity")
            continue
        line = ApiForm(item, known=LINE_FIELDS)
        product_id = line.uuid("product_id", required="product_id" in item)
        sku = line.text("sku", required="sku" in item, max_length=64)
        if ("product_id" in item) == ("sku" in item):
            line.error("product_id", "give product_id or sku (exactly one)")
        quantity = line.decimal("quantity", places=3, minimum=MIN_QUANTITY, maximum=MAX_QUANTITY)
        discount = line.decimal(
            "discount", places=2, minimum=ZERO, maximum=MAX_MONEY, required=False
        )
        percent = line.decimal(
            "discount_percent", places=2, minimum=ZERO, maximum=HUNDRED, required=False
        )
        _either(line, item, "discount", "discount_percent")
        price = line.decimal("price", places=2, minimum=ZERO, maximum=MAX_MONEY, required=False)
        form.merge(where, line)
        lines.append(
            {
                "product_id": product_id,
                "sku": sku,
                "quantity": quantity,
                "discount": discount,
                "percent": percent,
                "price": price,
            }
        )
    if data.get("lines") == []:
        form.error("lines", "add at least one line")
    payments = []
    for i, item in enumerate(form.array("payments", required=False, max_items=MAX_PAYMENTS)):
        where = f"payments[{i}]"
        if not isinstance(item, dict):
            form.error(where, "must be an object with method and amount")
            continue
        payment = ApiForm(item, known=PAYMENT_FIELDS)
        method = payment.choice("method", PAYMENT_METHODS)
        amount = payment.decimal("amount", places=2, minimum=ZERO, maximum=MAX_PAYMENT)
        reference = payment.text("reference", max_length=100)
        form.merge(where, payment)
        payments.append(PaymentInput(method, amount, reference))
    customer_id = form.uuid("customer_id", required=False)
    location_id = form.uuid("location_id", required=False)
    register_id = form.uuid("register_id", required=False)
    amount = form.decimal(
        "cart_discount", places=2, minimum=ZERO, maximum=MAX_MONEY, required=False
    )
    percent = form.decimal(
        "cart_discount_percent", places=2, minimum=ZERO, maximum=HUNDRED, required=False
    )
    _either(form, data, "cart_discount", "cart_discount_percent")
    form.check()
    sale = SaleInput(lines, payments, customer_id, location_id, register_id, CartDiscount())
    if percent is not None:
        sale.cart_discount = CartDiscount(percent, percent=True)
        sale.cart_discount_field = "cart_discount_percent"
    elif amount is not None:
        sale.cart_discount = CartDiscount(amount)
    return sale


def sale_errors(errors: dict, sale: SaleInput) -> dict:
    """The sale service's field names (the point of sale's) as the API's: ``quantity:0``
    -> ``lines[0].quantity``, ``product:<id>`` -> the lines of that product, a discount
    by the name the body gave it (``discount_percent``, ``cart_discount_percent``)."""
    lines = sale.lines
    named = {}
    for key, message in errors.items():
        kind, _, rest = key.partition(":")
        at = int(rest) if rest.isascii() and rest.isdigit() else None
        if kind in ("quantity", "price") and at is not None:
            named[f"lines[{rest}].{kind}"] = message
        elif kind == "discount" and at is not None:
            given = "discount_percent" if lines[at]["percent"] is not None else "discount"
            named[f"lines[{rest}].{given}"] = message
        elif kind == "line" and at is not None:
            given = "sku" if lines[at]["sku"] else "product_id"
            named[f"lines[{rest}].{given}"] = message
        elif kind == "product":
            for i, line in enumerate(lines):
                if str(line["product_id"]) == rest:
                    named[f"lines[{i}].quantity"] = message
        elif kind == "cart":
            named["lines"] = message
        elif kind == "cart_discount":
            named[sale.cart_discount_field] = message
        elif kind == "payment":
            named["payments"] = message
        else:
            named[key] = message
    return named


def refused_sale(errors: dict) -> ApiError:
    return invalid(errors, "The sale was refused: " + "; ".join(errors.values()), status=422)


@view_defaults(route_name="api.sales", **API_VIEW)
class SalesApi:
    def __init__(self, request):
        self.request = request
        self.sales = request.find_service(SaleService)

    @view_config(request_method="GET", permission="sales.view")
    def list(self):
        form = query_form(self.request)
        limit, offset = read_paging(form)
        day_from, day_to = read_day(form, "from"), read_day(form, "to")
        form.check()
        rows = self.sales.list(day_from=day_from, day_to=day_to, limit=limit + 1, offset=offset)
        return page_json(
            [sale_json(s) for s in rows[:limit]], limit, offset, more=len(rows) > limit
        )

    def _idempotency(self, body: dict) -> tuple[str | None, str | None]:
        """The ``Idempotency-Key`` header (checked; 400) and the body's fingerprint."""
        raw = self.request.headers.get("Idempotency-Key")
        if raw is None:
            return None, None
        try:
            key = check_key(raw)
        except SaleError as exc:
            raise invalid({"Idempotency-Key": exc.errors["idempotency_key"]}) from None
        return key, fingerprint(body)

    def _replayed(self, sale) -> dict:
        """A retry's answer: 200 with the first sale (the 201 went to the first try)."""
        self.request.response.headers["Location"] = self.request.route_url("api.sale", id=sale.id)
        self.request.response.headers["Idempotent-Replayed"] = "true"
        return sale_json(sale)

    @view_config(request_method="POST", permission="sales.create")
    def create(self):
        """Complete a sale. With an ``Idempotency-Key`` header, at most once per key: a
        retry with the same body answers 200 with the first sale, a different body
        with the same key 409. Rung on ``register_id`` (and its open shift) when the
        body gives one, else without a register (see salesapp.sales.till)."""
        request = self.request
        body = read_json(request)
        key, asked = self._idempotency(body)
        if key is not None:
            try:
                done = self.sales.completed_with(key, asked)
            except KeyReused as exc:
                raise invalid(exc.errors, exc.errors["idempotency_key"], status=409) from None
            if done is not None:
                return self._replayed(done)
        asked_for = read_sale(body)
        cart, location_id, ringing = self._cart(asked_for)
        terms = {
            "location_id": location_id,
            "customer_id": asked_for.customer_id,
            "register_id": ringing.register_id,
            "shift_id": ringing.shift_id,
            "cart_discount": asked_for.cart_discount,
        }
        try:
            if key is None:
                sale, new = self.sales.complete(cart, asked_for.payments, **terms), True
            else:
                sale, new = self.sales.complete_once(key, asked, cart, asked_for.payments, **terms)
        except KeyReused as exc:
            raise invalid(exc.errors, exc.errors["idempotency_key"], status=409) from None
        except FormError as exc:  # DiscountOverCap too: the API has no approval by PIN
            raise refused_sale(sale_errors(exc.errors, asked_for)) from None
        if not new:
            return self._replayed(sale)
        url = request.route_url("api.sale", id=sale.id)
        return created(request, sale_json(sale), url)

    def _cart(self, sale: SaleInput) -> tuple[list[CartLine], uuid.UUID, till.Ringing]:
        """The lines as cart lines, the location (the default one when none is given)
        and where the sale is rung; 422 with every problem found: an unknown SKU, a
        price for a product whose price is fixed, a register that cannot sell here."""
        products = self.request.find_service(ProductService)
        refused = {}
        for i, line in enumerate(sale.lines):
            product = None
            if line["sku"]:
                product = products.by_sku(line["sku"])
                if product is None:
                    refused[f"lines[{i}].sku"] = f"no product has SKU {line['sku']!r}"
                    continue
                line["product_id"] = product.id
            product = product or products.get(line["product_id"])
            # an unknown or inactive product: the sale service says so
            if product is None or not product.is_active:
                continue
            if line["price"] is not None and not product.open_price:
                refused[f"lines[{i}].price"] = (
                    f"{product.name} has a fixed price ({_num(product.unit_price)}); "
                    "leave price out (only an open-price product takes a typed price)"
                )
            elif line["price"] is None and product.open_price:
                refused[f"lines[{i}].price"] = (
                    f"{product.name} has an open price: give the price it sells at"
                )
        location_id = sale.location_id
        if location_id is None:
            # held until the sale is written: the session's identity map keeps objects
            # only while they are referenced, and the sale's own look-up needs no query
            self._default_location = self.request.find_service(InventoryService).default_location()
            location_id = self._default_location.id
        ringing = self._ringing(sale.register_id, location_id, refused)
        if refused:
            raise refused_sale(refused)
        cart = [
            CartLine(
                line["product_id"],
                line["quantity"],
                line["discount"] or ZERO,
                price=line["price"],
                percent=line["percent"],
            )
            for line in sale.lines
        ]
        return cart, location_id, ringing

    def _ringing(self, register_id, location_id, refused: dict) -> till.Ringing:
        """The register the sale is rung on and its open shift, by the till's rule
        (salesapp.sales.till); a register that cannot sell goes into ``refused``."""
        if register_id is None:
            return till.Ringing(None, None)
        location = self.request.find_service(InventoryService).location(location_id)
        if location is None or not location.is_active:
            return till.Ringing(None, None)  # the sale service refuses the location
        register = till.usable_register(self.request, register_id, location.id)
        if register is None:
            refused["register_id"] = (
                f"no active register of {location.name} has this id (it is unknown, "
                f"retired, or at another location); give one of {location.name}'s "
                "registers, or leave register_id out"
            )
            return till.Ringing(None, None)
        ringing = till.ringing(self.request, register)
        if ringing.refusal:
            refused["register_id"] = ringing.refusal
        return ringing


@view_config(route_name="api.sale", request_method="GET", permission="sales.view", **API_VIEW)
def sale_detail(request):
    sale = request.find_service(SaleService).get(parse_uuid(request.matchdict["id"]))
    if sale is None:
        raise not_found("sale")
    return sale_json(sale)


# -- stock ---------------------------------------------------------------------------
@view_config(route_name="api.stock", request_method="GET", permission="stock.view", **API_VIEW)
def stock_levels(request):
    """On hand per product and location (zero where nothing moved), for active products
    at active locations; ``product_id`` and ``location_id`` narrow it down."""
    form = query_form(request)
    product_id = form.uuid("product_id", required=False)
    location_id = form.uuid("location_id", required=False)
    limit, offset = read_paging(form)
    form.check()
    inventory = request.find_service(InventoryService)
    location = inventory.location(location_id) if location_id else None
    if location_id and location is None:
        raise not_found("location", "location_id")
    if product_id is None:
        levels = inventory.levels(location_id=location_id, limit=limit + 1, offset=offset)
        items = [stock_json(lv.product, lv.location, lv.on_hand) for lv in levels[:limit]]
        return page_json(items, limit, offset, more=len(levels) > limit)
    product = request.find_service(ProductService).get(product_id)
    if product is None:
        raise not_found("product", "product_id")
    locations = [location] if location else inventory.locations()
    on_hand = inventory.on_hand([product.id], location_id)
    rows = [
        stock_json(product, loc, on_hand.get((product.id, loc.id), Decimal("0")))
        for loc in locations
    ]
    return page_json(rows[offset : offset + limit], limit, offset, total=len(rows))
