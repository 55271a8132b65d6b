"""A cashier's shift in a real browser at a laptop's, a tablet's and a phone's size:
open with a counted float, a sale rung in the shift, cash out with a reason, the X
report, the count with expected and over/short shown before confirming, and the Z
report; no page scrolls sideways; the reports print on 80 mm paper with nothing but
the report. Screenshots of each step are kept in tests/browser/artifacts/.

The sale is made with SaleService and placed in the shift by the test
(tests/registers/conftest.py) until the till sets its shift itself."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.registers.conftest import Drawer

VIEWPORTS = {"laptop": (1366, 768), "tablet": (768, 1024), "phone": (390, 844)}
#: 80 mm in PDF points (1/72 inch)
ROLL_WIDTH_PT = 80 / 25.4 * 72


def sign_in(page, url_for, tenant, username, password):
    page.goto(url_for(tenant, "/login"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")
    expect(page.locator("[data-testid=who]")).to_be_visible()


def no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (page.url, width)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_shift_from_open_to_z_report(
    browser, url_for, make_tenant, make_user, app_engine, viewport
):
    tenant = make_tenant("pooled")
    drawer = Drawer(tenant, app_engine(tenant.store_name, pool_size=2))
    tea = drawer.add_product("TEA", "4.50", stock="10")
    till = drawer.add_register("Front till")
    cashier, password = make_user(tenant, ("Cashiers",), full_name="Carol Till")
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, url_for, tenant, cashier, password)
        page.goto(url_for(tenant, "/registers"))
        page.click("[data-register='Front till'] a >> nth=0")
        no_sideways_scroll(page)
        shot(page, f"shift-{viewport}-1-open-form")

        page.fill("#opening_float", "100.00")
        page.click("[data-testid=open-shift] button[type=submit]")
        expect(page.locator("p.notice[role=status]")).to_contain_text(
            "Opened a shift on Front till"
        )
        shift = drawer_current_shift(drawer, till)
        drawer.sell(shift.id, tea, "2", payments=(("cash", "10.00"),))  # 9.00, change 1.00

        page.check("input[name=kind][value=out]")
        page.fill("#amount", "5.00")
        page.fill("#reason", "milk for the staff room")
        page.click("[data-testid=move-cash] button[type=submit]")
        expect(page.locator("p.notice[role=status]")).to_contain_text("Cash out: 5.00")
        expect(page.locator("[data-figure=expected_cash]")).to_have_text("104.00")
        no_sideways_scroll(page)
        shot(page, f"shift-{viewport}-2-open")

        page.click("[data-testid=x-report]")
        expect(page.locator("[data-testid=x-report]")).to_be_visible()
        expect(page.locator("[data-figure=cash_sales]")).to_have_text("9.00")
        no_sideways_scroll(page)
        shot(page, f"shift-{viewport}-3-x-report")
        page.go_back()

        page.click("[data-testid=close-shift]")
        page.fill("#counted_cash", "101.50")
        page.fill("#counted_card", "0")
        page.click("[data-testid=count-form] button[type=submit]")
        expect(page.locator("[data-testid=over-short-total]")).to_have_text("Short by 2.50.")
        expect(
            page.locator("[data-testid=preview] td[data-method=cash][data-col=over_short]")
        ).to_have_text("-2.50")
        no_sideways_scroll(page)
        shot(page, f"shift-{viewport}-4-check")

        page.click("[data-testid=confirm-close] button[type=submit]")
        expect(page).to_have_url(re.compile(rf"/shifts/{shift.id}/report$"))
        expect(page.locator("[data-testid=z-report]")).to_be_visible()
        expect(page.locator("[data-testid=over-short-total]")).to_have_text("SHORT by 2.50")
        no_sideways_scroll(page)
        shot(page, f"shift-{viewport}-5-z-report")

        page.emulate_media(media="print")
        expect(page.locator(".no-print")).to_be_hidden()
        if viewport == "laptop":  # the printed page: one 80 mm wide roll
            pdf = page.pdf(prefer_css_page_size=True, print_background=False)
            boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", pdf)
            assert boxes, pdf[:400]
            assert all(abs(float(w) - ROLL_WIDTH_PT) < 1 for w, _h in boxes), boxes
    finally:
        context.close()


def drawer_current_shift(drawer, register_id):
    with drawer.session() as db, db.begin():
        return drawer.registers(db).current_shift(register_id)
