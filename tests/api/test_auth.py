"""Who may call the API: only an active user's valid token of this tenant, never a
session cookie; the UI's permissions; the tenant tween's refusals as JSON."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from salesapp.accounts.models import User
from salesapp.operations.models import Tenant
from salesapp.operations.tokens import issue_token
from salesapp.products.models import Product
from tests.api.conftest import browser, new_product
from tests.conftest import BASE_DOMAIN
from tests.moving import tenant_moving


def assert_unauthorized(res, challenge="Bearer"):
    assert res.status_int == 401
    assert res.content_type == "application/json"
    assert res.headers["WWW-Authenticate"] == challenge
    assert "Authorization: Bearer" in res.json["message"]
    assert res.json["errors"] == {}


def test_no_authorization_header_is_401(api_staff, api_client):
    res = api_client(api_staff.tenant).get("/api/products", status=401)
    assert_unauthorized(res)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic YWRtaW46cGFzc3dvcmQ=",
        "Token {token}",
        "Bearer {token} {token}",
        "Bearer {token}x",
        "Bearer sa_short",
        "Bearer " + "sa_" + "A" * 43,  # well formed, unknown
        "{token}",
    ],
)
def test_a_malformed_or_unknown_token_is_401(api_staff, api_client, header):
    client = api_client(api_staff.tenant)
    value = header.format(token=api_staff.tokens["Admin"])
    res = client.get("/api/products", status=401, headers={"Authorization": value})
    assert_unauthorized(res, 'Bearer error="invalid_token"')


def test_the_scheme_is_case_insensitive(api_staff, api_client):
    client = api_client(api_staff.tenant)
    token = api_staff.tokens["Cashiers"]
    client.get("/api/products", headers={"Authorization": f"bearer {token}"})


def test_a_cookie_session_counts_for_nothing_under_api(api_staff, client_for):
    web = browser(client_for, api_staff, "Admin")
    assert web.get("/products").status_int == 200  # signed in for the pages
    assert_unauthorized(web.get("/api/products", status=401))
    token = web.get("/products").forms[0]["csrf_token"].value
    res = web.post_json(
        "/api/products?csrf_token=" + token,
        {"sku": "X", "name": "X", "unit_price": "1"},
        headers={"X-CSRF-Token": token},
        status=401,
    )
    assert_unauthorized(res)
    assert api_staff.admin.get("/api/products").json["total"] == 0


def test_an_authorization_header_is_ignored_on_pages(api_staff, client_for):
    # a signed-in Cashier's pages stay theirs whatever header comes with them
    cashier = browser(client_for, api_staff, "Cashiers")
    cashier.get("/products", headers={"Authorization": "Bearer nonsense"}, status=200)
    admin_token = api_staff.tokens["Admin"]
    cashier.get("/users/new", headers={"Authorization": f"Bearer {admin_token}"}, status=403)
    # without a session, an Admin's token opens no page: it is not a web session
    stranger = client_for(api_staff.tenant)
    res = stranger.get("/users/new", headers={"Authorization": f"Bearer {admin_token}"})
    assert res.status_int == 302 and res.location.endswith("/login")
    assert "Set-Cookie" not in res.headers or "user_id" not in str(stranger.cookies)
    # and a form posted with it creates nobody (no session, so no CSRF token either)
    res = stranger.post(
        "/users/new",
        {"username": "intruder", "full_name": "X", "roles": "Admin", "password": "x" * 16},
        headers={"Authorization": f"Bearer {admin_token}"},
        expect_errors=True,
    )
    assert res.status_int in (302, 400, 403)
    # the token still works where it belongs
    api_staff.admin.get("/api/products", status=200)


def test_a_deactivated_users_token_is_401(api_staff, store):
    username, _ = api_staff.users["Managers"]
    api_staff.manager.get("/api/products")
    with store(api_staff.tenant) as db:
        db.execute(update(User).where(User.username == username).values(is_active=False))
    assert_unauthorized(
        api_staff.manager.get("/api/products", status=401), 'Bearer error="invalid_token"'
    )


def test_a_user_with_a_one_time_password_is_refused(api_staff, catalog, make_user, api_client):
    username, _ = make_user(api_staff.tenant, ("Managers",), must_change_password=True)
    token = issue_token(catalog, api_staff.tenant.slug, username).plaintext
    client = api_client(api_staff.tenant, token)
    res = client.get("/api/products", status=403)
    assert "one-time password" in res.json["message"]
    client.post("/api/products", {"sku": "X", "name": "X", "unit_price": "1"}, status=403)
    assert api_staff.admin.get("/api/products").json["total"] == 0


@pytest.mark.parametrize("other_placement", ["pooled", "dedicated"])
def test_a_token_is_worthless_on_another_tenants_host(make_api_staff, api_client, other_placement):
    """Pooled A's token on pooled B's host, and on a dedicated tenant's host (and the
    other way round): not found in that tenant, so 401."""
    a = make_api_staff("pooled")
    b = make_api_staff(other_placement)
    new_product(a.admin, "ONLY-A")
    for token in a.tokens.values():
        res = api_client(b.tenant, token).get("/api/products", status=401)
        assert_unauthorized(res, 'Bearer error="invalid_token"')
    for token in b.tokens.values():
        api_client(a.tenant, token).get("/api/products", status=401)
    # and each token still works at home
    assert a.admin.get("/api/products").json["total"] == 1
    assert b.admin.get("/api/products").json["total"] == 0


# -- the UI's permissions ------------------------------------------------------------
def product_count(store, tenant):
    with store(tenant) as db:
        return db.scalar(select(func.count()).select_from(Product))


def test_a_cashier_cannot_create_or_change_products_and_nothing_changes(api_staff, store):
    product = new_product(api_staff.manager, "A", "2.50")
    cashier = api_staff.cashier
    res = cashier.post("/api/products", {"sku": "B", "name": "B", "unit_price": "1"}, status=403)
    assert "role does not allow" in res.json["message"]
    cashier.patch(f"/api/products/{product['id']}", {"unit_price": "0.01"}, status=403)
    assert product_count(store, api_staff.tenant) == 1
    assert cashier.get(f"/api/products/{product['id']}").json["unit_price"] == "2.50"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("Admin", {"products", "product.edit", "customers", "customer.edit", "stock", "sales"}),
        ("Managers", {"products", "product.edit", "customers", "customer.edit", "stock", "sales"}),
        ("Cashiers", {"products", "customers", "sales"}),
    ],
)
def test_each_role_may_do_what_the_pages_allow(api_staff, role, allowed):
    client = api_staff.api[role]
    calls = {
        "products": lambda status: client.get("/api/products", status=status),
        "product.edit": lambda status: client.post(
            "/api/products", {"sku": f"S-{role}", "name": "N", "unit_price": "1"}, status=status
        ),
        "customers": lambda status: client.get("/api/customers", status=status),
        "customer.edit": lambda status: client.post("/api/customers", {"name": "C"}, status=status),
        "stock": lambda status: client.get("/api/stock", status=status),
        "sales": lambda status: client.get("/api/sales", status=status),
    }
    for name, call in calls.items():
        expected = (201 if name.endswith(".edit") else 200) if name in allowed else 403
        res = call(expected)
        if expected == 403:
            assert res.json["message"].startswith("Your role does not allow this")


def test_the_openapi_document_needs_no_token(api_staff, api_client):
    res = api_client(api_staff.tenant).get("/api/openapi.json")
    assert res.json["openapi"].startswith("3.0")


# -- JSON for every refusal under /api -----------------------------------------------
def test_unknown_paths_and_methods_answer_json(api_staff):
    res = api_staff.admin.get("/api/nothing-here", status=404)
    assert res.content_type == "application/json" and "Not found" in res.json["message"]
    api_staff.admin.get("/api/products/not-a-uuid", status=404)
    api_staff.admin.get("/api/sales/01a2092b-1ec6-7387-93bc-6e2beebd8b5f", status=404)
    res = api_staff.admin.app.delete("/api/products", headers=api_staff.admin.headers(), status=405)
    assert res.headers["Allow"] == "GET, POST"
    assert "DELETE is not allowed" in res.json["message"]


def test_unknown_hosts_answer_json_under_api_and_html_elsewhere(api_client, api_staff):
    for host in ("nobody." + BASE_DOMAIN, "unknown-shop.org"):
        res = api_client(host, api_staff.tokens["Admin"]).get("/api/products", status=404)
        assert res.content_type == "application/json"
        assert res.json == {"message": "Not found: there is nothing at this address", "errors": {}}
        assert api_staff.tenant.slug not in res.text
        page = api_client(host).get("/products", status=404)
        assert page.content_type == "text/html"


def test_a_suspended_tenant_answers_json_403(app, catalog, api_staff):
    tenant = api_staff.tenant
    with catalog.session() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(status="suspended"))
    app.registry.directory.invalidate(tenant.id)
    try:
        res = api_staff.admin.get("/api/products", status=403)
        assert res.content_type == "application/json"
        assert "suspended" in res.json["message"]
    finally:
        with catalog.session() as session:
            session.execute(update(Tenant).where(Tenant.id == tenant.id).values(status="active"))
        app.registry.directory.invalidate(tenant.id)
    api_staff.admin.get("/api/products")


def test_a_moving_tenant_reads_but_answers_writes_with_json_503(app, catalog, api_staff):
    tenant = api_staff.tenant
    with tenant_moving(app, catalog, tenant.id, expected_pause_seconds=7):
        api_staff.admin.get("/api/products")
        res = api_staff.admin.post(
            "/api/products", {"sku": "M", "name": "M", "unit_price": "1"}, status=503
        )
        assert res.headers["Retry-After"] == "7"  # the move's expected pause
        assert res.content_type == "application/json"
        assert "being moved" in res.json["message"]
    assert api_staff.admin.get("/api/products").json["total"] == 0
