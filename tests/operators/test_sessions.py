"""An operator's session: signed with a key of its own (never a tenant's, nor the
public site's), honoured on the main domain only, and ended by a disabling or a
password reset."""

from __future__ import annotations

import time

import pytest

from salesapp.accounts import totp
from salesapp.operations import operators
from salesapp.operations.operators import (
    authenticate,
    console_host,
    operator_for_session,
    session_claims,
    session_serializer,
)
from salesapp.sessions import SESSION_COOKIE
from tests.conftest import BASE_DOMAIN, host_of


def signed_in(catalog, made, address, steps_ahead=0):
    code = totp.code_at(made.secret, time.time() + steps_ahead * totp.STEP_SECONDS)
    return authenticate(catalog, made.name, made.password, code, address)


def test_the_console_is_the_first_base_domain(settings):
    assert console_host(settings) == BASE_DOMAIN == settings.base_domains[0]


def test_a_session_counts_on_the_main_domain_only(catalog, make_operator, address, tenant_a):
    made = make_operator(role="viewer")
    claims = session_claims(catalog.settings, signed_in(catalog, made, address))
    for host in (BASE_DOMAIN, f"{BASE_DOMAIN}:6543", BASE_DOMAIN.upper() + "."):
        operator = operator_for_session(catalog, claims, host)
        assert operator is not None, host
        assert operator.name == made.name
        assert operator.role == "viewer"
        assert not operator.can_change
    for host in (host_of(tenant_a), "localhost", f"evil.{BASE_DOMAIN}", "", None):
        assert operator_for_session(catalog, claims, host) is None, host
    # a session made for another host is not honoured on the main domain either
    assert operator_for_session(catalog, {**claims, "host": "localhost"}, BASE_DOMAIN) is None


@pytest.mark.parametrize("change", ["disable", "reset-password"])
def test_disabling_or_a_reset_ends_the_sessions(catalog, make_operator, address, change):
    made = make_operator()
    claims = session_claims(catalog.settings, signed_in(catalog, made, address))
    assert operator_for_session(catalog, claims, BASE_DOMAIN) is not None
    if change == "disable":
        operators.disable_operator(catalog, made.name, "left")
        operators.enable_operator(catalog, made.name)  # enabled again: a new sign-in is needed
    else:
        operators.reset_password(catalog, made.name)
    assert operator_for_session(catalog, claims, BASE_DOMAIN) is None


def test_the_cookies_are_signed_with_a_key_of_their_own(settings, client_for, tenant_a):
    serializer = session_serializer(settings)
    cookie = serializer.dumps((time.time(), time.time(), {"operator_id": 1}))
    assert serializer.loads(cookie)[2] == {"operator_id": 1}
    # a tenant's session cookie, signed by the app, does not pass as an operator's
    client = client_for(tenant_a)
    client.get("/login")
    tenant_cookie = client.cookies[SESSION_COOKIE]
    with pytest.raises(ValueError, match="signed under none of the keys"):
        serializer.loads(tenant_cookie.encode())
    # nor does an operator's cookie pass as the tenant's session: a fresh session there
    client.set_cookie(SESSION_COOKIE, cookie.decode())
    page = client.get("/login")
    assert client.cookies[SESSION_COOKIE] != cookie.decode()
    assert page.status_int == 200
