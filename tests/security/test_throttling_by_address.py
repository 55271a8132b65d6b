"""Sign-in throttling per client address: failed sign-ins from one address, on any
accounts of any workspaces of the deployment, make that address wait; other addresses
do not notice. X-Forwarded-For counts only from a configured trusted proxy."""

import pytest
from sqlalchemy import text

from salesapp.accounts.throttle import ADDRESS_WINDOW
from tests.conftest import TRUSTED_PROXY, sign_in

THROTTLED = "Too many failed sign-ins from your network address."


@pytest.fixture
def limit(settings):
    return settings.max_failed_logins_per_address


def fail_from(client, count, headers=None, first=0):
    """``count`` failed sign-ins over many logins (none of them waits: a login waits
    after 5 failures from one address)."""
    headers = headers or {}
    for i in range(first, first + count):
        login = "admin" if i % 5 == 0 else f"nobody{i}"
        form = client.get("/login", headers=headers).forms[0]
        form["username"], form["password"] = login, f"wrong password {i}"
        form.submit(headers=headers, status=400)


def test_an_address_with_too_many_failures_waits_and_others_do_not(
    make_tenant, make_user, client_for, limit, placement
):
    tenant = make_tenant(placement)
    # failures count deployment-wide: each placement guesses from its own address
    guessed = {"pooled": "198.51.100.20", "dedicated": "198.51.100.23"}[placement]
    username, password = make_user(tenant, ("Cashiers",))
    guesser = client_for(tenant, REMOTE_ADDR=guessed)
    fail_from(guesser, limit)

    # the right password does not help from that address, nor does another account
    res = sign_in(guesser, "admin", tenant.admin_password, status=429)
    assert THROTTLED in res.text
    retry = int(res.headers["Retry-After"])
    assert ADDRESS_WINDOW.total_seconds() - 120 <= retry <= ADDRESS_WINDOW.total_seconds()
    sign_in(client_for(tenant, REMOTE_ADDR=guessed), username, password, status=429)

    # the same accounts from another address sign in
    sign_in(client_for(tenant, REMOTE_ADDR=f"{guessed}1"), "admin", tenant.admin_password)
    sign_in(client_for(tenant, REMOTE_ADDR=f"{guessed}2"), username, password)


@pytest.fixture(params=["pooled", "dedicated"])
def placement(request):
    return request.param


def test_one_failure_short_of_the_limit_is_still_let_through(make_tenant, client_for, limit):
    tenant = make_tenant("pooled")
    client = client_for(tenant, REMOTE_ADDR="198.51.100.30")
    fail_from(client, limit - 1)
    sign_in(client, "admin", tenant.admin_password)


def test_the_address_may_try_again_once_its_failures_leave_the_window(
    make_tenant, client_for, catalog, limit
):
    tenant = make_tenant("pooled")
    client = client_for(tenant, REMOTE_ADDR="198.51.100.40")
    fail_from(client, limit)
    sign_in(client, "admin", tenant.admin_password, status=429)
    with catalog.session() as session:
        session.execute(
            text("update failed_sign_ins set failed_at = failed_at - :w where address = :a"),
            {"w": ADDRESS_WINDOW, "a": "198.51.100.40"},
        )
        session.commit()
    sign_in(client, "admin", tenant.admin_password)


def test_the_limit_is_one_for_the_whole_deployment_not_one_per_workspace(
    make_tenant, client_for, limit
):
    """An address's failures in several workspaces add up: it cannot make each
    workspace's allowance of password hashes on top of the others'."""
    first, second, third = (make_tenant("pooled") for _ in range(3))
    fail_from(client_for(first, REMOTE_ADDR="198.51.100.41"), limit // 2)
    fail_from(client_for(second, REMOTE_ADDR="198.51.100.41"), limit - limit // 2, first=50)
    res = sign_in(
        client_for(third, REMOTE_ADDR="198.51.100.41"), "admin", third.admin_password, status=429
    )
    assert THROTTLED in res.text
    sign_in(client_for(third, REMOTE_ADDR="198.51.100.42"), "admin", third.admin_password)


def test_x_forwarded_for_from_an_untrusted_peer_does_not_change_the_address(
    make_tenant, client_for, limit
):
    tenant = make_tenant("pooled")
    client = client_for(tenant, REMOTE_ADDR="198.51.100.50")
    for i in range(limit):  # a new forwarded address every time: still one peer
        fail_from(client, 1, {"X-Forwarded-For": f"192.0.2.{i + 1}"}, first=i)
    res = sign_in(client, "admin", tenant.admin_password, status=429)
    assert THROTTLED in res.text


def test_behind_the_trusted_proxy_each_client_counts_alone(make_tenant, client_for, limit):
    tenant = make_tenant("pooled")
    proxy = client_for(tenant, REMOTE_ADDR=TRUSTED_PROXY)
    fail_from(proxy, limit, {"X-Forwarded-For": "203.0.113.5"})

    def attempt(forwarded, status):
        form = proxy.get("/login").forms[0]
        form["username"], form["password"] = "admin", tenant.admin_password
        headers = {"X-Forwarded-For": forwarded}
        return form.submit(headers=headers, status=status)

    assert THROTTLED in attempt("203.0.113.5", 429).text
    # a client cannot escape by sending its own header: the proxy appends the peer
    attempt("192.0.2.99, 203.0.113.5", 429)
    # another client behind the same proxy signs in
    attempt("203.0.113.6", 303)
