"""A forgotten password reset through e-mail, in Chromium: the sign-in page's link, the
request, the message received by the tests' real SMTP server, its link followed, a new
password set and used to sign in; on a laptop and on a phone."""

from __future__ import annotations

import dataclasses
import re
import threading

import pytest

from salesapp import close_app, make_app
from tests.browser.conftest import shot

NEW_PASSWORD = "quiet harbour lantern 7"


@pytest.fixture(scope="module")
def mail_server(settings, smtp_session_server):
    """The app served like live_server's, sending its mail to the session's SMTP server."""
    from waitress.server import create_server

    app = make_app(dataclasses.replace(settings, mail=smtp_session_server.mail_settings()))
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    port = server.socket.getsockname()[1]
    threading.Thread(target=server.run, daemon=True).start()
    yield port
    server.close()
    close_app(app)


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_a_forgotten_password_is_reset_through_email(
    browser, mail_server, make_tenant, make_user, smtp_server, width, height
):
    tenant = make_tenant("pooled", name="Duka la Mama")
    username, _ = make_user(tenant, ("Cashiers",), email="wanjiru@example.com")
    base = f"http://{tenant.slug}.localhost:{mail_server}"
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    name = f"password-reset-{width}x{height}"
    try:
        page.goto(f"{base}/login")
        page.get_by_role("link", name="Forgot your password?").click()
        page.get_by_label("Username or e-mail").fill("wanjiru@example.com")
        shot(page, f"{name}-1-forgot")
        page.get_by_role("button", name="Send me a link").click()
        page.get_by_role("heading", name="Check your e-mail").wait_for()
        shot(page, f"{name}-2-sent")

        (message,) = smtp_server.wait_for(1)
        (link,) = set(re.findall(r"https?://\S+/password/reset/[\w-]+", message.text()))
        assert link.startswith(base)
        page.goto(link)
        assert page.get_by_test_id("reset-user").inner_text() == username
        page.get_by_label("New password (at least 10 characters)").fill("password1234")
        page.get_by_label("New password again").fill("password1234")
        page.get_by_role("button", name="Set password").click()
        assert "too easy to guess" in page.get_by_role("alert").inner_text()
        shot(page, f"{name}-3-refused")  # the policy's answer; the link still works
        page.get_by_label("New password (at least 10 characters)").fill(NEW_PASSWORD)
        page.get_by_label("New password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Set password").click()
        page.get_by_role("heading", name="Your password is set").wait_for()
        shot(page, f"{name}-4-done")

        page.get_by_role("link", name="Sign in").click()
        page.get_by_label("Username or e-mail").fill(username)
        page.get_by_label("Password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_test_id("who").wait_for()
        assert page.url.rstrip("/") == base
        # the page never scrolls sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        page.goto(link)  # a second time: spent
        page.get_by_role("heading", name="This link is no longer valid").wait_for()
        shot(page, f"{name}-5-spent")
    finally:
        context.close()
