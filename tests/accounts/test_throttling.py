"""Sign-in throttling: five wrong passwords in a row lock the account for 15 minutes."""

import pytest

from salesapp.accounts.services import LOCKOUT, MAX_FAILED_LOGINS
from tests.accounts.support import fill, form_for, sql, user_row
from tests.conftest import sign_in

LOCKED = "Too many failed sign-ins. Try again in 15 minutes."


@pytest.fixture(params=["pooled", "dedicated"])
def placement(request):
    return request.param


def expire_lock(owner_engine, tenant, username):
    sql(
        owner_engine,
        tenant,
        "update users set locked_until = now() - interval '1 second' where username = :u",
        u=username,
    )


def test_failures_are_counted_and_committed_though_sign_in_fails(
    make_tenant, client_for, owner_engine, placement
):
    tenant = make_tenant(placement)
    client = client_for(tenant)
    for expected in range(1, MAX_FAILED_LOGINS):
        res = sign_in(client, "admin", "wrong-password", status=400)
        assert "Wrong username or password." in res.text
        assert user_row(owner_engine, tenant, "admin").failed_logins == expected
    assert user_row(owner_engine, tenant, "admin").locked_until is None


def test_five_failures_lock_the_account_even_for_the_right_password(
    make_tenant, client_for, owner_engine, placement
):
    tenant = make_tenant(placement)
    client = client_for(tenant)
    for _ in range(MAX_FAILED_LOGINS - 1):
        sign_in(client, "admin", "wrong-password", status=400)
    res = sign_in(client, "admin", "wrong-password", status=429)
    assert LOCKED in res.text
    row = user_row(owner_engine, tenant, "admin")
    assert row.failed_logins == MAX_FAILED_LOGINS
    [(remaining,)] = sql(
        owner_engine, tenant, "select locked_until - now() from users where username = 'admin'"
    )
    assert LOCKOUT - remaining < LOCKOUT / 15  # about 15 minutes from now

    res = sign_in(client, "admin", tenant.admin_password, status=429)
    assert LOCKED in res.text
    assert res.headers["Retry-After"] == str(15 * 60)
    assert client.get("/").status_int == 302  # not signed in
    # by e-mail too: it is the same account
    sign_in(client, f"admin@{tenant.slug}.example.org", tenant.admin_password, status=429)
    # more wrong guesses while locked do not extend the lock
    sign_in(client, "admin", "wrong-again", status=429)
    assert user_row(owner_engine, tenant, "admin").locked_until == row.locked_until


def test_the_lock_runs_out_and_a_success_resets_the_count(
    make_tenant, client_for, owner_engine, placement
):
    tenant = make_tenant(placement)
    client = client_for(tenant)
    for _ in range(MAX_FAILED_LOGINS):
        sign_in(client, "admin", "wrong-password", status=(400, 429))
    sign_in(client, "admin", tenant.admin_password, status=429)

    expire_lock(owner_engine, tenant, "admin")
    assert sign_in(client, "admin", tenant.admin_password).location.endswith("/")
    row = user_row(owner_engine, tenant, "admin")
    assert row.failed_logins == 0 and row.locked_until is None
    assert row.last_login_at is not None


def test_after_the_lock_runs_out_a_wrong_password_starts_a_new_series(
    make_tenant, client_for, owner_engine
):
    tenant = make_tenant("pooled")
    client = client_for(tenant)
    for _ in range(MAX_FAILED_LOGINS):
        sign_in(client, "admin", "wrong-password", status=(400, 429))
    expire_lock(owner_engine, tenant, "admin")
    res = sign_in(client, "admin", "wrong-password", status=400)
    assert "Wrong username or password." in res.text
    row = user_row(owner_engine, tenant, "admin")
    assert row.failed_logins == 1 and row.locked_until is None


def test_a_success_resets_the_count_so_failures_must_be_consecutive(
    make_tenant, client_for, owner_engine
):
    tenant = make_tenant("pooled")
    client = client_for(tenant)
    for _ in range(MAX_FAILED_LOGINS - 1):
        sign_in(client, "admin", "wrong-password", status=400)
    sign_in(client, "admin", tenant.admin_password)
    assert user_row(owner_engine, tenant, "admin").failed_logins == 0

    other = client_for(tenant)
    for _ in range(MAX_FAILED_LOGINS - 1):
        sign_in(other, "admin", "wrong-password", status=400)
    assert user_row(owner_engine, tenant, "admin").locked_until is None
    assert sign_in(other, "admin", tenant.admin_password).status_int == 303


def test_the_lock_is_per_user(make_tenant, make_user, client_for):
    tenant = make_tenant("pooled")
    username, password = make_user(tenant, ("Cashiers",))
    client = client_for(tenant)
    for _ in range(MAX_FAILED_LOGINS):
        sign_in(client, "admin", "wrong-password", status=(400, 429))
    assert sign_in(client_for(tenant), username, password).status_int == 303


def test_unknown_users_lock_nothing_and_say_wrong_password(make_tenant, client_for):
    tenant = make_tenant("pooled")
    client = client_for(tenant)
    for _ in range(MAX_FAILED_LOGINS + 1):
        res = sign_in(client, "nobody", "wrong-password", status=400)
    assert "Wrong username or password." in res.text


def test_an_admin_password_reset_lifts_the_lock(staff, make_user, client_for, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    username, _ = make_user(tenant, ("Cashiers",), full_name="Locked Out")
    client = client_for(tenant)
    for _ in range(MAX_FAILED_LOGINS):
        sign_in(client, username, "wrong-password", status=(400, 429))
    listing = clients["Admin"].get("/users")
    assert "sign-in locked" in listing.html.select_one(f'tr[data-username="{username}"]').text

    user_id = user_row(owner_engine, tenant, username).id
    page = clients["Admin"].get(f"/users/{user_id}/edit")
    fill(form_for(page, "/edit", testid="password-form"), password="unlocked-password").submit(
        status=303
    )
    row = user_row(owner_engine, tenant, username)
    assert row.locked_until is None and row.failed_logins == 0
    assert sign_in(client, username, "unlocked-password").location.endswith("/account/password")


def test_a_deactivated_user_is_refused_like_a_wrong_password(
    make_tenant, make_user, client_for, owner_engine
):
    tenant = make_tenant("pooled")
    username, password = make_user(tenant, ("Cashiers",))
    sql(owner_engine, tenant, "update users set is_active = false where username = :u", u=username)
    res = sign_in(client_for(tenant), username, password, status=400)
    assert "Wrong username or password." in res.text
    assert user_row(owner_engine, tenant, username).failed_logins == 0
