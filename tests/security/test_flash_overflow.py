"""The session cookie never outgrows what a browser keeps (about 4 KB): notices that
pile up over many posts whose pages are never shown keep only the newest, and any
other write that would make the cookie too large is refused with 400, nothing saved.
Before, the 4 KB cookie overflowed after a few posts and every request answered 500."""

from __future__ import annotations

import types

import pytest
from pyramid.response import Response
from webtest import TestApp

from salesapp.sessions import (
    COOKIE_BYTES,
    MAX_FLASH_MESSAGES,
    SESSION_COOKIE,
    SessionTooLarge,
    TenantSessionFactory,
)
from tests.conftest import sign_in
from tests.products.helpers import csrf_token

#: a name as long as a customer's may be, in a script JSON escapes (6 bytes a letter)
LONG_NAME = "顧客" * 98


def cookie_size(client: TestApp) -> int:
    return len(client.cookies.get(SESSION_COOKIE, ""))


@pytest.fixture
def manager(make_tenant, make_user, client_for):
    tenant = make_tenant("pooled")
    client = client_for(tenant)
    sign_in(client, *make_user(tenant, ("Managers",)))
    return client


def test_notices_piling_up_over_many_posts_keep_the_cookie_small(manager):
    token = csrf_token(manager)
    for n in range(25):  # each answer is a redirect nobody follows: no page pops them
        res = manager.post(
            "/customers/new",
            {"name": f"{n:02d} {LONG_NAME}", "csrf_token": token},
            expect_errors=True,
        )
        assert res.status_int == 303, res.text[:300]
        assert cookie_size(manager) <= COOKIE_BYTES
    page = manager.get("/customers")
    notices = page.html.select("p.notice")
    assert 1 <= len(notices) <= MAX_FLASH_MESSAGES
    assert notices[-1].text.startswith("Customer 24 ")  # the newest is shown
    assert not any(notice.text.startswith("Customer 00 ") for notice in notices)
    assert manager.get("/customers").html.select("p.notice") == []  # shown once


def test_a_notice_too_long_for_the_cookie_is_shortened(manager):
    factory = TenantSessionFactory(manager.app.registry.salesapp_settings)
    session = factory(fake_request())
    session.flash("x" * 50_000)
    (shown,) = session.pop_flash()
    assert shown.endswith("…")
    assert len(shown) < 1000


def fake_request(cookies=None):
    """What the session factory reads of a request (the public site's sessions)."""
    return types.SimpleNamespace(
        tenant=None, cookies=cookies or {}, add_response_callback=lambda callback: None
    )


def test_a_write_that_would_overflow_the_cookie_is_undone_and_refused(app):
    factory = TenantSessionFactory(app.registry.salesapp_settings)
    session = factory(fake_request())
    session["cart"] = {"lines": ["small"]}
    with pytest.raises(SessionTooLarge) as refused:
        session["cart"] = {"lines": ["x" * 100] * 60}
    assert session["cart"] == {"lines": ["small"]}  # as it was
    with pytest.raises(SessionTooLarge):
        session.update(big="y" * 5000)
    assert "big" not in session
    message = str(refused.value)
    assert "too large" in message
    assert "Nothing was saved" in message


def session_app(settings):
    """A small app with the real session factory (and its exception view, found by the
    scan as in make_app) whose views write to the session: /small and /big."""
    from pyramid.config import Configurator

    def write(size):
        def view(request):
            request.session["data"] = "x" * size
            return Response("written")

        return view

    with Configurator() as config:
        config.add_request_method(lambda request: None, "tenant", reify=True)
        config.set_session_factory(TenantSessionFactory(settings))
        config.scan("salesapp.sessions")
        for name, size in (("small", 10), ("big", 5000)):
            config.add_route(name, f"/{name}")
            config.add_view(write(size), route_name=name)
    return TestApp(config.make_wsgi_app())


def test_the_refusal_is_a_400_and_the_browser_keeps_its_session(app):
    client = session_app(app.registry.salesapp_settings)
    client.get("/small", status=200)
    before = client.cookies[SESSION_COOKIE]
    res = client.get("/big", status=400)
    assert "too large to keep in your browser" in res.text
    assert "Nothing was saved" in res.text
    assert client.cookies[SESSION_COOKIE]  # still a session, and not the oversized one
    assert len(client.cookies[SESSION_COOKIE]) <= len(before) + 100


def test_the_cookie_of_a_signed_in_user_stays_small_on_every_page(manager):
    for path in ("/", "/customers", "/products", "/pos", "/sales"):
        manager.get(path)
        assert cookie_size(manager) <= COOKIE_BYTES
