"""Discounts at the till in Chromium (issue 17), at a laptop's, a tablet's and a phone's
size: a Cashier's 30% off a line is over the Cashiers' cap of 10%, so the till asks for a
Manager's approval; a wrong PIN is refused, the right one prices the cart with the
discount, the receipt shows it and the Manager sees on the sale who approved it. And a
discount on the whole sale ("5%") typed at the till. Screenshots land in
tests/browser/artifacts/ (till-discount-*)."""

import re

import pytest
from playwright.sync_api import expect

from tests.accounts.till_support import set_pin
from tests.browser.conftest import ARTIFACTS, shot
from tests.browser.test_selling import sign_in
from tests.browser.test_till_layout import VIEWPORTS
from tests.sales.test_till_entry import add_products

pytestmark = pytest.mark.browser

MANAGER = "Mona Manager"
MANAGER_PIN = "2580"

#: (sku, price, open price, sold by weight, category); no tax, so totals add up plainly
PRODUCTS = (
    ("TEA", "10.00", False, False, "Drinks"),
    ("BUN", "2.00", False, False, "Bakery"),
)


class Till:
    """A Cashier signed in at the till of a new tenant with PRODUCTS, whose Manager
    (MANAGER, with MANAGER_PIN) may approve, in a browser of one size."""

    def __init__(self, browser, size, url_for, tenant, manager):
        self.browser, self.size, self.url_for, self.tenant = browser, size, url_for, tenant
        self.manager = manager  # (username, password)
        self.contexts = []
        self.page = self.new_page()

    def new_page(self):
        width, height = VIEWPORTS[self.size]
        context = self.browser.new_context(viewport={"width": width, "height": height})
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    def url(self, path: str) -> str:
        return self.url_for(self.tenant, path)

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture(params=list(VIEWPORTS))
def till(request, browser, url_for, make_tenant, make_user, owner_engines, catalog):
    tenant = make_tenant("pooled")
    add_products(owner_engines, tenant, *PRODUCTS)
    manager = make_user(tenant, ("Managers",), full_name=MANAGER)
    set_pin(catalog, tenant, manager[0], MANAGER_PIN)
    cashier = make_user(tenant, ("Cashiers",), full_name="Carl Cashier")
    till = Till(browser, request.param, url_for, tenant, manager)
    sign_in(till.page, url_for, tenant, *cashier)
    till.page.goto(till.url("/pos"))
    yield till
    till.close()


def total(page):
    return page.locator("[data-testid=total]")


def scan(page, sku: str, lines: int) -> None:
    page.fill("#code", sku)
    page.press("#code", "Enter")
    expect(page.locator("table[aria-label=Cart] tbody tr")).to_have_count(lines)


