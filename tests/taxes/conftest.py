"""Fixtures of the tax tests: a Seller (tests/sales) whose workspace's tax rules and
currency a test sets, and whose products carry named rates."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from salesapp.preferences.services import SettingsService
from salesapp.products.models import Product
from salesapp.taxes.models import TaxRate
from salesapp.taxes.services import TaxService
from tests.sales.conftest import Seller, _seller


class TaxSeller(Seller):
    """A Seller that sets the workspace's tax rules and gives products named rates."""

    def set_rules(self, *, inclusive=False, rounding="line", currency="USD", locale="en_US"):
        with self.session() as db, db.begin():
            settings = SettingsService(db, self.tenant.id).get()
            settings.prices_include_tax = inclusive
            settings.tax_rounding = rounding
            settings.currency = currency
            settings.locale = locale

    def name_rates(self, **by_sku) -> dict[str, TaxRate]:
        """Name the percentages in use (the typical set), then put the products of
        ``by_sku`` (sku="Exempt") on the named rate; returns name -> rate."""
        with self.session() as db, db.begin():
            taxes = TaxService(db, self.tenant.id)
            rates = {rate.name: rate for rate in taxes.rates()}
            for sku, name in by_sku.items():
                product = db.scalars(select(Product).where(Product.sku == sku)).one()
                product.tax_rate_id, product.tax_rate = rates[name].id, rates[name].rate
            db.flush()
            db.expunge_all()
            return rates


@pytest.fixture
def seller(make_tenant, app_engine):
    """A TaxSeller of a new pooled tenant."""
    made = _seller(make_tenant, app_engine, "pooled")
    made.__class__ = TaxSeller
    return made


ZERO = Decimal("0")
