"""A tenant's store session as the app role, with products and stock, for service tests."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from salesapp.accounts.models import User
from salesapp.db import tenant_session
from salesapp.ids import uuid7
from salesapp.inventory.services import InventoryService
from salesapp.products.models import Product
from salesapp.sales.services import SaleService


class Shop:
    """One tenant's store, reached as the app role, with helpers to stock and sell."""

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


@pytest.fixture(params=["pooled", "dedicated"])
def shop(request, make_tenant, app_engine):
    tenant = make_tenant(request.param)
    return Shop(tenant, app_engine(tenant.store_name, pool_size=4, max_overflow=4))
