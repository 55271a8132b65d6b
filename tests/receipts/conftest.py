"""A shop for the receipt tests: a pooled tenant with its business details, products at
two tax rates, and its admin signed in; sales are rung through the app's services as the
app role (tests/sales/conftest.py's Seller), pages are read through the web app."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from salesapp.customers.models import Customer
from salesapp.locations.models import Location
from salesapp.preferences.models import WorkspaceSettings
from salesapp.sales.models import SaleLine
from salesapp.sales.services import CartLine, PaymentInput
from tests.conftest import sign_in
from tests.sales.conftest import Seller

DETAILS = {
    "legal_name": "Mama Mboga Traders Ltd",
    "address": "Moi Avenue 12\nNairobi",
    "phone": "+254 712 345 678",
    "tax_number": "P051234567X",
    "receipt_header": "Fresh every morning",
    "receipt_footer": "Thank you! Goods sold are not returnable after 7 days.",
}


@dataclass
class Shop:
    tenant: object
    seller: Seller
    client: object  # the admin's webtest client
    owner_engines: object
    standard: uuid.UUID  # 16% tax, 100.00
    zero: uuid.UUID  # 0% tax, 50.00

    def sell(self, *lines, pay=None, customer_id=None):
        """Ring a sale of (product, quantity) lines paid in cash; its id and number."""
        with self.seller.session() as db, db.begin():
            sale = self.seller.sales(db).complete(
                [CartLine(product, Decimal(quantity)) for product, quantity in lines],
                [PaymentInput("cash", Decimal(pay or "10000"))],
                location_id=self.seller.location_id(),
                customer_id=customer_id,
            )
            return sale.id, sale.number

    def owner(self):
        """A session as the owner, bound to the tenant, committed at the end."""
        return self.owner_engines.session(self.tenant)

    def set_details(self, **fields):
        with self.owner() as db:
            row = db.get(WorkspaceSettings, self.tenant.id)
            if row is None:
                row = WorkspaceSettings(tenant_id=self.tenant.id)
                db.add(row)
            for name, value in fields.items():
                setattr(row, name, value)

    def name_rates(self, names: dict):
        """Name the tax rates of sold lines ({percent: name}), as the tax rates'
        owner would have at the time of sale."""
        with self.owner() as db:
            for rate, name in names.items():
                db.execute(
                    update(SaleLine).where(SaleLine.tax_rate == Decimal(rate)).values(tax_name=name)
                )

    def location_address(self, address: str):
        with self.owner() as db:
            location = db.scalars(select(Location).where(Location.is_default)).first()
            location.address = address

    def add_customer(self, name, email):
        with self.owner() as db:
            customer = Customer(tenant_id=self.tenant.id, id=uuid.uuid4(), name=name, email=email)
            db.add(customer)
            return customer.id


def open_shop(make_tenant, app_engine, owner_engines, client=None) -> Shop:
    """A new pooled tenant "Mama Mboga" with products STD (100.00 + 16%, 100 on hand)
    and ZER (50.00, 0%, 100 on hand); ``client(tenant)``: its signed-in web client."""
    tenant = make_tenant("pooled", name="Mama Mboga")
    seller = Seller(tenant, app_engine(tenant.store_name))
    standard = seller.add_product("STD", "100.00", tax="16", stock="100")
    zero = seller.add_product("ZER", "50.00", tax="0", stock="100")
    return Shop(tenant, seller, client(tenant) if client else None, owner_engines, standard, zero)


@pytest.fixture
def shop(make_tenant, app_engine, client_for, owner_engines):
    """A shop (open_shop) with its admin signed in to the web app."""

    def admin(tenant):
        client = client_for(tenant)
        sign_in(client, "admin", tenant.admin_password)
        return client

    return open_shop(make_tenant, app_engine, owner_engines, admin)
