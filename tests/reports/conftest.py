"""A tenant's books for the report tests: products, stock, sales, voids, refunds and
expenses written through the app's own services as the app role (tests/sales' Seller),
and the rows read back with the ORM, so the tests compute what the reports must say
from the rows themselves, never from the reports' SQL; and a :class:`Ledger` that writes
sales as rows at chosen instants with hand-worked figures (a day's edges, DST, tax per
rate)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from decimal import Decimal as D

from sqlalchemy import select, text

from salesapp.accounts.models import User
from salesapp.expenses.services import ExpenseService
from salesapp.ids import uuid7
from salesapp.inventory.services import InventoryService
from salesapp.locations.services import LocationService
from salesapp.preferences.services import SettingsService
from salesapp.registers.services import RegisterService
from salesapp.sales.models import Payment, Refund, RefundLine, Sale, SaleLine
from salesapp.sales.services import CartLine, PaymentInput, SaleService
from salesapp.tenancy.binding import bind
from tests.sales.conftest import Seller


class Books(Seller):
    """A Seller that also sells as any user, at any location, refunds, voids, books
    expenses, moves sales back in time, and reads everything back."""

    def __init__(self, tenant, engine, owner_engine):
        super().__init__(tenant, engine)
        self.owner_engine = owner_engine

    def set_zone(self, zone: str, locale: str = "en_US") -> None:
        """The workspace's time zone (an IANA name) and locale, as its settings hold
        them: every report's days are then that zone's."""
        with self.session() as db, db.begin():
            settings = SettingsService(db, self.tenant.id).get()
            settings.time_zone, settings.locale = zone, locale

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


class Ledger(Books):
    """Sales written as the rows the till stores, at chosen instants, with figures
    worked by hand: each line is (tax name, rate, net, tax), one unit, its total net +
    tax (what ``sale_lines.line_total`` always is, whether prices include tax or not).
    Independent of how the till prices (salesapp.sales.services): the reports are
    tested against the books, not against the pricing. Written as the app role (RLS
    applies), except what only the owner may change (a shift's times)."""

    def __init__(self, tenant, engine, owner_engine):
        super().__init__(tenant, engine, owner_engine)
        self.number = 0  # the sales' numbers: the ledger writes all of the tenant's
        self.product_id = self.add_product("TEA", "1.00")

    def settle(self, zone: str, *, locale="en_US", currency="USD", include_tax=False):
        """The workspace's zone, locale, currency and pricing mode."""
        with self.session() as db, db.begin():
            settings = SettingsService(db, self.tenant.id).get()
            settings.time_zone, settings.locale, settings.currency = zone, locale, currency
            settings.prices_include_tax = include_tax

    def sale(self, at: dt.datetime, lines, *, by="admin", include_tax=False) -> uuid.UUID:
        """A completed sale at the instant ``at`` of ``lines`` ((tax name, rate, net,
        tax) as text), paid in cash; returns its id."""
        self.number += 1
        figures = [(name, D(rate), D(net), D(tax)) for name, rate, net, tax in lines]
        net = sum((n for _, _, n, _ in figures), D("0.00"))
        tax = sum((t for _, _, _, t in figures), D("0.00"))
        location_id = self.location_id()
        with self.session() as db, db.begin():
            user = self.user(db, by)
            sale = Sale(
                tenant_id=self.tenant.id,
                id=uuid7(),
                number=self.number,
                location_id=location_id,
                user_id=user.id,
                subtotal=net,
                discount_total=D("0.00"),
                tax_total=tax,
                total=net + tax,
                paid_total=net + tax,
                change_due=D("0.00"),
                prices_include_tax=include_tax,
                created_at=at,
            )
            db.add(sale)
            db.flush()
            for position, (name, rate, line_net, line_tax) in enumerate(figures):
                db.add(
                    SaleLine(
                        tenant_id=self.tenant.id,
                        id=uuid7(),
                        sale_id=sale.id,
                        position=position,
                        product_id=self.product_id,
                        description="Item TEA",
                        sku="TEA",
                        quantity=D("1"),
                        unit_price=line_net + line_tax if include_tax else line_net,
                        unit_cost=D("0.00"),
                        discount=D("0.00"),
                        tax_rate=rate,
                        tax_amount=line_tax,
                        tax_name=name,
                        line_total=line_net + line_tax,
                    )
                )
            db.add(
                Payment(
                    tenant_id=self.tenant.id,
                    id=uuid7(),
                    sale_id=sale.id,
                    position=0,
                    method="cash",
                    amount=net + tax,
                )
            )
            return sale.id

    def refund(self, sale_id, position: int, amount: str) -> None:
        """Pay back ``amount`` of a sale's line (its one unit), in cash."""
        with self.session() as db, db.begin():
            sale = db.get(Sale, (self.tenant.id, sale_id))
            line = next(line for line in sale.lines if line.position == position)
            refund = Refund(
                tenant_id=self.tenant.id,
                id=uuid7(),
                sale_id=sale.id,
                user_id=self.admin(db).id,
                amount=D(amount),
                method="cash",
                reason="returned",
            )
            db.add(refund)
            db.flush()
            db.add(
                RefundLine(
                    tenant_id=self.tenant.id,
                    id=uuid7(),
                    refund_id=refund.id,
                    sale_line_id=line.id,
                    quantity=D("1"),
                    amount=D(amount),
                )
            )
            line.refunded_amount += D(amount)
            line.refunded_quantity = D("1")
            sale.refunded_total += D(amount)
            sale.status = "refunded" if sale.refunded_total == sale.total else "partly_refunded"

    def shift(
        self, register: str, opened: dt.datetime, closed: dt.datetime, *, by="admin"
    ) -> uuid.UUID:
        """A shift of a new register opened by ``by`` with no float and closed with
        nothing counted, then placed at the instants given (as the owner)."""
        location_id = self.location_id()
        with self.session() as db, db.begin():
            registers = RegisterService(db, self.tenant.id)
            till = registers.create(location_id, register)
            shift = registers.open_shift(till, D("0.00"), self.user(db, by))
            registers.close_shift(shift, D("0.00"), None, None, "", self.admin(db))
            shift_id = shift.id
        with self.owner_engine(self.tenant.store_name).begin() as conn:
            bind(conn, self.tenant.id)
            conn.execute(
                text("update shifts set opened_at = :opened, closed_at = :closed where id = :id"),
                {"opened": opened, "closed": closed, "id": shift_id},
            )
        return shift_id
