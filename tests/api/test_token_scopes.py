"""API token scopes (issue 16, item 1): a token's scope narrows its user's role and never
widens it. ``read`` makes GET calls only, ``sales`` also completes sales, ``full`` does
whatever the role allows; a call beyond the scope is a 403 that names the scope it
needs. Every API route's scope is written down here, so a new route fails these tests
until someone decides it; the check itself needs no declaration on the view (a view
deriver, salesapp.api.guard), and the OpenAPI document states the same scopes.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import func, select

from salesapp.api.grants import Scope, required_scope
from salesapp.api.openapi import DOCUMENT
from salesapp.customers.models import Customer
from salesapp.operations import bootstrap, migrations
from salesapp.operations.tokens import issue_token
from salesapp.products.models import Product
from salesapp.sales.models import Sale
from salesapp.tenancy import urls
from salesapp.tenancy.binding import bind
from tests.api.conftest import browser, new_product, receive
from tests.api.test_tokens import tokens_of
from tests.conftest import form_with

#: the least scope each API operation needs: decided here, by a person, per route
EXPECTED_SCOPES = {
    ("GET", "/api/products"): "read",
    ("POST", "/api/products"): "full",
    ("GET", "/api/products/{id}"): "read",
    ("PATCH", "/api/products/{id}"): "full",
    ("GET", "/api/customers"): "read",
    ("POST", "/api/customers"): "full",
    ("GET", "/api/sales"): "read",
    ("POST", "/api/sales"): "sales",
    ("GET", "/api/sales/{id}"): "read",
    ("GET", "/api/stock"): "read",
}
#: the only API view anyone may call without a token (and so without a scope)
PUBLIC = {("GET", "/api/openapi.json")}
ORDER = ["read", "sales", "full"]


def api_views(app) -> dict[tuple[str, str], str | None]:
    """(method, route pattern) -> the view's permission, for every view on an /api
    route in the app's route table (HEAD comes with GET in Pyramid)."""
    introspector = app.registry.introspector
    patterns = {
        entry["introspectable"]["name"]: entry["introspectable"]["pattern"]
        for entry in introspector.get_category("routes")
    }
    views = {}
    for entry in introspector.get_category("views"):
        view = entry["introspectable"]
        pattern = patterns.get(view["route_name"])
        if not pattern or not pattern.startswith("/api"):
            continue
        permissions = [i["value"] for i in entry["related"] if i.category_name == "permissions"]
        methods = view["request_methods"] or ("*",)
        for method in (methods,) if isinstance(methods, str) else methods:
            if method != "HEAD":
                views[(method, pattern)] = permissions[0] if permissions else None
    return views


def token_for(catalog, staff, role: str, scope: str, lifetime: str = "never") -> str:
    username, _ = staff.users[role]
    return issue_token(catalog, staff.tenant.slug, username, "scoped", scope=scope,
                       lifetime=lifetime).plaintext  # fmt: skip


def call(client, method: str, pattern: str):
    """Call an operation with a made-up id and an empty body: whatever a call that gets
    past the scope check answers (400, 404, 200), it is not the scope's 403."""
    path = pattern.replace("{id}", str(uuid.uuid4()))
    if method == "GET":
        return client.get(path, status="*")
    return client.raw(method, path, b"{}", status="*")


def assert_scope_refusal(res, needed: str) -> None:
    assert res.status_int == 403, res.text
    assert res.content_type == "application/json"
    assert f"needs a token with scope {needed}" in res.json["message"]
    assert f"make a new token with scope {needed}" in res.json["message"]
    assert res.headers["WWW-Authenticate"] == (
        f'Bearer error="insufficient_scope", scope="{needed}"'
    )


# -- every route has its scope -----------------------------------------------------
def test_every_api_route_has_a_decided_scope_and_a_permission(app):
    views = api_views(app)
    assert set(views) == set(EXPECTED_SCOPES) | PUBLIC
    for operation in EXPECTED_SCOPES:
        assert views[operation], f"{operation} needs a permission, and so a scope"
    for method, pattern in PUBLIC:
        assert views[(method, pattern)] is None


def test_the_openapi_document_states_each_operations_scope():
    for (method, pattern), scope in EXPECTED_SCOPES.items():
        operation = DOCUMENT["paths"][pattern][method.lower()]
        assert operation["x-token-scope"] == scope
        assert f"a token of scope {scope}" in operation["description"]
    described = DOCUMENT["info"]["description"]
    assert all(scope in described for scope in ORDER)
    assert "403" in described


