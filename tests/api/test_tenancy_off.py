"""``salesapp.tenancy = off``, the benchmark's baseline: the same views and services
serve one tenant on every host from one database, with no tween, no host resolution
and no per-transaction tenant setting. It must really leave those out (or the measured
overhead is no measurement), and it must refuse to start half-configured."""

import dataclasses

import pytest
from psycopg import sql
from sqlalchemy import event

from salesapp import close_app, make_app
from salesapp.settings import SettingsError, parse_settings
from salesapp.tenancy import urls
from tests.api.conftest import ApiClient, new_product, receive
from tests.conftest import BASE_DOMAIN, host_of


@pytest.fixture(scope="module")
def bypass_role(settings, admin_conn_module):
    """A role that row-level security does not apply to, with the app role's rights."""
    role = f"{settings.role_prefix}_norls"
    admin_conn_module.execute(
        sql.SQL("CREATE ROLE {} LOGIN BYPASSRLS IN ROLE {}").format(
            sql.Identifier(role), sql.Identifier(settings.app_role)
        )
    )
    yield role
    admin_conn_module.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def single(make_api_staff, catalog, bypass_role):
    """ApiStaff of a tenant in a dedicated store (a database of its own: nothing else to
    scope away), and that database's URL as the bypassing role."""
    api_staff = make_api_staff("dedicated")
    with catalog.session() as session:
        url = catalog.store_url(catalog.store_by_name(session, api_staff.tenant.store_name))
    return api_staff, urls.with_role(url, bypass_role, None)


@pytest.fixture(scope="module")
def admin_conn_module(server_admin_url):
    import psycopg

    with psycopg.connect(urls.libpq_url(server_admin_url), autocommit=True) as conn:
        yield conn


def test_tenancy_off_needs_the_tenant_and_its_database():
    with pytest.raises(SettingsError, match="single_tenant"):
        parse_settings({"salesapp.tenancy": "off"}, environ={})
    with pytest.raises(SettingsError, match="single_database_url"):
        parse_settings({"salesapp.tenancy": "off", "salesapp.single_tenant": "x"}, environ={})


def test_tenancy_off_refuses_an_unknown_tenant(settings, single):
    _, single_database_url = single
    off = dataclasses.replace(
        settings,
        tenancy=False,
        single_tenant="no-such-shop",
        single_database_url=single_database_url,
    )
    with pytest.raises(SettingsError, match="no-such-shop"):
        make_app(off)


def test_tenancy_off_serves_one_tenant_without_the_tenant_setting(settings, single, store):
    api_staff, single_database_url = single
    product = new_product(api_staff.manager, "OFF-1", "4.00")
    receive(store, api_staff.tenant, product["id"], "3")
    on_page = api_staff.admin.get("/api/products").json

    off = dataclasses.replace(
        settings,
        tenancy=False,
        single_tenant=api_staff.tenant.slug,
        single_database_url=single_database_url,
    )
    app = make_app(off)
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    try:
        engine = app.registry.stores.engine_for(app.registry.single_tenant)
        event.listen(engine, "before_cursor_execute", seen)
        # any host: there is no host resolution; the token still authenticates
        for host in (host_of(api_staff.tenant), f"elsewhere.{BASE_DOMAIN}", "localhost"):
            client = ApiClient(app, host, api_staff.tokens["Admin"])
            assert client.get("/api/products").json == on_page
        sale = {"lines": [{"sku": "OFF-1", "quantity": "1"}]}
        client.post("/api/sales", {**sale, "payments": [{"method": "cash", "amount": "10"}]})
    finally:
        close_app(app)
    assert statements, "the single database was not used"
    assert not [s for s in statements if "set_config" in s]
    # what tenancy off wrote is the tenant's, as tenancy on sees it
    (sold,) = api_staff.admin.get("/api/sales").json["items"]
    assert sold["lines"][0]["sku"] == "OFF-1"
