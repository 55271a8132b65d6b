"""Product pages: the list with search, the new and edit forms, CSV export and import.

Views parse with :class:`~salesapp.forms.Form`, call :class:`ProductService` and render.
A refused form answers 400 and dooms the request's transaction, so nothing of a bad
request is ever committed.
"""

from __future__ import annotations

import datetime as dt

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config, view_defaults

from ..forms import Form, FormError
from ..pages import PAGE_SIZE, labelled, pager, read_page, refuse
from . import csvio
from .services import TILL_FLAGS, VALUE_FIELDS, ProductService, read_product_fields

ACTIVE_FILTERS = ("all", "yes", "no")
LABELS = {
    "sku": "SKU",
    "barcode": "Barcode",
    "name": "Name",
    "category": "Category",
    "unit_price": "Unit price",
    "cost": "Cost",
    "tax_rate": "Tax rate",
    "reorder_level": "Reorder level",
    "q": "Search",
    "page": "Page",
    "active": "Active",
}


def load_product(request):
    """The product named by the URL's id; 404 for an unknown or malformed id (and for
    another tenant's product, which this tenant's session cannot see)."""
    product = request.find_service(ProductService).get(request.matchdict["id"])
    if product is None:
        raise HTTPNotFound()
    return product


def can_see_cost(request) -> bool:
    """Whether the user may see cost prices (and so margins): those who set prices or
    read the reports. Cashiers may not (issue 17)."""
    return bool(request.has_permission("products.edit") or request.has_permission("reports.view"))


@view_config(
    route_name="products.list", renderer="products/list.jinja2", permission="products.view"
)
def product_list(request):
    form = Form(request.GET)
    q = form.text("q", max_length=200)
    category = form.text("category", max_length=100)
    active = form.choice("active", ACTIVE_FILTERS, required=False, default="all")
    page = read_page(form)
    products = request.find_service(ProductService)
    if form.errors:
        q, category, active, page = "", "", "all", 1
    rows, total = products.listing(
        q, category=category, active=active, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    values = {
        "products": rows,
        "q": q,
        "category": category,
        "active": active,
        "categories": products.categories(),
        "pager": pager(
            request, "products.list", page, total, q=q, category=category, active=active
        ),
        "can_edit": request.has_permission("products.edit"),
        "can_see_cost": can_see_cost(request),
        "errors": labelled(form.errors, LABELS),
    }
    return refuse(request, values) if form.errors else values


def product_values(product=None) -> dict:
    """The form's text values for ``product`` (or a new product's defaults)."""
    if product is None:
        return {"active": True, **dict.fromkeys(TILL_FLAGS, False)}
    values = {name: getattr(product, name) for name in (*VALUE_FIELDS, *TILL_FLAGS)}
    values["barcode"] = product.barcode or ""
    values["active"] = product.is_active
    return values


def read_product_form(request, products: ProductService, exclude=None) -> dict:
    """Product fields from the POSTed form; FormError with labelled messages, which
    name a taken SKU or barcode too, so one round trip shows every problem."""
    form = Form(request.POST)
    flags = {name: form.boolean(name) for name in TILL_FLAGS}
    fields = read_product_fields(form, open_price=flags["open_price"])
    fields["is_active"] = form.boolean("active")
    fields.update(flags)
    if form.errors:
        errors = labelled(form.errors, LABELS)
        unique = {name: fields[name] for name in ("sku", "barcode") if name not in form.errors}
        for name, message in products.conflicts(unique, exclude).items():
            errors.setdefault(name, message)
        raise FormError(errors)
    return fields


def posted_values(request) -> dict:
    form = Form(request.POST)
    values = {name: request.POST.get(name, "") for name in VALUE_FIELDS}
    values["active"] = form.boolean("active")
    values.update({name: form.boolean(name) for name in TILL_FLAGS})
    return values


@view_defaults(
    route_name="products.new", renderer="products/form.jinja2", permission="products.edit"
)
class ProductNewView:
    """A new product."""

    def __init__(self, request):
        self.request = request

    def _page(self, values, errors=None):
        return {
            "product": None,
            "values": values,
            "errors": errors or {},
            "action": self.request.route_url("products.new"),
        }

    @view_config(request_method="GET")
    def get(self):
        return self._page(product_values())

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        products = request.find_service(ProductService)
        try:
            product = products.create(**read_product_form(request, products))
        except FormError as exc:
            return refuse(request, self._page(posted_values(request), exc.errors))
        request.session.flash(f"Product {product.sku} ({product.name}) was created.")
        return HTTPSeeOther(location=request.route_url("products.list"))


@view_defaults(
    route_name="products.edit", renderer="products/form.jinja2", permission="products.edit"
)
class ProductEditView:
    """Change a product."""

    def __init__(self, request):
        self.request = request
        self.product = load_product(request)

    def _page(self, values, errors=None):
        return {
            "product": self.product,
            "values": values,
            "errors": errors or {},
            "action": self.request.route_url("products.edit", id=self.product.id),
        }

    @view_config(request_method="GET")
    def get(self):
        return self._page(product_values(self.product))

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        products = request.find_service(ProductService)
        try:
            products.update(self.product, **read_product_form(request, products, self.product))
        except FormError as exc:
            return refuse(request, self._page(posted_values(request), exc.errors))
        request.session.flash(f"Product {self.product.sku} ({self.product.name}) was saved.")
        return HTTPSeeOther(location=request.route_url("products.list"))


@view_config(route_name="products.export", permission="products.edit", request_method="GET")
def product_export(request):
    """Every product as a CSV file (the import's format)."""
    text = csvio.write_products_csv(request.find_service(ProductService).all())
    filename = f"products-{request.tenant.slug}-{dt.date.today().isoformat()}.csv"
    return Response(
        body=text.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        content_disposition=f'attachment; filename="{filename}"',
    )


@view_defaults(
    route_name="products.import", renderer="products/import.jinja2", permission="products.edit"
)
class ProductImportView:
    """Create or update products from a CSV file: every row is checked first, and if
    any is bad nothing is imported."""

    def __init__(self, request):
        self.request = request

    def _page(self, errors=()):
        return {
            "errors": list(errors),
            "columns": csvio.COLUMNS,
            "required": csvio.REQUIRED_COLUMNS,
            "max_rows": csvio.MAX_ROWS,
        }

    @view_config(request_method="GET")
    def get(self):
        return self._page()

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        upload = request.POST.get("file")
        if getattr(upload, "file", None) is None:
            return refuse(request, self._page(["Choose a CSV file to import."]))
        upload.file.seek(0, 2)
        size = upload.file.tell()
        if size > csvio.MAX_BYTES:
            return refuse(request, self._page([csvio.too_big(size)]))
        upload.file.seek(0)
        parsed = csvio.parse_products_csv(upload.file.read())
        if parsed.errors:
            return refuse(request, self._page(parsed.errors))
        products = request.find_service(ProductService)
        conflicts = products.import_conflicts(parsed.rows)
        if conflicts:
            return refuse(request, self._page(conflicts))
        try:
            created, updated = products.apply_import(parsed.rows)
        except FormError as exc:
            return refuse(request, self._page(exc.errors.values()))
        request.session.flash(
            f"Imported {created + updated} products ({created} created, {updated} updated)"
        )
        return HTTPSeeOther(location=request.route_url("products.list"))
