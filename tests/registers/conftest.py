"""A drawer to test: a tenant reached as the app role through the app's services (RLS
applies as in a request), with a register, and sales and refunds made through
SaleService then placed in a shift.

Until the till sets ``sales.shift_id`` / ``refunds.shift_id`` itself (another part of
issue 17), :meth:`Drawer.sell` and :meth:`Drawer.refund` make the sale or refund with
SaleService and then set its register and shift, in the same transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from salesapp.registers.models import Shift
from salesapp.registers.services import RegisterService
from salesapp.sales.models import Refund, Sale
from salesapp.sales.services import CartLine, PaymentInput
from tests.sales.conftest import Seller


class Drawer(Seller):
    """Sells into one register's shifts."""

    def registers(self, db) -> RegisterService:
        return RegisterService(db, self.tenant.id)

    def add_register(self, name="Till 1", location_id=None):
        with self.session() as db, db.begin():
            register = self.registers(db).create(location_id or self.location_id(), name)
            return register.id

    def open(self, register_id, opening_float="100.00") -> Shift:
        with self.session() as db, db.begin():
            registers = self.registers(db)
            return registers.open_shift(
                registers.get(register_id), Decimal(opening_float), self.admin(db)
            )

    def move(self, shift_id, kind, amount, reason="float top-up"):
        with self.session() as db, db.begin():
            registers = self.registers(db)
            return registers.move_cash(
                registers.shift(shift_id), kind, Decimal(amount), reason, self.admin(db)
            )

    def sell(self, shift_id, product_id, quantity="1", payments=(("cash", None),)) -> Sale:
        """A sale of ``quantity`` of a product in the shift; a payment amount of None is
        the sale's total (what is left of it)."""
        with self.session() as db, db.begin():
            sales = self.sales(db)
            cart = [CartLine(product_id, Decimal(quantity))]
            total = sales.quote(cart).total
            paid = [
                PaymentInput(method, Decimal(amount) if amount is not None else total)
                for method, amount in payments
            ]
            sale = sales.complete(cart, paid, location_id=self.location_id())
            shift = db.get(Shift, (self.tenant.id, shift_id))
            sale.shift_id, sale.register_id = shift.id, shift.register_id
            db.flush()
            db.expunge(sale)
            return sale

    def refund(self, shift_id, sale_id, quantity="1", method="cash") -> Refund:
        with self.session() as db, db.begin():
            sales = self.sales(db)
            sale = sales.get(sale_id)
            line = sale.lines[0]
            refund = sales.refund(sale, {line.id: Decimal(quantity)}, method=method)
            shift = db.get(Shift, (self.tenant.id, shift_id))
            refund.shift_id, refund.register_id = shift.id, shift.register_id
            db.flush()
            db.expunge(refund)
            return refund

    def void(self, sale_id):
        with self.session() as db, db.begin():
            sales = self.sales(db)
            sales.void(sales.get(sale_id), "rung up twice")

    def summary(self, shift_id):
        with self.session() as db, db.begin():
            registers = self.registers(db)
            return registers.summary(registers.shift(shift_id))

    def close(self, shift_id, cash, card=None, mobile=None, note=""):
        with self.session() as db, db.begin():
            registers = self.registers(db)
            return registers.close_shift(
                registers.shift(shift_id), cash, card, mobile, note, self.admin(db)
            )

    def shift_row(self, shift_id) -> Shift:
        with self.session() as db, db.begin():
            return db.scalars(select(Shift).where(Shift.id == shift_id)).one()


def _drawer(make_tenant, app_engine, placement, **kw):
    tenant = make_tenant(placement, **kw)
    return Drawer(tenant, app_engine(tenant.store_name, pool_size=4, max_overflow=4))


@pytest.fixture
def drawer(make_tenant, app_engine):
    """A Drawer for a new pooled tenant: for the rules, which the placement cannot change."""
    return _drawer(make_tenant, app_engine, "pooled")


@pytest.fixture(params=["pooled", "dedicated"])
def drawer_per_placement(request, make_tenant, app_engine):
    """A Drawer for a new tenant in a pooled and in a dedicated store: for what a shift
    writes and reads, which must stay in the tenant's own store either way."""
    return _drawer(make_tenant, app_engine, request.param)
