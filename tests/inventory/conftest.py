"""Fixtures of the stock back office tests: a workspace with signed-in staff, and a
Stockroom that seeds and reads it through the app's services as the app role (so
row-level security applies as in a request)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from salesapp.accounts.models import User
from salesapp.db import tenant_session
from salesapp.ids import uuid7
from salesapp.inventory.services import InventoryService
from salesapp.locations.models import Location
from salesapp.products.models import Product


class Stockroom:
    """One tenant's stock, seeded and read through the app's services."""

    def __init__(self, tenant, engine):
        self.tenant, self.engine = tenant, engine

    def session(self):
        return tenant_session(self.engine, self.tenant.id)

    def user_id(self, db, username="admin"):
        return db.scalars(select(User.id).where(User.username == username)).one()

    def inventory(self, db, username="admin") -> InventoryService:
        return InventoryService(db, self.tenant.id, self.user_id(db, username))

    def default_location(self):
        with self.session() as db, db.begin():
            return InventoryService(db, self.tenant.id).default_location().id

    def add_location(self, name):
        with self.session() as db, db.begin():
            location = Location(tenant_id=self.tenant.id, id=uuid7(), name=name)
            db.add(location)
            db.flush()
            return location.id

    def add_products(self, count=1, *, prefix="P", reorder="0", barcode=False, cost="1.00"):
        """``count`` products ``<prefix>000``...; returns their ids by SKU."""
        rows = [
            {
                "tenant_id": self.tenant.id,
                "id": uuid7(),
                "sku": f"{prefix}{n:03d}",
                "barcode": f"{prefix}-{n:03d}-BC" if barcode else None,
                "name": f"Item {prefix}{n:03d}",
                "unit_price": Decimal("2.00"),
                "cost": Decimal(cost),
                "reorder_level": Decimal(reorder),
            }
            for n in range(count)
        ]
        with self.session() as db, db.begin():
            db.execute(insert(Product), rows)
        return {row["sku"]: row["id"] for row in rows}

    def receive(self, product_id, location_id, quantity, username="admin"):
        with self.session() as db, db.begin():
            self.inventory(db, username).receive(product_id, location_id, Decimal(quantity))

    def on_hand(self, product_id, location_id) -> Decimal:
        with self.session() as db, db.begin():
            return InventoryService(db, self.tenant.id).on_hand_of(product_id, location_id)


@pytest.fixture
def shop(staff, app_engine):
    """(Stockroom, signed-in clients by role) of a new pooled multi-location workspace."""
    tenant, clients = staff("pooled", roles=("Managers", "Cashiers"), multi_location=True)
    return Stockroom(tenant, app_engine(tenant.store_name)), clients


@pytest.fixture
def small_shop(staff, app_engine):
    """As ``shop``, a one-location workspace."""
    tenant, clients = staff("pooled", roles=("Managers",))
    return Stockroom(tenant, app_engine(tenant.store_name)), clients
