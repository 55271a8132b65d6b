"""Moves in every direction with a tenant of thousands of sales, verified row for row;
the app keeps serving it (and everyone else) through and after each move."""

from __future__ import annotations

import secrets
from decimal import Decimal

import psycopg
import pytest
import webtest

from salesapp.inventory.services import InventoryService
from salesapp.operations import bootstrap, door, embedded, mobility, storeadmin
from salesapp.operations.demo import generate
from salesapp.operations.door import As
from salesapp.operations.errors import OperationError
from salesapp.operations.models import TenantMove
from salesapp.operations.tokens import issue_token
from salesapp.operations.workspace import tenant_accounts
from salesapp.products.models import Product
from salesapp.tenancy import urls
from tests.conftest import host_of, wait_for
from tests.mobility.conftest import fingerprint, placement_of, store_url, tenant_rows

SKU = "MOVE-1"


def sale(sku=SKU, amount="10.00"):
    return {
        "lines": [{"sku": sku, "quantity": "1"}],
        "payments": [{"method": "cash", "amount": amount}],
    }


def stock_product(catalog, slug, sku=SKU, quantity="100000", price="2.00"):
    """A product with plenty on hand, for streams of sales."""
    with tenant_accounts(catalog, slug) as (tenant, accounts):
        db = accounts.db
        product = Product(
            tenant_id=tenant.id, sku=sku, name=f"Item {sku}", unit_price=Decimal(price)
        )
        db.add(product)
        db.flush()
        inventory = InventoryService(db, tenant.id)
        inventory.receive(product.id, inventory.default_location().id, Decimal(quantity))


def api(app, tenant, catalog):
    token = issue_token(catalog, tenant.slug, "admin", "move tests").plaintext
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
    client.authorization = ("Bearer", token)
    return client


def directory_sees(app, tenant_id, store_name, state="active"):
    directory = app.registry.directory
    return wait_for(
        lambda: (
            (s := directory.by_id(tenant_id)) is not None
            and s.store.name == store_name
            and s.placement_state == state
        ),
        timeout=10,
    )


@pytest.fixture(scope="module")
def big_tenant(catalog, make_tenant):
    """A pooled tenant with about three thousand sales (and their lines, payments,
    stock movements, refunds and audit events)."""
    tenant = make_tenant("pooled")
    with door.tenant_session(catalog, tenant) as db:
        made = generate(db, tenant.id, seed=7, months=3, sales_per_day=(30, 40))
    assert made["sales"] > 2500
    stock_product(catalog, tenant.slug)
    return tenant


@pytest.fixture(scope="module")
def second_pool(catalog):
    """Another pooled store on the same server."""
    name = f"pool{secrets.token_hex(2)}"
    url = urls.with_database(store_url(catalog, "pool1"), catalog.settings.database_name(name))
    storeadmin.add_store(catalog, name, url, "pooled", accepting=False)
    return name


@pytest.fixture(scope="module")
def other_server(catalog, tmp_path_factory):
    """A second PostgreSQL server (embedded, its own data directory), registered as a
    dedicated-server store: "another server" for dedicated databases."""
    admin_url = embedded.start(tmp_path_factory.mktemp("server2") / "pgdata")
    bootstrap.ensure_roles(admin_url, catalog.settings)
    settings = catalog.settings
    owner_url = urls.with_role(admin_url, settings.owner_role, settings.owner_password)
    name = f"server{secrets.token_hex(2)}"
    storeadmin.add_store(catalog, name, owner_url, "dedicated-server")
    yield name
    with catalog.session() as session:  # the server goes when the tests end
        session.delete(catalog.store_named(session, name))
    with bootstrap.admin_connection(admin_url) as conn:
        for (db,) in conn.execute(
            "select datname from pg_database where datname like %s", (settings.role_prefix + "%",)
        ).fetchall():
            bootstrap.drop_database(conn, db)


def databases_named(admin_url, name_part):
    with bootstrap.admin_connection(admin_url) as conn:
        return [
            row[0]
            for row in conn.execute(
                "select datname from pg_database where datname like %s", (f"%{name_part}%",)
            )
        ]


