"""The Admin's user pages: list, create, edit, reset a password, and every refusal."""

import uuid

import pytest

from tests.accounts.support import (
    csrf_token,
    fill,
    form_for,
    user_row,
    user_row_for_role,
    users_snapshot,
)
from tests.conftest import sign_in

GOOD_PASSWORD = "temporary-pass-123"


def new_user_form(client):
    page = client.get("/users/new")
    assert page.status_int == 200
    return form_for(page, "/users/new")


def create_user(client, status=303, **values):
    fields = {
        "username": "jane.doe",
        "full_name": "Jane Doe",
        "email": "",
        "roles": ["Cashiers"],
        "password": GOOD_PASSWORD,
    }
    fields.update(values)
    return fill(new_user_form(client), **fields).submit(status=status)


def edit_page(client, owner_engine, tenant, username):
    user_id = user_row(owner_engine, tenant, username).id
    return client.get(f"/users/{user_id}/edit"), user_id


def save_user(client, owner_engine, tenant, username, status=303, **values):
    page, _ = edit_page(client, owner_engine, tenant, username)
    form = form_for(page, "/edit", testid="user-form")
    return fill(form, **values).submit(status=status)


@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
def test_admin_creates_a_user_who_must_change_the_temporary_password(
    staff, owner_engine, client_for, placement
):
    tenant, clients = staff(placement, roles=("Admin",))
    admin = clients["Admin"]
    res = create_user(
        admin,
        username="New.User",
        full_name="New User",
        email="New.User@Example.org",
        roles=["Managers", "Cashiers"],
    )
    assert res.location.endswith("/users")
    listing = res.follow()
    assert "Created new.user" in listing.text
    row = listing.html.select_one('tr[data-username="new.user"]')
    assert row is not None
    assert "New User" in row.text and "new.user@example.org" in row.text
    assert "Cashiers, Managers" in row.text and "must change password" in row.text

    stored = user_row(owner_engine, tenant, "new.user")
    assert stored.email == "new.user@example.org"
    assert stored.must_change_password is True and stored.is_active is True
    assert stored.role_list == ["Cashiers", "Managers"]
    assert stored.tenant_id == tenant.id

    newcomer = client_for(tenant)
    res = sign_in(newcomer, "NEW.USER", GOOD_PASSWORD)
    assert res.location.endswith("/account/password")
    assert newcomer.get("/").location.endswith("/account/password")


def test_users_list_shows_every_user_with_roles_status_and_last_sign_in(staff, owner_engine):
    tenant, clients = staff()  # all three users: the list must show each
    page = clients["Admin"].get("/users")
    assert page.status_int == 200
    rows = page.html.select("tbody tr")
    assert len(rows) == 3
    admin_row = page.html.select_one('tr[data-username="admin"]')
    assert "Admin" in admin_row.text and "active" in admin_row.text
    assert f"admin@{tenant.slug}.example.org" in admin_row.text
    assert "never" not in admin_row.text  # the admin signed in (the staff fixture)
    assert "3 of 50 active users" in page.text


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"username": ""}, "username", "is required"),
        ({"username": "jane doe"}, "username", "may only use letters"),
        ({"username": "jané"}, "username", "may only use letters"),
        ({"username": "a" * 64}, "username", "at most 63"),
        ({"username": "ADMIN"}, "username", "'admin' is taken"),
        ({"full_name": ""}, "full_name", "is required"),
        ({"email": "not-an-address"}, "email", "not a valid e-mail"),
        ({"email": "two@@example.org"}, "email", "not a valid e-mail"),
        ({"roles": []}, "roles", "Choose at least one of Admin, Managers, Cashiers."),
        ({"password": ""}, "password", "is required"),
        ({"password": "short"}, "password", "at least 10 characters"),
        ({"username": "longusername1", "password": "LongUsername1"}, "password", "must not be"),
    ],
)
def test_new_user_refuses_bad_input_per_field_and_writes_nothing(
    staff, owner_engine, values, field, message
):
    tenant, clients = staff(roles=("Admin",))
    before = users_snapshot(owner_engine, tenant)
    res = create_user(clients["Admin"], status=400, **values)
    error = res.html.select_one(f"#{field}-error")
    assert error is not None and message in error.text
    assert users_snapshot(owner_engine, tenant) == before


