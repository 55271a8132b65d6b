"""`salesapp store add/list`, `salesapp check` and `salesapp stats`, on a deployment of
their own (the checks break it on purpose)."""

import dataclasses
import json

import pytest
from psycopg import sql

from salesapp.models import Base
from salesapp.operations import bootstrap, migrations, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.checks import run_checks
from salesapp.operations.errors import OperationError
from salesapp.operations.stats import tenant_stats
from salesapp.operations.storeadmin import add_store, list_stores
from salesapp.tenancy import urls
from tests.conftest import run_cli, write_ini


@pytest.fixture(scope="module")
def deployment(make_deployment, tmp_path_factory):
    settings = make_deployment()
    catalog = Catalog(settings)
    ini = write_ini(settings, tmp_path_factory.mktemp("stores") / "s.ini")
    yield settings, catalog, ini
    catalog.dispose()


def owner_url_for(settings, database):
    return urls.with_database(bootstrap.owner_server_url(settings), database)


def create(catalog, slug, placement="pooled", **kw):
    return provisioning.create_tenant(
        catalog,
        provisioning.TenantRequest(
            name=slug, slug=slug, admin_email="a@b.org", placement=placement, **kw
        ),
    )


def test_add_a_pooled_store_creates_and_migrates_it(deployment, admin_conn):
    settings, catalog, ini = deployment
    database = settings.database_name("pool2")
    out = run_cli(
        ini, "store", "add", "pool2", "--kind", "pooled", "--url", owner_url_for(settings, database)
    ).output
    assert "Added pooled store pool2" in out and "(database created)" in out
    assert admin_conn.execute(
        "select 1 from pg_database where datname = %s", (database,)
    ).fetchone()
    tenant = create(catalog, "in-pool2", store_name="pool2")
    assert tenant.store_name == "pool2"
    rows = {r["name"]: r for r in json.loads(run_cli(ini, "store", "list", "--json").output)}
    assert rows["pool2"]["tenants"] == 1 and rows["pool2"]["reachable"] is True
    assert rows["pool2"]["schema_revision"] == migrations.head_revision("tenant")
    assert rows["pool2"]["size_bytes"] > 0
    assert rows["pool1"]["default"] is True and rows["pool2"]["default"] is False
    table = run_cli(ini, "store", "list").output
    assert "pool2" in table and "yes" in table


def test_store_add_refusals(deployment, admin_conn):
    settings, catalog, ini = deployment
    pool1 = owner_url_for(settings, settings.database_name("pool1"))
    cases = [
        (("Bad Name", "pooled", pool1), "store name"),
        (("pool1", "pooled", pool1), "exists; choose another"),
        (("x1", "pooled", "mysql://u@h/d"), "only PostgreSQL"),
        (("x2", "pooled", "postgresql://nobody@127.0.0.1:1/nope"), "cannot reach"),
        (("x3", "dedicated", pool1), "--kind must be"),
    ]
    for (name, kind, url), message in cases:
        with pytest.raises(OperationError, match=message):
            add_store(catalog, name, url, kind)
    # a database holding foreign tables is not taken over
    foreign = settings.database_name("foreign")
    admin_conn.execute(
        sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(foreign), sql.Identifier(settings.owner_role)
        )
    )
    with bootstrap.admin_connection(owner_url_for(settings, foreign), foreign) as conn:
        conn.execute("create table invoices (id int)")
    result = run_cli(
        ini,
        "store",
        "add",
        "x4",
        "--kind",
        "pooled",
        "--url",
        owner_url_for(settings, foreign),
        expect=1,
    )
    assert "not a salesapp store" in result.output and "Traceback" not in result.output
    assert "x4" not in {r["name"] for r in list_stores(catalog)}
    # a database of the deployment's prefix that no store names is a problem `check` and
    # `doctor` report: this module's later checks expect a sound deployment
    bootstrap.drop_database(admin_conn, foreign)


def test_dedicated_server_store_receives_dedicated_tenants(deployment, admin_conn):
    settings, catalog, ini = deployment
    server = owner_url_for(settings, "postgres")
    run_cli(ini, "store", "add", "srv", "--kind", "dedicated-server", "--url", server)
    tenant = create(catalog, "on-srv", "dedicated", store_name="srv")
    assert tenant.database == provisioning.dedicated_database_name(catalog, "on-srv")
    # a server without the template database: the new store is created and migrated
    template = bootstrap.template_database(settings)
    admin_conn.execute(
        sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(template))
    )
    bootstrap.drop_database(admin_conn, template)
    try:
        tenant = create(catalog, "no-template", "dedicated", store_name="srv")
        with catalog.session() as session:
            store = catalog.store_by_name(session, tenant.store_name)
            assert store.schema_revision == migrations.head_revision("tenant")
    finally:
        bootstrap.init_deployment(
            dataclasses.replace(settings, server_admin_url=settings.server_admin_url)
        )
    with pytest.raises(OperationError, match="no dedicated-server store named 'pool1'"):
        create(catalog, "wrong-kind", "dedicated", store_name="pool1")


