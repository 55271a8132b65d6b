"""Host resolution through the whole app: which hosts reach which tenant, and what
every other host gets."""

import contextlib
import time

import pytest
import webtest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from salesapp.operations.models import Tenant
from tests.conftest import BASE_DOMAIN, TRUSTED_PROXY, host_of, wait_for
from tests.moving import tenant_moving


@pytest.mark.parametrize(
    "variant",
    [
        lambda h: h,
        lambda h: h.upper(),
        lambda h: h + ":6543",
        lambda h: h + ".",
        lambda h: h.title() + ".:80",
    ],
    ids=["plain", "upper", "port", "trailing-dot", "mixed"],
)
def test_host_variants_reach_the_tenant(client_for, tenant_a, variant):
    res = client_for(variant(host_of(tenant_a))).get("/login")
    assert res.status_int == 200
    assert f"Sign in to {tenant_a.name}" in res.text


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.0.0.1:6543",
        "[::1]:6543",
        "nobody." + BASE_DOMAIN,
        "a.b." + BASE_DOMAIN,
        "unknown-shop.org",
        "bad_host." + BASE_DOMAIN,
        "",
    ],
)
def test_unknown_hosts_get_a_404_that_reveals_nothing(client_for, tenant_a, host, app):
    stores = app.registry.stores

    def refuse(*a, **kw):
        raise AssertionError("an unknown host must not touch a store")

    original, stores.engine_for = stores.engine_for, refuse
    try:
        res = client_for(host).get("/", status=404)
        res_login = client_for(host).get("/login", status=404)
    finally:
        stores.engine_for = original
    assert "Not found" in res.text
    for body in (res.text, res_login.text):
        assert tenant_a.slug not in body and tenant_a.name not in body
        assert "Set-Cookie" not in res.headers


def test_unknown_host_makes_no_catalog_query_when_warm(client_for, app, tenant_a):
    client_for(tenant_a).get("/login")  # warm the directory
    queries = []
    engine = app.registry.directory.engine
    listener = lambda *a, **kw: queries.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        client_for("nobody." + BASE_DOMAIN).get("/", status=404)
        client_for("shop.unknown.org").get("/", status=404)
        client_for(tenant_a).get("/login", status=200)
        client_for(tenant_a).get("/login", status=200)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert queries == []


def test_untrusted_x_forwarded_host_is_ignored(client_for, tenant_a, tenant_b):
    client = client_for(tenant_a, REMOTE_ADDR="192.0.2.50")
    res = client.get("/login", headers={"X-Forwarded-Host": host_of(tenant_b)})
    assert f"Sign in to {tenant_a.name}" in res.text


def test_x_forwarded_host_counts_from_the_trusted_proxy(client_for, tenant_a, tenant_b):
    client = client_for(tenant_a, REMOTE_ADDR=TRUSTED_PROXY)
    res = client.get("/login", headers={"X-Forwarded-Host": host_of(tenant_b)})
    assert f"Sign in to {tenant_b.name}" in res.text


def test_custom_domain_resolves(make_tenant, client_for):
    tenant = make_tenant("pooled", domains=["Shop.Custom-Domain.org"])
    res = client_for("shop.custom-domain.org:443").get("/login")
    assert f"Sign in to {tenant.name}" in res.text


def test_public_site_on_the_bare_base_domain(client_for, tenant_a):
    res = client_for(BASE_DOMAIN).get("/")
    assert "Find your workspace" in res.text
    assert tenant_a.slug not in res.text  # never lists tenants
    res = client_for(BASE_DOMAIN + ":8080").get("/find", params={"workspace": "Some-Shop"})
    assert res.status_int == 302
    assert res.location == f"http://some-shop.{BASE_DOMAIN}:8080/login"
    bad = client_for(BASE_DOMAIN).get("/find", params={"workspace": "no such!"}, status=400)
    assert "letters, digits and hyphens" in bad.text


def test_suspension_reaches_the_app_by_notify(app, catalog, client_for, make_tenant):
    tenant = make_tenant("pooled")
    client = client_for(tenant)
    assert client.get("/login").status_int == 200  # cached now
    assert wait_for(app.registry.directory.listening.is_set)
    with catalog.session() as session:
        session.execute(
            update(Tenant)
            .where(Tenant.id == tenant.id)
            .values(status="suspended", status_reason="unpaid")
        )
    # the TTL is 60 s: only the NOTIFY can make this happen quickly
    assert wait_for(lambda: client.get("/login", expect_errors=True).status_int == 403, 5)
    res = client.get("/", status=403)
    assert "suspended" in res.text
    with catalog.session() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(status="active"))
    assert wait_for(lambda: client.get("/login", expect_errors=True).status_int == 200, 5)


