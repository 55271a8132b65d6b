"""Sessions at sign-in and sign-out: a new session id at sign-in (no fixation), the old
cookie worth nothing, and both ends in the audit trail. Sessions are revocable: signing
out, a new password (own or reset), deactivation and new roles end every session of the
user, copies of the cookie included (the user's session generation)."""

import webtest

from salesapp.operations.tokens import issue_token
from salesapp.sessions import SESSION_COOKIE
from tests.accounts.support import fill, form_for, user_row, user_row_for_role
from tests.accounts.test_users import save_user
from tests.api.conftest import ApiClient
from tests.audit.test_audit_trail import events
from tests.conftest import host_of, sign_in


def with_cookie(app, tenant, value):
    """A browser that holds only this session cookie."""
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
    client.set_cookie(SESSION_COOKIE, value)
    return client


def test_sign_in_starts_a_new_session_and_the_old_cookie_signs_in_nobody(app, make_tenant):
    tenant = make_tenant("pooled")
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
    page = client.get("/login")
    before = client.cookies[SESSION_COOKIE]
    token_before = page.forms[0]["csrf_token"].value
    assert with_cookie(app, tenant, before).get("/login").status_int == 200  # it is valid

    sign_in(client, "admin", tenant.admin_password)
    after = client.cookies[SESSION_COOKIE]
    assert after != before
    assert client.get("/").status_int == 200
    assert client.get("/users").forms[0]["csrf_token"].value != token_before

    # a cookie planted before sign-in (fixation) is still signed out afterwards
    planted = with_cookie(app, tenant, before)
    res = planted.get("/", status=302)
    assert res.location.endswith("/login")
    assert planted.get("/users", status=302).location.endswith("/login")
    # while the new cookie alone is signed in
    assert with_cookie(app, tenant, after).get("/").status_int == 200


def test_sign_out_ends_the_session_and_the_old_cookie_with_it(app, staff):
    _tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    signed_in = admin.cookies[SESSION_COOKIE]
    admin.get("/").forms[0].submit(status=303)  # the layout's sign-out form
    assert admin.get("/", status=302).location.endswith("/login")
    assert admin.cookies.get(SESSION_COOKIE) != signed_in
    # a copy of the cookie taken before (stolen, or another device) is signed out too
    assert with_cookie(app, _tenant, signed_in).get("/", status=302).location.endswith("/login")


def test_sign_in_and_sign_out_are_in_the_audit_trail(staff, client_for):
    tenant, _ = staff(roles=("Admin",))
    client = client_for(tenant, REMOTE_ADDR="203.0.113.9")
    sign_in(client, "admin", "not the password", status=400)
    sign_in(client, "admin", tenant.admin_password)
    client.get("/").forms[0].submit(status=303)

    # signing out ended every session of admin: the trail is read from a new one
    reader = client_for(tenant, REMOTE_ADDR="203.0.113.9")
    sign_in(reader, "admin", tenant.admin_password)
    rows, page = events(reader, action="auth.")
    actions = [(action, user) for action, user, _ in rows]
    # newest first: the reader's sign-in, the sign-out, the sign-in, the failure
    assert actions[:4] == [
        ("auth.sign_in", "admin"),
        ("auth.sign_out", "admin"),
        ("auth.sign_in", "admin"),
        ("auth.sign_in_failed", "admin"),
    ]
    for tr in page.html.select("tr[data-action]")[:4]:
        assert "203.0.113.9" in tr.text


def test_the_audit_trail_keeps_the_peer_address_not_a_forged_forwarded_one(staff, client_for):
    tenant, clients = staff(roles=("Admin",))
    client = client_for(tenant, REMOTE_ADDR="203.0.113.10")
    form = client.get("/login").forms[0]
    form["username"], form["password"] = "admin", "not the password"
    # sent by the client itself, not by a trusted proxy: it must not be believed
    form.submit(headers={"X-Forwarded-For": "198.51.100.66"}, status=400)

    rows, page = events(clients["Admin"], action="auth.sign_in_failed")
    assert rows
    newest = page.html.select("tr[data-action]")[0].text
    assert "203.0.113.10" in newest
    assert "198.51.100.66" not in newest


