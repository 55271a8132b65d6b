"""Goods in with a scanner: three barcodes, each followed by Enter (what a scanner sends),
build the list; posting it receives the goods as one receipt. At a desktop's 1366x768
and a phone's 390x844, with screenshots of the list and the receipt to look at."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_selling import sign_in
from tests.inventory.conftest import Stockroom


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_goods_in_by_scanning_three_barcodes(
    browser, url_for, make_tenant, make_user, app_engine, width, height
):
    tenant = make_tenant("pooled", multi_location=True)
    room = Stockroom(tenant, app_engine(tenant.store_name))
    ids = room.add_products(3, barcode=True, cost="1.25")
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, url_for, tenant, *make_user(tenant, ("Managers",)))
        page.goto(url_for(tenant, "/stock/goods-in"))
        expect(page.locator("#code")).to_be_focused()
        for n in range(3):
            page.locator("#code").type(f"P-{n:03d}-BC")  # a scanner types, then sends Enter
            page.keyboard.press("Enter")
            expect(page.locator("tr[data-testid^=line-]")).to_have_count(n + 1)
            expect(page.locator("#code")).to_be_focused()  # ready for the next scan
        page.locator("#code").type("P-001-BC")
        page.keyboard.press("Enter")  # a repeat adds to its line
        expect(page.locator("[data-testid=quantity-2]")).to_have_value("2")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"goods-in-list-{width}x{height}.png"), full_page=True)
        page.click("[data-testid=post-receipt]")
        expect(page.locator("h1")).to_contain_text("Goods receipt 1")
        expect(page.locator("[role=status]")).to_contain_text("3 lines received")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(
            path=str(ARTIFACTS / f"goods-in-receipt-{width}x{height}.png"), full_page=True
        )
        main = room.default_location()
        assert [room.on_hand(ids[f"P{n:03d}"], main) for n in range(3)] == [
            Decimal(1),
            Decimal(2),
            Decimal(1),
        ]
    finally:
        context.close()


PAGES = (
    ("on-hand", "/stock"),
    ("low", "/stock/low"),
    ("movements", "/stock/movements"),
    ("reorder", "/stock/reorder-levels"),
    ("counts", "/stock/counts"),
    ("orders", "/purchase-orders"),
    ("order-new", "/purchase-orders/new"),
    ("suppliers", "/suppliers"),
)


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (768, 1024), (390, 844)])
def test_stock_pages_fit_the_screen(
    browser, url_for, make_tenant, make_user, app_engine, width, height
):
    """Each stock page, filled, is no wider than the window (a table scrolls in its box)."""
    tenant = make_tenant("pooled", multi_location=True)
    room = Stockroom(tenant, app_engine(tenant.store_name))
    ids = room.add_products(60, reorder="3")
    main = room.default_location()
    for product_id in list(ids.values())[:55]:
        room.receive(product_id, main, "2")
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, url_for, tenant, *make_user(tenant, ("Managers",), full_name="Mia Manager"))
        page.goto(url_for(tenant, "/stock/counts"))
        page.click("text=Start a stock count")
        expect(page.locator("h1")).to_contain_text("Stock count 1")
        page.fill("input[aria-label='Counted Item P000']", "5")
        page.click("text=Save the counts on this page")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"stock-count-{width}x{height}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for name, path in PAGES:
            page.goto(url_for(tenant, path))
            assert page.evaluate("document.documentElement.scrollWidth") <= width, name
            page.screenshot(
                path=str(ARTIFACTS / f"stock-{name}-{width}x{height}.png"), full_page=True
            )
    finally:
        context.close()
