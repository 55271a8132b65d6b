"""Register and shift pages.

Admin: the registers of each location, added, renamed, retired (``registers.manage``).
Any signed-in staff (``shifts.use``): a register's page with its open shift (or the
form to open one), cash in and out, the X report, the close (counted amounts, then
expected and over/short shown before it is confirmed), the Z report and the register's
shift history. The X and Z reports are pages of their own, printable on 80 mm paper.

Bad input answers 400 with the page and the field's message; pyramid_tm rolls back
every error answer, so nothing is half-written.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..forms import Form, FormError
from ..locations.services import LocationService
from ..pages import PAGE_SIZE, field_errors, labelled, read_page, refuse
from .models import CASH_IN, CASH_OUT
from .services import (
    KIND_LABELS,
    MAX_AMOUNT,
    MAX_NAME,
    MAX_NOTE,
    MAX_REASON,
    RegisterService,
    ShiftError,
)

LABELS = {
    "name": "Name",
    "location_id": "Location",
    "opening_float": "The float",
    "kind": "Cash in or out",
    "amount": "The amount",
    "reason": "Reason",
    "counted_cash": "Counted cash",
    "counted_card": "Card total",
    "counted_mobile_money": "Mobile money total",
    "note": "Note",
    "page": "Page",
}
COUNT_FIELDS = ("counted_cash", "counted_card", "counted_mobile_money", "note")


def load_register(request):
    """The register named by the URL's id; 404 for an unknown or malformed id (and for
    another tenant's register, which this tenant's session cannot see)."""
    register = request.find_service(RegisterService).get(request.matchdict["id"])
    if register is None:
        raise HTTPNotFound()
    return register


def _errors(exc) -> dict:
    """A FormError's labelled messages, or a ShiftError's one message."""
    if isinstance(exc, FormError):
        return labelled(exc.errors, LABELS)
    return field_errors(exc)


# -- the registers (Admin manages; everyone sees) ------------------------------------
@view_defaults(route_name="registers.list", renderer="registers/list.jinja2")
class RegisterListView:
    """Every register by location with its shift; an Admin adds registers here."""

    def __init__(self, request):
        self.request = request
        self.registers = request.find_service(RegisterService)

    def page(self, values=None, errors=None) -> dict:
        request = self.request
        can_manage = bool(request.has_permission("registers.manage"))
        rows = [
            (register, self.registers.location(register), self.registers.current_shift(register.id))
            for register in self.registers.registers(active_only=not can_manage)
        ]
        locations = request.find_service(LocationService)
        return {
            "rows": rows,
            "can_manage": can_manage,
            "locations": locations.active() if can_manage else [],
            "multi": request.tenant.multi_location,
            "values": values or {"name": "", "location_id": ""},
            "errors": errors or {},
            "max_name": MAX_NAME,
        }

    @view_config(request_method="GET", permission="shifts.use")
    def get(self):
        return self.page()

    @view_config(request_method="POST", permission="registers.manage")
    def add(self):
        request = self.request
        form = Form(request.POST)
        name = form.text("name", required=True, max_length=MAX_NAME)
        location_id = form.uuid("location_id", required=False)
        values = {"name": name, "location_id": request.POST.get("location_id", "")}
        try:
            form.check()
            if location_id is None:
                location_id = request.find_service(LocationService).default().id
            register = self.registers.create(location_id, name)
        except (FormError, ShiftError) as exc:
            return refuse(request, self.page(values, _errors(exc)))
        request.session.flash(f"Added register {register.name}.")
        return HTTPSeeOther(location=request.route_url("registers.list"))


@view_defaults(
    route_name="registers.edit", renderer="registers/edit.jinja2", permission="registers.manage"
)
class RegisterEditView:
    """Rename a register, retire it or bring it back."""

    def __init__(self, request):
        self.request = request
        self.registers = request.find_service(RegisterService)
        self.register = load_register(request)

    def page(self, values=None, errors=None) -> dict:
        register = self.register
        return {
            "register": register,
            "location": self.registers.location(register),
            "values": values or {"name": register.name, "active": register.active},
            "errors": errors or {},
            "max_name": MAX_NAME,
        }

    @view_config(request_method="GET")
    def get(self):
        return self.page()

    @view_config(request_method="POST")
    def save(self):
        request = self.request
        form = Form(request.POST)
        name = form.text("name", required=True, max_length=MAX_NAME)
        active = form.boolean("active")
        try:
            form.check()
            self.registers.rename(self.register, name)
            self.registers.set_active(self.register, active)
        except (FormError, ShiftError) as exc:
            values = {"name": request.POST.get("name", ""), "active": active}
            return refuse(request, self.page(values, _errors(exc)))
        state = "" if active else " (retired)"
        request.session.flash(f"Saved register {self.register.name}{state}.")
        return HTTPSeeOther(location=request.route_url("registers.list"))


# -- a register's shift --------------------------------------------------------------
class RegisterPage:
    """A register's page: its open shift's figures with cash in/out, X report and close,
    or the form to open a shift. The POSTs that fail render it again with a 400."""

    def __init__(self, request):
        self.request = request
        self.registers = request.find_service(RegisterService)
        self.register = load_register(request)
        self.shift = self.registers.current_shift(self.register.id)

    def page(self, values=None, errors=None) -> dict:
        register, shift = self.register, self.shift
        return {
            "register": register,
            "location": self.registers.location(register),
            "shift": shift,
            "summary": self.registers.summary(shift) if shift is not None else None,
            "values": values or {},
            "errors": errors or {},
            "kinds": [(CASH_IN, KIND_LABELS[CASH_IN]), (CASH_OUT, KIND_LABELS[CASH_OUT])],
            "max_reason": MAX_REASON,
        }

    def back(self, message: str):
        self.request.session.flash(message)
        return HTTPSeeOther(
            location=self.request.route_url("registers.detail", id=self.register.id)
        )

    @view_config(
        route_name="registers.detail",
        renderer="registers/detail.jinja2",
        permission="shifts.use",
        request_method="GET",
    )
    def get(self):
        return self.page()

    @view_config(
        route_name="registers.open",
        renderer="registers/detail.jinja2",
        permission="shifts.use",
        request_method="POST",
    )
    def open(self):
        request = self.request
        form = Form(request.POST, local=request.local)
        opening_float = form.money("opening_float", minimum=0, maximum=MAX_AMOUNT)
        try:
            form.check()
            self.shift = self.registers.open_shift(self.register, opening_float, request.user)
        except (FormError, ShiftError) as exc:
            values = {"opening_float": request.POST.get("opening_float", "")}
            return refuse(request, self.page(values, _errors(exc)))
        return self.back(
            f"Opened a shift on {self.register.name} with a float of "
            f"{request.local.money(opening_float)}."
        )

    @view_config(
        route_name="registers.cash",
        renderer="registers/detail.jinja2",
        permission="shifts.use",
        request_method="POST",
    )
    def cash(self):
        request = self.request
        form = Form(request.POST, local=request.local)
        kind = form.choice("kind", (CASH_IN, CASH_OUT))
        amount = form.money("amount", minimum=request.local.quantum, maximum=MAX_AMOUNT)
        reason = form.text("reason", required=True, max_length=MAX_REASON)
        values = {name: request.POST.get(name, "") for name in ("kind", "amount", "reason")}
        try:
            form.check()
            if self.shift is None:
                raise ShiftError(f"{self.register.name} has no open shift; open one first")
            self.registers.move_cash(self.shift, kind, amount, reason, request.user)
        except (FormError, ShiftError) as exc:
            return refuse(request, self.page(values, _errors(exc)))
        return self.back(f"{KIND_LABELS[kind]}: {request.local.money(amount)} ({reason}).")


@view_defaults(
    route_name="registers.close", renderer="registers/close.jinja2", permission="shifts.use"
)
class CloseView:
    """Closing a shift: the counted amounts, then expected and over/short shown with a
    confirm button (the counts ride along as hidden fields), then the Z report."""

    def __init__(self, request):
        self.request = request
        self.registers = request.find_service(RegisterService)
        self.register = load_register(request)
        self.shift = self.registers.current_shift(self.register.id)

    def page(self, values=None, errors=None, preview=None) -> dict:
        return {
            "register": self.register,
            "shift": self.shift,
            "values": values or {},
            "errors": errors or {},
            "preview": preview,
            "max_note": MAX_NOTE,
        }

    def read_counts(self) -> tuple[dict, dict]:
        """(the counts as parsed, the counts as typed); FormError for bad ones. Read as
        the workspace writes numbers ("1.234,50" in German), in the currency's decimals."""
        form = Form(self.request.POST, local=self.request.local)
        money = {"minimum": 0, "maximum": MAX_AMOUNT}
        counts = {
            "counted_cash": form.money("counted_cash", **money),
            "counted_card": form.money("counted_card", required=False, **money),
            "counted_mobile_money": form.money("counted_mobile_money", required=False, **money),
            "note": form.text("note", max_length=MAX_NOTE),
        }
        typed = {name: self.request.POST.get(name, "") for name in COUNT_FIELDS}
        form.check()
        return counts, typed

    def open_shift_posted(self):
        """The open shift the form was for; ShiftError if it was closed meanwhile (a
        second close of the same shift, or a new shift opened since)."""
        posted = self.request.POST.get("shift_id", "")
        if self.shift is None or str(self.shift.id) != posted:
            raise ShiftError("this shift is closed already; see the register's shift history")
        return self.shift

    @view_config(request_method="GET")
    def get(self):
        if self.shift is None:
            self.request.session.flash(f"{self.register.name} has no open shift.")
            return HTTPSeeOther(
                location=self.request.route_url("registers.detail", id=self.register.id)
            )
        return self.page()

    @view_config(request_method="POST")
    def preview(self):
        """Show expected and over/short for the typed counts; nothing is written."""
        request = self.request
        typed = {name: request.POST.get(name, "") for name in COUNT_FIELDS}
        try:
            counts, typed = self.read_counts()
            shift = self.open_shift_posted()
            preview = self.registers.preview_close(
                shift,
                counts["counted_cash"],
                counts["counted_card"],
                counts["counted_mobile_money"],
            )
        except (FormError, ShiftError) as exc:
            return refuse(request, self.page(typed, _errors(exc)))
        return self.page(typed, preview=preview)

    @view_config(request_method="POST", request_param="action=confirm")
    def confirm(self):
        request = self.request
        typed = {name: request.POST.get(name, "") for name in COUNT_FIELDS}
        try:
            counts, typed = self.read_counts()
            shift = self.open_shift_posted()
            self.registers.close_shift(
                shift,
                counts["counted_cash"],
                counts["counted_card"],
                counts["counted_mobile_money"],
                counts["note"],
                request.user,
            )
        except (FormError, ShiftError) as exc:
            return refuse(request, self.page(typed, _errors(exc)))
        # the Z report is a page of its own (no layout, no flash): it says the shift closed
        return HTTPSeeOther(location=request.route_url("shifts.report", id=shift.id))


