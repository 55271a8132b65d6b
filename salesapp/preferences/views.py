"""The Admin's workspace settings page."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..formatting import quantity
from ..forms import FormError
from ..pages import refuse
from .forms import parse_settings
from .services import SettingsService


@view_defaults(
    route_name="settings", renderer="preferences/settings.jinja2", permission="settings.manage"
)
class SettingsView:
    def __init__(self, request):
        self.request = request
        self.settings = request.find_service(SettingsService)

    @view_config(request_method="GET")
    def get(self):
        row = self.settings.get()
        return {
            "values": {
                "allow_negative_stock": row.allow_negative_stock,
                "currency": row.currency,
                "receipt_footer": row.receipt_footer,
                "admins_need_two_factor": self.settings.admins_need_two_factor(),
                "cashier_discount_cap": quantity(self.settings.cashier_discount_cap()),
                "manager_discount_cap": _percent(self.settings.manager_discount_cap()),
                "needs_open_shift": self.settings.needs_open_shift(),
            },
            "errors": {},
        }

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        try:
            fields = parse_settings(request.POST)
        except FormError as exc:
            values = {
                "allow_negative_stock": bool(request.POST.get("allow_negative_stock")),
                "currency": request.POST.get("currency", ""),
                "receipt_footer": request.POST.get("receipt_footer", ""),
                "admins_need_two_factor": bool(request.POST.get("admins_need_two_factor")),
                "cashier_discount_cap": request.POST.get("cashier_discount_cap", ""),
                "manager_discount_cap": request.POST.get("manager_discount_cap", ""),
                "needs_open_shift": bool(request.POST.get("needs_open_shift")),
            }
            return refuse(request, {"values": values, "errors": exc.errors})
        self.settings.update(
            allow_negative_stock=fields.allow_negative_stock,
            currency=fields.currency,
            receipt_footer=fields.receipt_footer,
            admins_need_two_factor=fields.admins_need_two_factor,
            cashier_discount_cap=fields.cashier_discount_cap,
            manager_discount_cap=fields.manager_discount_cap,
            needs_open_shift=fields.needs_open_shift,
        )
        request.session.flash("Settings saved.")
        return HTTPSeeOther(location=request.route_url("settings"))


def _percent(value):
    """A cap as the form shows it: blank for none."""
    return "" if value is None else quantity(value)
