"""The console's sign-in and what every console page stands on: two factors, one answer
for every failure, the one-time password changed first, viewers refused changes, CSRF,
and sessions that count only on the main domain (and end when the operator is
disabled)."""

from __future__ import annotations

from sqlalchemy import select

from salesapp.operations import operators
from salesapp.operations.models import Operation
from salesapp.operations.operators import WRONG
from salesapp.sessions import SESSION_COOKIE
from tests.console.conftest import code_for, submit_sign_in


def operations_of(catalog, actor, action):
    with catalog.session() as session:
        return session.scalars(
            select(Operation).where(Operation.actor == actor, Operation.action == action)
        ).all()


def test_sign_in_needs_both_factors_and_then_a_new_password(
    catalog, console_anonymous, make_operator
):
    made = make_operator()
    client = console_anonymous()
    assert client.get("/operator/tenants").location.startswith(
        "http://example.test/operator/login?next="
    )
    page = submit_sign_in(client, made.name, made.password, code_for(made.secret))
    assert page.location == "http://example.test/operator/password"
    cookie = next(c for c in client.cookiejar if c.name == operators.SESSION_COOKIE)
    assert cookie.domain == "example.test"  # host-only: no Domain attribute
    assert "httponly" in {k.lower() for k in cookie._rest}
    assert not cookie.secure  # http here; https gets Secure
    # nothing else is open until the one-time password is changed
    assert client.get("/operator/tenants").location == "http://example.test/operator/password"
    form = client.get("/operator/password").forms["password"]
    form["current_password"] = made.password
    form["new_password"] = form["confirm_password"] = "short"
    refused = form.submit(status=400)
    assert refused.html.select_one(".error").get_text(" ", strip=True)
    form = refused.forms["password"]
    form["current_password"] = made.password
    form["new_password"] = form["confirm_password"] = "Tenants-and-stores-at-dawn"
    done = form.submit(status=303).follow().maybe_follow()
    assert "Your password was changed." in done.text
    assert made.name in done.html.select_one("[data-testid=who]").get_text(" ", strip=True)
    assert operations_of(catalog, made.name, "operator.sign_in")[0].outcome == "ok"


def test_every_failure_has_the_same_words(catalog, console_anonymous, make_operator):
    made = make_operator()
    disabled = make_operator()
    operators.disable_operator(catalog, disabled.name, "on leave")
    client = console_anonymous()
    answers = [
        submit_sign_in(client, made.name, "wrong password", code_for(made.secret), status=400),
        submit_sign_in(client, made.name, made.password, "000000", status=400),
        submit_sign_in(client, "nobody-here", made.password, code_for(made.secret), status=400),
        submit_sign_in(
            client, disabled.name, disabled.password, code_for(disabled.secret), status=400
        ),
    ]
    for page in answers:
        assert (
            page.html.select_one("[data-testid=sign-in-error]").get_text(" ", strip=True) == WRONG
        )
        assert operators.SESSION_COOKIE not in client.cookies
    assert answers[0].forms["sign-in"]["name"].value == made.name  # the name is kept


def test_a_disabled_operators_session_ends_at_once(catalog, console_client):
    client = console_client()
    client.get("/operator/tenants", status=200)
    operators.disable_operator(catalog, client.operator.name, "left the company")
    assert "/operator/login" in client.get("/operator/tenants", status=303).location
    # nor can they sign in again
    page = submit_sign_in(
        client,
        client.operator.name,
        client.operator.password,
        code_for(client.operator.secret, 1),
        status=400,
    )
    assert page.html.select_one("[data-testid=sign-in-error]").get_text(" ", strip=True) == WRONG


def test_sign_out_needs_the_csrf_token(console_client):
    client = console_client()
    page = client.get("/operator/tenants")
    client.post("/operator/logout", {"csrf_token": "forged"}, status=400)
    client.get("/operator/tenants", status=200)  # still signed in
    page.forms["sign-out"].submit(status=303)
    assert "/operator/login" in client.get("/operator/tenants", status=303).location


def test_a_tenants_admin_cookie_is_worthless_on_the_console(staff, console_anonymous, console_host):
    _, clients = staff(roles=("Admin",))
    admin_cookie = clients["Admin"].cookies[SESSION_COOKIE]
    client = console_anonymous()
    client.set_cookie(SESSION_COOKIE, admin_cookie)
    assert "/operator/login" in client.get("/operator/tenants", status=303).location


def test_an_operators_cookie_is_worthless_on_a_tenant_host(console_client, tenant_a, client_for):
    console = console_client()
    cookie = console.cookies[operators.SESSION_COOKIE]
    tenant_client = client_for(tenant_a)
    tenant_client.set_cookie(operators.SESSION_COOKIE, cookie)
    # a tenant host serves no /operator at all
    for path in ("/operator", "/operator/login", "/operator/tenants"):
        tenant_client.get(path, status=404)
    # and the cookie opens none of the workspace's pages
    assert "/login" in tenant_client.get("/", status=302).location


def test_csrf_missing_or_wrong_is_refused(console_client):
    client = console_client()
    page = client.get("/operator/password")
    form = page.forms["password"]
    form["current_password"] = client.operator.password
    form["new_password"] = form["confirm_password"] = "Another-long-passphrase-here"
    for token in ("", "forged"):
        form["csrf_token"] = token
        refused = form.submit(status=400)
        assert "security token" in refused.text
    # the password is unchanged: signing in with it still works
    client.post(
        "/operator/logout",
        {"csrf_token": client.get("/operator/tenants").forms["sign-out"]["csrf_token"].value},
    )
    submit_sign_in(
        client, client.operator.name, client.operator.password, code_for(client.operator.secret, 1)
    )


def test_a_viewer_looks_but_cannot_change(console_client):
    client = console_client("viewer")
    page = client.get("/operator/tenants", status=200)
    assert "viewer" in page.html.select_one("[data-testid=who]").get_text(" ", strip=True)
    token = page.forms["sign-out"]["csrf_token"].value
    refused = client.post(
        "/operator/tenants/new", {"csrf_token": token, "name": "X", "subdomain": "x"}, status=403
    )
    assert "Viewers can look but not change; ask an operator." in refused.text
