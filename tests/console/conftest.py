"""The operator console's fixtures: clients signed in as new operators on the main
domain (the console host, example.test in the tests), with both factors through the
sign-in page, their one-time password already changed."""

from __future__ import annotations

import dataclasses
import secrets
import time

import pytest

from salesapp.accounts import totp
from salesapp.operations import operators
from tests.conftest import BASE_DOMAIN


def code_for(secret: str, steps_ahead: int = 0) -> str:
    """The TOTP code of ``secret`` now (or ``steps_ahead`` 30-second steps later: a code
    is taken once, so a second sign-in within the step needs the next one)."""
    return totp.code_at(secret, time.time() + steps_ahead * totp.STEP_SECONDS)


def new_address() -> str:
    """A client address no other test uses (failed sign-ins are counted per address)."""
    return f"2001:db8:c::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


def submit_sign_in(client, name, password, code, status=303):
    """Send the console's sign-in form; the answer."""
    form = client.get("/operator/login").forms["sign-in"]
    form["name"], form["password"], form["code"] = name, password, code
    return form.submit(status=status)


@pytest.fixture
def console_host() -> str:
    """The host the console is served on: the main domain (the first base domain)."""
    return BASE_DOMAIN


@pytest.fixture
def console_anonymous(app, console_host):
    """console_anonymous() -> a webtest client on the console host, signed in as nobody,
    from an address of its own."""
    import webtest

    def make():
        return webtest.TestApp(
            app, extra_environ={"HTTP_HOST": console_host, "REMOTE_ADDR": new_address()}
        )

    return make


@pytest.fixture
def make_operator(catalog):
    """make_operator(role="operator") -> the Credentials of a new operator (its
    one-time password unchanged)."""

    def make(role="operator", name=None, **kw):
        return operators.create_operator(catalog, name or f"op{secrets.token_hex(4)}", role, **kw)

    return make


@pytest.fixture
def console_client(console_anonymous, make_operator):
    """console_client(role="operator"|"viewer") -> a webtest client on the console host
    signed in as a new operator of that role (two factors, the one-time password changed
    for ``client.operator.password``). ``client.operator`` is its Credentials."""

    def make(role="operator"):
        made = make_operator(role)
        client = console_anonymous()
        page = submit_sign_in(client, made.name, made.password, code_for(made.secret))
        assert page.location.endswith("/operator/password"), page.location
        password = f"Console-{secrets.token_urlsafe(12)}"
        form = client.get("/operator/password").forms["password"]
        form["current_password"] = made.password
        form["new_password"] = form["confirm_password"] = password
        form.submit(status=303)
        client.operator = dataclasses.replace(made, password=password)
        return client

    return make