def test_new_user_with_an_e_mail_of_another_user_is_refused(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    before = users_snapshot(owner_engine, tenant)
    res = create_user(clients["Admin"], status=400, email=f"ADMIN@{tenant.slug}.example.org")
    assert "belongs to another user" in res.html.select_one("#email-error").text
    assert users_snapshot(owner_engine, tenant) == before


def test_new_user_with_an_unknown_role_is_refused(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    before = users_snapshot(owner_engine, tenant)
    res = admin.post(
        "/users/new",
        [
            ("csrf_token", csrf_token(admin)),
            ("username", "mallory"),
            ("full_name", "Mallory"),
            ("roles", "Owner"),
            ("password", GOOD_PASSWORD),
        ],
        status=400,
    )
    assert "must be among Admin, Managers, Cashiers" in res.text
    assert users_snapshot(owner_engine, tenant) == before


def test_the_form_keeps_what_was_typed_after_an_error(staff):
    _, clients = staff(roles=("Admin",))
    res = create_user(
        clients["Admin"], status=400, username="kept", full_name="Kept Name", password="x"
    )
    form = form_for(res, "/users/new")
    assert form["username"].value == "kept" and form["full_name"].value == "Kept Name"
    assert [box.checked for box in form.fields["roles"]] == [False, False, True]


@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
def test_max_users_counts_active_users(make_tenant, client_for, owner_engine, placement):
    tenant = make_tenant(placement, max_users=2)
    admin = client_for(tenant)
    sign_in(admin, "admin", tenant.admin_password)
    create_user(admin, username="second")
    before = users_snapshot(owner_engine, tenant)

    res = create_user(admin, username="third", status=400)
    assert (
        "This workspace allows 2 active users; deactivate one or ask the operator to raise "
        "the limit" in res.html.select_one('[role="alert"]').text
    )
    assert users_snapshot(owner_engine, tenant) == before

    # a deactivated user does not count ...
    save_user(admin, owner_engine, tenant, "second", active=False)
    create_user(admin, username="third")
    assert user_row(owner_engine, tenant, "third").is_active
    # ... until reactivated, which the limit refuses while the workspace is full
    before = users_snapshot(owner_engine, tenant)
    res = save_user(admin, owner_engine, tenant, "second", status=400, active=True)
    assert "This workspace allows 2 active users" in res.text
    assert users_snapshot(owner_engine, tenant) == before
    assert user_row(owner_engine, tenant, "second").is_active is False


@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
def test_admin_edits_name_e_mail_roles_and_active(staff, owner_engine, placement):
    tenant, clients = staff(placement, roles=("Admin",))
    create_user(clients["Admin"], username="edited")
    page, _ = edit_page(clients["Admin"], owner_engine, tenant, "edited")
    form = form_for(page, "/edit", testid="user-form")
    assert form["full_name"].value == "Jane Doe"
    assert [b._value for b in form.fields["roles"] if b.checked] == ["Cashiers"]
    res = fill(
        form,
        full_name="Edited Person",
        email="Edited@Example.org",
        roles=["Admin", "Managers"],
        active=False,
    ).submit(status=303)
    assert "Saved edited." in res.follow().text
    stored = user_row(owner_engine, tenant, "edited")
    assert stored.full_name == "Edited Person"
    assert stored.email == "edited@example.org"
    assert stored.role_list == ["Admin", "Managers"]
    assert stored.is_active is False


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "is required"),
        ({"email": "nope"}, "email", "not a valid e-mail"),
        ({"roles": []}, "roles", "Choose at least one of Admin, Managers, Cashiers."),
    ],
)
def test_edit_refuses_bad_input_and_writes_nothing(staff, owner_engine, values, field, message):
    tenant, clients = staff(roles=("Admin",))
    create_user(clients["Admin"], username="target")
    before = users_snapshot(owner_engine, tenant)
    res = save_user(clients["Admin"], owner_engine, tenant, "target", status=400, **values)
    assert message in res.html.select_one(f"#{field}-error").text
    assert users_snapshot(owner_engine, tenant) == before


