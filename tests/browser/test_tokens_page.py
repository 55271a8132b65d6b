"""A manager makes an API token with a scope and an expiry in a real browser, on a wide
screen and on a phone, and the page fits the screen (the token list scrolls inside its
own box, never the page)."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_selling import sign_in

#: where the screenshots go (SALESAPP_SHOTS to look at them elsewhere)
SHOTS = Path(os.environ.get("SALESAPP_SHOTS", ARTIFACTS))


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)], ids=["desktop", "phone"])
def test_a_manager_makes_a_scoped_expiring_token(
    browser, url_for, make_tenant, make_user, width, height
):
    tenant = make_tenant("pooled")
    manager, password = make_user(tenant, ("Managers",))
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, url_for, tenant, manager, password)
        page.goto(url_for(tenant, "/account/tokens"))
        expect(page.locator("input[name=scope][value=read]")).to_be_checked()
        expect(page.locator("#expires_in")).to_have_value("90d")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"tokens-{width}-form.png"), full_page=True)

        page.fill("#name", "till 1")
        page.check("input[name=scope][value=sales]")
        page.select_option("#expires_in", "30d")
        page.click("button:has-text('Create token')")
        notice = page.locator("[data-testid=new-token]")
        expect(notice).to_contain_text("with scope sales")
        expect(notice).to_contain_text("expiring")
        row = page.locator("table[aria-label='Your tokens'] tbody tr").first
        expect(row).to_contain_text("sales")
        expect(row).to_contain_text("active")
        page.screenshot(path=str(SHOTS / f"tokens-{width}-created.png"), full_page=True)

        # nothing of the page's own is wider than the screen: the token list scrolls in
        # its box (the top bar is the layout's, shared by every page)
        too_wide = page.evaluate(
            "[...document.querySelectorAll('main.page *')]"
            ".filter(e => e.getBoundingClientRect().right > innerWidth + 0.5"
            " && !e.closest('.table-wrap'))"
            ".map(e => e.tagName + ' ' + e.textContent.slice(0, 40))"
        )
        assert too_wide == [], too_wide
        # the break opportunities are not in what one copies
        token = page.locator("[data-testid=token-value]").inner_text()
        assert re.fullmatch(r"sa_[A-Za-z0-9_-]{43}", token), token
    finally:
        context.close()
