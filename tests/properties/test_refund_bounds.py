"""Properties of refunds, through the real SaleService on the test database (as the app
role, each example rolled back): whatever sequence of partial refunds a sale line gets,
no refund pays back a negative amount, the refunds together never pay back more than
was paid for the line, and refunding everything pays back exactly the sale's total
(issue 16: refunds rounded one by one paid back 1.01 of a 1.00 sale)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from salesapp.accounts.models import User
from salesapp.db import tenant_session
from salesapp.ids import uuid7
from salesapp.inventory.services import InventoryService
from salesapp.products.models import Product
from salesapp.sales.services import CartLine, PaymentInput, SaleService
from salesapp.tenancy import urls
from salesapp.tenancy.stores import connect_args

MILLI = Decimal("0.001")
prices = st.decimals(min_value="0.01", max_value="5000", places=2)
tax_rates = st.sampled_from([Decimal(r) for r in ("0", "5", "7.5", "16")])


@st.composite
def half_cent_refunds(draw):
    """The rounding attack: one unit price and part such that every part is worth an
    odd number of half cents (each refund rounded on its own rounds up), repeated
    over most of the line, then the rest."""
    part = draw(st.sampled_from([1, 5]))  # thousandths of a unit
    price = Decimal(draw(st.sampled_from([1, 3, 5, 7]))) * 5 / part
    repeats = draw(st.integers(60, 150))
    quantity = part * (repeats + draw(st.integers(0, 20)))
    return price, Decimal("0"), quantity, [part] * repeats


@st.composite
def any_refunds(draw):
    """Any line (price, tax rate, quantity in thousandths) and any parts of it: a run of
    one small part repeated, then parts of what is left."""
    price, tax = draw(prices), draw(tax_rates)
    quantity = draw(st.integers(1, 50_000))
    part = draw(st.integers(1, 10))
    repeats = min(draw(st.integers(0, 40)), quantity // part)
    refunds, left = [part] * repeats, quantity - part * repeats
    for _ in range(draw(st.integers(0, 6))):
        if not left:
            break
        refunds.append(draw(st.integers(1, left)))
        left -= refunds[-1]
    return price, tax, quantity, refunds


@pytest.fixture(scope="module")
def engine(make_tenant, catalog):
    """(tenant, an engine on its store as the app role)."""
    tenant = make_tenant("pooled")
    with catalog.session() as session:
        url = catalog.app_url(catalog.store_url(catalog.store_by_name(session, tenant.store_name)))
    engine = create_engine(urls.sqlalchemy_url(url), connect_args=connect_args(catalog.settings))
    yield tenant, engine
    engine.dispose()


def sell(db, tenant, admin, price, tax, quantity):
    inventory = InventoryService(db, tenant.id, admin.id)
    location = inventory.default_location().id
    product = Product(
        tenant_id=tenant.id,
        id=uuid7(),
        sku=f"R-{uuid7().hex}",
        name="Item",
        unit_price=price,
        tax_rate=tax,
    )
    db.add(product)
    db.flush()
    inventory.receive(product.id, location, quantity)
    sales = SaleService(db, tenant.id, admin, sees_all=True)
    total = sales.quote([CartLine(product.id, quantity)]).total
    sale = sales.complete(
        [CartLine(product.id, quantity)], [PaymentInput("cash", total)], location_id=location
    )
    return sales, sale


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.one_of(half_cent_refunds(), any_refunds()))
# the pen test's case: 101 refunds of 0.005 of one unit at 1.00 paid back 1.01
@example((Decimal("1.00"), Decimal("0"), 1000, [5] * 101))
def test_refunds_stay_within_what_was_paid_and_all_of_it_is_the_total(engine, case):
    tenant, engine = engine
    price, tax, milli, refunds = case
    with tenant_session(engine, tenant.id) as db:
        db.begin()
        try:
            admin = db.scalars(select(User).where(User.username == "admin")).one()
            sales, sale = sell(db, tenant, admin, price, tax, milli * MILLI)
            line = sale.lines[0]
            paid_back = Decimal("0")
            for part in refunds:
                amount = sales.refund(sale, {line.id: part * MILLI}, method="cash").amount
                assert amount >= 0
                paid_back += amount
                assert paid_back <= line.line_total
            left = line.quantity - line.refunded_quantity
            if left:
                amount = sales.refund(sale, {line.id: left}, method="cash").amount
                assert amount >= 0
                paid_back += amount
            assert paid_back == sale.total == sale.refunded_total
            assert sale.status == "refunded"
        finally:
            db.rollback()
