"""The page where a Manager arranges a location's quick keys for the till.

No JavaScript: every change is a small form posting one ``action`` (add, save, up,
down, remove) and answered with a redirect back to the page; a refused change answers
400 with the page and its message, and nothing of it is written. Products are found
with the page's own search (GET ``q``), each match with its own Add button.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..forms import Form, FormError
from ..locations.services import LocationService
from ..pages import field_errors, labelled, refuse
from .models import PALETTE
from .quickkeys import MAX_LABEL, MAX_QUICK_KEYS, QuickKeyError, QuickKeyService, parse_look
from .services import ProductService

#: how many products the page's search lists
SEARCH_LIMIT = 20
MANAGERS = {"permission": "products.edit"}
LABELS = {"label": "Label", "colour": "Colour", "product_id": "Product"}


@view_config(route_name="quick_keys", request_method="GET", **MANAGERS)
def quick_keys_index(request):
    """The default location's quick keys (the page offers the others)."""
    location = request.find_service(LocationService).default()
    return HTTPSeeOther(location=request.route_url("locations.quick_keys", id=location.id))


@view_defaults(route_name="locations.quick_keys", renderer="products/quick_keys.jinja2", **MANAGERS)
class QuickKeysView:
    """Arrange the quick keys of the location named by the URL."""

    def __init__(self, request):
        self.request = request
        self.keys = request.find_service(QuickKeyService)
        self.location = request.find_service(LocationService).get(request.matchdict["id"])
        if self.location is None:
            raise HTTPNotFound()

    def _page(self, errors=None, q=None):
        request = self.request
        if q is None:
            q = request.params.get("q", "").strip()[:200]
        arranged = self.keys.arranged(self.location)
        keyed = {item.product.id: number for number, item in enumerate(arranged, start=1)}
        matches = request.find_service(ProductService).search(q, limit=SEARCH_LIMIT) if q else []
        multi = request.tenant.multi_location
        return {
            "location": self.location,
            "locations": request.find_service(LocationService).active() if multi else [],
            "arranged": arranged,
            "keyed": keyed,
            "q": q,
            "matches": matches,
            "palette": PALETTE,
            "max_keys": MAX_QUICK_KEYS,
            "max_label": MAX_LABEL,
            "errors": errors or {},
        }

    def _done(self, message: str):
        request = self.request
        request.session.flash(message)
        q = request.POST.get("q", "").strip()[:200]
        query = {"q": q} if q else {}
        return HTTPSeeOther(
            location=request.route_url("locations.quick_keys", id=self.location.id, _query=query)
        )

    def _refused(self, exc):
        errors = field_errors(exc)
        if isinstance(exc, FormError):
            errors = labelled(errors, LABELS)
        return refuse(self.request, self._page(errors))

    def _key(self):
        key = self.keys.key_of(self.location, self.request.POST.get("key_id", ""))
        if key is None:
            raise QuickKeyError(
                f"That quick key is no longer on the till of {self.location.name}; the page "
                "shows its keys as they are now.",
                "form",
            )
        return key

    @view_config(request_method="GET")
    def get(self):
        return self._page()

    @view_config(request_method="POST", request_param="action=add")
    def add(self):
        request = self.request
        try:
            product_id = Form(request.POST).uuid("product_id", required=False)
            product = request.find_service(ProductService).get(product_id) if product_id else None
            if product is None:
                raise QuickKeyError("Choose a product to add (search for it first).", "product_id")
            look = parse_look(request.POST)
            self.keys.add(self.location, product, look)
        except (FormError, QuickKeyError) as exc:
            return self._refused(exc)
        return self._done(f"{product.name} is now a quick key of {self.location.name}.")

    @view_config(request_method="POST", request_param="action=save")
    def save(self):
        try:
            key = self._key()
            self.keys.restyle(key, parse_look(self.request.POST))
        except (FormError, QuickKeyError) as exc:
            return self._refused(exc)
        return self._done("The quick key was saved.")

    @view_config(request_method="POST", request_param="action=up")
    def up(self):
        return self._move(-1)

    @view_config(request_method="POST", request_param="action=down")
    def down(self):
        return self._move(1)

    def _move(self, step: int):
        try:
            key = self._key()
        except QuickKeyError as exc:
            return self._refused(exc)
        self.keys.move(self.location, key, step)
        return self._done("The quick key was moved.")

    @view_config(request_method="POST", request_param="action=remove")
    def remove(self):
        try:
            key = self._key()
        except QuickKeyError as exc:
            return self._refused(exc)
        self.keys.remove(self.location, key)
        return self._done("The quick key was removed.")

    @view_config(request_method="POST")
    def unknown(self):
        return self._refused(QuickKeyError("Choose what to do with the quick keys.", "form"))
