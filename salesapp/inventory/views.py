"""Stock pages: on hand per product and location, low stock, the ledger, and the three
ways stock changes by hand: receive, adjust (with a reason), transfer."""

from __future__ import annotations

from decimal import Decimal

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from ..forms import Form, FormError, parse_uuid
from ..products.models import Product
from .services import MAX_QUANTITY, InventoryService


def _location_filter(request, inventory):
    location_id = parse_uuid(request.params.get("location"))
    return inventory.location(location_id) if location_id else None


@view_config(route_name="stock.list", renderer="inventory/levels.jinja2", permission="stock.view")
def levels(request):
    inventory = request.find_service(InventoryService)
    location = _location_filter(request, inventory)
    form = Form(request.GET)
    q = form.text("q", max_length=100)
    if form.errors:
        q = ""
        request.response.status_int = 400
    return {
        "levels": inventory.levels(
            location_id=location.id if location else None, q=q or None, limit=500
        ),
        "q": q,
        "location": location,
        "locations": inventory.locations(),
        "title": "Stock",
        "low_only": False,
        "errors": {name: f"Product search {message}" for name, message in form.errors.items()},
    }


@view_config(route_name="stock.low", renderer="inventory/levels.jinja2", permission="stock.view")
def low(request):
    inventory = request.find_service(InventoryService)
    location = _location_filter(request, inventory)
    return {
        "levels": inventory.low_stock(location.id if location else None, limit=500),
        "q": "",
        "location": location,
        "locations": inventory.locations(),
        "title": "Low stock",
        "low_only": True,
    }


@view_config(
    route_name="stock.movements", renderer="inventory/movements.jinja2", permission="stock.view"
)
def movements(request):
    inventory = request.find_service(InventoryService)
    product_id = parse_uuid(request.params.get("product"))
    product = (
        request.dbsession.get(Product, (request.tenant.id, product_id)) if product_id else None
    )
    rows = inventory.movements(product_id=product.id if product else None, limit=200)
    return {"rows": rows, "product": product}


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
            from pyramid.httpexceptions import HTTPNotFound

            raise HTTPNotFound()
        return self.page()

    @view_config(route_name="stock.receive", request_method="POST")
    @view_config(route_name="stock.adjust", request_method="POST")
    @view_config(route_name="stock.transfer", request_method="POST")
    def post(self):
        request = self.request
        if self.kind == "stock.transfer" and not request.tenant.multi_location:
            from pyramid.httpexceptions import HTTPNotFound

            raise HTTPNotFound()
        form = Form(request.POST)
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
            f"{on_hand.normalize():f} on hand there."
        )
        return HTTPSeeOther(location=request.route_url(self.kind))
