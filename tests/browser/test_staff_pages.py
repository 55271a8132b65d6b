"""The two-factor set-up page in a real browser on a phone and a wide screen: the QR
code the app draws shows, the key and the recovery codes wrap, and nothing scrolls
sideways (the page was wider than a phone before); screenshots to look at."""

import pytest
from playwright.sync_api import expect

from salesapp.accounts import totp
from tests.browser.conftest import shot
from tests.browser.test_selling import sign_in

SIZES = [(1366, 768), (390, 844)]


def no_sideways_scroll(page) -> None:
    """The document is no wider than the screen, and nothing in it sticks out."""
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], widths
    too_wide = page.evaluate(
        "[...document.querySelectorAll('main.page *')]"
        ".filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)"
        ".map(e => e.tagName + ' ' + e.textContent.slice(0, 40))"
    )
    assert too_wide == [], too_wide


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["desktop", "phone"])
def test_two_factor_set_up_fits_the_screen(browser, url_for, make_tenant, make_user, width, height):
    tenant = make_tenant("pooled")
    username, password = make_user(tenant, ("Managers",))
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, url_for, tenant, username, password)
        page.goto(url_for(tenant, "/account/two-factor"))
        no_sideways_scroll(page)
        page.click("button:has-text('Set up two-factor sign-in')")
        qr = page.locator("[data-testid=two-factor-qr] svg")
        expect(qr).to_be_visible()
        box = qr.bounding_box()
        assert box["width"] >= 200
        assert box["x"] + box["width"] <= width
        page.click("summary")  # the set-up link, opened
        expect(page.locator("[data-testid=two-factor-uri]")).to_be_visible()
        shot(page, f"two-factor-{width}-set-up")
        no_sideways_scroll(page)

        secret = page.locator("[data-testid=two-factor-secret]").inner_text()
        page.fill("#confirm-code", totp.code_at(secret))
        page.click("button:has-text('Turn two-factor sign-in on')")
        codes = page.locator("[data-testid=recovery-code]")
        expect(codes).to_have_count(10)
        shot(page, f"two-factor-{width}-recovery-codes")
        no_sideways_scroll(page)

        page.goto(url_for(tenant, "/account/two-factor"))
        expect(page.locator("[data-testid=codes-left]")).to_contain_text("10 unused")
        shot(page, f"two-factor-{width}-on")
        no_sideways_scroll(page)
    finally:
        context.close()
