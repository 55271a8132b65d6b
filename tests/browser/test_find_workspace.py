"""The public site's find-your-workspace form, submitted in Chromium (issue 19 item 8):
/find redirects to the workspace's host, which the page's Content-Security-Policy
(form-action) must allow, or Chromium stops the form at the redirect."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import shot


def test_the_form_lands_on_the_workspaces_sign_in(page, live_server, tenant_a):
    blocked = []
    page.on(
        "console",
        lambda message: blocked.append(message.text) if "form-action" in message.text else None,
    )
    page.goto(f"http://localhost:{live_server}/")
    shot(page, "find-workspace")
    page.fill("#workspace", tenant_a.slug.upper())
    page.click("button:has-text('Go')")
    expect(page).to_have_url(f"http://{tenant_a.slug}.localhost:{live_server}/login")
    expect(page.locator("h1")).to_have_text(re.compile(r"^Sign in to "))
    assert blocked == []


def test_a_malformed_name_stays_on_the_page_with_a_message(page, live_server):
    page.goto(f"http://localhost:{live_server}/")
    page.fill("#workspace", "-no-")
    page.click("button:has-text('Go')")
    expect(page.locator("[role=alert]")).to_contain_text("letters, digits and hyphens")
    expect(page).to_have_url(re.compile(rf"^http://localhost:{live_server}/find"))
