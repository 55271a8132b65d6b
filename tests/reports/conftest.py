"""A tenant's books for the report tests: products, stock, sales, voids, refunds and
expenses written through the app's own services as the app role (tests/sales' Seller),
and the rows read back with the ORM, so the tests compute what the reports must say
from the rows themselves, never from the reports' SQL."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import select, text

from salesapp.accounts.models import User
from salesapp.expenses.services import ExpenseService
from salesapp.inventory.services import InventoryService
from salesapp.locations.services import LocationService
from salesapp.sales.models import RefundLine, Sale, SaleLine
from salesapp.sales.services import CartLine, PaymentInput, SaleService
from salesapp.tenancy.binding import bind
from tests.sales.conftest import Seller


class Books(Seller):
    """A Seller that also sells as any user, at any location, refunds, voids, books
    expenses, moves sales back in time, and reads everything back."""

    def __init__(self, tenant, engine, owner_engine):
        super().__init__(tenant, engine)
        self.owner_engine = owner_engine

    def user(self, db, username: str) -> User:
        return db.scalars(select(User).where(User.username == username)).one()

    def add_location(self, name: str) -> uuid.UUID:
        with self.session() as db, db.begin():
            return LocationService(db, self.tenant.id).create(name=name).id

    def receive(self, product_id, quantity, location_id) -> None:
        with self.session() as db, db.begin():
            inventory = InventoryService(db, self.tenant.id, self.admin(db).id)
            inventory.receive(product_id, location_id, Decimal(quantity))

    def sell(self, lines, *, by="admin", location_id=None) -> uuid.UUID:
        """Complete a sale of ``lines`` ((product_id, quantity[, discount])), paid in
        cash; returns its id."""
        location_id = location_id or self.location_id()
        with self.session() as db, db.begin():
            sales = SaleService(db, self.tenant.id, self.user(db, by), sees_all=True)
            cart = [CartLine(p, Decimal(q), Decimal(d)) for p, q, d in _padded(lines)]
            total = sales.quote(cart).total
            sale = sales.complete(cart, [PaymentInput("cash", total)], location_id=location_id)
            return sale.id

    def refund(self, sale_id, quantities: dict[int, str]) -> Decimal:
        """Refund ``{line position: quantity}`` of a sale in cash; returns the amount."""
        with self.session() as db, db.begin():
            sales = self.sales(db)
            sale = sales.get(sale_id)
            by_position = {line.position: line.id for line in sale.lines}
            wanted = {by_position[pos]: Decimal(q) for pos, q in quantities.items()}
            return sales.refund(sale, wanted, method="cash", reason="returned").amount

    def void(self, sale_id) -> None:
        with self.session() as db, db.begin():
            sales = self.sales(db)
            sales.void(sales.get(sale_id), "rung up twice")

    def expense(self, category, amount, spent_on, *, location_id=None, by="admin"):
        with self.session() as db, db.begin():
            return (
                ExpenseService(db, self.tenant.id)
                .create(
                    category=category,
                    amount=Decimal(amount),
                    spent_on=spent_on,
                    note="",
                    user_id=self.user(db, by).id,
                    location_id=location_id,
                )
                .id
            )

    def backdate(self, sale_id, when: dt.datetime) -> None:
        """Move a sale's time (as the owner, under the tenant's setting)."""
        with self.owner_engine(self.tenant.store_name).begin() as conn:
            bind(conn, self.tenant.id)
            conn.execute(
                text("update sales set created_at = :when where id = :id"),
                {"when": when, "id": sale_id},
            )

    def rows(self):
        """Every sale, its lines and every refund line, as the ORM reads them."""
        with self.session() as db, db.begin():
            sales = list(db.scalars(select(Sale).order_by(Sale.number)))
            lines = list(db.scalars(select(SaleLine)))
            refund_lines = list(db.scalars(select(RefundLine)))
            for row in (*sales, *lines, *refund_lines):
                db.expunge(row)
            return sales, lines, refund_lines


def _padded(lines):
    for line in lines:
        yield (*line, "0") if len(line) == 2 else line