@pytest.mark.parametrize("granted", ORDER)
def test_each_scope_makes_exactly_the_calls_it_covers_on_every_route(
    app, catalog, module_api_staff, api_client, granted
):
    client = api_client(
        module_api_staff.tenant, token_for(catalog, module_api_staff, "Admin", granted)
    )
    for (method, pattern), needed in EXPECTED_SCOPES.items():
        res = call(client, method, pattern)
        if ORDER.index(granted) < ORDER.index(needed):
            assert_scope_refusal(res, needed)
        else:
            assert res.status_int != 403, (method, pattern, res.text)


def test_a_new_kind_of_write_needs_the_full_scope():
    # the rule a view added later falls under without declaring anything
    assert required_scope("DELETE", "products.edit") is Scope.FULL
    assert required_scope("POST", "sales.void") is Scope.FULL
    assert required_scope("POST", "sales.create") is Scope.SALES
    assert required_scope("HEAD", "stock.view") is Scope.READ


# -- what each scope does ----------------------------------------------------------
def count(store, tenant, model) -> int:
    with store(tenant) as db:
        return db.scalar(select(func.count()).select_from(model))


def test_a_read_token_reads_everything_and_writes_nothing(api_staff, catalog, api_client, store):
    product = new_product(api_staff.admin, "A", "2.50")
    reader = api_client(api_staff.tenant, token_for(catalog, api_staff, "Managers", "read"))
    assert reader.get("/api/products").json["total"] == 1
    reader.get(f"/api/products/{product['id']}")
    reader.get("/api/stock")
    res = reader.post("/api/products", {"sku": "B", "name": "B", "unit_price": "1"}, status=403)
    assert_scope_refusal(res, "full")
    assert "This token's scope is read" in res.json["message"]
    reader.patch(f"/api/products/{product['id']}", {"unit_price": "0.01"}, status=403)
    assert_scope_refusal(reader.post("/api/customers", {"name": "C"}, status=403), "full")
    body = {"lines": [{"product_id": product["id"], "quantity": "1"}]}
    assert_scope_refusal(reader.post("/api/sales", body, status=403), "sales")
    assert count(store, api_staff.tenant, Product) == 1
    assert count(store, api_staff.tenant, Customer) == 0
    assert reader.get(f"/api/products/{product['id']}").json["unit_price"] == "2.50"


def test_a_sales_token_sells_but_changes_no_product_or_customer(
    api_staff, catalog, api_client, store
):
    product = new_product(api_staff.admin, "A", "2.50")
    receive(store, api_staff.tenant, product["id"], "5")
    till = api_client(api_staff.tenant, token_for(catalog, api_staff, "Cashiers", "sales"))
    sale = till.post(
        "/api/sales",
        {
            "lines": [{"product_id": product["id"], "quantity": "2"}],
            "payments": [{"method": "cash", "amount": "5.00"}],
        },
    ).json
    assert till.get(f"/api/sales/{sale['id']}").json["total"] == sale["total"]
    manager_till = api_client(api_staff.tenant, token_for(catalog, api_staff, "Managers", "sales"))
    res = manager_till.patch(f"/api/products/{product['id']}", {"unit_price": "0.01"}, status=403)
    assert_scope_refusal(res, "full")
    assert_scope_refusal(manager_till.post("/api/customers", {"name": "C"}, status=403), "full")
    assert count(store, api_staff.tenant, Sale) == 1
    assert count(store, api_staff.tenant, Customer) == 0
    assert till.get(f"/api/products/{product['id']}").json["unit_price"] == "2.50"


@pytest.mark.parametrize("scope", ORDER)
def test_a_scope_never_widens_the_role(api_staff, catalog, api_client, store, scope):
    cashier = api_client(api_staff.tenant, token_for(catalog, api_staff, "Cashiers", scope))
    res = cashier.post("/api/products", {"sku": "B", "name": "B", "unit_price": "1"}, status=403)
    assert res.json["message"].startswith("Your role does not allow this")
    cashier.get("/api/stock", status=403)  # Managers' only, whatever the scope
    assert count(store, api_staff.tenant, Product) == 0


def test_a_full_token_does_what_the_role_allows(api_staff, catalog, api_client, store):
    full = api_client(api_staff.tenant, token_for(catalog, api_staff, "Managers", "full"))
    full.post("/api/products", {"sku": "F", "name": "F", "unit_price": "1"})
    full.post("/api/customers", {"name": "C"})
    assert count(store, api_staff.tenant, Product) == 1


