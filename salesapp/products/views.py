"""Product pages: the list with search, the new and edit forms, CSV export and import.

Views parse with :class:`~salesapp.forms.Form` in the workspace's locale (a German shop
types 1.234,50), call :class:`ProductService` and render. A product's tax is chosen from
the workspace's named rates (salesapp.taxes). A refused form answers 400 and dooms the
request's transaction, so nothing of a bad request is ever committed.
"""

from __future__ import annotations

import datetime as dt

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config, view_defaults

from ..formatting import plural
from ..forms import Form, FormError
from ..inventory.services import InventoryService
from ..pages import PAGE_SIZE, labelled, pager, read_page, refuse
from ..preferences.services import SettingsService
from ..taxes.services import TaxService
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
    "tax_rate_id": "Tax rate",
    "reorder_level": "Reorder level",
    "q": "Search",
    "page": "Page",
    "active": "Active",
}


def label_errors(errors: dict[str, str]) -> dict[str, str]:
    """Messages under their field's label: "Cost must be at least 0"; a message that is
    a sentence of its own ("USD amounts have 2 decimal places; ...") after a colon."""
    return {
        name: f"{LABELS.get(name, name)}: {message}"
        if message[:1].isupper()
        else f"{LABELS.get(name, name)} {message}"
        for name, message in errors.items()
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
    taxes = request.find_service(TaxService)
    taxes.ensure()  # products from before named rates get theirs, to show its name
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
        "rates": taxes.by_id(p.tax_rate_id for p in rows),
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
    values["tax_rate_id"] = str(product.tax_rate_id or "")
    return values


def read_product_form(request, products: ProductService, exclude=None) -> dict:
    """Product fields from the POSTed form; FormError with labelled messages, which
    name a taken SKU or barcode too, so one round trip shows every problem.

    The tax is the chosen named rate (``tax_rate_id``); a form that posts a percentage
    instead (``tax_rate``, as older clients do) is linked to the rate of that
    percentage by the service."""
    form = Form(request.POST, local=request.local)
    flags = {name: form.boolean(name) for name in TILL_FLAGS}
    rate_id = form.uuid("tax_rate_id", required=False)
    columns = [name for name in VALUE_FIELDS if not (rate_id and name == "tax_rate")]
    fields = read_product_fields(form, columns, open_price=flags["open_price"])
    if rate_id is not None:
        fields["tax_rate_id"] = rate_id
    fields["is_active"] = form.boolean("active")
    fields.update(flags)
    if form.errors:
        errors = label_errors(form.errors)
        unique = {name: fields[name] for name in ("sku", "barcode") if name not in form.errors}
        for name, message in products.conflicts(unique, exclude).items():
            errors.setdefault(name, message)
        raise FormError(errors)
    return fields


def posted_values(request) -> dict:
    """What was typed, shown back as it was (text, so a refused 1,234.50 stays)."""
    form = Form(request.POST)
    values = {name: request.POST.get(name, "") for name in (*VALUE_FIELDS, "tax_rate_id")}
    values["active"] = form.boolean("active")
    values.update({name: form.boolean(name) for name in TILL_FLAGS})
    return values


def form_page(request, product, values, errors, action) -> dict:
    """The product form's values: the rates to choose from (a product's own even if
    deactivated), and whether prices are typed with tax."""
    taxes = request.find_service(TaxService)
    rates = taxes.choices(product.tax_rate_id if product is not None else None)
    if not values.get("tax_rate_id") and product is None:
        values = {**values, "tax_rate_id": _default_rate(rates, values.get("tax_rate"))}
    settings = SettingsService(request.dbsession, request.tenant.id).get()
    return {
        "product": product,
        "values": values,
        "errors": errors or {},
        "action": action,
        "rates": rates,
        "prices_include_tax": settings.prices_include_tax,
    }


def _default_rate(rates, percent) -> str:
    """The rate a new product's form starts at: the first of the posted percentage (a
    refused form of an older client), else the workspace's Standard, else the first."""
    for rate in rates:
        if percent not in (None, "") and str(rate.rate.normalize()) == str(percent):
            return str(rate.id)
    standard = [r for r in rates if r.name == "Standard"]
    return str((standard or rates)[0].id) if rates else ""


@view_defaults(
    route_name="products.new", renderer="products/form.jinja2", permission="products.edit"
)
class ProductNewView:
    """A new product."""

    def __init__(self, request):
        self.request = request

    def _page(self, values, errors=None):
        request = self.request
        return form_page(request, None, values, errors, request.route_url("products.new"))

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
        request, product = self.request, self.product
        action = request.route_url("products.edit", id=product.id)
        return form_page(request, product, values, errors, action)

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
            "locations": self.request.find_service(InventoryService).locations(),
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
        inventory = request.find_service(InventoryService)
        parsed = csvio.parse_products_csv(upload.file.read(), inventory.locations())
        if parsed.errors:
            return refuse(request, self._page(parsed.errors))
        products = request.find_service(ProductService)
        conflicts = products.import_conflicts(parsed.rows)
        if conflicts:
            return refuse(request, self._page(conflicts))
        try:
            created, updated = products.apply_import(parsed.rows)
            stocked = inventory.post_opening_stock(csvio.openings(parsed.rows))
        except FormError as exc:
            return refuse(request, self._page(exc.errors.values()))
        opening = f"; opening stock: {plural(stocked, 'movement')}" if stocked else ""
        request.session.flash(
            f"Imported {plural(created + updated, 'product')} ({created} created, "
            f"{updated} updated){opening}"
        )
        return HTTPSeeOther(location=request.route_url("products.list"))
