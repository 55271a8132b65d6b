"""The point of sale and the sales pages: receipt, void, refund."""

from __future__ import annotations

from decimal import Decimal

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from ..customers.models import Customer
from ..forms import Form, FormError, parse_uuid
from ..inventory.services import InventoryService
from ..pages import labelled, read_page, refuse
from ..preferences.models import WorkspaceSettings
from ..products.models import Product
from ..products.services import MAX_MONEY, ProductService
from .cart import Cart
from .models import PAYMENT_METHODS
from .services import MAX_QUANTITY, PaymentInput, SaleError, SaleService

POS_LOCATION = "pos_location"
PAYMENT_LABELS = {"cash": "Cash", "card": "Card", "mobile_money": "Mobile money"}
SEARCH_LABELS = {"q": "Search", "customer_q": "Customer search"}


def _workspace_settings(request) -> WorkspaceSettings:
    return request.dbsession.get(WorkspaceSettings, request.tenant.id) or WorkspaceSettings(
        tenant_id=request.tenant.id
    )


@view_defaults(renderer="sales/pos.jinja2", permission="sales.create")
class PointOfSale:
    """The till: find products, build the cart, take payments, complete the sale."""

    def __init__(self, request):
        self.request = request
        self.cart = Cart.for_request(request)
        self.sales = request.find_service(SaleService)
        self.inventory = request.find_service(InventoryService)

    def location(self):
        chosen = parse_uuid(self.request.session.get(POS_LOCATION))
        location = self.inventory.location(chosen) if chosen else None
        if location is None or not location.is_active or not self.request.tenant.multi_location:
            location = self.inventory.default_location()
        return location

    def page(self, *, errors=None, payments=None, status=200):
        request = self.request
        search = Form(request.params)
        q = search.text("q", max_length=100)
        customer_q = search.text("customer_q", max_length=100)
        if search.errors:
            # shown where the page shows problems: by the scan box and the customer box
            labels = labelled(search.errors, SEARCH_LABELS)
            shown = {"code": labels.get("q"), "customer_id": labels.get("customer_q")}
            errors = {**{k: v for k, v in shown.items() if v}, **(errors or {})}
            q, customer_q, status = "", "", 400
        results = []
        if q:
            results = request.find_service(ProductService).search(q, limit=20)
        customers = []
        if customer_q:
            from ..customers.services import CustomerService

            customers = request.find_service(CustomerService).search(customer_q, limit=10)
        quote, cart_errors = None, {}
        if self.cart.lines:
            try:
                quote = self.sales.quote(self.cart.lines)
            except SaleError as exc:
                cart_errors = exc.errors
        products = {}
        if self.cart.lines:
            ids = [line.product_id for line in self.cart.lines]
            products = {
                p.id: p
                for p in request.dbsession.scalars(select(Product).where(Product.id.in_(ids)))
            }
        location = self.location()
        on_hand = self.inventory.on_hand(products, location.id) if products else {}
        customer = (
            request.dbsession.get(Customer, (request.tenant.id, self.cart.customer_id))
            if self.cart.customer_id
            else None
        )
        request.response.status_int = status
        return {
            "q": q,
            "results": results,
            "customer_q": customer_q,
            "customers": customers,
            "cart": self.cart,
            "products": products,
            "on_hand": on_hand,
            "quote": quote,
            "errors": {**cart_errors, **(errors or {})},
            "payments": payments or {},
            "location": location,
            "locations": self.inventory.locations() if request.tenant.multi_location else [],
            "customer": customer,
            "methods": [(m, PAYMENT_LABELS[m]) for m in PAYMENT_METHODS],
            "currency": _workspace_settings(request).currency,
        }

    @view_config(route_name="pos", request_method="GET")
    def show(self):
        return self.page()

    @view_config(route_name="pos.add", request_method="POST")
    def add(self):
        """Add by product id (a result's button) or by a scanned/typed barcode or SKU."""
        request = self.request
        form = Form(request.POST)
        quantity = form.decimal(
            "quantity",
            places=3,
            minimum=Decimal("0.001"),
            maximum=MAX_QUANTITY,
            required=False,
            default=Decimal("1"),
        )
        product_id = form.uuid("product_id", required=False)
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
            return self.page(errors={"code": "no such product"}, status=400)
        if not self.cart.add(product.id, quantity):
            return self.page(
                errors={"cart": "the cart is full: complete this sale first"}, status=400
            )
        self.cart.save()
        return HTTPSeeOther(location=request.route_url("pos"))

    def _apply_form(self, form: Form) -> None:
        """Quantities, discounts, removals and the customer from the cart form."""
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
            if f"discount_{i}" in form.data:
                line.discount = form.decimal(
                    f"discount_{i}",
                    places=2,
                    minimum=Decimal("0"),
                    maximum=MAX_MONEY,
                    required=False,
                    default=Decimal("0"),
                )
            kept.append(line)
        self.cart.lines = kept
        if "customer_id" in form.data:
            customer_id = form.uuid("customer_id", required=False)
            if (
                customer_id
                and self.request.dbsession.get(Customer, (self.request.tenant.id, customer_id))
                is None
            ):
                form.error("customer_id", "no such customer")
            elif not form.errors.get("customer_id"):
                self.cart.customer_id = customer_id

    @view_config(route_name="pos.update", request_method="POST")
    def update(self):
        form = Form(self.request.POST)
        self._apply_form(form)
        if form.errors:
            return self.page(errors=form.errors, status=400)
        self.cart.save()
        return HTTPSeeOther(location=self.request.route_url("pos"))

    @view_config(route_name="pos.clear", request_method="POST")
    def clear(self):
        self.cart.clear()
        return HTTPSeeOther(location=self.request.route_url("pos"))

    @view_config(route_name="pos.location", request_method="POST")
    def choose_location(self):
        location_id = parse_uuid(self.request.POST.get("location_id"))
        location = self.inventory.location(location_id) if location_id else None
        if location is None or not location.is_active or not self.request.tenant.multi_location:
            return self.page(errors={"location_id": "choose one of the locations"}, status=400)
        self.request.session[POS_LOCATION] = str(location.id)
        return HTTPSeeOther(location=self.request.route_url("pos"))

    @view_config(route_name="pos.complete", request_method="POST")
    def complete(self):
        request = self.request
        form = Form(request.POST)
        self._apply_form(form)
        payments, entered = [], {}
        for method in PAYMENT_METHODS:
            amount = form.decimal(
                f"pay_{method}",
                places=2,
                minimum=Decimal("0"),
                maximum=Decimal("10000000"),
                required=False,
            )
            reference = form.text(f"ref_{method}", max_length=100)
            entered[method] = {
                "amount": request.POST.get(f"pay_{method}", ""),
                "reference": reference,
            }
            if amount:
                payments.append(PaymentInput(method, amount, reference))
        if form.errors:
            return self.page(errors=form.errors, payments=entered, status=400)
        self.cart.save()
        try:
            sale = self.sales.complete(
                self.cart.lines,
                payments,
                location_id=self.location().id,
                customer_id=self.cart.customer_id,
            )
        except FormError as exc:
            return self.page(errors=exc.errors, payments=entered, status=400)
        self.cart.clear()
        request.session.flash(f"Sale {sale.number} completed. Change due: {sale.change_due}")
        return HTTPSeeOther(location=request.route_url("sales.receipt", id=sale.id))


