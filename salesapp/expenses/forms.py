"""Parsing expense input: the expense form and the list's filters (dates are read
with ``Form.date``, as everywhere)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ..forms import Form

#: dates outside these are typing mistakes (and 9999-12-31 has no next day to end a range)
MAX_AMOUNT = Decimal("10000000")
CATEGORY_MAX = 60
NOTE_MAX = 500

LABELS = {
    "category": "Category",
    "amount": "Amount",
    "spent_on": "Date",
    "location_id": "Location",
    "location": "Location",
    "note": "Note",
    "from": "From",
    "to": "To",
    "page": "Page",
}


@dataclass(frozen=True)
class ExpenseFields:
    category: str
    amount: Decimal
    spent_on: dt.date
    location_id: object  # a UUID, or None when the tenant has one location
    note: str


def read_expense_fields(form: Form, *, with_location: bool, today: dt.date) -> ExpenseFields:
    """Category (required, at most 60 characters), amount (more than 0, at most
    10,000,000, in the currency's decimals, written as the workspace's locale writes
    numbers), date (required, not after ``today``: the workspace's local day), location
    (multi-location tenants only) and note (at most 500 characters); problems go to
    ``form.errors``."""
    smallest = form.local.quantum if form.local is not None else Decimal("0.01")
    fields = ExpenseFields(
        category=form.text("category", required=True, max_length=CATEGORY_MAX),
        amount=form.money("amount", minimum=smallest, maximum=MAX_AMOUNT),
        spent_on=form.date("spent_on", required=True, latest=today),  # not in the future
        location_id=form.uuid("location_id") if with_location else None,
        note=form.text("note", max_length=NOTE_MAX).replace("\r\n", "\n"),
    )
    return fields
