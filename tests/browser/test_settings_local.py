"""An Admin sets the workspace's place, language of numbers, currency, tax mode, business
details and logo on the settings page in a real browser, on a wide screen, a tablet and
a phone: the page fits each screen, the saved settings show in the page's own sample
(a German workspace in Nairobi writes 1.234,50 € and the time in Nairobi), and the logo's
preview is the uploaded image."""

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_selling import sign_in
from tests.preferences.test_logo import png

SHOTS = Path(os.environ.get("SALESAPP_SHOTS", ARTIFACTS))
SIZES = [(1366, 768), (768, 1024), (390, 844)]


def overflowing(page) -> list:
    """What of the page's own is wider than the screen (the layout's top bar aside)."""
    return page.evaluate(
        "[...document.querySelectorAll('main.page *')]"
        ".filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)"
        ".map(e => e.tagName + ' ' + (e.id || e.textContent.slice(0, 40)))"
    )


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["desktop", "tablet", "phone"])
def test_an_admin_sets_up_a_local_shop(browser, url_for, make_tenant, tmp_path, width, height):
    tenant = make_tenant("pooled")
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        sign_in(page, url_for, tenant, "admin", tenant.admin_password)
        page.goto(url_for(tenant, "/settings"))
        expect(page.locator("#time_zone")).to_have_value("UTC")
        expect(page.locator("[data-testid=currency-decimals]")).to_contain_text("USD — 2 decimals")
        assert overflowing(page) == []
        page.screenshot(path=str(SHOTS / f"settings-{width}-before.png"), full_page=True)

        page.fill("#time_zone", "Africa/Nairobi")
        page.select_option("#locale", "de_DE")
        page.fill("#currency", "EUR")
        page.check("input[name=prices_include_tax][value='1']")
        page.select_option("#tax_rounding", "invoice")
        page.fill("#legal_name", "Demo Traders Ltd")
        page.fill("#address", "Shop 4, Moi Avenue\nNairobi")
        page.fill("#phone", "+254 712 345 678")
        page.fill("#tax_number", "P051234567Q")
        page.fill("#cashier_discount_cap", "12.5")  # the locale saved so far: en_US
        page.click("button:has-text('Save settings')")
        expect(page.locator(".notice")).to_contain_text("Settings saved.")
        expect(page.locator("#locale")).to_have_value("de_DE")
        expect(page.locator("#cashier_discount_cap")).to_have_value("12,5")
        sample = page.locator("[data-testid=sample]")
        expect(sample).to_contain_text("1.234,50")
        expect(sample).to_contain_text("€")
        nairobi = dt.datetime.now(ZoneInfo("Africa/Nairobi"))
        assert nairobi.strftime("%d.%m.%y") in sample.inner_text()

        logo = tmp_path / "logo.png"
        logo.write_bytes(png(width=320, height=80, rgb=(20, 120, 60)))
        page.set_input_files("#logo-file", str(logo))
        page.click("button:has-text('Upload logo')")
        expect(page.locator(".notice")).to_contain_text("Logo saved")
        preview = page.locator("[data-testid=logo-preview]")
        expect(preview).to_be_visible()
        assert preview.evaluate("img => img.naturalWidth") == 320
        assert overflowing(page) == []
        page.screenshot(path=str(SHOTS / f"settings-{width}-after.png"), full_page=True)

        # a wrong zone is refused by name, the rest kept as typed
        page.fill("#time_zone", "Nairobi")
        page.fill("#legal_name", "Another name")
        page.click("button:has-text('Save settings')")
        expect(page.locator("#time_zone-error")).to_contain_text("IANA name")
        expect(page.locator("#legal_name")).to_have_value("Another name")
        assert overflowing(page) == []
        page.screenshot(path=str(SHOTS / f"settings-{width}-refused.png"), full_page=True)
    finally:
        context.close()
