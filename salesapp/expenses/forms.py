"""Parsing expense input: the expense form and the list's filters.

``read_date`` reads a calendar date from a :class:`~salesapp.forms.Form` the way the
Form reads numbers (the error names the field, the value and what is expected); the
reports' filters use it too. It belongs in :mod:`salesapp.forms` as ``Form.date`` once
that shared module takes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ..forms import Form

#: dates outside these are typing mistakes (and 9999-12-31 has no next day to end a range)
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)
MAX_AMOUNT = Decimal("10000000")
CATEGORY_MAX = 60
NOTE_MAX = 500

LABELS = {
    "category": "Category",
    "amount": "Amount",
    "spent_on": "Date",
    "location_id": "Location",
    "note": "Note",
    "from": "From",
    "to": "To",
    "page": "Page",
}


def utc_today() -> dt.date:
    """Today as a UTC day: the app's days are UTC days until tenants have a time zone."""
    return dt.datetime.now(dt.UTC).date()


def read_date(
    form: Form,
    name: str,
    *,
    required: bool = False,
    default: dt.date | None = None,
    latest: dt.date = LATEST,
) -> dt.date | None:
    """The field ``name`` as a date written YYYY-MM-DD (what ``<input type=date>``
    sends); problems are collected in ``form.errors``."""
    raw = form.text(name, max_length=40)
    if name in form.errors:
        return default
    if not raw:
        if required:
            form.error(name, "is required")
        return default
    try:
        value = dt.date.fromisoformat(raw)
        if len(raw) != 10:  # fromisoformat also takes 20260131 and week dates
            raise ValueError(raw)
    except ValueError:
        form.error(name, f"must be a date written YYYY-MM-DD, e.g. 2026-01-31; got {raw!r}")
        return default
    if value < EARLIEST:
        form.error(name, f"must not be before {EARLIEST.isoformat()}; got {raw}")
        return default
    if value > latest:
        form.error(name, f"must not be after {latest.isoformat()}; got {raw}")
        return default
    return value


@dataclass(frozen=True)
class ExpenseFields:
    category: str
    amount: Decimal
    spent_on: dt.date
    location_id: object  # a UUID, or None when the tenant has one location
    note: str


def read_expense_fields(form: Form, *, with_location: bool) -> ExpenseFields:
    """Category (required, at most 60 characters), amount (more than 0, at most
    10,000,000, cents), date (required, not after today), location (multi-location
    tenants only) and note (at most 500 characters); problems go to ``form.errors``."""
    today = utc_today()
    fields = ExpenseFields(
        category=form.text("category", required=True, max_length=CATEGORY_MAX),
        amount=form.decimal("amount", places=2, minimum=Decimal("0.01"), maximum=MAX_AMOUNT),
        spent_on=read_date(form, "spent_on", required=True, latest=today),  # not in the future
        location_id=form.uuid("location_id") if with_location else None,
        note=form.text("note", max_length=NOTE_MAX).replace("\r\n", "\n"),
    )
    for name in ("category", "note"):
        if "\x00" in getattr(fields, name):
            form.errors[name] = "must not contain NUL characters"
    return fields
