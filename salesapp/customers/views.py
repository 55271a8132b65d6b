"""Customer pages: the list with search, the detail page with purchase history, and the
new and edit forms.

A phone already used by another customer is not refused (a family or a business may
share one) but not saved unasked either: the form comes back with a warning naming
that customer, and saves only when "Save anyway" is pressed (``same_phone_ok``)."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..forms import Form, FormError
from ..pages import PAGE_SIZE, labelled, pager, read_page, refuse
from .services import CUSTOMER_FIELDS, CustomerService, read_customer_fields

LABELS = {
    "name": "Name",
    "phone": "Phone",
    "email": "E-mail",
    "notes": "Notes",
    "q": "Search",
    "page": "Page",
}


def load_customer(request):
    """The customer named by the URL's id; 404 for an unknown or malformed id (and for
    another tenant's customer, which this tenant's session cannot see)."""
    customer = request.find_service(CustomerService).get(request.matchdict["id"])
    if customer is None:
        raise HTTPNotFound()
    return customer


@view_config(
    route_name="customers.list", renderer="customers/list.jinja2", permission="customers.view"
)
def customer_list(request):
    form = Form(request.GET, local=request.local)
    q = form.text("q", max_length=200)
    page = read_page(form)
    if form.errors:
        q, page = "", 1
    customers = request.find_service(CustomerService)
    values = {
        "customers": customers.search(q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        "q": q,
        "pager": pager(request, "customers.list", page, customers.count(q), q=q),
        "can_edit": request.has_permission("customers.edit"),
        "errors": labelled(form.errors, LABELS),
    }
    return refuse(request, values) if form.errors else values


@view_config(
    route_name="customers.detail",
    renderer="customers/detail.jinja2",
    permission="customers.view",
    request_method="GET",
)
def customer_detail(request):
    customer = load_customer(request)
    # Cashiers see only the sales they made themselves (as on the sales pages)
    made_by = None if request.has_permission("sales.view_all") else request.user.id
    return {
        "customer": customer,
        "purchases": request.find_service(CustomerService).purchases(customer.id, made_by=made_by),
        "own_sales_only": made_by is not None,
        "can_edit": request.has_permission("customers.edit"),
    }


def read_customer_form(request) -> dict:
    """Customer fields from the POSTed form; FormError with labelled messages."""
    form = Form(request.POST, local=request.local)
    fields = read_customer_fields(form)
    if form.errors:
        raise FormError(labelled(form.errors, LABELS))
    return fields


def customer_values(customer) -> dict:
    return {name: getattr(customer, name) for name in CUSTOMER_FIELDS}


def posted_values(request) -> dict:
    return {name: request.POST.get(name, "") for name in CUSTOMER_FIELDS}


def same_phone_warning(request, fields: dict, exclude=None):
    """The customers already having this phone, unless the user chose to save anyway
    (then, or with no such customer: None)."""
    if request.POST.get("same_phone_ok"):
        return None
    return request.find_service(CustomerService).same_phone(fields["phone"], exclude) or None


def warn(request, page: dict) -> dict:
    """The form again, with the warning and a "Save anyway" button; nothing saved."""
    return refuse(request, page, status=409)


@view_defaults(
    route_name="customers.new", renderer="customers/form.jinja2", permission="customers.edit"
)
class CustomerNewView:
    """A new customer."""

    def __init__(self, request):
        self.request = request

    def _page(self, values, errors=None, same_phone=None):
        return {
            "customer": None,
            "values": values,
            "errors": errors or {},
            "same_phone": same_phone,
            "action": self.request.route_url("customers.new"),
        }

    @view_config(request_method="GET")
    def get(self):
        return self._page({})

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        try:
            fields = read_customer_form(request)
        except FormError as exc:
            return refuse(request, self._page(posted_values(request), exc.errors))
        same_phone = same_phone_warning(request, fields)
        if same_phone:
            return warn(request, self._page(posted_values(request), same_phone=same_phone))
        customer = request.find_service(CustomerService).create(**fields)
        request.session.flash(f"Customer {customer.name} was created.")
        return HTTPSeeOther(location=request.route_url("customers.detail", id=customer.id))


@view_defaults(
    route_name="customers.edit", renderer="customers/form.jinja2", permission="customers.edit"
)
class CustomerEditView:
    """Change a customer."""

    def __init__(self, request):
        self.request = request
        self.customer = load_customer(request)

    def _page(self, values, errors=None, same_phone=None):
        return {
            "customer": self.customer,
            "values": values,
            "errors": errors or {},
            "same_phone": same_phone,
            "action": self.request.route_url("customers.edit", id=self.customer.id),
        }

    @view_config(request_method="GET")
    def get(self):
        return self._page(customer_values(self.customer))

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        try:
            fields = read_customer_form(request)
        except FormError as exc:
            return refuse(request, self._page(posted_values(request), exc.errors))
        same_phone = same_phone_warning(request, fields, exclude=self.customer.id)
        if same_phone:
            return warn(request, self._page(posted_values(request), same_phone=same_phone))
        request.find_service(CustomerService).update(self.customer, **fields)
        request.session.flash(f"Customer {self.customer.name} was saved.")
        return HTTPSeeOther(location=request.route_url("customers.detail", id=self.customer.id))
