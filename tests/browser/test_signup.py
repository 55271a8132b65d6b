"""A new shop signs itself up in Chromium (issue 19 item 5): the form with its live
subdomain check, the e-mail's link (read from the test's SMTP server), the workspace
made by the sign-up processor (`salesapp signup process`, run here in the test), and
the signer's first sign-in to their new workspace as its Admin, and a first sale."""

import dataclasses
import re
import secrets
import threading

import pytest
from playwright.sync_api import expect

from salesapp import close_app, make_app
from salesapp.mail import mailer_for
from salesapp.operations import signups as processing
from tests.browser.conftest import shot
from tests.conftest import wait_for
from tests.sales.test_till_entry import add_products

PASSWORD = "Tangerine-otter-quartz-81"


@pytest.fixture(scope="module")
def signup_server(settings, smtp_session_server):
    """The app with sign-up on, served by waitress; its port."""
    from waitress.server import create_server

    app = make_app(
        dataclasses.replace(settings, signup_enabled=True, mail=smtp_session_server.mail_settings())
    )
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    port = server.socket.getsockname()[1]
    threading.Thread(target=server.run, daemon=True).start()
    yield port
    server.close()
    app.registry.signups.close()
    close_app(app)


def test_a_new_shop_signs_up_through_the_email_link_and_signs_in(
    page, signup_server, smtp_session_server, settings, catalog, tenant_a, owner_engines
):
    port = signup_server
    slug = f"kiosk-{secrets.token_hex(3)}"
    email = f"owner-{secrets.token_hex(3)}@kiosk.example.test"
    page.goto(f"http://localhost:{port}/")
    page.click("[data-testid=signup-link]")
    expect(page.locator("h1")).to_have_text("Create your workspace")

    check = page.locator("[data-testid=subdomain-check]")
    page.fill("#business_name", "Kiosk of Mombasa Road")
    page.fill("#subdomain", "www")
    expect(check).to_have_text("www is reserved; choose another name.")
    page.fill("#subdomain", tenant_a.slug)
    expect(check).to_contain_text("is taken")
    page.fill("#subdomain", "no_way")
    expect(check).to_contain_text("letters, digits and hyphens")
    page.fill("#subdomain", slug)
    expect(check).to_have_text(f"{slug}.localhost is available.")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    for width, height in ((1366, 768), (768, 1024), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"signup-form-{width}")
    page.click("button:has-text('Create my workspace')")
    expect(page.locator("h1")).to_have_text("Check your e-mail")
    expect(page.locator("[role=status]")).to_contain_text(email)

    assert wait_for(lambda: any(email in m.recipients for m in smtp_session_server.messages))
    [message] = [m for m in smtp_session_server.messages if email in m.recipients]
    link = re.search(r"http://\S+/signup/verify/\S+", message.text()).group(0)
    page.goto(link)
    page.click("button:has-text('Confirm and create my workspace')")
    status = page.locator("[data-testid=signup-status]")
    expect(status).to_contain_text("We are creating")
    shot(page, "signup-verified")

    # the sign-up processor's part (`salesapp signup process --watch` in a deployment)
    mailer = mailer_for(dataclasses.replace(settings, mail=smtp_session_server.mail_settings()))
    outcome = processing.process_one(catalog, mailer=mailer)
    assert outcome.slug == slug
    expect(status).to_contain_text("Your workspace is ready")  # the page reloads itself
    shot(page, "signup-ready")
    page.click("[data-testid=sign-in-link]")
    expect(page).to_have_url(f"http://{slug}.localhost:{port}/login")
    page.fill("#username", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator("[data-testid=who]")).to_be_visible()
    expect(page.locator("nav.menu")).to_contain_text("Users")  # the signer is its Admin
    shot(page, "signup-first-sign-in")

    # and sells: a product on the shelf (as the catalogue pages would add it), one sale
    new_shop = dataclasses.make_dataclass("Shop", ["id", "store_name"])(
        outcome.tenant_id, outcome.store_name
    )
    add_products(owner_engines, new_shop, ("BREAD", "2.00", False, False, "Bakery"))
    page.goto(f"http://{slug}.localhost:{port}/pos")
    page.get_by_role("link", name="Bakery").click()
    page.locator(".tile", has_text="Item BREAD").click()
    page.get_by_role("button", name="Exact cash").click()
    page.click("#complete")
    expect(page.locator("[data-testid=receipt-number]")).to_have_text("1")
    expect(page.locator(".receipt")).to_contain_text("Kiosk of Mombasa Road")
    shot(page, "signup-first-sale")
