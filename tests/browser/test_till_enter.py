"""Enter never removes anything (issue 17, item 4): pressing Enter in each field of the
till does what that field means, with JavaScript on and off. Scan box: add; quantity and
discount: recalculate; a payment amount: recalculate, keeping what was typed (the sale is
completed only by "Complete sale"). The cart's lines are never removed by Enter."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_selling import sign_in
from tests.sales.test_server_cart import stock_products


@pytest.fixture(params=["js", "no-js"])
def till_page(browser, request, url_for, make_tenant, make_user, owner_engines):
    """A Cashier at the till with a cart of two 1.00 products, in a browser with
    JavaScript on or off: (page, skus, mode)."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, java_script_enabled=request.param == "js"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    tenant = make_tenant("pooled")
    skus = stock_products(owner_engines, tenant, 3)
    sign_in(page, url_for, tenant, *make_user(tenant, ("Cashiers",)))
    page.goto(url_for(tenant, "/pos"))
    for sku in skus[:2]:
        page.fill("#code", sku)
        page.press("#code", "Enter")
    expect(page.locator("table[aria-label=Cart] tbody tr")).to_have_count(2)
    yield page, skus, request.param
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"till-enter-{request.node.name}.png"), full_page=True)
    context.close()


def lines(page):
    return page.locator("table[aria-label=Cart] tbody tr")


def test_enter_in_the_scan_box_adds(till_page):
    page, skus, _mode = till_page
    page.fill("#code", skus[2])
    page.press("#code", "Enter")
    expect(lines(page)).to_have_count(3)
    expect(page.locator("[data-testid=total]")).to_have_text("3.00")


@pytest.mark.parametrize(
    ("field", "value", "total"), [("qty_1", "4", "5.00"), ("discount_0", "0.10", "1.90")]
)
def test_enter_in_a_line_field_recalculates_and_removes_nothing(till_page, field, value, total):
    page, skus, _mode = till_page
    page.fill(f"input[name={field}]", value)
    page.press(f"input[name={field}]", "Enter")
    expect(page.locator("[data-testid=total]")).to_have_text(total)
    expect(lines(page)).to_have_count(2)
    expect(page.locator("table[aria-label=Cart]")).to_contain_text(skus[0])
    expect(page.locator("table[aria-label=Cart]")).to_contain_text(skus[1])


@pytest.mark.parametrize("method", ["cash", "card", "mobile_money"])
def test_enter_in_a_payment_amount_recalculates_and_keeps_it(till_page, method):
    page, _skus, _mode = till_page
    page.fill("input[name=qty_0]", "3")  # typed, not yet recalculated: Enter keeps it too
    page.fill(f"#pay_{method}", "1.50")
    page.press(f"#pay_{method}", "Enter")
    expect(page.locator("[data-testid=total]")).to_have_text("4.00")
    expect(lines(page)).to_have_count(2)
    expect(page.locator(f"#pay_{method}")).to_have_value("1.50")
    expect(page).to_have_url(__import__("re").compile(r"/pos$"))
    expect(page.locator("[data-testid=receipt-number]")).to_have_count(0)


def test_enter_in_a_payment_that_covers_the_total_then_complete(till_page):
    page, _skus, _mode = till_page
    page.fill("#pay_cash", "5")
    page.press("#pay_cash", "Enter")
    expect(page.locator("#pay_cash")).to_have_value("5")
    expect(lines(page)).to_have_count(2)
    page.click("#complete")
    expect(page.locator("[data-testid=receipt-number]")).to_have_text("1")
    expect(page.locator("[data-testid=receipt-change]")).to_have_text("3.00")
