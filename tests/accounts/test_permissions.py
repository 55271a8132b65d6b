"""Only an Admin manages users, locations and settings: Managers and Cashiers get 403 on
every page and every POST, and nothing changes."""

import pytest

from tests.accounts.support import csrf_token, sql, user_row

ROLES = ["Managers", "Cashiers"]


def snapshot(owner_engine, tenant):
    return [
        sql(owner_engine, tenant, f"select * from {table} order by 1, 2")
        for table in ("users", "user_roles", "locations", "workspace_settings")
    ]


@pytest.fixture
def workspace(staff):
    """(tenant, signed-in clients by role) of a new multi-location tenant; pooled: which
    role may do what does not depend on where the tenant's rows are."""
    return staff("pooled", multi_location=True)


@pytest.mark.parametrize("role", ROLES)
def test_staff_without_admin_get_403_on_every_page_and_post(workspace, owner_engine, role):
    tenant, clients = workspace
    client = clients[role]
    admin_id = user_row(owner_engine, tenant, "admin").id
    [(location_id,)] = sql(owner_engine, tenant, "select id from locations where is_default")
    token = csrf_token(client)
    before = snapshot(owner_engine, tenant)

    pages = [
        "/users",
        "/users/new",
        f"/users/{admin_id}/edit",
        "/locations",
        "/locations/new",
        f"/locations/{location_id}/edit",
        "/settings",
    ]
    for url in pages:
        res = client.get(url, status=403)
        assert "Your role does not allow this" in res.text, url

    posts = [
        (
            "/users/new",
            [
                ("username", "intruder"),
                ("full_name", "I"),
                ("roles", "Admin"),
                ("password", "intruder-password"),
            ],
        ),
        (
            f"/users/{admin_id}/edit",
            [("action", "save"), ("full_name", "Owned"), ("roles", "Cashiers")],
        ),
        (
            f"/users/{admin_id}/edit",
            [("action", "reset-password"), ("password", "intruder-password")],
        ),
        ("/locations/new", [("name", "Intruder shop")]),
        (f"/locations/{location_id}/edit", [("action", "save"), ("name", "Renamed")]),
        (f"/locations/{location_id}/edit", [("action", "make-default")]),
        (
            "/settings",
            [("currency", "EUR"), ("allow_negative_stock", "1"), ("receipt_footer", "owned")],
        ),
    ]
    for url, data in posts:
        client.post(url, [("csrf_token", token), *data], status=403)
    assert snapshot(owner_engine, tenant) == before


def test_the_admin_reaches_every_page(workspace):
    _, clients = workspace
    for url in ("/users", "/users/new", "/locations", "/locations/new", "/settings"):
        assert clients["Admin"].get(url).status_int == 200, url


@pytest.mark.parametrize("url", ["/users", "/users/new", "/locations", "/settings"])
def test_signed_out_visitors_are_sent_to_sign_in(client_for, make_tenant, url):
    tenant = make_tenant("pooled", multi_location=True)
    res = client_for(tenant).get(url, status=302)
    assert res.location.endswith("/login")


def test_posts_without_csrf_token_are_refused(workspace, owner_engine):
    tenant, clients = workspace
    before = snapshot(owner_engine, tenant)
    admin = clients["Admin"]
    admin.post(
        "/users/new",
        {"username": "x", "full_name": "x", "roles": "Admin", "password": "no-token-password"},
        status=400,
    )
    admin.post("/settings", {"currency": "EUR"}, status=400)
    admin.post("/locations/new", {"name": "No token"}, status=400)
    assert snapshot(owner_engine, tenant) == before