def test_check_passes_on_a_sound_deployment(deployment):
    _settings, _catalog, ini = deployment
    out = run_cli(ini, "check").output
    assert "FAIL" not in out and " 0 failed" in out
    tables = sum("tenant_id" in table.c for table in Base.metadata.tables.values())
    assert f"PASS  store pool1 row-level security: {tables} tables forced, both policies" in out


def test_check_fails_on_unforced_rls_and_says_how_to_fix(deployment, server_admin_url):
    settings, _catalog, ini = deployment
    pool = urls.with_database(server_admin_url, settings.database_name("pool1"))
    with bootstrap.admin_connection(pool, settings.database_name("pool1")) as conn:
        conn.execute("alter table locations no force row level security")
        conn.execute("drop policy tenant_guard on users")
    try:
        out = run_cli(ini, "check", expect=1).output
        assert "FAIL  store pool1 row-level security" in out
        assert "locations: row-level security is not forced" in out
        assert "users: restrictive policy tenant_guard is missing" in out
        assert "fix:" in out
    finally:
        with bootstrap.admin_connection(pool, settings.database_name("pool1")) as conn:
            conn.execute("alter table locations force row level security")
            from salesapp.operations.rls import enable_rls_sql

            conn.execute(enable_rls_sql("users")[3])
    run_cli(ini, "check")


def test_check_fails_on_a_privileged_app_role(deployment, admin_conn):
    settings, catalog, _ini = deployment
    admin_conn.execute(sql.SQL("ALTER ROLE {} BYPASSRLS").format(sql.Identifier(settings.app_role)))
    try:
        checks = {c.name: c for c in run_checks(catalog)}
        assert not checks["catalog app role least-privileged"].ok
        assert "BYPASSRLS" in checks["catalog app role least-privileged"].detail
    finally:
        admin_conn.execute(
            sql.SQL("ALTER ROLE {} NOBYPASSRLS").format(sql.Identifier(settings.app_role))
        )


def test_check_fails_on_development_settings_in_production(deployment):
    settings, _catalog, _ini = deployment
    prod = Catalog(
        dataclasses.replace(
            settings,
            production=True,
            secure_cookies=False,
            base_domains=("localhost",),
            tenancy=False,  # the benchmark's baseline left on
            single_tenant="shop",
        )
    )
    try:
        failed = {c.name for c in run_checks(prod) if not c.ok}
    finally:
        prod.dispose()
    assert failed == {
        "secret key not a development value",
        "secure cookies",
        "base domains configured",
        "tenancy on",
    }


def test_check_reports_an_unreachable_store(deployment, admin_conn):
    _settings, catalog, ini = deployment
    create(catalog, "doomed", "dedicated")
    bootstrap.drop_database(admin_conn, provisioning.dedicated_database_name(catalog, "doomed"))
    out = run_cli(ini, "check", expect=1).output
    assert "FAIL  store dedicated-doomed reachable" in out
    rows = {r["name"]: r for r in list_stores(catalog)}
    assert rows["dedicated-doomed"]["reachable"] is False
    assert "does not exist" in rows["dedicated-doomed"]["error"]
    run_cli(ini, "tenant", "delete", "doomed", "--force", "--keep-database")
    run_cli(ini, "check")


@pytest.mark.usefixtures("short_demo_data")
def test_stats_counts_rows_and_flags_big_pooled_tenants(deployment):
    settings, catalog, ini = deployment
    create(catalog, "stats-p", demo_data=True)  # demo staff, catalogue and a month of sales
    create(catalog, "stats-d", "dedicated")
    rows = {r["slug"]: r for r in json.loads(run_cli(ini, "stats", "--json").output)}
    assert rows["stats-p"]["users"] == 3 and rows["stats-d"]["users"] == 1
    assert rows["stats-p"]["rows"]["roles"] == 3 and rows["stats-p"]["rows"]["locations"] == 1
    assert rows["stats-p"]["rows"]["products"] >= 200 and rows["stats-p"]["rows"]["sales"] > 100
    assert rows["stats-p"]["approx_bytes"] > 0
    assert not rows["stats-p"]["dedicated_candidate"]
    low = dataclasses.replace(settings, dedicated_threshold_rows=5)
    flagged = {r["slug"]: r for r in tenant_stats(Catalog(low))}
    assert flagged["stats-p"]["dedicated_candidate"]  # thousands of rows >= 5
    assert not flagged["stats-d"]["dedicated_candidate"]  # already dedicated
    assert "stats-p" in run_cli(ini, "stats").output
