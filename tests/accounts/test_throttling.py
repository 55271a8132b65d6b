"""Sign-in throttling per address and login (issue 16): no account-wide lock.

After FREE_FAILURES wrong passwords from one address for one login, that address waits
before its next attempt for that login (1, 2, 4 ... up to 15 minutes); unknown logins
are answered exactly alike, and the rightful user signs in from another address. (Until
issue 16 five wrong passwords locked the account for everybody, and only an existing
account answered 429: a stranger could lock out any workspace's "admin" and learn which
usernames exist.)
"""

import datetime as dt

import pytest
from sqlalchemy import text

from salesapp.accounts.throttle import FIRST_DELAY, FREE_FAILURES, MAX_DELAY, login_delay
from tests.accounts.support import sql, user_row
from tests.conftest import sign_in

WAIT = "Too many failed sign-ins for this username from your network address."


@pytest.fixture(params=["pooled", "dedicated"])
def placement(request):
    return request.param


def age_failures(catalog, address, by: dt.timedelta):
    """Move the address's counted failures ``by`` into the past (as if it had waited)."""
    with catalog.session() as session:
        session.execute(
            text("update failed_sign_ins set failed_at = failed_at - :by where address = :a"),
            {"by": by, "a": address},
        )
        session.commit()


def answer(res) -> tuple:
    """What a refused sign-in tells: status, the page's message, the Retry-After."""
    message = res.html.select_one(".error").text.strip()
    return res.status_int, message, res.headers.get("Retry-After")


def test_a_wrong_password_locks_no_account(make_tenant, client_for, owner_engine, placement):
    tenant = make_tenant(placement)
    guesser = client_for(tenant, REMOTE_ADDR="198.51.100.1")
    for _ in range(FREE_FAILURES):
        res = sign_in(guesser, "admin", "wrong-password", status=400)
        assert "Wrong username or password." in res.text
    res = sign_in(guesser, "admin", tenant.admin_password, status=429)
    assert WAIT in res.text
    assert res.headers["Retry-After"] == str(int(FIRST_DELAY.total_seconds()))
    assert user_row(owner_engine, tenant, "admin").locked_until is None
    # the rightful user, from their own address, signs in meanwhile
    sign_in(client_for(tenant, REMOTE_ADDR="198.51.100.2"), "admin", tenant.admin_password)


def test_unknown_and_known_logins_are_answered_alike(make_tenant, client_for):
    tenant = make_tenant("pooled")
    known = client_for(tenant, REMOTE_ADDR="198.51.100.3")
    unknown = client_for(tenant, REMOTE_ADDR="198.51.100.4")
    for _ in range(FREE_FAILURES):
        a = sign_in(known, "admin", "wrong-password", status=400)
        b = sign_in(unknown, "nobody-here", "wrong-password", status=400)
        assert answer(a) == answer(b)
    a = sign_in(known, "admin", "wrong-password", status=429)
    b = sign_in(unknown, "nobody-here", "wrong-password", status=429)
    assert answer(a) == answer(b)
    assert WAIT in answer(a)[1]


def test_the_wait_grows_with_each_failure_up_to_15_minutes(make_tenant, client_for, catalog):
    tenant = make_tenant("pooled")
    address = "198.51.100.5"
    client = client_for(tenant, REMOTE_ADDR=address)
    for _ in range(FREE_FAILURES):
        sign_in(client, "admin", "wrong-password", status=400)
    waits = []
    for _ in range(6):
        res = sign_in(client, "admin", "wrong-password", status=429)
        waits.append(int(res.headers["Retry-After"]))
        age_failures(catalog, address, MAX_DELAY)  # waited it out
        sign_in(client, "admin", "wrong-password", status=400)  # one more try, wrong
    assert waits == [60, 120, 240, 480, 900, 900]
    assert login_delay(FREE_FAILURES + 20) == MAX_DELAY


def test_a_success_starts_a_fresh_count(make_tenant, client_for, catalog):
    tenant = make_tenant("pooled")
    address = "198.51.100.6"
    client = client_for(tenant, REMOTE_ADDR=address)
    for _ in range(FREE_FAILURES):
        sign_in(client, "admin", "wrong-password", status=400)
    sign_in(client, "admin", tenant.admin_password, status=429)
    age_failures(catalog, address, FIRST_DELAY)
    assert sign_in(client, "admin", tenant.admin_password).location.endswith("/")
    for _ in range(FREE_FAILURES):  # five more before any wait
        sign_in(client_for(tenant, REMOTE_ADDR=address), "admin", "wrong", status=400)


def test_the_wait_is_per_login_and_per_workspace(make_tenant, make_user, client_for):
    tenant = make_tenant("pooled")
    other = make_tenant("pooled")
    username, password = make_user(tenant, ("Cashiers",))
    client = client_for(tenant, REMOTE_ADDR="198.51.100.7")
    for _ in range(FREE_FAILURES):
        sign_in(client, "admin", "wrong-password", status=400)
    sign_in(client, "admin", tenant.admin_password, status=429)
    sign_in(client_for(tenant, REMOTE_ADDR="198.51.100.7"), username, password)
    sign_in(client_for(other, REMOTE_ADDR="198.51.100.7"), "admin", other.admin_password)


def test_a_deactivated_user_is_refused_like_a_wrong_password(
    make_tenant, make_user, client_for, owner_engine
):
    tenant = make_tenant("pooled")
    username, password = make_user(tenant, ("Cashiers",))
    sql(owner_engine, tenant, "update users set is_active = false where username = :u", u=username)
    res = sign_in(client_for(tenant, REMOTE_ADDR="198.51.100.8"), username, password, status=400)
    assert "Wrong username or password." in res.text
