"""A cashier switch by PIN at a shared till, in a real browser at the three viewports
(issue 17): a Manager makes the browser a till, locks it, a Cashier taps their name,
types their PIN and is the till's user. Screenshots kept in tests/browser/artifacts."""

import re

import pytest
from playwright.sync_api import expect

from tests.accounts.till_support import add_register, set_pin
from tests.browser.conftest import shot
from tests.browser.test_selling import sign_in

VIEWPORTS = [(1366, 768), (768, 1024), (390, 844)]


@pytest.mark.parametrize(("width", "height"), VIEWPORTS, ids=["laptop", "tablet", "phone"])
def test_a_manager_makes_a_till_and_a_cashier_switches_in_by_pin(
    browser, url_for, make_tenant, make_user, catalog, width, height
):
    tenant = make_tenant("pooled")
    manager, password = make_user(tenant, ("Managers",), full_name="Mona Manager")
    cashier, _ = make_user(tenant, ("Cashiers",), full_name="Carl Cashier")
    set_pin(catalog, tenant, cashier, "1357")
    add_register(catalog, tenant, "Front till")
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, url_for, tenant, manager, password)
        page.goto(url_for(tenant, "/till"))
        page.click("button:has-text('Make this a till')")
        expect(page.locator("[data-testid=till-status]")).to_contain_text("a till for Front till")
        shot(page, f"till-switch-{width}-1-device")

        page.click("[data-testid=lock-till]")
        expect(page).to_have_url(re.compile(r"/till/unlock$"))
        expect(page.locator("[data-testid=who]")).to_have_count(0)
        names = page.locator("[data-testid=pin-name]")
        expect(names).to_have_text(["Carl Cashier"])  # the Manager has no PIN
        box = names.first.bounding_box()
        assert box["height"] >= 44  # a big button, easy to tap
        shot(page, f"till-switch-{width}-2-locked")

        names.first.click()
        expect(page.locator("[data-testid=pin-who]")).to_have_text("Carl Cashier")
        page.fill("#pin", "9999")
        page.click("button:has-text('Open the till')")
        expect(page.locator("[role=alert]")).to_contain_text("That PIN is not right")
        page.fill("#pin", "1357")
        shot(page, f"till-switch-{width}-3-pin")
        page.click("button:has-text('Open the till')")
        expect(page).to_have_url(re.compile(r"/pos$"))
        expect(page.locator("[data-testid=who]")).to_have_text("Carl Cashier")
        shot(page, f"till-switch-{width}-4-switched")
        # nothing scrolls sideways on the PIN pad
        page.goto(url_for(tenant, "/till/unlock"))
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    finally:
        context.close()
