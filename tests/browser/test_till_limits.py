"""The till at its limits, in a real browser at a desktop's and a phone's size (issue
16): a cart of 50 lines sold end to end (it no longer rides in the session cookie), a
Cashier refused a discount over the cap with the reason on the page, and a Manager's
partial refund that pays back what the quantity is worth."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_selling import sign_in
from tests.sales.test_server_cart import stock_products

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.fixture(params=list(VIEWPORTS))
def sized_page(browser, request):
    """A page at a desktop's and at a phone's size; (page, size name)."""
    width, height = VIEWPORTS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page, request.param
    context.close()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"till-{name}.png"), full_page=True)


def test_50_lines_the_discount_cap_and_a_partial_refund(
    sized_page, url_for, make_tenant, make_user, owner_engines
):
    page, size = sized_page
    tenant = make_tenant("pooled")
    cashier = make_user(tenant, ("Cashiers",))
    manager = make_user(tenant, ("Managers",))
    skus = stock_products(owner_engines, tenant, 51)

    sign_in(page, url_for, tenant, *cashier)
    page.goto(url_for(tenant, "/pos"))
    for sku in skus[:50]:
        page.fill("#code", sku)
        page.press("#code", "Enter")
    expect(page.locator("table[aria-label=Cart] tbody tr")).to_have_count(50)
    expect(page.locator("[data-testid=total]")).to_have_text("50.00")
    shot(page, f"{size}-01-cart-of-50")
    page.fill("#pay_cash", "50.00")
    page.click("#complete")
    expect(page.locator("[data-testid=receipt-number]")).to_have_text("1")
    shot(page, f"{size}-02-receipt-of-50")

    page.goto(url_for(tenant, "/pos"))
    page.fill("#code", skus[50])
    page.press("#code", "Enter")
    page.fill("input[name=discount_0]", "0.50")
    page.fill("#pay_cash", "0.50")
    page.click("#complete")
    error = page.locator("table[aria-label=Cart] .field-error")
    expect(error).to_contain_text("cap of 10%")
    expect(error).to_contain_text("a Manager must ring the sale, or approve the discount")
    shot(page, f"{size}-03-over-the-cap")
    page.click("text=Sign out")

    sign_in(page, url_for, tenant, *manager)
    page.goto(url_for(tenant, "/sales?number=1"))
    page.click("table.data tbody a")
    page.click("a:has-text('Refund')")
    page.fill("input[name^=qty_] >> nth=0", "0.005")
    page.click("button:has-text('Refund and restock')")
    expect(page.locator("[data-testid=status]")).to_have_text("partly refunded")
    expect(page.locator("[role=status]")).to_contain_text(re.compile(r"Refunded 0\.01 by Cash"))
    shot(page, f"{size}-04-partial-refund")
    page.click("a:has-text('Refund')")
    expect(page.locator("[data-testid=paid-back] >> nth=0")).to_have_text("0.01")
    shot(page, f"{size}-05-refund-page")
