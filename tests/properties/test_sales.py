"""Properties of completed sales, for arbitrary carts, through the real SaleService on
the test database (as the app role, each example rolled back), with prices with tax
added or included and tax rounded per line or per invoice: the sale's total is the sum
of its lines and its net plus its tax, its tax the sum of its lines' taxes, its payments
cover it, and the stock movements of every product sum to its stock level."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select

from salesapp.accounts.models import User
from salesapp.db import tenant_session
from salesapp.forms import money
from salesapp.ids import uuid7
from salesapp.inventory.models import StockMovement
from salesapp.inventory.services import InventoryService
from salesapp.preferences.services import SettingsService
from salesapp.products.models import Product
from salesapp.sales.services import CartLine, PaymentInput, SaleError, SaleService
from salesapp.tenancy import urls
from salesapp.tenancy.stores import connect_args

prices = st.decimals(min_value="0.01", max_value="5000", places=2)
tax_rates = st.sampled_from([Decimal(r) for r in ("0", "5", "7.5", "16", "100")])
quantities = st.decimals(min_value="0.001", max_value="50", places=3)
products = st.lists(st.tuples(prices, tax_rates), min_size=1, max_size=4)


@st.composite
def carts(draw):
    """Products (price, tax rate) and a cart over them: (product index, quantity,
    discount as a fraction of the line's gross)."""
    catalogue = draw(products)
    lines = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(catalogue) - 1),
                quantities,
                st.sampled_from([Decimal("0"), Decimal("0.1"), Decimal("0.5"), Decimal("1")]),
            ),
            min_size=1,
            max_size=6,
            unique_by=lambda line: line[0],
        )
    )
    split = draw(st.sampled_from(["cash", "card+cash", "over"]))
    mode = (draw(st.booleans()), draw(st.sampled_from(["line", "invoice"])))
    return catalogue, lines, split, mode


@pytest.fixture(scope="module")
def engine(make_tenant, catalog):
    """(tenant, an engine on its store as the app role)."""
    tenant = make_tenant("pooled")
    with catalog.session() as session:
        url = catalog.app_url(catalog.store_url(catalog.store_by_name(session, tenant.store_name)))
    engine = create_engine(urls.sqlalchemy_url(url), connect_args=connect_args(catalog.settings))
    yield tenant, engine
    engine.dispose()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(carts())
def test_total_is_the_sum_of_lines_payments_cover_it_and_stock_adds_up(engine, cart):
    tenant, engine = engine
    catalogue, lines, split, (inclusive, rounding) = cart
    with tenant_session(engine, tenant.id) as db:
        db.begin()
        try:
            rules = SettingsService(db, tenant.id).get()
            rules.prices_include_tax, rules.tax_rounding = inclusive, rounding
            admin = db.scalars(select(User).where(User.username == "admin")).one()
            inventory = InventoryService(db, tenant.id, admin.id)
            location = inventory.default_location().id
            made = []
            for price, tax in catalogue:
                product = Product(
                    tenant_id=tenant.id,
                    id=uuid7(),
                    sku=f"H-{uuid7().hex}",
                    name="Item",
                    unit_price=price,
                    tax_rate=tax,
                )
                db.add(product)
                db.flush()
                inventory.receive(product.id, location, Decimal("100"))
                made.append(product)
            cart_lines = []
            for index, quantity, fraction in lines:
                gross = money(quantity * made[index].unit_price)
                cart_lines.append(CartLine(made[index].id, quantity, money(gross * fraction)))
            sales = SaleService(db, tenant.id, admin, sees_all=True)
            total = sales.quote(cart_lines).total
            if split == "cash":
                payments = [PaymentInput("cash", total)]
            elif split == "card+cash":
                card = money(total / 3)
                payments = [PaymentInput("card", card), PaymentInput("cash", total - card)]
            else:
                payments = [PaymentInput("cash", total + Decimal("10.00"))]
            try:
                sale = sales.complete(cart_lines, payments, location_id=location)
            except SaleError as exc:  # only a sale of nothing to pay is refused this way
                assert total == 0, exc.errors
                return

            assert sale.total == sum((line.line_total for line in sale.lines), Decimal("0"))
            assert sale.total == sale.subtotal + sale.tax_total
            assert sale.tax_total == sum((line.tax_amount for line in sale.lines), Decimal(0))
            assert (sale.prices_include_tax, sale.tax_rounding) == (inclusive, rounding)
            for line in sale.lines:
                charged = money(line.quantity * line.unit_price) - line.discount
                assert line.line_total == (charged if inclusive else charged + line.tax_amount)
                assert Decimal(0) <= line.tax_amount <= line.line_total
            assert sale.paid_total == sum((p.amount for p in sale.payments), Decimal("0"))
            assert sale.paid_total >= sale.total
            assert sale.change_due == sale.paid_total - sale.total
            assert sale.discount_total == sum((line.discount for line in sale.lines), Decimal(0))
            db.flush()
            sold = {made[index].id: quantity for index, quantity, _ in lines}
            ids = [p.id for p in made]
            moved = dict(
                db.execute(
                    select(StockMovement.product_id, func.sum(StockMovement.quantity))
                    .where(StockMovement.product_id.in_(ids))
                    .group_by(StockMovement.product_id)
                ).all()
            )
            on_hand = inventory.on_hand(ids, location)
            for product in made:
                expected = Decimal("100") - sold.get(product.id, Decimal("0"))
                assert moved[product.id] == expected
                assert on_hand[(product.id, location)] == expected
        finally:
            db.rollback()
