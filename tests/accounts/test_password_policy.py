"""The password policy on every path where a person chooses a password: their own
change, the Admin's new user, the Admin's reset. Common passwords are refused too."""

import pytest

from salesapp.accounts.common_passwords import COMMON_PASSWORDS
from salesapp.accounts.errors import AccountError
from salesapp.accounts.models import User
from salesapp.accounts.passwords import check_password_policy
from tests.accounts.support import fill, form_for, user_row, users_snapshot
from tests.accounts.test_users import create_user
from tests.conftest import sign_in

COMMON = "Password123"  # on the list (compared without case)
REFUSED = "one of the most common"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 10 characters"),
        ("x" * 201, "at most 200 characters"),
        ("jane.doe12", "must not be your username"),
        ("qwertyuiop", REFUSED),
        ("PASSWORD123", REFUSED),
        ("zzzzzzzzzzzz", REFUSED),  # one character repeated
    ],
)
def test_the_policy_says_what_is_wrong(password, message):
    with pytest.raises(AccountError, match=message) as refused:
        check_password_policy(password, User(username="jane.doe12", email=None))
    assert refused.value.field == "password"


def test_every_listed_password_is_long_enough_to_need_the_list():
    assert all(len(password) >= 10 for password in COMMON_PASSWORDS)
    assert all(password == password.lower() for password in COMMON_PASSWORDS)
    check_password_policy("correct horse battery staple")  # a good one passes


def test_admin_cannot_create_a_user_with_a_common_password(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    before = users_snapshot(owner_engine, tenant)
    res = create_user(clients["Admin"], status=400, password=COMMON)
    assert REFUSED in res.html.select_one("#password-error").text
    assert users_snapshot(owner_engine, tenant) == before


def test_admin_cannot_reset_to_a_common_password(staff, make_user, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    username, _ = make_user(tenant, ("Cashiers",))
    row = user_row(owner_engine, tenant, username)
    page = clients["Admin"].get(f"/users/{row.id}/edit")
    form = fill(form_for(page, "/edit", testid="password-form"), password=COMMON)
    res = form.submit(status=400)
    assert REFUSED in res.html.select_one("#password-error").text
    assert user_row(owner_engine, tenant, username).password_hash == row.password_hash


def test_nobody_can_change_their_own_password_to_a_common_one(
    make_tenant, make_user, client_for, owner_engine
):
    tenant = make_tenant("pooled")
    username, password = make_user(tenant, ("Cashiers",), must_change_password=True)
    client = client_for(tenant)
    sign_in(client, username, password)
    form = form_for(client.get("/account/password"), "/account/password")
    fill(form, current_password=password, new_password=COMMON, confirm_password=COMMON)
    res = form.submit(status=400)
    assert REFUSED in res.text
    assert user_row(owner_engine, tenant, username).must_change_password
    # and a good one is taken
    form = form_for(client.get("/account/password"), "/account/password")
    good = "a tangerine sky at noon"
    fill(form, current_password=password, new_password=good, confirm_password=good)
    form.submit(status=303)
    assert not user_row(owner_engine, tenant, username).must_change_password
