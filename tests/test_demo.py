"""The demo data generator: realistic, consistent, deterministic."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from salesapp.db import tenant_session
from salesapp.expenses.models import Expense
from salesapp.inventory.models import StockMovement
from salesapp.locations.models import Location
from salesapp.operations import door
from salesapp.operations.demo import ean13, generate
from salesapp.products.models import Product
from salesapp.sales.models import Payment, Sale, SaleLine

TODAY = dt.date(2026, 11, 20)


def fill(catalog, tenant, **kw):
    with catalog.session() as session:
        engine = catalog.owner_engine(catalog.store_by_name(session, tenant.store_name))
    with tenant_session(engine, tenant.id) as db, db.begin():
        made = generate(db, tenant.id, today=TODAY, **kw)
    return made, engine


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
        days = db.scalar(select(func.count(func.distinct(func.date(Sale.created_at)))))
        assert days >= 25  # a month of trading days
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