def read_invoice_number(form: Form) -> tuple[str, int | None]:
    """The ``number`` filter as typed (shown back), and as an invoice number (None if
    empty or bad). Read by the shared number parser: ``str.isdigit`` is also true of
    "²" and "①", which ``int`` refuses (that was a 500)."""
    typed = form.text("number", max_length=18)
    if not typed or "number" in form.errors:
        return typed, None
    return typed, form.integer("number", minimum=1, required=False)


def _sale_or_404(request):
    sale = request.find_service(SaleService).get(parse_uuid(request.matchdict["id"]))
    if sale is None:
        raise HTTPNotFound()
    return sale


@view_config(route_name="sales.list", renderer="sales/list.jinja2", permission="sales.view")
def sales_list(request):
    sales = request.find_service(SaleService)
    form = Form(request.GET)
    day_from, day_to = form.date("from"), form.date("to")
    typed, number = read_invoice_number(form)
    page = read_page(form)
    values = {
        "sales": [],
        "more": False,
        "page": page,
        "filters": {"from": day_from or "", "to": day_to or "", "number": typed},
        "own_only": not sales.sees_all,
        "errors": form.errors,
    }
    if form.errors:
        return refuse(request, values)
    if number is not None:
        found = sales.by_number(number)
        rows = [found] if found else []
    else:
        rows = sales.list(day_from=day_from, day_to=day_to, limit=51, offset=(page - 1) * 50)
    values.update(sales=rows[:50], more=len(rows) > 50)
    return values


