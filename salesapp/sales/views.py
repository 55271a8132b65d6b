"""The sales pages: list, detail, receipt, void, refund (the till is in till_views)."""

from __future__ import annotations

from decimal import Decimal

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..forms import Form, FormError, parse_uuid
from ..pages import read_page, refuse
from ..preferences.models import WorkspaceSettings
from ..registers.models import Register
from .models import PAYMENT_METHODS
from .services import MAX_QUANTITY, SaleService
from .till import TILL_REGISTER, ringing, usable_register

PAYMENT_LABELS = {"cash": "Cash", "card": "Card", "mobile_money": "Mobile money"}


def workspace_settings(request) -> WorkspaceSettings:
    """The workspace's settings row, or the defaults if none was saved."""
    return request.dbsession.get(WorkspaceSettings, request.tenant.id) or WorkspaceSettings(
        tenant_id=request.tenant.id
    )


def refund_register(request):
    """Where a refund's money goes out: the register this browser rings on (the till's
    choice, any location) and its open shift, or none."""
    register_id = parse_uuid(request.session.get(TILL_REGISTER))
    register = (
        request.dbsession.get(Register, (request.tenant.id, register_id)) if register_id else None
    )
    register = usable_register(request, register_id, register.location_id) if register else None
    return ringing(request, register)


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
    settings = workspace_settings(request)
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
            ringing = refund_register(self.request)
            refund = self.sales.refund(
                self.sale,
                quantities,
                method=method,
                reason=reason,
                register_id=ringing.register_id,
                shift_id=ringing.shift_id,
            )
        except FormError as exc:
            return self.page(exc.errors, 400)
        self.request.session.flash(
            f"Refunded {refund.amount} by {PAYMENT_LABELS[method]}; the goods are back in stock."
        )
        return HTTPSeeOther(location=self.request.route_url("sales.detail", id=self.sale.id))
