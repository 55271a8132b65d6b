"""A sale rung in a German workspace in Chromium (issue 18), at a laptop's, a tablet's
and a phone's size, by keyboard as a cashier works: a weighed product's "1,5" kg, a
quick tender filled in as "10,00", "20,00" typed, the change due "14,40" shown as it is
typed (pos.js, with the locale's decimal sign from the page) and again after Enter (the
server), then the sale completed; and "1.5" kg refused. Screenshots: tests/browser/artifacts/till-locale-*."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from salesapp.preferences.services import SettingsService
from salesapp.sales.models import Sale
from tests.browser.conftest import shot
from tests.browser.test_selling import sign_in
from tests.browser.test_till_layout import VIEWPORTS
from tests.browser.test_till_sale import focused_id, lines, tab_to, total
from tests.sales.test_till_entry import add_products

pytestmark = pytest.mark.browser

#: (sku, price, open price, sold by weight, category); no tax: the totals add up plainly
PRODUCTS = (
    ("BREAD", "2.00", False, False, "Bakery"),
    ("NUTS", "2.40", False, True, "Deli"),
)


@pytest.fixture(params=list(VIEWPORTS))
def german_till(request, browser, url_for, make_tenant, make_user, owner_engines):
    """A Cashier at the till of a new German workspace (de_DE, EUR, Berlin) with
    PRODUCTS, in a browser of each size: (page, size, tenant)."""
    width, height = VIEWPORTS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    tenant = make_tenant("pooled")
    add_products(owner_engines, tenant, *PRODUCTS)
    with owner_engines.session(tenant) as db:
        row = SettingsService(db, tenant.id).get()
        row.locale, row.currency, row.time_zone = "de_DE", "EUR", "Europe/Berlin"
    sign_in(page, url_for, tenant, *make_user(tenant, ("Cashiers",)))
    page.goto(url_for(tenant, "/pos"))
    yield page, request.param, tenant
    context.close()


def change(page):
    return page.locator("#cart-form .till-change")


def test_a_german_sale_by_keyboard(german_till, owner_engines):
    page, size, tenant = german_till
    expect(page.locator("#code")).to_be_focused()
    page.keyboard.type("NUTS")  # a weighed product: the till asks for the kg
    page.keyboard.press("Enter")
    expect(page.locator("#ask-weight")).to_be_focused()
    expect(page.locator("#ask-weight")).to_have_attribute("placeholder", "0,000")
    page.keyboard.type("1,5")
    page.keyboard.press("Enter")
    expect(lines(page)).to_have_count(1)
    expect(page.locator("input[name=qty_0]")).to_have_value("1,5")
    expect(total(page)).to_have_text("3,60")
    expect(page.locator("#code")).to_be_focused()
    page.keyboard.type("BREAD")  # a scan: the cart swapped in place
    page.keyboard.press("Enter")
    expect(lines(page)).to_have_count(2)
    expect(total(page)).to_have_text("5,60")
    expect(page.locator("table[aria-label=Cart] tbody tr").first).to_contain_text("2,40/kg")
    # a quick tender fills its amount the German way, and the change follows at once
    page.locator(".till-tenders button", has_text="10").first.click()
    expect(page.locator("#pay_cash")).to_have_value("10,00")
    expect(change(page)).to_have_text("Change 4,40")
    # the cashier types what was handed over instead, as Germans write it
    page.locator("#pay_cash").fill("")
    expect(change(page)).to_be_hidden()
    page.keyboard.type("20,00")
    expect(change(page)).to_have_text("Change 14,40")
    page.keyboard.type("0")  # 20,000: more decimals than euros have: no change shown
    expect(change(page)).to_be_hidden()
    page.keyboard.press("Backspace")
    page.keyboard.press("Enter")  # recalculates on the server, keeping what was typed
    expect(page.locator("#pay_cash")).to_have_value("20,00")
    expect(change(page)).to_have_text("Change 14,40")
    expect(change(page)).to_be_visible()
    shot(page, f"till-locale-cart-{size}")
    page.locator("#pay_cash").focus()
    tab_to(page, "complete")
    assert focused_id(page) == "complete"
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=receipt-number]")).to_have_text("1")
    shot(page, f"till-locale-receipt-{size}")
    with owner_engines.session(tenant) as db:
        sale = db.scalars(select(Sale)).one()
        assert (sale.total, sale.paid_total, sale.change_due) == (
            Decimal("5.60"),
            Decimal("20.00"),
            Decimal("14.40"),
        )


def test_a_german_weight_written_the_english_way_is_refused(german_till):
    page, size, _tenant = german_till
    page.keyboard.type("NUTS")
    page.keyboard.press("Enter")
    expect(page.locator("#ask-weight")).to_be_focused()
    page.keyboard.type("1.5")
    page.keyboard.press("Enter")
    error = page.locator("#ask-form .field-error")
    expect(error).to_contain_text("is ambiguous or badly grouped: '1.5'")
    expect(error).to_contain_text("e.g. 0,425")
    expect(page.locator("#ask-weight")).to_have_value("1.5")
    expect(lines(page)).to_have_count(0)
    shot(page, f"till-locale-refused-{size}")
