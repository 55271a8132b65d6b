"""The till installs and says when the network is gone (issue 17, item 8), in a real
browser at a tablet's size: the service worker registers for the whole site and serves
static files from its cache (pages still come from the network); with the network cut
the till shows its offline banner, a form is not sent (what was typed stays), and the
banner goes when the network is back."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_selling import sign_in

TILL_OFFLINE = "Offline: the cart is kept; it will be saved when the connection is back"


def test_the_worker_registers_and_the_till_says_when_it_is_offline(
    browser, url_for, make_tenant, make_user
):
    tenant = make_tenant("pooled")
    cashier = make_user(tenant, ("Cashiers",))
    context = browser.new_context(viewport={"width": 768, "height": 1024})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, url_for, tenant, *cashier)
        page.goto(url_for(tenant, "/pos"))
        scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
        assert scope == url_for(tenant, "/")
        page.wait_for_function("navigator.serviceWorker.controller !== null")

        # controlled now: static files come from the worker, the page from the server
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.reload()
        served = {re.sub(r"^https?://[^/]+", "", r.url): r.from_service_worker for r in responses}
        assert served["/pos"] is False
        assert served["/static/app.css"] is True

        banner = page.locator("#offline-banner")
        expect(banner).to_be_hidden()
        context.set_offline(True)
        expect(banner).to_be_visible()
        expect(banner).to_have_text(TILL_OFFLINE)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "installable-offline-till.png"), full_page=True)

        # a form sent while offline would end on the browser's error page: it stays
        field = page.locator("#code")  # the scan box
        field.fill("4006381333931")
        field.press("Enter")
        expect(page).to_have_url(url_for(tenant, "/pos"))
        expect(field).to_have_value("4006381333931")

        context.set_offline(False)
        expect(banner).to_be_hidden()
        page.screenshot(path=str(ARTIFACTS / "installable-online-till.png"), full_page=True)
    finally:
        context.close()


def test_other_pages_say_it_in_their_own_words(browser, url_for, make_tenant):
    tenant = make_tenant("pooled")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(url_for(tenant, "/login"))
        context.set_offline(True)
        banner = page.locator("#offline-banner")
        expect(banner).to_have_text("Offline: nothing is sent until the connection is back")
        page.fill("#username", "admin")
        page.press("#username", "Enter")
        expect(page).to_have_url(re.compile(r"/login$"))
        expect(page.locator("#username")).to_have_value("admin")
        context.set_offline(False)
        expect(banner).to_be_hidden()
    finally:
        context.close()
