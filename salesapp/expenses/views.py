"""Expense pages (Managers and Admin): the list with date, category and (several
locations) location filters, its total and paging; the new and edit forms. Amounts are
read and shown as the workspace's locale writes them, days are its local days.

A refused form answers 400, and the commit veto rolls the request back, so a bad
request never writes anything.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..forms import Form, FormError
from ..locations.services import LocationService
from ..pages import PAGE_SIZE, field_errors, labelled, pager, read_page, refuse
from .forms import CATEGORY_MAX, LABELS, NOTE_MAX, read_expense_fields
from .services import ExpenseError, ExpenseService

FIELDS = ("category", "amount", "spent_on", "location_id", "note")


@view_config(
    route_name="expenses.list",
    renderer="expenses/list.jinja2",
    permission="expenses.view",
    request_method="GET",
)
def expense_list(request):
    """Expenses, newest first, filtered by date range, category and location, with the
    total of every expense the filters select (not only this page's)."""
    form = Form(request.GET, local=request.local)
    date_from = form.date("from")
    date_to = form.date("to")
    category = form.text("category", max_length=CATEGORY_MAX)
    multi = request.tenant.multi_location
    location_id = form.uuid("location", required=False) if multi else None
    page = read_page(form)
    if date_from and date_to and date_from > date_to:
        form.error("to", f"must not be before From ({request.local.day(date_from)})")
    if form.errors:  # show every expense, and say what was wrong with the filters
        date_from, date_to, category, location_id, page = None, None, "", None, 1
    expenses = request.find_service(ExpenseService)
    filters = {
        "date_from": date_from,
        "date_to": date_to,
        "category": category or None,
        "location_id": location_id,
    }
    count, amount = expenses.total(**filters)
    query = {
        "from": date_from.isoformat() if date_from else "",
        "to": date_to.isoformat() if date_to else "",
        "category": category,
        "location": str(location_id) if location_id else "",
    }
    values = {
        "rows": expenses.list(**filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        "filters": query,
        "categories": expenses.categories(),
        "locations": request.find_service(LocationService).all() if multi else [],
        "count": count,
        "amount": amount,
        "pager": pager(request, "expenses.list", page, count, **query),
        "multi": multi,
        "errors": labelled(form.errors, LABELS),
    }
    return refuse(request, values) if form.errors else values


def load_expense(request):
    """The expense named by the URL's id; 404 for an unknown or malformed id (and for
    another tenant's expense, which this tenant's session cannot see)."""
    expense = request.find_service(ExpenseService).get(request.matchdict["id"])
    if expense is None:
        raise HTTPNotFound()
    return expense


class ExpenseFormView:
    """What the new and edit pages share: the page's values and reading the form."""

    expense = None

    def __init__(self, request):
        self.request = request
        self.expenses = request.find_service(ExpenseService)

    def _page(self, values: dict, errors: dict | None = None) -> dict:
        request = self.request
        multi = request.tenant.multi_location
        locations = request.find_service(LocationService).active() if multi else []
        if multi and self.expense is not None:
            current = self.expense.location_id
            if all(location.id != current for location in locations):
                locations.append(request.find_service(LocationService).get(current))
        return {
            "expense": self.expense,
            "values": values,
            "errors": errors or {},
            "multi": multi,
            "locations": locations,
            "categories": self.expenses.categories(),
            "today": request.local.today().isoformat(),
            "category_max": CATEGORY_MAX,
            "note_max": NOTE_MAX,
        }

    def _posted(self) -> dict:
        return {name: self.request.POST.get(name, "") for name in FIELDS}

    def _read(self):
        """The posted fields; FormError with labelled messages ("Amount is required")."""
        request = self.request
        form = Form(request.POST, local=request.local)
        fields = read_expense_fields(
            form, with_location=request.tenant.multi_location, today=request.local.today()
        )
        if form.errors:
            raise FormError(labelled(form.errors, LABELS))
        return fields


@view_defaults(
    route_name="expenses.new", renderer="expenses/form.jinja2", permission="expenses.edit"
)
class ExpenseNewView(ExpenseFormView):
    """Record an expense; the signed-in user is its recorder."""

    @view_config(request_method="GET")
    def get(self):
        return self._page({"spent_on": self.request.local.today().isoformat()})

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        try:
            fields = self._read()
            expense = self.expenses.create(
                category=fields.category,
                amount=fields.amount,
                spent_on=fields.spent_on,
                location_id=fields.location_id,
                note=fields.note,
                user_id=request.user.id,
            )
        except (FormError, ExpenseError) as exc:
            return refuse(request, self._page(self._posted(), field_errors(exc)))
        local = request.local
        request.session.flash(
            f"Recorded an expense of {local.money(expense.amount)} ({expense.category}) "
            f"on {local.day(expense.spent_on)}."
        )
        return HTTPSeeOther(location=request.route_url("expenses.list"))


@view_defaults(
    route_name="expenses.edit", renderer="expenses/form.jinja2", permission="expenses.edit"
)
class ExpenseEditView(ExpenseFormView):
    """Correct an expense; who recorded it stays as it was."""

    def __init__(self, request):
        super().__init__(request)
        self.expense = load_expense(request)

    @view_config(request_method="GET")
    def get(self):
        expense = self.expense
        return self._page(
            {
                "category": expense.category,
                "amount": self.request.local.entry_money(expense.amount),
                "spent_on": expense.spent_on.isoformat(),
                "location_id": str(expense.location_id),
                "note": expense.note,
            }
        )

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        try:
            fields = self._read()
            self.expenses.update(
                self.expense,
                category=fields.category,
                amount=fields.amount,
                spent_on=fields.spent_on,
                location_id=fields.location_id,
                note=fields.note,
            )
        except (FormError, ExpenseError) as exc:
            return refuse(request, self._page(self._posted(), field_errors(exc)))
        request.session.flash(
            f"Saved the expense of {request.local.money(self.expense.amount)} "
            f"({self.expense.category})."
        )
        return HTTPSeeOther(location=request.route_url("expenses.list"))
