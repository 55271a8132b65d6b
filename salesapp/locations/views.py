"""The Admin's location pages. A one-location workspace's Admin sees its one location
and may turn several locations on; the other pages exist only once it has."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..audit.recorder import record
from ..forms import FormError
from ..pages import field_errors, refuse
from .forms import parse_location
from .services import LocationError, LocationService, turn_on_multi_location

ADMIN_ONLY = {"permission": "locations.manage", "multi_location": True}


def _values(request) -> dict:
    return {
        "name": request.POST.get("name", ""),
        "address": request.POST.get("address", ""),
        "active": bool(request.POST.get("active")),
    }


@view_config(
    route_name="locations.list",
    renderer="locations/list.jinja2",
    request_method="GET",
    **ADMIN_ONLY,
)
def locations_list(request):
    return {
        "locations": request.find_service(LocationService).all(),
        "multi": True,
    }


@view_config(
    route_name="locations.list",
    renderer="locations/list.jinja2",
    request_method="GET",
    permission="locations.manage",
    multi_location=False,
)
def one_location(request):
    """A one-location workspace: its location, and the way to have several."""
    return {"locations": [request.find_service(LocationService).default()], "multi": False}


@view_config(
    route_name="locations.list",
    request_method="POST",
    request_param="action=multi-location",
    permission="locations.manage",
)
def start_multi_location(request):
    """Turn several locations on (the Admin's choice; see turn_on_multi_location). On
    already (a second press, another tab): nothing changes, the list shows."""
    directory = request.registry.directory
    if turn_on_multi_location(directory.engine, request.tenant.id):
        record(request.dbsession, "settings.update", "locations", multi_location=[False, True])
    directory.invalidate(request.tenant.id)  # this process sees it at once
    request.session.flash(
        "Several locations are on: add your other shops or warehouses with New location."
    )
    return HTTPSeeOther(location=request.route_url("locations.list"))


@view_defaults(route_name="locations.new", renderer="locations/new.jinja2", **ADMIN_ONLY)
class LocationNewView:
    def __init__(self, request):
        self.request = request

    @view_config(request_method="GET")
    def get(self):
        return {"values": {"name": "", "address": ""}, "errors": {}}

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        values = _values(request)
        try:
            fields = parse_location(request.POST, with_active=False, local=request.local)
            location = request.find_service(LocationService).create(
                name=fields.name, address=fields.address
            )
        except (FormError, LocationError) as exc:
            return refuse(request, {"values": values, "errors": field_errors(exc)})
        request.session.flash(f"Created location {location.name}.")
        return HTTPSeeOther(location=request.route_url("locations.list"))


@view_defaults(route_name="locations.edit", renderer="locations/edit.jinja2", **ADMIN_ONLY)
class LocationEditView:
    """Rename, readdress, (de)activate a location, or make it the default."""

    def __init__(self, request):
        self.request = request
        self.locations = request.find_service(LocationService)
        self.location = self.locations.get(request.matchdict["id"])
        if self.location is None:
            raise HTTPNotFound()

    def _page(self, values=None, errors=None):
        location = self.location
        if values is None:
            values = {
                "name": location.name,
                "address": location.address,
                "active": location.is_active,
            }
        return {"location": location, "values": values, "errors": errors or {}}

    @view_config(request_method="GET")
    def get(self):
        return self._page()

    @view_config(request_method="POST")
    def save(self):
        request = self.request
        values = _values(request)
        try:
            fields = parse_location(request.POST, with_active=True, local=request.local)
            self.locations.update(
                self.location, name=fields.name, address=fields.address, active=fields.active
            )
        except (FormError, LocationError) as exc:
            return refuse(request, self._page(values, field_errors(exc)))
        request.session.flash(f"Saved location {self.location.name}.")
        return HTTPSeeOther(location=request.route_url("locations.list"))

    @view_config(request_method="POST", request_param="action=make-default")
    def make_default(self):
        request = self.request
        try:
            self.locations.make_default(self.location)
        except LocationError as exc:
            return refuse(request, self._page(errors=field_errors(exc)))
        request.session.flash(f"{self.location.name} is now the default location.")
        return HTTPSeeOther(location=request.route_url("locations.list"))