def assert_fits(page, size: str, *selectors: str) -> None:
    """No sideways scroll; each of ``selectors`` visible, inside the viewport's width and
    at least 44 px high (a finger's target)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[size][0], f"the till is {width} px wide at {size}"
    for selector in selectors:
        element = page.locator(selector)
        expect(element).to_be_visible()
        box = element.bounding_box()
        assert box["height"] >= 44, (size, selector, box)
        assert box["x"] >= 0, (size, selector, box)
        assert box["x"] + box["width"] <= VIEWPORTS[size][0], (size, selector, box)


def on_one_row(page, first: str, second: str) -> None:
    """``first`` and ``second`` side by side, centred on the same line."""
    a, b = page.locator(first).bounding_box(), page.locator(second).bounding_box()
    assert abs((a["y"] + a["height"] / 2) - (b["y"] + b["height"] / 2)) <= 2, (first, a, second, b)
    assert a["x"] + a["width"] <= b["x"], (first, a, second, b)


def shots(page, name: str, element: str) -> None:
    """The whole page, and the screen as the cashier sees it with ``element`` in view
    (a whole-page shot paints the sticky payment panel over the lines)."""
    shot(page, name)
    page.locator(element).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{name}-screen.png"))


APPROVAL_CONTROLS = ("#approver_id", "#approve_pin", "#approve-form button")


def test_a_managers_pin_approves_a_cashiers_discount_over_the_cap(till):
    page, size = till.page, till.size
    scan(page, "TEA", 1)
    expect(total(page)).to_have_text("10.00")
    discount = page.locator("input[name=discount_0]")
    discount.fill("30%")
    discount.press("Enter")  # recalculates: the discount is kept, shown over the cap
    expect(page.locator("table[aria-label=Cart] .field-error")).to_contain_text(
        "over your cap of 10%"
    )
    expect(discount).to_have_value("30%")
    approval = page.locator("#approve-form")
    expect(approval).to_contain_text("This sale takes 30% off; your cap is 10%.")
    expect(page.locator("#approver_id option")).to_have_text([MANAGER])
    expect(total(page)).to_have_count(0)  # not priced until approved
    approval.scroll_into_view_if_needed()
    assert_fits(page, size, *APPROVAL_CONTROLS)
    if size != "phone":  # on a phone Approve goes under the PIN, full width
        on_one_row(page, "#approve_pin", "#approve-form button")
        on_one_row(page, "label[for=approve_pin]", "#approve_pin")
    shots(page, f"till-discount-over-cap-{size}", "#approve-form")

    page.select_option("#approver_id", label=MANAGER)
    page.fill("#approve_pin", "1111")
    page.press("#approve_pin", "Enter")
    expect(approval.locator("[role=alert]")).to_contain_text("That PIN is not right")
    expect(page.locator("#approve_pin")).to_be_visible()
    expect(page.locator("#approve_pin")).to_have_value("")  # a PIN is never sent back
    expect(total(page)).to_have_count(0)
    approval.scroll_into_view_if_needed()
    assert_fits(page, size, *APPROVAL_CONTROLS)
    shots(page, f"till-discount-wrong-pin-{size}", "#approve-form")

    page.fill("#approve_pin", MANAGER_PIN)
    page.press("#approve_pin", "Enter")
    expect(page).to_have_url(re.compile(r"/pos$"))
    expect(approval).to_have_count(0)
    expect(total(page)).to_have_text("7.00")
    expect(page.locator(".till-pay .totals")).to_contain_text("Discounts")
    expect(page.locator("input[name=discount_0]")).to_have_value("30%")
    shots(page, f"till-discount-approved-{size}", "#complete")

    page.get_by_role("button", name="Exact cash").click()
    expect(page.locator("#pay_cash")).to_have_value("7.00")
    page.locator("#complete").click()
    expect(page).to_have_url(re.compile(r"/sales/[^/]+/receipt$"))
    expect(page.locator("[data-testid=receipt-discounts]")).to_have_text("\N{MINUS SIGN}3.00")
    expect(page.locator(".receipt")).to_contain_text("1 \u00d7 10.00 \N{MINUS SIGN} 3.00")
    expect(page.locator(".receipt dd.grand")).to_have_text("7.00")
    shot(page, f"till-discount-receipt-{size}")
    sale_path = page.url.split("://", 1)[1].split("/", 1)[1].removesuffix("/receipt")

    boss = till.new_page()  # the Manager, signed in on another device
    sign_in(boss, till.url_for, till.tenant, *till.manager)
    boss.goto(till.url(f"/{sale_path}"))
    expect(boss.locator("[data-testid=approved-by]")).to_have_text(f"{MANAGER} (30%)")
    width = boss.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[size][0], f"the sale's page is {width} px wide at {size}"
    shot(boss, f"till-discount-sale-detail-{size}")


def test_a_discount_on_the_whole_sale(till):
    page, size = till.page, till.size
    scan(page, "TEA", 1)
    scan(page, "BUN", 2)
    expect(total(page)).to_have_text("12.00")
    field = page.locator("#cart_discount")
    field.scroll_into_view_if_needed()
    assert_fits(page, size, "#cart_discount")
    on_one_row(page, "label[for=cart_discount]", "#cart_discount")
    field.fill("5%")
    field.press("Enter")
    expect(total(page)).to_have_text("11.40")  # 5% within the Cashiers' 10%: no approval
    expect(page.locator("#cart_discount")).to_have_value("5%")
    expect(page.locator("#approve-form")).to_have_count(0)
    expect(page.locator("table[aria-label=Cart] tbody tr")).to_have_count(2)
    page.locator("#cart_discount").scroll_into_view_if_needed()
    assert_fits(page, size, "#cart_discount")
    shots(page, f"till-discount-whole-sale-{size}", "#cart_discount")
    # not a discount: the message says what to type, the cart's total as it was
    page.fill("#cart_discount", "five")
    page.press("#cart_discount", "Enter")
    expect(page.locator(".till-pay .field-error")).to_contain_text(
        "type an amount (1.50) or a percentage (10%)"
    )
    assert_fits(page, size, "#cart_discount")
    shots(page, f"till-discount-whole-sale-error-{size}", ".till-pay .field-error")
    page.goto(till.url("/pos"))
    expect(total(page)).to_have_text("11.40")
