"""Sign-in, sign-out and sessions bound to their tenant, pooled and dedicated."""

import pytest

from tests.conftest import host_of, sign_in


@pytest.fixture(params=["pooled", "dedicated"])
def tenant(request, tenant_a, tenant_d):
    return tenant_a if request.param == "pooled" else tenant_d


def test_login_form_has_the_expected_fields(client_for, tenant):
    form = client_for(tenant).get("/login").forms[0]
    assert {"username", "password", "csrf_token"} <= set(form.fields)


def test_sign_in_with_username_then_home_shows_tenant_and_user(client_for, tenant):
    client = client_for(tenant)
    res = sign_in(client, "admin", tenant.admin_password)
    assert res.location.endswith("/")
    home = client.get("/")
    assert home.status_int == 200
    assert home.html.select_one('[data-testid="tenant"]').text == tenant.slug
    assert home.html.select_one('[data-testid="username"]').text == "admin"
    assert tenant.name in home.text


def test_sign_in_with_email_case_insensitive(client_for, tenant):
    client = client_for(tenant)
    sign_in(client, f"ADMIN@{tenant.slug}.example.org", tenant.admin_password)
    assert client.get("/").status_int == 200


def test_wrong_password_and_unknown_user_say_the_same(client_for, tenant):
    client = client_for(tenant)
    wrong = sign_in(client, "admin", "not-the-password", status=400)
    unknown = sign_in(client, "nobody", "not-the-password", status=400)
    assert "Wrong username or password." in wrong.text
    assert "Wrong username or password." in unknown.text
    assert client.get("/").status_int == 302  # still signed out


def test_home_redirects_to_login_when_signed_out(client_for, tenant):
    res = client_for(tenant).get("/")
    assert res.status_int == 302 and res.location.endswith("/login")


def test_login_without_csrf_token_is_refused(client_for, tenant):
    client = client_for(tenant)
    client.get("/login")
    res = client.post(
        "/login", {"username": "admin", "password": tenant.admin_password}, status=400
    )
    assert "expired" in res.text
    assert client.get("/").status_int == 302


def test_logout_ends_the_session(client_for, tenant):
    client = client_for(tenant)
    sign_in(client, "admin", tenant.admin_password)
    home = client.get("/")
    home.forms[0].submit(status=303)
    assert client.get("/").status_int == 302


def test_logout_needs_post_and_csrf(client_for, tenant):
    client = client_for(tenant)
    sign_in(client, "admin", tenant.admin_password)
    client.get("/logout", status=404)
    client.post("/logout", status=400)
    assert client.get("/").status_int == 200


@pytest.mark.parametrize("direction", ["pooled->dedicated", "dedicated->pooled", "pooled->pooled"])
def test_cookie_minted_on_one_tenant_is_worthless_on_another(
    client_for, tenant_a, tenant_b, tenant_d, direction
):
    source, target = {
        "pooled->dedicated": (tenant_a, tenant_d),
        "dedicated->pooled": (tenant_d, tenant_a),
        "pooled->pooled": (tenant_a, tenant_b),
    }[direction]
    client = client_for(source)
    sign_in(client, "admin", source.admin_password)
    home = client.get("/")
    assert home.status_int == 200
    source_token = home.forms[0]["csrf_token"].value
    cookie = client.cookies["salesapp_session"]  # now holding the CSRF token too

    replay = client_for(target)
    # the cookie does not even decode on the other tenant: its session (and so its CSRF
    # token) is not there, whatever the user lookup would say
    login = replay.get("/login", headers={"Cookie": f"salesapp_session={cookie}"})
    assert login.forms[0]["csrf_token"].value != source_token
    res = replay.get("/", headers={"Cookie": f"salesapp_session={cookie}"})
    assert res.status_int == 302 and res.location.endswith("/login")
    # and the replayed cookie's CSRF token does not let it post either
    res = replay.post(
        "/logout",
        {"csrf_token": "anything"},
        headers={"Cookie": f"salesapp_session={cookie}"},
        status=400,
    )


def test_session_cookie_is_host_only_and_httponly(client_for, tenant_a):
    res = client_for(tenant_a).get("/login")
    cookie = res.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Domain=" not in cookie


def test_new_session_at_sign_in(client_for, tenant_a):
    client = client_for(tenant_a)
    before = client.get("/login")
    token_before = before.forms[0]["csrf_token"].value
    sign_in(client, "admin", tenant_a.admin_password)
    home = client.get("/")
    token_after = home.forms[0]["csrf_token"].value
    assert token_before != token_after


def test_users_of_one_tenant_cannot_sign_in_on_another(client_for, tenant_a, tenant_b):
    # same username 'admin' in both: A's password is not B's
    res = sign_in(client_for(tenant_b), "admin", tenant_a.admin_password, status=400)
    assert "Wrong username or password." in res.text
    assert host_of(tenant_a) not in res.text
