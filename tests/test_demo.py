"""The demo data generator: realistic, consistent, deterministic; a shop in Nairobi
whose sales are all in its hours and none later than now (issue 18)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from salesapp.db import tenant_session
from salesapp.expenses.models import Expense
from salesapp.inventory.models import StockMovement
from salesapp.locations.models import Location
from salesapp.operations import door
from salesapp.operations.demo import CLOSES, OPENS, ean13, generate
from salesapp.preferences.models import WorkspaceSettings
from salesapp.products.models import Product
from salesapp.sales.models import Payment, Refund, Sale, SaleLine
from salesapp.taxes.models import TaxRate

NAIROBI = ZoneInfo("Africa/Nairobi")
#: the generator's "now": midday in Nairobi, so today's sales must stop at 12:30
NOW = dt.datetime(2026, 11, 20, 12, 30, tzinfo=NAIROBI)
TODAY = NOW.date()


def fill(catalog, tenant, now=NOW, **kw):
    with catalog.session() as session:
        engine = catalog.owner_engine(catalog.store_by_name(session, tenant.store_name))
    with tenant_session(engine, tenant.id) as db, db.begin():
        made = generate(db, tenant.id, now=now, **kw)
    return made, engine


def instants(db):
    """Every instant the demo data records a sale, a void, a refund or a stock movement."""
    return [
        *db.scalars(select(Sale.created_at)),
        *db.scalars(select(Sale.voided_at).where(Sale.voided_at.is_not(None))),
        *db.scalars(select(Refund.created_at)),
        *db.scalars(select(StockMovement.created_at)),
    ]


def test_ean13_check_digit():
    assert ean13(400638133393) == "4006381333931"


@pytest.fixture(scope="module")
def generated(catalog, make_tenant):
    tenant = make_tenant("dedicated", multi_location=True)
    with door.tenant_session(catalog, tenant) as db:
        db.execute(
            text(
                "insert into locations (tenant_id, id, name) "
                "values (:t, gen_random_uuid(), 'Kiosk')"
            ),
            {"t": tenant.id},
        )
    made, engine = fill(catalog, tenant, seed=7, months=1)
    yield tenant, made, engine
    engine.dispose()


def test_a_realistic_workspace(generated):
    tenant, made, engine = generated
    assert made["products"] >= 200 and made["customers"] == 60 and made["sales"] > 40
    with tenant_session(engine, tenant.id) as db, db.begin():
        categories = set(db.scalars(select(Product.category)))
        assert len(categories) >= 8
        sold_at = set(db.scalars(select(Sale.location_id).distinct()))
        assert len(sold_at) == 2  # both locations sell
        days = {when.astimezone(NAIROBI).date() for when in db.scalars(select(Sale.created_at))}
        assert len(days) >= 25  # a month of trading days
        assert db.scalar(select(func.min(Sale.created_at))).date() >= TODAY - dt.timedelta(days=31)
        assert db.scalar(select(func.count()).select_from(Expense)) == made["expenses"] > 0
        assert db.scalar(select(func.count()).where(Sale.status == "voided")) == made["voided"]


def test_the_generated_books_are_consistent(generated):
    tenant, made, engine = generated
    with tenant_session(engine, tenant.id) as db, db.begin():
        for sale in db.scalars(select(Sale)):
            assert sale.total == sum((line.line_total for line in sale.lines), Decimal(0))
            assert sale.paid_total == sum((p.amount for p in sale.payments), Decimal(0))
            assert sale.paid_total - sale.change_due == sale.total
        # every line has its stock movement, and on hand is what was received minus sold
        lines = db.scalar(select(func.count()).select_from(SaleLine))
        sold = db.scalar(select(func.count()).where(StockMovement.kind == "sale"))
        assert sold == lines
        negative = db.scalar(
            text(
                "select count(*) from (select product_id, location_id, sum(quantity) q "
                "from stock_movements group by 1, 2) s where q < 0"
            )
        )
        assert negative == 0
        assert db.scalar(select(func.count()).select_from(Payment)) >= made["sales"]
        assert db.scalar(select(func.count()).select_from(Location)) == 2


def test_the_same_seed_gives_the_same_data(catalog, make_tenant):
    def fingerprint(tenant):
        made, engine = fill(catalog, tenant, seed=3, months=1, customers=5)
        with tenant_session(engine, tenant.id) as db, db.begin():
            products = db.execute(
                select(Product.sku, Product.name, Product.unit_price, Product.cost).order_by(
                    Product.sku
                )
            ).all()
            totals = db.execute(select(func.count(), func.sum(Sale.total))).one()
        engine.dispose()
        return made, products, tuple(totals)

    first = fingerprint(make_tenant("pooled"))
    second = fingerprint(make_tenant("pooled"))
    assert first == second


def test_a_shop_in_nairobi(generated):
    tenant, _, engine = generated
    with tenant_session(engine, tenant.id) as db, db.begin():
        shop = db.get(WorkspaceSettings, tenant.id)
        assert (shop.time_zone, shop.locale, shop.currency) == ("Africa/Nairobi", "en_KE", "KES")
        assert shop.prices_include_tax is True and shop.tax_rounding == "line"
        assert shop.legal_name and "Nairobi" in shop.address and shop.phone and shop.tax_number
        rates = {rate.name: rate.rate for rate in db.scalars(select(TaxRate))}
        assert rates == {"Standard 16%": 16, "Zero-rated 0%": 0, "Exempt": 0}
        linked = db.execute(
            select(
                TaxRate.name, func.count(), func.min(Product.tax_rate), func.max(Product.tax_rate)
            )
            .join(Product, Product.tax_rate_id == TaxRate.id)
            .group_by(TaxRate.name)
        ).all()
        by_rate = {name: (count, low, high) for name, count, low, high in linked}
        assert set(by_rate) == set(rates)  # every rate has products
        assert all(low == high == rates[name] for name, (_, low, high) in by_rate.items())
        assert db.scalar(select(func.count()).where(Product.tax_rate_id.is_(None))) == 0
        # prices in whole shillings, as a Nairobi shop marks them
        assert all(
            price == price.to_integral_value() for price in db.scalars(select(Product.unit_price))
        )


def test_no_sale_is_later_than_now_and_all_are_in_the_shops_hours(generated):
    tenant, _, engine = generated
    with tenant_session(engine, tenant.id) as db, db.begin():
        sold = list(db.scalars(select(Sale.created_at)))
        assert sold and max(sold) <= NOW
        assert all(OPENS <= when.astimezone(NAIROBI).time() < CLOSES for when in sold)
        today = [when for when in sold if when.astimezone(NAIROBI).date() == TODAY]
        assert today, "today has the sales of its morning"
        assert all(when.astimezone(NAIROBI).time() <= dt.time(12, 30) for when in today)
        # voids, refunds and stock movements neither
        assert max(instants(db)) <= NOW
        later = db.execute(
            select(Sale.created_at, Sale.voided_at).where(Sale.voided_at < Sale.created_at)
        ).all()
        assert later == []  # nothing voided before it was sold


def test_demo_data_made_now_is_not_in_the_future(catalog, make_tenant):
    """With the clock's own now, at whatever hour the tests run."""
    tenant = make_tenant("pooled")
    before = dt.datetime.now(dt.UTC)
    made, engine = fill(catalog, tenant, now=None, months=1, customers=3, sales_per_day=(6, 8))
    after = dt.datetime.now(dt.UTC)
    try:
        with tenant_session(engine, tenant.id) as db, db.begin():
            assert made["sales"] > 0
            assert max(instants(db)) <= after
            local_now = before.astimezone(NAIROBI)
            today = [
                when
                for when in db.scalars(select(Sale.created_at))
                if when.astimezone(NAIROBI).date() == local_now.date()
            ]
            assert all(when <= after for when in today)
    finally:
        engine.dispose()
