"""Sellers: a tenant reached as the app role through the app's services, for service tests."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from salesapp.accounts.models import User
from salesapp.db import tenant_session
from salesapp.ids import uuid7
from salesapp.inventory.services import InventoryService
from salesapp.products.models import Product
from salesapp.sales.services import SaleService


class Seller:
    """Sells for one tenant through the app's services, its store reached as the app role
    (so RLS applies as in a request), with helpers to stock and look."""

    def __init__(self, tenant, engine):
        self.tenant, self.engine = tenant, engine

    def session(self):
        return tenant_session(self.engine, self.tenant.id)

    def admin(self, db):
        return db.scalars(select(User).where(User.username == "admin")).one()

    def sales(self, db, sees_all=True):
        return SaleService(db, self.tenant.id, self.admin(db), sees_all=sees_all)

    def add_product(self, sku, price, tax="0", cost="0", stock="0", reorder="0"):
        with self.session() as db, db.begin():
            product = Product(
                tenant_id=self.tenant.id,
                id=uuid7(),
                sku=sku,
                name=f"Item {sku}",
                unit_price=Decimal(price),
                cost=Decimal(cost),
                tax_rate=Decimal(tax),
                reorder_level=Decimal(reorder),
            )
            db.add(product)
            db.flush()
            if Decimal(stock):
                inventory = InventoryService(db, self.tenant.id, self.admin(db).id)
                inventory.receive(product.id, inventory.default_location().id, Decimal(stock))
            return product.id

    def on_hand(self, product_id):
        with self.session() as db, db.begin():
            inventory = InventoryService(db, self.tenant.id)
            return inventory.on_hand_of(product_id, inventory.default_location().id)

    def location_id(self):
        with self.session() as db, db.begin():
            return InventoryService(db, self.tenant.id).default_location().id


def _seller(make_tenant, app_engine, placement):
    tenant = make_tenant(placement)
    return Seller(tenant, app_engine(tenant.store_name, pool_size=4, max_overflow=4))


@pytest.fixture
def seller(make_tenant, app_engine):
    """A Seller for a new pooled tenant: for the rules, which the placement cannot change."""
    return _seller(make_tenant, app_engine, "pooled")


@pytest.fixture(params=["pooled", "dedicated"])
def seller_per_placement(request, make_tenant, app_engine):
    """A Seller for a new tenant in a pooled and in a dedicated store: for what a sale
    writes, which must land in the tenant's own store either way."""
    return _seller(make_tenant, app_engine, request.param)