def test_edit_refuses_an_e_mail_of_another_user(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    create_user(clients["Admin"], username="target", email="target@example.org")
    before = users_snapshot(owner_engine, tenant)
    res = save_user(
        clients["Admin"],
        owner_engine,
        tenant,
        "target",
        status=400,
        email=f"admin@{tenant.slug}.example.org",
        full_name="Changed too",
    )
    assert "belongs to another user" in res.html.select_one("#email-error").text
    assert users_snapshot(owner_engine, tenant) == before


def test_a_deactivated_users_session_stops_at_once(staff, owner_engine):
    tenant, clients = staff()
    cashier = clients["Cashiers"]
    assert cashier.get("/").status_int == 200
    username = user_row_for_role(owner_engine, tenant, "Cashiers")
    save_user(clients["Admin"], owner_engine, tenant, username, full_name="Carl", active=False)
    res = cashier.get("/")
    assert res.status_int == 302 and res.location.endswith("/login")
    assert clients["Managers"].get("/").status_int == 200  # only that user is affected


def test_admin_cannot_deactivate_themselves(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    page, user_id = edit_page(admin, owner_engine, tenant, "admin")
    assert "You cannot deactivate your own account." in page.text
    before = users_snapshot(owner_engine, tenant)
    # the page does not offer it; a hand-made request is refused all the same
    res = admin.post(
        f"/users/{user_id}/edit",
        [
            ("csrf_token", csrf_token(admin)),
            ("action", "save"),
            ("full_name", "Administrator"),
            ("roles", "Admin"),
        ],
        status=400,
    )
    assert "You cannot deactivate your own account" in res.html.select_one("#active-error").text
    assert users_snapshot(owner_engine, tenant) == before


def test_admin_cannot_remove_their_own_admin_role(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    before = users_snapshot(owner_engine, tenant)
    res = save_user(clients["Admin"], owner_engine, tenant, "admin", status=400, roles=["Managers"])
    assert "You cannot remove your own Admin role" in res.html.select_one("#roles-error").text
    assert users_snapshot(owner_engine, tenant) == before


def test_an_admin_may_demote_or_deactivate_another_admin(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    create_user(admin, username="admin2", roles=["Admin"])
    save_user(admin, owner_engine, tenant, "admin2", roles=["Managers"])
    assert user_row(owner_engine, tenant, "admin2").role_list == ["Managers"]
    save_user(admin, owner_engine, tenant, "admin2", roles=["Admin"], active=False)
    stored = user_row(owner_engine, tenant, "admin2")
    assert stored.role_list == ["Admin"] and stored.is_active is False


def test_admin_resets_a_password_which_must_be_changed(staff, owner_engine, client_for):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    create_user(admin, username="forgetful", password="first-password-1")
    page, _ = edit_page(admin, owner_engine, tenant, "forgetful")
    form = form_for(page, "/edit", testid="password-form")
    res = fill(form, password="second-password-2").submit(status=303)
    assert "new temporary password" in res.follow().text

    user = client_for(tenant)
    sign_in(user, "forgetful", "first-password-1", status=400)
    assert sign_in(user, "forgetful", "second-password-2").location.endswith("/account/password")
    assert user_row(owner_engine, tenant, "forgetful").must_change_password is True


@pytest.mark.parametrize(
    ("password", "message"),
    [("", "is required"), ("too-short", "at least 10 characters"), ("Forgetful1", "must not be")],
)
def test_reset_password_refuses_a_bad_password(staff, owner_engine, password, message):
    tenant, clients = staff(roles=("Admin",))
    create_user(clients["Admin"], username="forgetful1")
    before = users_snapshot(owner_engine, tenant)
    page, _ = edit_page(clients["Admin"], owner_engine, tenant, "forgetful1")
    form = form_for(page, "/edit", testid="password-form")
    res = fill(form, password=password).submit(status=400)
    assert message in res.html.select_one("#password-error").text
    assert users_snapshot(owner_engine, tenant) == before


def test_admin_cannot_reset_their_own_password_here(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    before = users_snapshot(owner_engine, tenant)
    page, _ = edit_page(clients["Admin"], owner_engine, tenant, "admin")
    form = form_for(page, "/edit", testid="password-form")
    res = fill(form, password="brand-new-password").submit(status=400)
    assert "Change password page" in res.html.select_one("#password-error").text
    assert users_snapshot(owner_engine, tenant) == before


@pytest.mark.parametrize("user_id", ["not-a-uuid", str(uuid.uuid4()), "1"])
def test_unknown_or_malformed_user_ids_are_404(staff, user_id):
    _, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    admin.get(f"/users/{user_id}/edit", status=404)
    admin.post(
        f"/users/{user_id}/edit",
        {"csrf_token": csrf_token(admin), "full_name": "x", "roles": "Admin"},
        status=404,
    )


@pytest.mark.parametrize("placements", [("pooled", "pooled"), ("dedicated", "pooled")])
def test_a_user_of_another_tenant_is_not_reachable_by_id(staff, owner_engine, placements):
    tenant_a, _clients_a = staff(placements[0])
    _tenant_b, clients_b = staff(placements[1], roles=("Admin",))
    victim = user_row(owner_engine, tenant_a, "admin")
    before = users_snapshot(owner_engine, tenant_a)
    admin_b = clients_b["Admin"]
    admin_b.get(f"/users/{victim.id}/edit", status=404)
    for action in ("save", "reset-password"):
        admin_b.post(
            f"/users/{victim.id}/edit",
            [
                ("csrf_token", csrf_token(admin_b)),
                ("action", action),
                ("full_name", "Taken over"),
                ("roles", "Cashiers"),
                ("password", "hijacked-password"),
            ],
            status=404,
        )
    assert users_snapshot(owner_engine, tenant_a) == before


def test_the_new_user_form_ticks_no_role_and_asks_for_one(staff, owner_engine):
    """No role is given unasked: the Admin chooses, and is told to when none is."""
    tenant, clients = staff(roles=("Admin",))
    form = new_user_form(clients["Admin"])
    assert [box.checked for box in form.fields["roles"]] == [False, False, False]
    before = users_snapshot(owner_engine, tenant)
    res = fill(form, username="noroles", full_name="No Roles", password=GOOD_PASSWORD).submit(
        status=400
    )
    assert (
        res.html.select_one("#roles-error").text
        == "Choose at least one of Admin, Managers, Cashiers."
    )
    assert users_snapshot(owner_engine, tenant) == before
