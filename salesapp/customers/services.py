"""Customer logic: look-up, search, create and update, and a customer's purchases.

Phones are matched as numbers (salesapp.customers.phones): a customer's phone is also
kept in E.164 (``phone_normalized``), filled whenever it is saved. Customers saved
before t0019 have none yet; searching and the duplicate check read their digits
instead, so they are found too (and get one when next saved).
"""

from __future__ import annotations

import re

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import lazyload

from ..forms import Form
from ..preferences.services import SettingsService
from ..sales.models import Sale
from ..services import TenantService
from . import phones
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


def _phone_digits():
    """The digits of the stored phone, as SQL."""
    return func.regexp_replace(Customer.phone, r"\D", "", "g")


class CustomerService(TenantService):
    """The customers of one tenant, on that tenant's session."""

    model = Customer

    def __init__(self, dbsession, tenant_id: int, region: str | None = None):
        super().__init__(dbsession, tenant_id)
        self._region = region

    @classmethod
    def factory(cls, context, request):
        return cls(request.dbsession, request.tenant.id, phones.region_of(request.local.locale_id))

    @property
    def region(self) -> str:
        """The country local phone numbers are read in (the workspace locale's)."""
        if self._region is None:
            locale = SettingsService(self.db, self.tenant_id).get().locale
            self._region = phones.region_of(locale)
        return self._region

    def search(self, q, limit=20, offset=0) -> list[Customer]:
        """Customers whose name, phone or e-mail contains ``q`` (case-insensitive; ``%``
        and ``_`` match themselves), by name. A phone matches on its digits too, so
        "555 0101" finds "555-0101", and as a number: in Kenya "0712 345 678" finds
        "+254 712 345 678" and the other way round."""
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
            digits = phones.digits(q)
            if len(digits) >= 3:
                matches.append(_phone_digits().contains(digits, autoescape=True))
                number = phones.national(q, self.region)
                if number:  # the same number written another way
                    matches.append(Customer.phone_normalized == phones.normalised(q, self.region))
                    matches.append(_phone_digits().contains(number, autoescape=True))
            query = query.where(or_(*matches))
        return query.order_by(Customer.name, Customer.id)

    def same_phone(self, phone: str, exclude=None) -> list[Customer]:
        """The customers whose phone is the number ``phone`` writes, however written
        (none for no phone), by name; ``exclude``: a customer id to leave out."""
        normalised = phones.normalised(phone, self.region)
        if not normalised:
            return []
        number = phones.national(phone, self.region)
        not_yet = Customer.phone_normalized == ""  # saved before t0019
        legacy = (
            _phone_digits().endswith(number, autoescape=True)
            if number
            else _phone_digits() == normalised
        )
        query = select(Customer).where(
            or_(Customer.phone_normalized == normalised, and_(not_yet, legacy))
        )
        if exclude is not None:
            query = query.where(Customer.id != exclude)
        return list(self.db.scalars(query.order_by(Customer.name, Customer.id).limit(5)))

    def create(self, **fields) -> Customer:
        customer = Customer(tenant_id=self.tenant_id, **self._check_fields(fields))
        customer.phone_normalized = phones.normalised(customer.phone or "", self.region)
        self.db.add(customer)
        self.db.flush()
        return customer

    def update(self, customer: Customer, **fields) -> Customer:
        for name, value in self._check_fields(fields).items():
            setattr(customer, name, value)
        customer.phone_normalized = phones.normalised(customer.phone or "", self.region)
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
