"""The sales pages: list, detail, receipt, credit note, e-mailed receipt, void, refund
(the till is in till_views)."""

from __future__ import annotations

from decimal import Decimal

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render, render_to_response
from pyramid.view import view_config, view_defaults

from ..forms import Form, FormError, parse_uuid
from ..mail import MailUnavailable, check_address, compose
from ..pages import read_page, refuse
from ..preferences.models import WorkspaceSettings
from ..registers.models import Register
from .models import PAYMENT_METHODS
from .receipts import PAPERS, ReceiptService, sale_taxes
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
    form = Form(request.GET, local=request.local)
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


def detail_values(request, sale, errors=None) -> dict:
    """The sale page's values: the sale, its refunds with who made them, the e-mail form."""
    sales = request.find_service(SaleService)
    receipts = request.find_service(ReceiptService)
    refunds = sales.refunds(sale)
    names = sales.names(sale)
    return {
        "sale": sale,
        "refunds": refunds,
        "refunded_by": receipts.user_names(r.user_id for r in refunds),
        **names,
        "labels": PAYMENT_LABELS,
        "errors": errors or {},
        "email": request.POST.get("email") if errors else customer_email(names["customer"]),
        "sends": receipts.sends(sale),
    }


def customer_email(customer) -> str:
    """The address the e-mail form starts with: the sale's customer's, if any."""
    return (getattr(customer, "email", "") or "").strip() if customer else ""


@view_config(route_name="sales.detail", renderer="sales/detail.jinja2", permission="sales.view")
def sale_detail(request):
    return detail_values(request, _sale_or_404(request))


def paper(request) -> str:
    """The paper asked for (``?paper=a4``), a till roll otherwise."""
    asked = request.GET.get("paper", "").lower()
    return asked if asked in PAPERS else PAPERS[0]


def logo_url(request, business) -> str | None:
    """Where the receipt's logo is served, if the workspace has one (and the route)."""
    if not business.has_logo:
        return None
    try:
        return request.route_url("settings.logo")
    except KeyError:
        return None


def receipt_values(request, sale) -> dict:
    """What a receipt shows, on paper and in an e-mail."""
    sales = request.find_service(SaleService)
    receipts = request.find_service(ReceiptService)
    business = receipts.business(sale, request.tenant.name)
    return {
        "sale": sale,
        **sales.names(sale),
        "register": receipts.register_name(sale),
        "business": business,
        "logo_url": logo_url(request, business),
        "taxes": sale_taxes(sale),
        "labels": PAYMENT_LABELS,
        "currency": request.local.currency,
    }


@view_config(route_name="sales.receipt", renderer="sales/receipt.jinja2", permission="sales.view")
def receipt(request):
    """The receipt to print: the original the first time it is shown (right after the
    sale), a COPY every time after."""
    sale = _sale_or_404(request)
    copy = request.find_service(ReceiptService).count_print(sale)
    return {**receipt_values(request, sale), "copy": copy, "paper": paper(request)}


def _credit_note_values(request, sale, refund) -> dict:
    note = request.find_service(ReceiptService).credit_note(sale, refund)
    return {
        **receipt_values(request, sale),
        "refund": refund,
        "note": note,
        "taxes": note.taxes,
    }


@view_config(
    route_name="sales.credit_note", renderer="sales/credit_note.jinja2", permission="sales.view"
)
def credit_note(request):
    """A refund's credit note: what was paid back, against which sale, by whom."""
    sale = _sale_or_404(request)
    refund = request.find_service(ReceiptService).refund_of(
        sale, parse_uuid(request.matchdict["refund_id"])
    )
    if refund is None:
        raise HTTPNotFound()
    values = _credit_note_values(request, sale, refund)
    email = customer_email(values["customer"])
    return {**values, "paper": paper(request), "email": email, "errors": {}}


@view_config(route_name="sales.email", request_method="POST", permission="sales.view")
def email_receipt(request):
    """E-mail the sale's receipt (or, with ``refund``, a credit note) to the address
    typed. The message leaves when this request commits (salesapp.mail); a bad address,
    the cap reached or no mail server sends nothing and says why."""
    sale = _sale_or_404(request)
    receipts = request.find_service(ReceiptService)
    refund_id = parse_uuid(request.POST.get("refund", ""))
    refund = receipts.refund_of(sale, refund_id) if refund_id else None
    if refund_id and refund is None:
        raise HTTPNotFound()
    typed = request.POST.get("email", "").strip()
    try:
        address = check_address(typed)
        if address is None:
            raise FormError({"email": address_problem(typed)})
        receipts.record_send(sale, address, refund)
        request.mailer.send(receipt_message(request, sale, refund, address))
    except (FormError, MailUnavailable) as exc:
        errors = exc.errors if isinstance(exc, FormError) else {"email": str(exc)}
        return _refused_send(request, sale, refund, errors)
    if refund is None:
        request.session.flash(f"Receipt sent to {address}.")
        return HTTPSeeOther(location=request.route_url("sales.detail", id=sale.id))
    number = f" {refund.credit_number}" if refund.credit_number else ""
    request.session.flash(f"Credit note{number} sent to {address}.")
    return HTTPSeeOther(
        location=request.route_url("sales.credit_note", id=sale.id, refund_id=refund.id)
    )


def address_problem(typed: str) -> str:
    """What is wrong with an address :func:`check_address` refused."""
    if not typed:
        return "type the customer's e-mail address"
    return f"{typed[:100]!r} is not an e-mail address: type one like name@example.com"


def _refused_send(request, sale, refund, errors):
    """The page the e-mail form was on, with what was wrong (400: nothing is kept)."""
    request.response.status_int = 400
    if refund is None:
        values, template = detail_values(request, sale, errors), "sales/detail.jinja2"
    else:
        values = {
            **_credit_note_values(request, sale, refund),
            "paper": paper(request),
            "email": request.POST.get("email", ""),
            "errors": errors,
        }
        template = "sales/credit_note.jinja2"
    return render_to_response(template, values, request=request, response=request.response)


def receipt_message(request, sale, refund, address):
    """The e-mail of a receipt or credit note: text and HTML from the same values."""
    if refund is None:
        values = receipt_values(request, sale)
        subject = f"Your receipt {sale.number} from {request.tenant.name}"
    else:
        values = _credit_note_values(request, sale, refund)
        number = refund.credit_number
        subject = (
            f"Credit note {number} for receipt {sale.number} from {request.tenant.name}"
            if number
            else f"Refund on receipt {sale.number} from {request.tenant.name}"
        )
    values = {**values, "copy": False, "paper": "email"}
    text = render("sales/receipt_email.txt.jinja2", values, request=request)
    html = render("sales/receipt_email.html.jinja2", values, request=request)
    return compose(subject, address, text, html)


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
        return detail_values(request, sale, exc.errors)
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
        form = Form(self.request.POST, local=self.request.local)
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
        credit = f" Credit note {refund.credit_number}." if refund.credit_number else ""
        self.request.session.flash(
            f"Refunded {self.request.local.money(refund.amount)} by {PAYMENT_LABELS[method]}; "
            f"the goods are back in stock.{credit}"
        )
        return HTTPSeeOther(location=self.request.route_url("sales.detail", id=self.sale.id))
