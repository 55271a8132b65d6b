"""Whole sales at the till in Chromium (issue 17), at a laptop's, a tablet's and a phone's
size: three items by tiles, by scanner (the cart swapped in place, no page load), by
keyboard alone, and the open-price and weight prompts. Screenshots land in
tests/browser/artifacts/ (till-sale-*)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_selling import sign_in
from tests.browser.test_till_layout import VIEWPORTS
from tests.sales.test_till_entry import add_products

pytestmark = pytest.mark.browser

#: (sku, price, open price, sold by weight, category); no tax, so totals add up plainly
PRODUCTS = (
    ("BREAD", "2.00", False, False, "Bakery"),
    ("BUN", "0.50", False, False, "Bakery"),
    ("CAKE", "3.25", False, False, "Bakery"),
    ("FISH", "0", True, False, "Deli"),
    ("NUTS", "2.40", False, True, "Deli"),
)


@pytest.fixture(params=list(VIEWPORTS))
def till(request, browser, url_for, make_tenant, make_user, owner_engines):
    """A Cashier signed in at the till of a new tenant with PRODUCTS, in a browser of
    each size: (page, size, url)."""
    width, height = VIEWPORTS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    tenant = make_tenant("pooled")
    add_products(owner_engines, tenant, *PRODUCTS)
    sign_in(page, url_for, tenant, *make_user(tenant, ("Cashiers",)))
    page.goto(url_for(tenant, "/pos"))
    yield page, request.param, lambda path: url_for(tenant, path)
    context.close()


def lines(page):
    return page.locator("table[aria-label=Cart] tbody tr")


def total(page):
    return page.locator("[data-testid=total]")


def receipt_lines(page):
    """The receipt's item rows: its first table's (a tax summary may follow it)."""
    return page.locator(".receipt table").first.locator("tbody tr:not(.sub)")


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def tab_to(page, element_id: str, most: int = 80) -> None:
    """Press Tab until the element ``element_id`` has the focus."""
    for _ in range(most):
        if focused_id(page) == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{most} Tabs did not reach #{element_id}")


def test_a_three_item_sale_by_tiles(till):
    page, size, _url = till
    page.get_by_role("link", name="Bakery").click()
    expect(page).to_have_url(re.compile(r"category=Bakery"))
    for number, name in enumerate(("Item BREAD", "Item BUN", "Item CAKE"), start=1):
        page.locator(".tile", has_text=name).click()
        expect(lines(page)).to_have_count(number)
    expect(total(page)).to_have_text("5.75")
    expect(page.locator(".tile", has_text="Item CAKE")).to_be_visible()  # still in Bakery
    # every quick tender shows inside its row, none scrolled out of it, 44 px or more
    tenders = page.locator(".till-tenders")
    assert tenders.evaluate("box => box.scrollWidth <= box.clientWidth"), size
    box = tenders.bounding_box()
    for button in tenders.locator("button").all():
        expect(button).to_be_visible()
        own = button.bounding_box()
        assert own["height"] >= 44, (size, button.text_content())
        assert box["x"] <= own["x"]
        assert own["x"] + own["width"] <= box["x"] + box["width"] + 0.5
    shot(page, f"till-sale-tiles-cart-{size}")
    page.get_by_role("button", name="Exact cash").click()
    expect(page.locator("#pay_cash")).to_have_value("5.75")
    page.click("#complete")
    expect(page.locator("[data-testid=receipt-number]")).to_have_text("1")
    expect(receipt_lines(page)).to_have_count(3)
    expect(page.locator(".receipt dd.grand")).to_have_text("5.75")
    expect(page.locator("[data-testid=receipt-change]")).to_have_text("0.00")
    shot(page, f"till-sale-tiles-receipt-{size}")


def test_a_sale_by_scanner_swaps_the_cart_without_a_page_load(till):
    page, size, _url = till
    url = page.url
    loads = []
    page.on("load", lambda: loads.append(page.url))
    page.evaluate("window.tillMarker = 'still the same page'")
    expect(page.locator("#code")).to_be_focused()
    for sku in ("BREAD", "BUN", "CAKE"):  # a scanner types the code and Enter, fast
        page.keyboard.type(sku)
        page.keyboard.press("Enter")
    expect(lines(page)).to_have_count(3)
    expect(total(page)).to_have_text("5.75")
    assert page.evaluate("window.tillMarker") == "still the same page"
    assert loads == []
    assert page.url == url
    expect(page.locator("#code")).to_have_value("")
    expect(page.locator("#code")).to_be_focused()
    # the same code again adds to its line, still in place
    page.keyboard.type("BUN")
    page.keyboard.press("Enter")
    expect(page.locator("input[name=qty_1]")).to_have_value("2")
    expect(total(page)).to_have_text("6.25")
    assert page.evaluate("window.tillMarker") == "still the same page"
    # typed in the cart but not sent yet: kept through the next scan's swap
    page.fill("#pay_cash", "20")
    page.focus("#code")
    page.keyboard.type("BREAD")
    page.keyboard.press("Enter")
    expect(page.locator("input[name=qty_0]")).to_have_value("2")
    expect(page.locator("#pay_cash")).to_have_value("20")
    expect(total(page)).to_have_text("8.25")
    shot(page, f"till-sale-scanner-{size}")
    # Enter in the empty box: the till's page with the message, the cart as it was
    page.keyboard.press("Enter")
    message = page.locator(".pos-find .field-error")
    expect(message).to_have_text("scan a barcode, or type a SKU or a name, then press Enter")
    expect(lines(page)).to_have_count(3)
    expect(page.locator("#code")).to_be_focused()
    page.keyboard.type("CAKE")
    page.keyboard.press("Enter")
    expect(page.locator("input[name=qty_2]")).to_have_value("2")
    expect(message).to_have_count(0)  # stale once a scan is added
    assert page.evaluate("window.tillMarker") == "still the same page"
    # a code that is no product's: the search results, as a page
    page.keyboard.type("Item")
    page.keyboard.press("Enter")
    expect(page.locator("table[aria-label='Search results']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/pos\?q=Item$"))
    assert page.evaluate("window.tillMarker") is None
    expect(lines(page)).to_have_count(3)


def test_a_sale_by_keyboard_alone(till):
    page, size, _url = till
    expect(page.locator("#code")).to_be_focused()
    for number, sku in enumerate(("BREAD", "BUN", "CAKE"), start=1):
        page.keyboard.type(sku)
        page.keyboard.press("Enter")
        expect(lines(page)).to_have_count(number)
        expect(page.locator("#code")).to_be_focused()
    tab_to(page, "pay_cash")
    page.keyboard.type("10")
    page.keyboard.press("Enter")  # recalculates, keeping the amount
    expect(page.locator("#pay_cash")).to_have_value("10")
    expect(total(page)).to_have_text("5.75")
    expect(lines(page)).to_have_count(3)
    tab_to(page, "complete")
    shot(page, f"till-sale-keyboard-{size}")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=receipt-number]")).to_have_text("1")
    expect(receipt_lines(page)).to_have_count(3)
    expect(page.locator(".receipt dd.grand")).to_have_text("5.75")
    expect(page.locator("[data-testid=receipt-change]")).to_have_text("4.25")


def test_the_open_price_and_weight_prompts(till):
    page, size, _url = till
    page.keyboard.type("FISH")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Price of Item FISH")).to_be_focused()
    expect(lines(page)).to_have_count(0)
    shot(page, f"till-sale-ask-price-{size}")
    page.keyboard.type("3.50")
    page.keyboard.press("Enter")
    expect(lines(page)).to_have_count(1)
    expect(page.locator("input[name=price_0]")).to_have_value("3.50")
    expect(total(page)).to_have_text("3.50")
    expect(page.locator("#code")).to_be_focused()
    # by tile: the weight; a bad one is asked again, with the message, nothing added
    page.get_by_role("link", name="Deli").click()
    page.locator(".tile", has_text="Item NUTS").click()
    expect(page.get_by_label("Weight of Item NUTS (kg)")).to_be_focused()
    page.keyboard.type("0")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=ask] .field-error")).to_contain_text(
        "Weight of Item NUTS (kg) must be more than 0"
    )
    expect(page.get_by_label("Weight of Item NUTS (kg)")).to_be_focused()
    expect(lines(page)).to_have_count(1)
    shot(page, f"till-sale-ask-error-{size}")
    page.get_by_label("Weight of Item NUTS (kg)").fill("0.425")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=ask]")).to_have_count(0)
    expect(page.locator("input[name=qty_1]")).to_have_value("0.425")
    expect(total(page)).to_have_text("4.52")  # 3.50 + 0.425 x 2.40 = 3.50 + 1.02
    expect(page).to_have_url(re.compile(r"/pos\?category=Deli$"))
    shot(page, f"till-sale-ask-done-{size}")
    page.get_by_role("button", name="Exact cash").click()
    page.click("#complete")
    expect(receipt_lines(page)).to_have_count(2)
    expect(page.locator(".receipt")).to_contain_text("1 \u00d7 3.50")  # the receipt's times sign
    expect(page.locator(".receipt")).to_contain_text("0.425 \u00d7 2.40")
    expect(page.locator(".receipt dd.grand")).to_have_text("4.52")
