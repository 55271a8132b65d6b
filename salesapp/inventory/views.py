"""Stock pages: on hand per product and location, low stock, the ledger (each paged,
with filters), and the three ways stock changes by hand: receive, adjust (with a
reason), transfer."""

from __future__ import annotations

from decimal import Decimal

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from ..formatting import plural
from ..forms import Form, FormError, parse_uuid
from ..pages import PAGE_SIZE, field_errors, labelled, pager, read_page, refuse
from ..products.models import Product
from .counts import SHOW, StockCountService
from .models import MOVEMENT_KINDS
from .services import MAX_QUANTITY, InventoryService, MovementFilter


def _location_filter(form: Form, inventory):
    """The location the ``location`` parameter names (None: all locations)."""
    location_id = form.uuid("location", required=False)
    location = inventory.location(location_id) if location_id else None
    if location_id and location is None:
        form.error("location", "is not one of this workspace's locations")
    return location


def _stock_list(request, *, low_only: bool) -> dict:
    """On hand (or only what is low) per product and location, a page at a time."""
    inventory = request.find_service(InventoryService)
    form = Form(request.GET)
    q = form.text("q", max_length=100)
    location = _location_filter(form, inventory)
    page = read_page(form)
    if form.errors:
        q, location, page = "", None, 1
    filters = {"location_id": location.id if location else None, "q": q or None}
    route = "stock.low" if low_only else "stock.list"
    values = {
        "levels": inventory.levels(
            **filters, low_only=low_only, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        ),
        "pager": pager(
            request,
            route,
            page,
            inventory.count_levels(**filters, low_only=low_only),
            q=q,
            location=location and str(location.id),
        ),
        "q": q,
        "location": location,
        "locations": inventory.locations(),
        "title": "Low stock" if low_only else "Stock",
        "low_only": low_only,
        "errors": labelled(form.errors, FILTER_LABELS),
    }
    return refuse(request, values) if form.errors else values


FILTER_LABELS = {
    "q": "Product search",
    "location": "Location",
    "kind": "Kind",
    "user": "Who",
    "from": "From",
    "to": "To",
    "page": "Page",
    "product": "Product",
}


@view_config(route_name="stock.list", renderer="inventory/levels.jinja2", permission="stock.view")
def levels(request):
    return _stock_list(request, low_only=False)


@view_config(route_name="stock.low", renderer="inventory/levels.jinja2", permission="stock.view")
def low(request):
    return _stock_list(request, low_only=True)


