"""The tax-rate pages: the workspace's named rates with how many products have each, a
form to add one, and a rate's page to rename it, change its percentage or deactivate it.

For whoever edits products (``products.edit``: Admins and Managers), as choosing a
product's rate is part of editing it. Percentages are read in the workspace's locale
(a German shop types 7,5). A refused form answers 400 and nothing of it is committed.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..forms import Form, FormError
from ..pages import labelled, refuse
from .services import MAX_NAME, TaxService, percent_text, read_rate_form

LABELS = {"name": "Name", "rate": "Rate (%)", "active": "In use"}


def _errors(exc: FormError, form: Form | None = None) -> dict:
    """A form's messages labelled ("Name is required"); the service's are sentences."""
    if form is not None and form.errors:
        return labelled(form.errors, LABELS)
    return {name: message[:1].upper() + message[1:] for name, message in exc.errors.items()}


@view_defaults(route_name="taxes.list", renderer="taxes/list.jinja2", permission="products.edit")
class TaxListView:
    """Every rate of the workspace; a new one is added here."""

    def __init__(self, request):
        self.request = request
        self.taxes = request.find_service(TaxService)

    def page(self, values=None, errors=None) -> dict:
        return {
            "rates": self.taxes.rates(),
            "counts": self.taxes.product_counts(),
            "values": values or {"name": "", "rate": ""},
            "errors": errors or {},
            "max_name": MAX_NAME,
        }

    @view_config(request_method="GET")
    def get(self):
        return self.page()

    @view_config(request_method="POST")
    def add(self):
        request = self.request
        form = Form(request.POST, local=request.local)
        name, rate = read_rate_form(form)
        values = {"name": request.POST.get("name", ""), "rate": request.POST.get("rate", "")}
        try:
            form.check()
            created = self.taxes.create(name, rate)
        except FormError as exc:
            return refuse(request, self.page(values, _errors(exc, form)))
        request.session.flash(f"Added the tax rate {created.name} ({percent_text(rate)}%).")
        return HTTPSeeOther(location=request.route_url("taxes.list"))


@view_defaults(route_name="taxes.edit", renderer="taxes/edit.jinja2", permission="products.edit")
class TaxEditView:
    """Rename a rate, change its percentage (its products follow; past sales keep
    theirs), deactivate it or bring it back."""

    def __init__(self, request):
        self.request = request
        self.taxes = request.find_service(TaxService)
        self.rate = self.taxes.get(request.matchdict["id"])
        if self.rate is None:
            raise HTTPNotFound()

    def page(self, values=None, errors=None) -> dict:
        rate = self.rate
        return {
            "rate": rate,
            "products": self.taxes.product_counts().get(rate.id, 0),
            "values": values or {"name": rate.name, "rate": rate.rate, "active": rate.is_active},
            "errors": errors or {},
            "max_name": MAX_NAME,
        }

    @view_config(request_method="GET")
    def get(self):
        return self.page()

    @view_config(request_method="POST")
    def save(self):
        request = self.request
        form = Form(request.POST, local=request.local)
        name, percent = read_rate_form(form)
        active = form.boolean("active")
        values = {"name": request.POST.get("name", ""), "rate": request.POST.get("rate", "")}
        values["active"] = active
        try:
            form.check()
            before = self.rate.rate
            self.taxes.update(self.rate, name=name, percent=percent)
            self.taxes.set_active(self.rate, active)
        except FormError as exc:
            return refuse(request, self.page(values, _errors(exc, form)))
        message = f"Saved the tax rate {self.rate.name}."
        if before != percent:
            count = self.taxes.product_counts().get(self.rate.id, 0)
            message += (
                f" {count} product{'' if count == 1 else 's'} now sell at "
                f"{percent_text(percent)}%; past sales keep the rate they were sold at."
            )
        request.session.flash(message)
        return HTTPSeeOther(location=request.route_url("taxes.list"))
