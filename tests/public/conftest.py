"""Fixtures of the public site's tests: an app with self-service sign-up on, sending
to the session's SMTP server, and a client of its public site from an address of its
own (the sign-up throttle counts per client address)."""

from __future__ import annotations

import dataclasses
import re
import secrets

import pytest
import webtest

from salesapp import close_app, make_app
from salesapp.mail import mailer_for
from tests.conftest import BASE_DOMAIN

#: a password the workspaces' policy takes
PASSWORD = "Tangerine-otter-quartz-81"


@pytest.fixture(scope="module")
def signup_app(settings, smtp_session_server):
    app = make_app(
        dataclasses.replace(settings, signup_enabled=True, mail=smtp_session_server.mail_settings())
    )
    yield app
    app.registry.signups.close()
    close_app(app)


@pytest.fixture
def mailer(settings, smtp_session_server):
    """What `salesapp signup process` sends with, to the session's SMTP server."""
    return mailer_for(dataclasses.replace(settings, mail=smtp_session_server.mail_settings()))


def new_client(app, host=BASE_DOMAIN):
    """A browser of its own: its own address (a random one in 192.0.2.0/24's like)."""
    address = f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    return webtest.TestApp(app, extra_environ={"HTTP_HOST": host, "REMOTE_ADDR": address})


@pytest.fixture
def public(signup_app):
    return new_client(signup_app)


def unique(prefix="shop") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def fill_in(
    client, *, name="Corner Shop", subdomain=None, email=None, password=PASSWORD, status=303
):
    """Submit the sign-up form; the answer."""
    form = client.get("/signup").forms["signup-form"]
    form["business_name"] = name
    form["subdomain"] = subdomain or unique()
    form["email"] = email or f"{unique('owner')}@shop.example.test"
    form["password"] = password
    return form.submit(status=status)


def link_in(message) -> str:
    """The verification link's path in a received e-mail."""
    return re.search(r"http://[^/\s]+(/signup/verify/\S+)", message.text()).group(1)