@view_config(
    route_name="stock.movements", renderer="inventory/movements.jinja2", permission="stock.view"
)
def movements(request):
    """The ledger, newest first, filtered by product, location, kind, who and the
    workspace's local days (from and to, inclusive)."""
    inventory = request.find_service(InventoryService)
    form = Form(request.GET)
    product_id = form.uuid("product", required=False)
    product = (
        request.dbsession.get(Product, (request.tenant.id, product_id)) if product_id else None
    )
    if product_id and product is None:
        form.error("product", "is not one of this workspace's products")
    location = _location_filter(form, inventory)
    kind = form.choice("kind", MOVEMENT_KINDS, required=False)
    user_id = form.uuid("user", required=False)
    day_from, day_to = form.date("from"), form.date("to")
    page = read_page(form)
    if day_from and day_to and day_from > day_to:
        form.error("to", f"must not be before From ({day_from.isoformat()})")
    if form.errors:  # every movement, and what was wrong with the filters
        product = location = kind = user_id = day_from = day_to = None
        page = 1
    # local days: from the start of "from" to the end of "to" in the workspace's zone
    start = request.local.day_range(day_from)[0] if day_from else None
    end = request.local.day_range(day_to)[1] if day_to else None
    filters = MovementFilter(
        product_id=product.id if product else None,
        location_id=location.id if location else None,
        kind=kind,
        user_id=user_id,
        start=start,
        end=end,
    )
    query = {
        "product": product and str(product.id),
        "location": location and str(location.id),
        "kind": kind,
        "user": user_id and str(user_id),
        "from": day_from.isoformat() if day_from else "",
        "to": day_to.isoformat() if day_to else "",
    }
    values = {
        "rows": inventory.movements(filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        "pager": pager(
            request, "stock.movements", page, inventory.count_movements(filters), **query
        ),
        "product": product,
        "filters": {name: value or "" for name, value in query.items()},
        "filtered": any(query.values()),
        "locations": inventory.locations(),
        "kinds": MOVEMENT_KINDS,
        "users": inventory.movers(),
        "errors": labelled(form.errors, FILTER_LABELS),
    }
    return refuse(request, values) if form.errors else values


@view_defaults(renderer="inventory/change.jinja2", permission="stock.edit")
class StockChange:
    """Receive, adjust and transfer share one form page with a few differences."""

    KINDS = {
        "stock.receive": ("Receive stock", "Goods delivered to a location."),
        "stock.adjust": (
            "Adjust stock",
            "A correction after a count, damage or loss: "
            "enter the change (negative to remove) and why.",
        ),
        "stock.transfer": ("Transfer stock", "Move goods from one location to another."),
    }

    def __init__(self, request):
        self.request = request
        self.inventory = request.find_service(InventoryService)
        self.kind = request.matched_route.name

    def page(self, errors=None, status=200):
        request = self.request
        request.response.status_int = status
        products = request.dbsession.scalars(
            select(Product).where(Product.is_active).order_by(Product.name).limit(2000)
        ).all()
        title, help_text = self.KINDS[self.kind]
        return {
            "kind": self.kind,
            "title": title,
            "help": help_text,
            "products": products,
            "locations": self.inventory.locations(),
            "multi": request.tenant.multi_location,
            "values": request.params,
            "errors": errors or {},
        }

    @view_config(route_name="stock.receive", request_method="GET")
    @view_config(route_name="stock.adjust", request_method="GET")
    @view_config(route_name="stock.transfer", request_method="GET")
    def get(self):
        if self.kind == "stock.transfer" and not self.request.tenant.multi_location:
            raise HTTPNotFound()
        return self.page()

    @view_config(route_name="stock.receive", request_method="POST")
    @view_config(route_name="stock.adjust", request_method="POST")
    @view_config(route_name="stock.transfer", request_method="POST")
    def post(self):
        request = self.request
        if self.kind == "stock.transfer" and not request.tenant.multi_location:
            raise HTTPNotFound()
        form = Form(request.POST, local=request.local)
        product_id = form.uuid("product_id")
        if request.tenant.multi_location:
            location_id = form.uuid("location_id")
        else:
            location_id = self.inventory.default_location().id
        minimum = None if self.kind == "stock.adjust" else Decimal("0.001")
        quantity = form.decimal("quantity", places=3, minimum=minimum, maximum=MAX_QUANTITY)
        if self.kind == "stock.adjust" and quantity is not None and quantity < -MAX_QUANTITY:
            form.error("quantity", f"must be at least -{MAX_QUANTITY}")
        reason = form.text("reason", required=self.kind == "stock.adjust", max_length=200)
        to_location_id = form.uuid("to_location_id") if self.kind == "stock.transfer" else None
        if form.errors:
            return self.page(form.errors, 400)
        try:
            if self.kind == "stock.receive":
                self.inventory.receive(product_id, location_id, quantity, reason)
            elif self.kind == "stock.adjust":
                self.inventory.adjust(product_id, location_id, quantity, reason)
            else:
                self.inventory.transfer(product_id, location_id, to_location_id, quantity, reason)
        except FormError as exc:
            return self.page(exc.errors, 400)
        product = request.dbsession.get(Product, (request.tenant.id, product_id))
        on_hand = self.inventory.on_hand_of(product_id, location_id)
        request.session.flash(
            f"{self.KINDS[self.kind][0]}: done. {product.name} now has "
            f"{request.local.number(on_hand)} on hand there."
        )
        return HTTPSeeOther(location=request.route_url(self.kind))


def _read_levels(form: Form, prefix: str) -> dict:
    """{id: Decimal or None (blank)} of the form's ``<prefix><id>`` inputs (ids that are
    not ids are ignored: a form cannot name another tenant's rows)."""
    read = {}
    for name in form.data:
        if not name.startswith(prefix):
            continue
        row_id = parse_uuid(name[len(prefix) :])
        if row_id is not None:
            read[row_id] = form.decimal(
                name, places=3, minimum=Decimal(0), maximum=MAX_QUANTITY, required=False
            )
    return read


@view_defaults(
    route_name="stock.reorder", renderer="inventory/reorder.jinja2", permission="stock.view"
)
class ReorderLevels:
    """The reorder level of each product at one location, a page at a time: blank means
    the product's own level applies (where it has stock history at the location)."""

    def __init__(self, request):
        self.request = request
        self.inventory = request.find_service(InventoryService)

    def _location(self, form):
        location = _location_filter(form, self.inventory)
        return location or self.inventory.default_location()

    def page(self, form: Form, location, q: str, page: int, errors=None) -> dict:
        inventory = self.inventory
        return {
            "levels": inventory.levels(
                location_id=location.id, q=q or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            ),
            "set": inventory.reorder_levels(location.id),
            "pager": pager(
                self.request,
                "stock.reorder",
                page,
                inventory.count_levels(location_id=location.id, q=q or None),
                q=q,
                location=str(location.id),
            ),
            "location": location,
            "locations": inventory.locations(),
            "q": q,
            "page": page,
            "posted": form.data if errors else {},
            "errors": errors or {},
        }

    @view_config(request_method="GET")
    def get(self):
        form = Form(self.request.GET)
        location = self._location(form)
        q = form.text("q", max_length=100)
        page = read_page(form)
        if form.errors:
            return refuse(
                self.request, self.page(form, location, "", 1, labelled(form.errors, FILTER_LABELS))
            )
        return self.page(form, location, q, page)

    @view_config(request_method="POST", permission="stock.edit")
    def post(self):
        request = self.request
        form = Form(request.POST, local=request.local)
        location = self._location(form)
        q = form.text("q", max_length=100)
        page = read_page(form)
        levels = _read_levels(form, "level:")
        if form.errors:
            products = {
                p.id: p
                for p in request.dbsession.scalars(
                    select(Product).where(Product.id.in_(list(levels)))
                )
            }
            messages = {}
            for name, message in form.errors.items():
                product = products.get(parse_uuid(name.removeprefix("level:")))
                label = (
                    f"Reorder level of {product.name} ({product.sku})"
                    if product
                    else FILTER_LABELS.get(name, name)
                )
                messages[name] = f"{label} {message}"
            return refuse(request, self.page(form, location, q, page, messages))
        known = set(
            request.dbsession.scalars(select(Product.id).where(Product.id.in_(list(levels))))
        )
        for product_id, level in levels.items():
            if product_id in known:
                self.inventory.set_reorder_level(product_id, location.id, level)
        request.session.flash(f"Reorder levels at {location.name} saved.")
        return HTTPSeeOther(
            location=request.route_url(
                "stock.reorder",
                _query={"location": str(location.id), **({"q": q} if q else {}), "page": page},
            )
        )


# -- stock counts -------------------------------------------------------------------
@view_defaults(
    route_name="stock.counts", renderer="inventory/counts.jinja2", permission="stock.view"
)
class StockCounts:
    """The stock counts, newest first, and starting a new one."""

    def __init__(self, request):
        self.request = request
        self.counts = request.find_service(StockCountService)

    def page(self, page=1, errors=None):
        counts = self.counts
        return {
            "counts": counts.counts(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
            "pager": pager(self.request, "stock.counts", page, counts.total()),
            "locations": counts.inventory.locations(),
            "errors": errors or {},
        }

    @view_config(request_method="GET")
    def get(self):
        form = Form(self.request.GET)
        page = read_page(form)
        if form.errors:
            return refuse(self.request, self.page(1, labelled(form.errors, FILTER_LABELS)))
        return self.page(page)

    @view_config(request_method="POST", permission="stock.edit")
    def post(self):
        request = self.request
        form = Form(request.POST, local=request.local)
        if request.tenant.multi_location:
            location_id = form.uuid("location_id")
        else:
            location_id = self.counts.inventory.default_location().id
        try:
            form.check()
            count = self.counts.start(location_id)
        except FormError as exc:
            return refuse(
                request, self.page(1, labelled(field_errors(exc), {"location_id": "Location"}))
            )
        request.session.flash(f"Stock count {count.number} started: enter what you count.")
        return HTTPSeeOther(location=request.route_url("stock.count", id=count.id))


@view_defaults(route_name="stock.count", renderer="inventory/count.jinja2", permission="stock.view")
class StockCountSheet:
    """One count's sheet, a page at a time, filtered by product and by what is counted;
    "Save" keeps the page's counted quantities, "Post" writes the differences."""

    def __init__(self, request):
        self.request = request
        self.counts = request.find_service(StockCountService)
        self.count = self.counts.get(parse_uuid(request.matchdict["id"]))
        if self.count is None:
            raise HTTPNotFound()

    def _filters(self, data):
        form = Form(data)
        q = form.text("q", max_length=100)
        show = form.choice("show", SHOW, required=False, default="all")
        page = read_page(form)
        return form, q, show, page

    def page(self, q="", show="all", page=1, errors=None, posted=None) -> dict:
        count, counts = self.count, self.counts
        return {
            "count": count,
            "location": counts.inventory.location(count.location_id),
            "rows": counts.lines(
                count, q=q or None, show=show, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            ),
            "summary": counts.summary(count),
            "pager": _count_pager(
                self.request,
                count,
                page,
                counts.count_lines(count, q=q or None, show=show),
                q=q,
                show=show if show != "all" else "",
            ),
            "filters": {"q": q, "show": show, "page": page},
            "shows": SHOW,
            "posted": posted or {},
            "errors": errors or {},
        }

    @view_config(request_method="GET")
    def get(self):
        form, q, show, page = self._filters(self.request.GET)
        if form.errors:
            return refuse(self.request, self.page(errors=labelled(form.errors, FILTER_LABELS)))
        return self.page(q, show, page)

    @view_config(request_method="POST", permission="stock.edit")
    def post(self):
        request = self.request
        form, q, show, page = self._filters(request.POST)
        if form.errors:
            q, show, page = "", "all", 1
        entries = Form(request.POST, local=request.local)
        counted = _read_levels(entries, "counted:")
        if entries.errors:
            names = {row.line.id: row.product for row in self.counts.lines(self.count, limit=None)}
            messages = {}
            for name, message in entries.errors.items():
                product = names.get(parse_uuid(name.removeprefix("counted:")))
                messages[name] = (
                    f"Counted {product.name} ({product.sku}) {message}"
                    if product
                    else f"{name} {message}"
                )
            return refuse(request, self.page(q, show, page, messages, dict(request.POST)))
        try:
            saved = self.counts.record(self.count, counted)
        except FormError as exc:
            return refuse(request, self.page(q, show, page, field_errors(exc), dict(request.POST)))
        if request.POST.get("action") == "post":  # the page's entries are saved first
            try:
                adjusted = self.counts.post(self.count)
            except FormError as exc:
                return refuse(request, self.page(q, show, page, field_errors(exc)))
            request.session.flash(
                f"Stock count {self.count.number} posted: "
                f"{plural(adjusted, 'adjustment')} written; the count is now read-only."
            )
            return HTTPSeeOther(location=request.route_url("stock.count", id=self.count.id))
        request.session.flash(f"Saved the counts on this page ({plural(saved, 'line')}).")
        query = {
            "page": page,
            **({"q": q} if q else {}),
            **({"show": show} if show != "all" else {}),
        }
        return HTTPSeeOther(
            location=request.route_url("stock.count", id=self.count.id, _query=query)
        )


def _count_pager(request, count, page: int, total: int, **query) -> dict:
    """pager() for a count's sheet: its links keep the count's id."""
    paged = pager(request, "stock.counts", page, total, **query)
    kept = {name: value for name, value in query.items() if value}
    for key, number in (("previous", page - 1), ("next", page + 1)):
        if paged[key]:
            paged[key] = request.route_url(
                "stock.count", id=count.id, _query={**kept, "page": number}
            )
    return paged
