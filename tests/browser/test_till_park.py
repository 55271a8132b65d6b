"""Park a sale, serve the next customer, resume the parked one and complete it, in a
real browser (issue 17): the parked list shows the label, age and total; the resumed
cart keeps its lines and the payment typed before parking."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_selling import sign_in
from tests.sales.test_server_cart import stock_products


def test_park_serve_another_resume_and_complete(
    page, url_for, make_tenant, make_user, owner_engines
):
    tenant = make_tenant("pooled")
    first, second = stock_products(owner_engines, tenant, 2)
    sign_in(page, url_for, tenant, *make_user(tenant, ("Cashiers",)))
    page.goto(url_for(tenant, "/pos"))
    page.fill("#code", first)
    page.press("#code", "Enter")
    page.fill("input[name=qty_0]", "3")
    page.fill("#pay_cash", "5")
    page.press("#pay_cash", "Enter")
    page.fill("#park-label", "Ada (forgot her wallet)")
    page.press("#park-label", "Enter")
    expect(page.locator("[role=status]")).to_contain_text("Sale parked: Ada")
    expect(page.locator("[data-testid=parked-link]")).to_have_text("Parked sales (1)")

    page.fill("#code", second)
    page.press("#code", "Enter")
    page.fill("#pay_cash", "1")
    page.click("#complete")
    expect(page.locator("[data-testid=receipt-number]")).to_have_text("1")

    page.goto(url_for(tenant, "/pos/carts"))
    row = page.locator("table[aria-label='Parked sales'] tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Ada (forgot her wallet)")
    expect(row).to_contain_text("3.00")
    expect(row).to_contain_text(re.compile(r"\d+ min ago"))
    shot(page, "till-park-01-parked-list")
    row.locator("button:has-text('Resume')").click()
    expect(page.locator("input[name=qty_0]")).to_have_value("3")
    expect(page.locator("#pay_cash")).to_have_value("5")
    shot(page, "till-park-02-resumed")
    page.click("#complete")
    expect(page.locator("[data-testid=receipt-number]")).to_have_text("2")
    expect(page.locator("[data-testid=receipt-change]")).to_have_text("2.00")