@view_config(
    route_name="registers.history",
    renderer="registers/history.jinja2",
    permission="shifts.use",
    request_method="GET",
)
def shift_history(request):
    """The register's shifts, newest first, a page at a time."""
    register = load_register(request)
    registers = request.find_service(RegisterService)
    form = Form(request.GET)
    page = read_page(form)
    if form.errors:
        page = 1
    shifts = registers.shifts(register.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    values = {
        "register": register,
        "location": registers.location(register),
        "summaries": [registers.summary(shift) for shift in shifts],
        "pager": _history_pager(request, register, page, registers.count_shifts(register.id)),
        "errors": labelled(form.errors, LABELS),
    }
    return refuse(request, values) if form.errors else values


def _history_pager(request, register, page: int, total: int) -> dict:
    """pager() for a route with an id: its links keep the register's id."""
    pages = max(1, -(-total // PAGE_SIZE))

    def link(number):
        return request.route_url("registers.history", id=register.id, _query={"page": number})

    return {
        "page": page,
        "pages": pages,
        "total": total,
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }


@view_config(
    route_name="shifts.report",
    renderer="registers/report.jinja2",
    permission="shifts.use",
    request_method="GET",
)
def shift_report(request):
    """The X report of an open shift or the Z report of a closed one, on a page of its
    own that prints on an 80 mm roll."""
    registers = request.find_service(RegisterService)
    shift = registers.shift(request.matchdict["id"])
    if shift is None:
        raise HTTPNotFound()
    return {"summary": registers.summary(shift), "kinds": KIND_LABELS}