def test_ttl_backstop_reloads_without_notify(settings, catalog, make_tenant, client_for):
    import dataclasses

    from salesapp import close_app, make_app

    app = make_app(dataclasses.replace(settings, listen=False, cache_ttl=0.2))
    try:
        import webtest

        tenant = make_tenant("pooled")
        client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
        assert client.get("/login").status_int == 200
        with catalog.session() as session:
            session.execute(update(Tenant).where(Tenant.id == tenant.id).values(status="suspended"))
        time.sleep(0.3)
        assert client.get("/login", expect_errors=True).status_int == 403
    finally:
        close_app(app)


def test_moving_tenant_reads_but_refuses_writes(app, catalog, make_tenant, client_for):
    tenant = make_tenant("pooled")
    client = client_for(tenant)
    with tenant_moving(app, catalog, tenant.id, expected_pause_seconds=3.2):
        assert client.get("/login").status_int == 200
        res = client.post("/login", {"username": "admin", "password": "x"}, status=503)
        assert res.headers["Retry-After"] == "4"  # the expected pause, rounded up
        assert "try again in a moment" in res.text


@pytest.mark.parametrize(
    "path",
    ["/%ff", "/api/products/%ff", "/products?q=%ff", "/api/products?q=%ff", "/customers?q=%c3%28"],
)
def test_addresses_that_are_not_utf8_get_a_400(client_for, tenant_a, path):
    res = client_for(tenant_a).get(path, status=400)
    assert "not valid UTF-8" in res.text
    if path.startswith("/api"):
        assert res.json["message"].startswith("Bad request")


MALFORMED_HOSTS = [
    "",
    " ",
    ".",
    "a..b." + BASE_DOMAIN,
    "-x." + BASE_DOMAIN,
    "x-." + BASE_DOMAIN,
    "x" * 64 + "." + BASE_DOMAIN,
    ("a." * 130) + BASE_DOMAIN,
    "shop." + BASE_DOMAIN + ":80:junk",
    "shop." + BASE_DOMAIN + ":abc",
    "shop." + BASE_DOMAIN + ":99999",
    "shop_1." + BASE_DOMAIN,
    "shop." + BASE_DOMAIN + "@evil.org",
    "A..B." + BASE_DOMAIN.upper(),
    "127.0.0.1",
    "10.0.0.1:80",
    "[::1]:6543",
    "::1",
    "2130706433",
    "0x7f000001",
    "x" * 400,
]
#: hosts that are not a name as written (bytes outside printable ASCII, white space
#: inside): refused with 400, also before any database use
NONCANONICAL_HOSTS = [
    "\x80\xad." + BASE_DOMAIN,  # bytes no name holds, as WSGI passes them (latin-1)
    "sh\x7fop." + BASE_DOMAIN,
    "\ufffd." + BASE_DOMAIN,
    "sh op." + BASE_DOMAIN,
]


@pytest.fixture(scope="module")
def cold_app(settings):
    """An app whose directory has never loaded: any look-up would query the catalog."""
    import dataclasses

    from salesapp import close_app, make_app

    app = make_app(dataclasses.replace(settings, listen=False))
    yield app
    close_app(app)


@contextlib.contextmanager
def database_use():
    """Every pool checkout and statement on any engine (the catalog's, every store's)
    while the block runs."""
    used = []

    def checkout(*args):
        used.append("checkout")

    def execute(conn, cursor, statement, *args):
        used.append(statement)

    event.listen(Pool, "checkout", checkout)
    event.listen(Engine, "before_cursor_execute", execute)
    try:
        yield used
    finally:
        event.remove(Pool, "checkout", checkout)
        event.remove(Engine, "before_cursor_execute", execute)


@pytest.mark.parametrize("path", ["/", "/login", "/api/products"])
def test_malformed_hosts_are_answered_without_any_database(cold_app, path):
    cold_app.registry.directory.invalidate()  # a look-up now would reload from the catalog
    with database_use() as used:
        for host, status in [(h, 404) for h in MALFORMED_HOSTS] + [
            (h, 400) for h in NONCANONICAL_HOSTS
        ]:
            started = time.monotonic()
            res = webtest.TestApp(cold_app, extra_environ={"HTTP_HOST": host}).get(
                path, status=status
            )
            assert time.monotonic() - started < 1, host
            assert ("Not found" if status == 404 else "not a host name as written") in res.text, (
                host
            )
            assert "Set-Cookie" not in res.headers
            if path.startswith("/api"):
                assert set(res.json) == {"message", "errors"}
    assert used == []


def test_a_well_formed_host_does_reach_the_catalog_when_cold(cold_app):
    """The counter above sees catalog use: a host we might serve is looked up."""
    cold_app.registry.directory.invalidate()
    with database_use() as used:
        webtest.TestApp(cold_app, extra_environ={"HTTP_HOST": "nobody." + BASE_DOMAIN}).get(
            "/", status=404
        )
    assert used