# -- revocable sessions ---------------------------------------------------------------
def signed_in_copy(app, tenant, client):
    """A second browser holding a copy of ``client``'s session cookie (as a thief, or
    the same user's other device, would)."""
    copy = with_cookie(app, tenant, client.cookies[SESSION_COOKIE])
    assert copy.get("/").status_int == 200
    return copy


def signed_out(client) -> bool:
    """The home page sends this browser to sign in (not to a step it owes, such as a
    new password)."""
    res = client.get("/", status=(200, 302, 303))
    return res.status_int != 200 and res.location.endswith("/login")


def test_sign_out_ends_the_users_sessions_on_every_device(app, staff, make_user, client_for):
    tenant, clients = staff(roles=("Admin", "Cashiers"))
    laptop = client_for(tenant)
    sign_in(laptop, "admin", tenant.admin_password)
    clients["Admin"].get("/").forms[0].submit(status=303)
    assert signed_out(laptop)
    assert not signed_out(clients["Cashiers"])  # only that user's sessions


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(
    app, make_tenant, client_for
):
    tenant = make_tenant("pooled")
    browser = client_for(tenant)
    sign_in(browser, "admin", tenant.admin_password)
    stolen = signed_in_copy(app, tenant, browser)
    page = browser.get("/account/password")
    form = form_for(page, "/account/password")
    new = "a brand new passphrase 77"
    fill(form, current_password=tenant.admin_password, new_password=new, confirm_password=new)
    res = form.submit(status=303)
    assert "Your password was changed" in res.follow().text
    assert signed_out(stolen)
    assert not signed_out(browser)


def signed_in_user(make_user, client_for, tenant, roles=("Managers",)):
    """A new user of ``tenant`` and a browser signed in as them."""
    username, password = make_user(tenant, roles)
    browser = client_for(tenant)
    sign_in(browser, username, password)
    return username, password, browser


def test_an_admins_password_reset_ends_the_users_sessions(
    app, staff, make_user, client_for, owner_engine
):
    tenant, clients = staff(roles=("Admin",))
    username, _, browser = signed_in_user(make_user, client_for, tenant)
    copy = signed_in_copy(app, tenant, browser)
    page = clients["Admin"].get(f"/users/{user_row(owner_engine, tenant, username).id}/edit")
    form = form_for(page, "/edit", testid="password-form")
    fill(form, password="temporary pass 4242").submit(status=303)
    assert signed_out(copy)
    assert signed_out(browser)


def test_new_roles_end_the_users_sessions(app, staff, make_user, client_for, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    username, _, browser = signed_in_user(make_user, client_for, tenant)
    save_user(clients["Admin"], owner_engine, tenant, username, full_name="Mo", roles=["Cashiers"])
    assert signed_out(browser)  # a Manager's session must not go on as a Cashier's


def test_a_reactivated_user_does_not_get_the_sessions_of_before_back(
    app, staff, make_user, client_for, owner_engine
):
    tenant, clients = staff(roles=("Admin",))
    username, _, browser = signed_in_user(make_user, client_for, tenant)
    save_user(clients["Admin"], owner_engine, tenant, username, full_name="Mo", active=False)
    save_user(clients["Admin"], owner_engine, tenant, username, full_name="Mo", active=True)
    assert signed_out(browser)


def test_an_admin_who_changes_their_own_roles_stays_signed_in(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    save_user(clients["Admin"], owner_engine, tenant, "admin", roles=["Admin", "Managers"])
    assert not signed_out(clients["Admin"])


def test_a_reactivated_users_old_api_tokens_stay_revoked(app, catalog, staff, owner_engine):
    tenant, clients = staff(roles=("Admin", "Cashiers"))
    username = _username(owner_engine, tenant, "Cashiers")
    token = issue_token(catalog, tenant.slug, username, "till").plaintext
    api = ApiClient(app, host_of(tenant), token)
    api.get("/api/products")
    save_user(clients["Admin"], owner_engine, tenant, username, full_name="Cy", active=False)
    api.get("/api/products", status=401)
    save_user(clients["Admin"], owner_engine, tenant, username, full_name="Cy", active=True)
    api.get("/api/products", status=401)


def _username(owner_engine, tenant, role):
    return user_row_for_role(owner_engine, tenant, role)