def test_every_direction_with_thousands_of_sales(
    app, catalog, big_tenant, second_pool, other_server, move
):
    """pooled -> dedicated -> other pooled store -> dedicated on another server ->
    back to the first pooled store. After each: every row present once, checksums equal
    per table, nothing left in the source, and the app sells on the new store."""
    tenant = big_tenant
    client = api(app, tenant, catalog)
    # a first sale names the workspace's tax rates and links its products to them
    # (salesapp.taxes, once): the products then stay as they are through every move
    client.post_json("/api/sales", sale(), status=201)
    original = fingerprint(catalog, tenant.store_name, tenant.id)
    assert original["sales"][0] > 2500 and original["stock_movements"][0] > 5000
    sold = 0
    route = [
        ("dedicated", {}, "dedicated"),
        ("pooled", {"store_name": second_pool}, "pooled"),
        ("dedicated", {"store_name": other_server}, "dedicated"),
        ("pooled", {}, "pooled"),
    ]
    for to, options, kind in route:
        source = placement_of(catalog, tenant.slug)[0]
        source_url = store_url(catalog, source)
        result = move(tenant.slug, to, **options)
        target, target_kind, state = placement_of(catalog, tenant.slug)
        assert (target_kind, state, result.target) == (kind, "active", target)
        now = fingerprint(catalog, target, tenant.id)
        # the sales made through the app since the start are the only difference
        assert now["sales"][0] == original["sales"][0] + sold
        for table in ("products", "customers", "expenses", "refunds", "users", "roles"):
            assert now[table] == original[table], table
        assert {t.name: (t.rows, t.checksum) for t in result.tables} == now
        assert result.fence_seconds is not None and result.fence_seconds < result.total_seconds
        with catalog.session() as session:
            assert session.get(TenantMove, tenant.id) is None
            source_store = catalog.store_by_name(session, source)
        if source_store is None:  # a dedicated source: database dropped, store forgotten
            assert not databases_named(source_url, urls.database_of(source_url))
        else:
            assert tenant_rows(catalog, source, tenant.id) == 0
        assert directory_sees(app, tenant.id, target)
        client.post_json("/api/sales", sale(), status=201)
        sold += 1
        original["sales"] = (original["sales"][0], None)
    assert placement_of(catalog, tenant.slug)[0] == tenant.store_name


def test_keep_source_leaves_a_fenced_copy(app, catalog, make_tenant, second_pool, move):
    tenant = make_tenant("pooled")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    result = move(tenant.slug, "pooled", store_name=second_pool, keep_source=True)
    assert "kept" in result.source_fate
    assert fingerprint(catalog, second_pool, tenant.id) == before
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before  # still there...
    # ...but closed: the app role cannot write the tenant's rows in the old store
    old_copy = door.TenantAddress(tenant.id, tenant.store_name)
    with door.tenant_connection(catalog, old_copy, As.APP) as conn:
        with pytest.raises(psycopg.Error) as failure:
            conn.execute("update users set full_name = 'x'")
        assert failure.value.sqlstate == "SA503"
    # moving back replaces the stale copy with the current rows
    move(tenant.slug, "pooled", store_name=tenant.store_name)
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before
    assert tenant_rows(catalog, second_pool, tenant.id) == 0


@pytest.mark.parametrize(
    ("to", "options", "message"),
    [
        ("pooled", {}, "is already in pooled store"),
        ("dedicated", {"store_name": "pool1"}, "needs a dedicated-server store"),
        ("pooled", {"store_name": "nowhere"}, "no store named 'nowhere'"),
        ("pooled", {"database_url": "postgresql://x@h/db"}, "--database-url is for --to dedicated"),
    ],
)
def test_refused_moves_change_nothing(catalog, tenant_a, move, to, options, message):
    before = fingerprint(catalog, tenant_a.store_name, tenant_a.id)
    with pytest.raises(OperationError, match=message):
        move(tenant_a.slug, to, **options)
    assert placement_of(catalog, tenant_a.slug) == (tenant_a.store_name, "pooled", "active")
    assert fingerprint(catalog, tenant_a.store_name, tenant_a.id) == before


def test_a_dedicated_tenant_needs_a_server_to_move_to(catalog, tenant_d, move):
    with pytest.raises(mobility.MoveError, match="already has a dedicated store"):
        move(tenant_d.slug, "dedicated")


def test_dry_run_says_what_and_changes_nothing(catalog, make_tenant, cli):
    tenant = make_tenant("pooled")
    result = cli("tenant", "move", tenant.slug, "--to", "dedicated", "--dry-run")
    assert "Dry run: nothing is changed" in result.output
    assert "create database" in result.output and "users 1" in result.output
    assert placement_of(catalog, tenant.slug) == (tenant.store_name, "pooled", "active")
    with catalog.session() as session:
        assert catalog.store_by_name(session, f"dedicated-{tenant.slug}") is None


def test_the_cli_prints_tables_and_the_fence_time(catalog, make_tenant, cli):
    tenant = make_tenant("pooled")
    out = cli("tenant", "move", tenant.slug, "--to", "dedicated").output
    assert "users" in out and "verify" in out
    assert f"Moved {tenant.slug} from pooled store pool1 to dedicated store" in out
    assert "Writes were paused for" in out
    out = cli("tenant", "move", tenant.slug, "--to", "pooled").output
    assert "dropped database" in out


def test_to_a_database_named_by_url_and_back(catalog, make_tenant, move):
    tenant = make_tenant("pooled")
    before = fingerprint(catalog, tenant.store_name, tenant.id)
    name = catalog.settings.database_name(f"byurl_{secrets.token_hex(3)}")
    url = urls.with_database(store_url(catalog, "pool1"), name)
    result = move(tenant.slug, "dedicated", database_url=url)
    assert placement_of(catalog, tenant.slug) == (result.target, "dedicated", "active")
    assert urls.database_of(store_url(catalog, result.target)) == name
    assert fingerprint(catalog, result.target, tenant.id) == before
    move(tenant.slug, "pooled")
    assert fingerprint(catalog, tenant.store_name, tenant.id) == before
    assert not databases_named(url, name)  # the dedicated database left with the tenant
