"""Customer logic: look-up, search, create and update, and a customer's purchases."""

from __future__ import annotations

import re

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import lazyload

from ..forms import Form
from ..sales.models import Sale
from ..services import TenantService
from .models import Customer

CUSTOMER_FIELDS = ("name", "phone", "email", "notes")
#: one @, something before it, a dot in the domain, no spaces: catches typos without
#: refusing the unusual but valid addresses a stricter pattern would
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def read_customer_fields(form: Form) -> dict:
    """Read a customer's fields from ``form``; problems are collected in ``form.errors``."""
    fields = {
        "name": form.text("name", required=True, max_length=200),
        "phone": form.text("phone", max_length=50),
        "email": form.text("email", max_length=254),
        "notes": form.text("notes", max_length=2000),
    }
    if fields["email"] and "email" not in form.errors and not EMAIL.match(fields["email"]):
        form.error("email", f"is not a valid e-mail address: {fields['email'][:60]!r}")
    return fields


class CustomerService(TenantService):
    """The customers of one tenant, on that tenant's session."""

    model = Customer

    def search(self, q, limit=20, offset=0) -> list[Customer]:
        """Customers whose name, phone or e-mail contains ``q`` (case-insensitive; ``%``
        and ``_`` match themselves), by name. A phone matches on its digits too, so
        "555 0101" finds "555-0101"."""
        return list(self.db.scalars(self._filtered(q).limit(limit).offset(offset)))

    def count(self, q="") -> int:
        query = self._filtered(q).order_by(None).subquery()
        return self.db.scalar(select(func.count()).select_from(query))

    def _filtered(self, q) -> Select:
        query = select(Customer)
        q = (q or "").strip()
        if q:
            matches = [
                Customer.name.icontains(q, autoescape=True),
                Customer.phone.icontains(q, autoescape=True),
                Customer.email.icontains(q, autoescape=True),
            ]
            digits = re.sub(r"\D", "", q)
            if len(digits) >= 3:
                phone_digits = func.regexp_replace(Customer.phone, r"\D", "", "g")
                matches.append(phone_digits.contains(digits, autoescape=True))
            query = query.where(or_(*matches))
        return query.order_by(Customer.name, Customer.id)

    def create(self, **fields) -> Customer:
        customer = Customer(tenant_id=self.tenant_id, **self._check_fields(fields))
        self.db.add(customer)
        self.db.flush()
        return customer

    def update(self, customer: Customer, **fields) -> Customer:
        for name, value in self._check_fields(fields).items():
            setattr(customer, name, value)
        self.db.flush()
        return customer

    def _check_fields(self, fields: dict) -> dict:
        unknown = set(fields) - set(CUSTOMER_FIELDS)
        if unknown:
            raise TypeError(f"unknown customer fields: {', '.join(sorted(unknown))}")
        return fields

    def purchases(self, customer_id, limit=50, *, made_by=None) -> list[Sale]:
        """The customer's sales, newest first; with ``made_by`` (a user id) only the
        sales that user made (a Cashier sees only their own sales)."""
        # the history shows totals only: lines and payments stay unloaded
        query = (
            select(Sale)
            .options(lazyload(Sale.lines), lazyload(Sale.payments))
            .where(Sale.customer_id == customer_id)
        )
        if made_by is not None:
            query = query.where(Sale.user_id == made_by)
        query = query.order_by(Sale.created_at.desc(), Sale.number.desc()).limit(limit)
        return list(self.db.scalars(query))
