"""Expense logic: the filtered list and its total, recording and correcting expenses.

An expense belongs to a location: the one chosen on a multi-location tenant's form,
else the default location. Who recorded it is kept and never changes on a correction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, and_, func, select

from ..accounts.models import User
from ..locations.models import Location
from ..locations.services import LocationService
from ..services import TenantService
from .models import Expense


class ExpenseError(ValueError):
    """A refused expense: a sentence a person reads; ``field`` names the form field it
    belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ExpenseRow:
    """An expense as the list shows it: with its location's and recorder's names."""

    expense: Expense
    location: str
    recorded_by: str


class ExpenseService(TenantService):
    """The expenses of one tenant, on that tenant's session."""

    model = Expense

    # -- queries ---------------------------------------------------------------------
    def _filtered(
        self,
        query: Select,
        date_from: dt.date | None,
        date_to: dt.date | None,
        category: str | None,
        location_id: uuid.UUID | None = None,
    ) -> Select:
        if date_from is not None:
            query = query.where(Expense.spent_on >= date_from)
        if date_to is not None:
            query = query.where(Expense.spent_on <= date_to)
        if category:
            query = query.where(Expense.category == category)
        if location_id is not None:
            query = query.where(Expense.location_id == location_id)
        return query

    def list(
        self,
        *,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        category: str | None = None,
        location_id: uuid.UUID | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ExpenseRow]:
        """Expenses from ``date_from`` to ``date_to`` (inclusive, either may be None) of
        ``category`` (exactly; None for all) booked to ``location_id`` (None for all),
        newest first."""
        query = (
            select(Expense, Location.name, User.full_name, User.username)
            .join(
                Location,
                and_(Location.tenant_id == Expense.tenant_id, Location.id == Expense.location_id),
            )
            .join(User, and_(User.tenant_id == Expense.tenant_id, User.id == Expense.user_id))
            .order_by(Expense.spent_on.desc(), Expense.created_at.desc(), Expense.id.desc())
        )
        query = self._filtered(query, date_from, date_to, category, location_id)
        rows = self.db.execute(query.limit(limit).offset(offset)).all()
        return [
            ExpenseRow(expense, location, full_name or username)
            for expense, location, full_name, username in rows
        ]

    def total(
        self,
        *,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        category: str | None = None,
        location_id: uuid.UUID | None = None,
    ) -> tuple[int, Decimal]:
        """How many expenses match the filters, and their sum (a sum of stored amounts:
        exact, no rounding)."""
        query = select(func.count(), func.coalesce(func.sum(Expense.amount), 0))
        query = self._filtered(query, date_from, date_to, category, location_id)
        count, amount = self.db.execute(query).one()
        return count, Decimal(amount)

    def categories(self) -> list[str]:
        """The categories in use, alphabetically (the list's filter and the form's
        suggestions)."""
        return list(self.db.scalars(select(Expense.category).distinct().order_by(Expense.category)))

    # -- changes ---------------------------------------------------------------------
    def create(
        self,
        *,
        category: str,
        amount: Decimal,
        spent_on: dt.date,
        note: str,
        user_id: uuid.UUID,
        location_id: uuid.UUID | None = None,
    ) -> Expense:
        """Record an expense; ``user_id`` is who records it; without ``location_id`` it
        belongs to the default location."""
        expense = Expense(
            tenant_id=self.tenant_id,
            category=category,
            amount=amount,
            spent_on=spent_on,
            location_id=self._location(location_id).id,
            note=note,
            user_id=user_id,
        )
        self.db.add(expense)
        self.db.flush()
        return expense

    def update(
        self,
        expense: Expense,
        *,
        category: str,
        amount: Decimal,
        spent_on: dt.date,
        note: str,
        location_id: uuid.UUID | None = None,
    ) -> Expense:
        """Correct an expense; without ``location_id`` it keeps its location."""
        if location_id is not None:
            expense.location_id = self._location(location_id, current=expense.location_id).id
        expense.category = category
        expense.amount = amount
        expense.spent_on = spent_on
        expense.note = note
        self.db.flush()
        return expense

    def _location(self, location_id, current=None) -> Location:
        """The location an expense may be booked to: an active one, or the one it
        already has (a deactivated shop keeps its past expenses)."""
        locations = LocationService(self.db, self.tenant_id)
        if location_id is None:
            return locations.default()
        location = locations.get(location_id)
        if location is None:
            raise ExpenseError("No such location: choose one from the list.", "location_id")
        if not location.is_active and location.id != current:
            raise ExpenseError(
                f"{location.name} is deactivated: choose an active location.", "location_id"
            )
        return location