# -- the tokens page ---------------------------------------------------------------
def test_the_page_makes_a_token_of_the_chosen_scope_and_shows_it(api_staff, client_for, api_client):
    web = browser(client_for, api_staff, "Managers")
    form = form_with(web.get("/account/tokens"), "name")
    assert form["scope"].value == "read"  # the least, unless one chooses more
    form["name"] = "till 2"
    form["scope"] = "sales"
    res = form.submit()
    assert "with scope sales" in res.html.select_one('[data-testid="new-token"]').text
    plaintext = res.html.select_one('[data-testid="token-value"]').text
    client = api_client(api_staff.tenant, plaintext)
    assert_scope_refusal(client.post("/api/customers", {"name": "C"}, status=403), "full")
    row = web.get("/account/tokens").html.select_one(f'tr[data-token="{plaintext[:8]}"]')
    assert "sales" in [td.get_text(strip=True) for td in row.select("td")]


@pytest.mark.parametrize("bad", ["admin", "", "FULL", "x" * 500])
def test_an_unknown_scope_on_the_form_is_refused_and_makes_nothing(
    api_staff, client_for, store, bad
):
    web = browser(client_for, api_staff, "Managers")
    csrf = form_with(web.get("/account/tokens"), "name")["csrf_token"].value
    res = web.post(
        "/account/tokens",
        {"csrf_token": csrf, "name": "x", "scope": bad, "expires_in": "30d"},
        status=400,
    )
    message = res.html.select_one("#scope-error").text
    assert "Choose what the token may do: read, sales or full" in message
    assert not res.html.select('[data-testid="token-value"]')
    assert len(tokens_of(store, api_staff.tenant)) == 3  # the fixture's only


# -- the console -------------------------------------------------------------------
def test_the_console_makes_a_read_token_unless_told_otherwise(api_staff, cli, api_client):
    username, _ = api_staff.users["Managers"]
    slug = api_staff.tenant.slug
    for args, scope in (((), "read"), (("--scope", "sales"), "sales")):
        result = cli("tenant", "token", slug, username, *args)
        assert f"(scope {scope}, expires " in result.output
        plaintext = result.output.split("\n")[1].strip()
        client = api_client(api_staff.tenant, plaintext)
        client.get("/api/products")
        assert_scope_refusal(client.post("/api/customers", {"name": "C"}, status=403), "full")


def test_the_console_refuses_an_unknown_scope(api_staff, cli, store):
    result = cli("tenant", "token", api_staff.tenant.slug, "admin", "--scope", "admin", expect=2)
    assert "Invalid value for '--scope'" in result.output
    assert "'admin' is not one of 'read', 'sales', 'full'" in result.output
    assert "Traceback" not in result.output
    assert "sa_" not in result.output
    assert len(tokens_of(store, api_staff.tenant)) == 3


# -- the schema --------------------------------------------------------------------
@pytest.fixture
def store_at_t0007(settings):
    """A new store database at the revision before scopes; dropped afterwards."""
    server = bootstrap.owner_server_url(settings)
    name = settings.database_name("t0007_" + uuid.uuid4().hex[:6])
    with bootstrap.admin_connection(server, settings=settings) as conn:
        bootstrap.create_database(conn, name, settings.owner_role, settings.app_role)
    url = urls.with_database(server, name)
    migrations.upgrade("tenant", url, settings.app_role, revision="t0007", settings=settings)
    yield url
    with bootstrap.admin_connection(server, settings=settings) as conn:
        bootstrap.drop_database(conn, name)


def test_tokens_made_before_scopes_become_full_and_never_expire(settings, store_at_t0007):
    user = uuid.uuid4()
    with psycopg.connect(urls.libpq_url(store_at_t0007)) as conn:
        bind(conn, 7)
        conn.execute(
            "insert into users (tenant_id, id, username, password_hash) values (7, %s, 'u', 'x')",
            (user,),
        )
        conn.execute(
            "insert into api_tokens (tenant_id, id, user_id, name, token_hash, prefix) "
            "values (7, %s, %s, 'old', 'h', 'sa_old')",
            (uuid.uuid4(), user),
        )
    migrations.upgrade("tenant", store_at_t0007, settings.app_role, settings=settings)
    with psycopg.connect(urls.libpq_url(store_at_t0007)) as conn:
        bind(conn, 7)
        assert conn.execute("select scope, expires_at from api_tokens").fetchall() == [
            ("full", None)
        ]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("update api_tokens set scope = 'admin'")
