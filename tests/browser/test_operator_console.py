"""The operator console in Chromium: an operator signs in with two factors (the code
computed from the secret), creates a tenant, suspends it (its staff see the suspended
page at once) and moves it, the job's page showing the progress while a real worker
runs it. Screenshots of the sign-in, the tenants and a tenant at three sizes, none
scrolling sideways."""

from __future__ import annotations

import secrets
import threading

import pytest
from playwright.sync_api import expect

from salesapp.operations import jobs, operators
from tests.browser.conftest import shot
from tests.console.conftest import code_for

SIZES = {"desktop": (1366, 768), "tablet": (768, 1024), "phone": (390, 844)}


@pytest.fixture
def worker(catalog):
    """A job worker in a thread, as `salesapp worker` runs it."""
    stop = threading.Event()
    thread = threading.Thread(target=jobs.work, args=(catalog,), kwargs={"stop": stop})
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def submit(page, locator):
    with page.expect_navigation():
        locator.click()


def test_an_operator_creates_suspends_and_moves_a_tenant(browser, console_server, catalog, worker):
    port, _ = console_server
    base = f"http://localhost:{port}"
    made = operators.create_operator(catalog, f"op{secrets.token_hex(3)}", "operator")
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.set_default_timeout(15_000)

    # sign in: name, one-time password and the code; then a password of one's own
    page.goto(f"{base}/operator")
    expect(page.get_by_role("heading", name="Operator sign-in")).to_be_visible()
    page.fill("#name", made.name)
    page.fill("#password", "wrong-password")
    page.fill("#code", code_for(made.secret))
    submit(page, page.get_by_role("button", name="Sign in"))
    expect(page.get_by_test_id("sign-in-error")).to_have_text(operators.WRONG)
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"console-sign-in-{name}")
        assert no_sideways_scroll(page), name
    page.set_viewport_size({"width": 1366, "height": 768})
    page.fill("#password", made.password)
    page.fill("#code", code_for(made.secret))
    submit(page, page.get_by_role("button", name="Sign in"))
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    new_password = f"Console-{secrets.token_urlsafe(10)}"
    page.fill("#current_password", made.password)
    page.fill("#new_password", new_password)
    page.fill("#confirm_password", new_password)
    submit(page, page.get_by_role("button", name="Change password"))
    expect(page.get_by_role("heading", name="Tenants")).to_be_visible()

    # create a pooled tenant with a password of our choosing
    slug = f"br{secrets.token_hex(3)}"
    submit(page, page.get_by_role("link", name="New tenant"))
    page.fill("#name", "Browser Bakery")
    page.fill("#subdomain", slug)
    page.fill("#admin_email", f"owner@{slug}.example.org")
    page.fill("#trial_days", "14")
    submit(page, page.locator("#create").get_by_role("button", name="Create"))
    expect(page.get_by_role("heading", name=f"Created {slug}")).to_be_visible()
    admin_password = page.get_by_test_id("password").inner_text()
    submit(page, page.get_by_role("link", name=f"Go to {slug}"))

    # its staff sign in and work
    staff = browser.new_context(viewport={"width": 1024, "height": 768}).new_page()
    staff.goto(f"http://{slug}.localhost:{port}/login")
    staff.fill("#username", "admin")
    staff.fill("#password", admin_password)
    submit(staff, staff.get_by_role("button", name="Sign in"))
    staff.goto(f"http://{slug}.localhost:{port}/products")
    expect(staff.get_by_role("heading", name="Products")).to_be_visible()

    # suspend it: the staff's next page is the suspended page, at once
    page.fill("#suspend-reason", "unpaid invoice")
    submit(page, page.locator("#suspend").get_by_role("button", name="Suspend"))
    expect(page.get_by_test_id("status")).to_have_text("suspended (unpaid invoice)")
    staff.goto(f"http://{slug}.localhost:{port}/products")
    expect(staff.locator("body")).to_contain_text("suspended")

    # the tenants list and the tenant's page at three sizes
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/operator/tenants/{slug}")
        shot(page, f"console-tenant-{name}")
        assert no_sideways_scroll(page), f"tenant page, {name}"
        page.goto(f"{base}/operator/tenants?q=")
        shot(page, f"console-tenants-{name}")
        assert no_sideways_scroll(page), f"tenants list, {name}"
    page.set_viewport_size({"width": 1366, "height": 768})

    # resume and move it to a dedicated store: the job's page shows how it goes
    page.goto(f"{base}/operator/tenants/{slug}")
    submit(page, page.locator("#resume").get_by_role("button", name="Resume"))
    page.select_option("#move-to", "dedicated")
    submit(page, page.locator("#move").get_by_role("button", name="Move"))
    assert "/operator/jobs/" in page.url
    expect(page.locator("main")).to_contain_text("succeeded", timeout=90_000)
    shot(page, "console-job-moved")
    page.goto(f"{base}/operator/tenants/{slug}")
    expect(page.get_by_test_id("store")).to_contain_text("dedicated")
    staff.goto(f"http://{slug}.localhost:{port}/products")
    expect(staff.get_by_role("heading", name="Products")).to_be_visible()
    staff.context.close()
    page.context.close()