@view_config(route_name="sales.detail", renderer="sales/detail.jinja2", permission="sales.view")
def sale_detail(request):
    sale = _sale_or_404(request)
    sales = request.find_service(SaleService)
    return {
        "sale": sale,
        "refunds": sales.refunds(sale),
        **sales.names(sale),
        "labels": PAYMENT_LABELS,
        "errors": {},
    }


@view_config(route_name="sales.receipt", renderer="sales/receipt.jinja2", permission="sales.view")
def receipt(request):
    sale = _sale_or_404(request)
    sales = request.find_service(SaleService)
    settings = _workspace_settings(request)
    return {
        "sale": sale,
        **sales.names(sale),
        "labels": PAYMENT_LABELS,
        "footer": settings.receipt_footer,
        "currency": settings.currency,
    }


@view_config(
    route_name="sales.void",
    request_method="POST",
    permission="sales.void",
    renderer="sales/detail.jinja2",
)
def void(request):
    sale = _sale_or_404(request)
    sales = request.find_service(SaleService)
    reason = Form(request.POST).text("reason", max_length=500)
    try:
        sales.void(sale, reason)
    except FormError as exc:
        request.response.status_int = 400
        return {
            "sale": sale,
            "refunds": sales.refunds(sale),
            **sales.names(sale),
            "labels": PAYMENT_LABELS,
            "errors": exc.errors,
        }
    request.session.flash(f"Sale {sale.number} voided; its goods are back in stock.")
    return HTTPSeeOther(location=request.route_url("sales.detail", id=sale.id))


@view_defaults(route_name="sales.refund", renderer="sales/refund.jinja2", permission="sales.refund")
class RefundView:
    def __init__(self, request):
        self.request = request
        self.sale = _sale_or_404(request)
        self.sales = request.find_service(SaleService)

    def page(self, errors=None, status=200):
        self.request.response.status_int = status
        return {
            "sale": self.sale,
            "errors": errors or {},
            "labels": PAYMENT_LABELS,
            "methods": PAYMENT_METHODS,
            "values": self.request.POST,
        }

    @view_config(request_method="GET")
    def get(self):
        return self.page()

    @view_config(request_method="POST")
    def post(self):
        form = Form(self.request.POST)
        quantities = {}
        for line in self.sale.lines:
            quantity = form.decimal(
                f"qty_{line.id}",
                places=3,
                minimum=Decimal("0"),
                maximum=MAX_QUANTITY,
                required=False,
                default=Decimal("0"),
            )
            if quantity:
                quantities[line.id] = quantity
        method = form.choice("method", PAYMENT_METHODS)
        reason = form.text("reason", max_length=500)
        if form.errors:
            return self.page(form.errors, 400)
        try:
            refund = self.sales.refund(self.sale, quantities, method=method, reason=reason)
        except FormError as exc:
            return self.page(exc.errors, 400)
        self.request.session.flash(
            f"Refunded {refund.amount} by {PAYMENT_LABELS[method]}; the goods are back in stock."
        )
        return HTTPSeeOther(location=self.request.route_url("sales.detail", id=self.sale.id))
