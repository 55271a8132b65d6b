"""The bad-input tests' fixtures: a workspace with one of everything (FilledWorkspace),
and the API tests' fixtures for the tests that go through the API (with the check that
nothing here reached the API's catch-all 500 view)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import webtest
from sqlalchemy import func, select

from salesapp.customers.models import Customer
from salesapp.customers.services import CustomerService
from salesapp.expenses.models import Expense
from salesapp.expenses.services import ExpenseService
from salesapp.inventory.models import StockMovement
from salesapp.inventory.services import InventoryService
from salesapp.locations.models import Location
from salesapp.locations.services import LocationService
from salesapp.operations.workspace import tenant_accounts
from salesapp.products.models import Product
from salesapp.products.services import ProductService
from salesapp.sales.models import Sale
from salesapp.sales.services import CartLine, PaymentInput, SaleService
from tests.api.conftest import (  # noqa: F401  (fixtures, found by name)
    make_api_staff,
    module_api_staff,
    no_server_error_logged,
    store,
)
from tests.conftest import host_of, sign_in
from tests.products.helpers import csrf_token


class FilledWorkspace:
    """A multi-location tenant with one of everything, and its Admin signed in."""

    def __init__(self, app, catalog, tenant):
        self.app, self.catalog, self.tenant = app, catalog, tenant
        self.client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
        sign_in(self.client, "admin", tenant.admin_password)
        self.csrf = csrf_token(self.client)
        with tenant_accounts(catalog, tenant.slug) as (_, accounts):
            db, admin = accounts.db, accounts.find_by_login("admin")
            product = ProductService(db, tenant.id).create(
                sku="P-1", name="Tea", unit_price=Decimal("2.50")
            )
            inventory = InventoryService(db, tenant.id, admin.id)
            self.location_id = inventory.default_location().id
            inventory.receive(product.id, self.location_id, Decimal("100"))
            self.other_location_id = (
                LocationService(db, tenant.id).create(name="Back room", address="").id
            )
            self.customer_id = CustomerService(db, tenant.id).create(name="Ann").id
            self.expense_id = (
                ExpenseService(db, tenant.id)
                .create(
                    category="Rent",
                    amount=Decimal("10"),
                    spent_on=dt.date(2024, 1, 1),
                    note="",
                    user_id=admin.id,
                )
                .id
            )
            sale = SaleService(db, tenant.id, admin, sees_all=True).complete(
                [CartLine(product.id, Decimal("2"))],
                [PaymentInput("cash", Decimal("5.00"))],
                location_id=self.location_id,
            )
            self.product_id, self.sale_id, self.line_id = product.id, sale.id, sale.lines[0].id

    def counts(self):
        with tenant_accounts(self.catalog, self.tenant.slug) as (_, accounts):
            models = (Product, Customer, Location, Expense, StockMovement, Sale)
            return [accounts.db.scalar(select(func.count()).select_from(m)) for m in models]

    def post(self, path, fields):
        return self.client.post(path, {**fields, "csrf_token": self.csrf}, expect_errors=True)


@pytest.fixture(scope="module")
def filled_workspace(app, catalog, make_tenant):
    return FilledWorkspace(app, catalog, make_tenant("pooled", multi_location=True))
