"""The till laid out for a shift (issue 17, item 2): with a long cart, the total, the
payment and "Complete sale" stay in view (sticky) at a laptop's, a tablet's and a
phone's size; the page never scrolls sideways; the till's buttons are at least 44 px."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_selling import sign_in
from tests.sales.test_server_cart import stock_products

VIEWPORTS = {"laptop": (1366, 768), "tablet": (768, 1024), "phone": (390, 844)}


@pytest.fixture(params=list(VIEWPORTS))
def sized_page(browser, request):
    width, height = VIEWPORTS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page, request.param
    context.close()


def in_view(page, selector) -> bool:
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def test_totals_payment_and_complete_stay_in_view(
    sized_page, url_for, make_tenant, make_user, owner_engines
):
    page, size = sized_page
    tenant = make_tenant("pooled")
    skus = stock_products(owner_engines, tenant, 12)
    sign_in(page, url_for, tenant, *make_user(tenant, ("Cashiers",)))
    page.goto(url_for(tenant, "/pos"))
    for sku in skus:
        page.fill("#code", sku)
        page.press("#code", "Enter")
    expect(page.locator("table[aria-label=Cart] tbody tr")).to_have_count(12)
    for scroll in (0, 400):  # at the top and after scrolling the lines
        page.evaluate(f"window.scrollTo(0, {scroll})")
        assert in_view(page, "#complete"), f"Complete sale out of view at {size}"
        assert in_view(page, "[data-testid=total]"), f"the total out of view at {size}"
        assert in_view(page, "#pay_cash"), f"the cash field out of view at {size}"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[size][0], f"the till is {width} px wide at {size}"
    small = page.evaluate(
        """[...document.querySelectorAll('.till button:not(.visually-hidden)')]
             .filter(b => b.offsetParent !== null && b.getBoundingClientRect().height < 44)
             .map(b => b.textContent.trim())"""
    )
    assert small == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"till-layout-{size}.png"))
