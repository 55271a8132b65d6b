"""Sessions at sign-in and sign-out: a new session id at sign-in (no fixation), the old
cookie worth nothing, and both ends in the audit trail."""

import webtest

from salesapp.sessions import SESSION_COOKIE
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
    # sessions live in the signed cookie: an old copy stays valid until it expires
    # (8 hours); what sign-out can promise is that this browser holds it no longer


def test_sign_in_and_sign_out_are_in_the_audit_trail(staff, client_for):
    tenant, clients = staff(roles=("Admin",))
    client = client_for(tenant, REMOTE_ADDR="203.0.113.9")
    sign_in(client, "admin", "not the password", status=400)
    sign_in(client, "admin", tenant.admin_password)
    client.get("/").forms[0].submit(status=303)

    rows, page = events(clients["Admin"], action="auth.")
    actions = [(action, user) for action, user, _ in rows]
    # newest first: the sign-out, the sign-in, the failure (then the fixture's sign-ins)
    assert actions[:3] == [
        ("auth.sign_out", "admin"),
        ("auth.sign_in", "admin"),
        ("auth.sign_in_failed", "admin"),
    ]
    for tr in page.html.select("tr[data-action]")[:3]:
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
