"""The Admin's workspace settings page, and the workspace's logo (uploaded there, served
to every signed-in user of the workspace for receipts)."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config, view_defaults

from ..forms import FormError
from ..localization import LOCALES, currency_decimals, zone_names
from ..pages import refuse
from .forms import (
    FIELDS,
    MAX_ADDRESS,
    MAX_FOOTER,
    MAX_HEADER,
    MAX_LEGAL_NAME,
    MAX_PHONE,
    MAX_TAX_NUMBER,
    MAX_ZONE,
    PRICES,
    TAX_ROUNDING,
    LogoError,
    parse_settings,
)
from .models import DETAILS, MAX_LOGO_BYTES
from .services import SettingsService

#: the checkboxes of the form (a browser sends nothing for one that is off)
CHECKBOXES = ("allow_negative_stock", "admins_need_two_factor", "needs_open_shift")
#: what the page shows of a typed value when it is refused (every field is bounded)
KEPT = max(MAX_ADDRESS, MAX_FOOTER, MAX_HEADER) + 100
#: how a browser may keep the logo: its own copy only, asked again (ETag) every time
LOGO_CACHE_CONTROL = "private, no-cache"


def decimals_label(code: str) -> str:
    """ "KES — 2 decimals", "JPY — no decimals": what an amount of ``code`` looks like."""
    places = currency_decimals(code)
    if places == 0:
        return f"{code} — no decimals"
    return f"{code} — {places} decimal{'' if places == 1 else 's'}"


@view_defaults(
    route_name="settings", renderer="preferences/settings.jinja2", permission="settings.manage"
)
class SettingsView:
    def __init__(self, request):
        self.request = request
        self.settings = request.find_service(SettingsService)

    def stored_values(self) -> dict:
        """The form's values as saved."""
        row = self.settings.get()
        return {
            "allow_negative_stock": row.allow_negative_stock,
            "currency": row.currency,
            "receipt_footer": row.receipt_footer,
            "admins_need_two_factor": self.settings.admins_need_two_factor(),
            "cashier_discount_cap": self.settings.cashier_discount_cap(),
            "manager_discount_cap": self.settings.manager_discount_cap(),
            "needs_open_shift": self.settings.needs_open_shift(),
            **{name: getattr(row, name) for name in DETAILS},
        }

    def posted_values(self) -> dict:
        """The form's values as typed (a refused form shows them again)."""
        post = self.request.POST
        values = {name: str(post.get(name, ""))[:KEPT] for name in FIELDS}
        values.update({name: bool(post.get(name)) for name in CHECKBOXES})
        values["prices_include_tax"] = post.get("prices_include_tax") == "1"
        return values

    def page(self, values: dict, errors: dict | None = None) -> dict:
        """The settings page: the form, the logo, and how the saved settings look."""
        row = self.settings.get()
        local = self.request.local
        return {
            "values": values,
            "errors": errors or {},
            "zones": zone_names(),
            "locales": LOCALES,
            "prices": PRICES,
            "roundings": TAX_ROUNDING,
            "currency_label": decimals_label(row.currency),
            "has_sales": self.settings.has_sales(),
            "logo": self.settings.logo_stamp(),
            "max_logo_kb": MAX_LOGO_BYTES // 1024,
            "limits": {
                "zone": MAX_ZONE,
                "legal_name": MAX_LEGAL_NAME,
                "address": MAX_ADDRESS,
                "phone": MAX_PHONE,
                "tax_number": MAX_TAX_NUMBER,
                "receipt_header": MAX_HEADER,
                "receipt_footer": MAX_FOOTER,
            },
            "sample": {
                "now": local.when(local.now()),
                "money": local.cash(Decimal("1234.5")),
                "number": local.number(Decimal("1234.5")),
            },
        }

    @view_config(request_method="GET")
    def get(self):
        return self.page(self.stored_values())

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        try:
            fields = parse_settings(request.POST, local=request.local)
        except FormError as exc:
            return refuse(request, self.page(self.posted_values(), exc.errors))
        before = self.settings.get().currency
        self.settings.update(
            allow_negative_stock=fields.allow_negative_stock,
            currency=fields.currency,
            receipt_footer=fields.receipt_footer,
            admins_need_two_factor=fields.admins_need_two_factor,
            cashier_discount_cap=fields.cashier_discount_cap,
            manager_discount_cap=fields.manager_discount_cap,
            needs_open_shift=fields.needs_open_shift,
            **fields.changes(),
        )
        request.session.flash("Settings saved.")
        if fields.currency != before and self.settings.has_sales():
            request.session.flash(
                f"The currency is now {fields.currency} (it was {before}). Past sales keep "
                f"their amounts as they were recorded: they are not converted, and now read "
                f"as {fields.currency}."
            )
        return HTTPSeeOther(location=request.route_url("settings"))

    @view_config(route_name="settings.logo", request_method="POST")
    def logo(self):
        """Upload a logo (replacing any before) or remove it (``action=remove``)."""
        request = self.request
        if request.POST.get("action") == "remove":
            removed = self.settings.remove_logo()
            request.session.flash("Logo removed." if removed else "There was no logo to remove.")
            return HTTPSeeOther(location=request.route_url("settings"))
        upload = request.POST.get("logo")
        if getattr(upload, "file", None) is None:
            return self.refused_logo("Choose an image file (PNG, JPEG or WebP) to upload.")
        # one byte more than is allowed is enough to know it is too large
        content = upload.file.read(MAX_LOGO_BYTES + 1)
        try:
            self.settings.set_logo(content, upload.filename or "")
        except LogoError as exc:
            return self.refused_logo(str(exc))
        request.session.flash("Logo saved: receipts now print it.")
        return HTTPSeeOther(location=request.route_url("settings"))

    def refused_logo(self, message: str):
        """The page again with the logo's error; nothing saved."""
        return refuse(self.request, self.page(self.stored_values(), {"logo": message}))


@view_config(route_name="settings.logo", request_method="GET", permission="workspace.view")
def logo_file(request):
    """The workspace's logo, for any signed-in user of it (receipts show it); 404 when
    there is none. Its ETag is a hash of the image, so a browser asks again and gets a
    304 until it changes."""
    logo = request.find_service(SettingsService).logo()
    if logo is None:
        raise HTTPNotFound("This workspace has no logo; an Admin can upload one in Settings.")
    response = Response(
        body=logo.content,
        content_type=logo.media_type,
        conditional_response=True,
    )
    response.etag = hashlib.sha256(logo.content).hexdigest()[:32]
    response.last_modified = logo.updated_at or dt.datetime.now(dt.UTC)
    response.headers["Cache-Control"] = LOGO_CACHE_CONTROL
    response.headers["Content-Disposition"] = "inline"
    return response
