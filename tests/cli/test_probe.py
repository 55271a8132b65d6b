"""`salesapp check --probe`: the live isolation probe, as the app role, in a pooled and a
dedicated store, on a deployment of its own (the tests break isolation on purpose, as
a superuser, and put it back)."""

import contextlib
import json
import os

import pytest
from psycopg import sql

from salesapp.models import Base
from salesapp.operations import bootstrap, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.checks import run_checks
from salesapp.operations.probe import PROBE_A, PROBE_B
from salesapp.operations.rls import TENANT_PREDICATE
from salesapp.tenancy import urls
from tests.conftest import PGBOUNCER, run_cli, write_ini


@pytest.fixture(scope="module")
def deployment(make_deployment, tmp_path_factory):
    settings = make_deployment()
    catalog = Catalog(settings)
    ini = write_ini(settings, tmp_path_factory.mktemp("probe") / "p.ini")
    for slug in ("probe-one", "probe-two"):  # real rows of two tenants in pool1
        create(catalog, slug)
    dedicated = create(catalog, "probe-own", "dedicated")
    yield settings, catalog, ini, dedicated.store_name
    catalog.dispose()


def create(catalog, slug, placement="pooled"):
    return provisioning.create_tenant(
        catalog,
        provisioning.TenantRequest(
            name=slug, slug=slug, admin_email="a@b.org", placement=placement
        ),
    )


def database_of(catalog, store_name):
    with catalog.session() as session:
        url = catalog.store_url(catalog.store_named(session, store_name))
    return urls.parse(url).database


@contextlib.contextmanager
def superuser_on(catalog, server_admin_url, store_name):
    """A superuser connection to a store: what breaks and mends isolation here."""
    database = database_of(catalog, store_name)
    with bootstrap.admin_connection(urls.with_database(server_admin_url, database), database) as c:
        yield c


def probe_lines(output):
    """{store name: its probe line} from `check --probe` output."""
    lines = {}
    for line in output.splitlines():
        if line.endswith(" isolation probe") or " isolation probe: " in line:
            store = line.split("  store ", 1)[1].split(" isolation probe", 1)[0]
            lines[store] = line
    return lines


def tenant_table_count():
    return sum("tenant_id" in table.c for table in Base.metadata.tables.values())


def snapshot(conn):
    """Per tenant table: row count and a checksum of every row (seen by a superuser,
    whom row-level security does not filter)."""
    tables = conn.execute(
        "select c.relname from pg_class c join pg_attribute a on a.attrelid = c.oid "
        "where a.attname = 'tenant_id' and c.relkind = 'r' "
        "and c.relnamespace = 'public'::regnamespace order by 1"
    ).fetchall()
    state = {}
    for (table,) in tables:
        query = sql.SQL(
            "select count(*), md5(coalesce(string_agg(t::text, ',' order by t::text), '')), "
            "count(*) filter (where tenant_id < 0) from {} t"
        ).format(sql.Identifier(table))
        state[table] = conn.execute(query).fetchone()
    return state


def test_probe_passes_on_a_sound_deployment(deployment):
    settings, _catalog, ini, dedicated = deployment
    out = run_cli(ini, "check", "--probe").output
    assert "FAIL" not in out and " 0 failed" in out
    lines = probe_lines(out)
    assert set(lines) == {"pool1", dedicated}
    tables = tenant_table_count()
    for store, line in lines.items():
        assert line.startswith(f"PASS  store {store} isolation probe: as {settings.app_role}, ")
        assert line.endswith(f" checks on {tables} tables, nothing kept")
    checks = {c["name"]: c for c in json.loads(run_cli(ini, "check", "--probe", "--json").output)}
    assert checks["store pool1 isolation probe"]["ok"] is True
    assert checks[f"store {dedicated} isolation probe"]["ok"] is True
    # without --probe, no probe
    assert not probe_lines(run_cli(ini, "check").output)


def test_probe_leaves_nothing_behind(deployment, server_admin_url):
    _settings, catalog, ini, dedicated = deployment
    stores = ("pool1", dedicated)
    before = {}
    for store in stores:
        with superuser_on(catalog, server_admin_url, store) as conn:
            before[store] = snapshot(conn)
    assert len(before["pool1"]) == len(before[dedicated]) == tenant_table_count()
    assert before["pool1"]["users"][0] == 2 and before[dedicated]["users"][0] == 1
    run_cli(ini, "check", "--probe")
    for store in stores:
        with superuser_on(catalog, server_admin_url, store) as conn:
            after = snapshot(conn)
        assert after == before[store], store
        assert not any(negative for _, _, negative in after.values())


def test_probe_fails_when_row_level_security_is_disabled(deployment, server_admin_url):
    _settings, catalog, ini, dedicated = deployment
    with superuser_on(catalog, server_admin_url, "pool1") as conn:
        conn.execute("alter table users disable row level security")
        try:
            result = run_cli(ini, "check", "--probe", expect=1)
        finally:
            conn.execute("alter table users enable row level security")
    lines = probe_lines(result.output)
    assert lines["pool1"].startswith("FAIL  store pool1 isolation probe: ")
    # the real tenants' users show, and a user in another tenant's name goes in
    assert "users: 2 rows visible with no tenant bound" in lines["pool1"]
    assert f"users: 2 rows of other tenants visible with tenant {PROBE_A} bound" in lines["pool1"]
    assert (
        f"users: a row for tenant {PROBE_B} inserted with tenant {PROBE_A} bound got past "
        'row-level security, stopped only by: null value in column "id"'
    ) in lines["pool1"]
    assert "roles:" not in lines["pool1"]  # only the broken table is named
    assert lines[dedicated].startswith("PASS  ")
    assert "isolation is broken for the app role" in result.output  # the fix
    assert "Traceback" not in result.output
    run_cli(ini, "check", "--probe")


def test_probe_fails_on_open_policies_that_the_audit_passes(deployment, server_admin_url):
    """Both policies there by name, both opened to every row: the audit (names and
    flags) passes, the probe does not."""
    _settings, catalog, ini, dedicated = deployment
    with superuser_on(catalog, server_admin_url, dedicated) as conn:
        for policy in ("tenant_isolation", "tenant_guard"):
            conn.execute(f"alter policy {policy} on roles using (true) with check (true)")
        try:
            result = run_cli(ini, "check", "--probe", expect=1)
        finally:
            for policy in ("tenant_isolation", "tenant_guard"):
                conn.execute(
                    f"alter policy {policy} on roles "
                    f"using ({TENANT_PREDICATE}) with check ({TENANT_PREDICATE})"
                )
    out = result.output
    assert f"PASS  store {dedicated} row-level security" in out
    line = probe_lines(out)[dedicated]
    assert line.startswith("FAIL  ")
    assert f"roles: tenant {PROBE_A} sees tenant {PROBE_B}'s row" in line
    assert f"roles: tenant {PROBE_A} updated 1 row(s) of tenant {PROBE_B}" in line
    assert f"roles: tenant {PROBE_A} deleted 1 row(s) of tenant {PROBE_B}" in line
    assert f"roles: a row for tenant {PROBE_B} inserted by tenant {PROBE_A} was accepted" in line
    assert "roles: 1 of the probe's rows visible with an empty tenant setting" not in line
    assert probe_lines(out)["pool1"].startswith("PASS  ")
    run_cli(ini, "check", "--probe")


def test_a_permissive_policy_added_is_held_by_the_guard(deployment, server_admin_url):
    _settings, catalog, ini, _dedicated = deployment
    with superuser_on(catalog, server_admin_url, "pool1") as conn:
        conn.execute("create policy wide_open on roles using (true) with check (true)")
        try:
            assert probe_lines(run_cli(ini, "check", "--probe").output)["pool1"].startswith(
                "PASS  "
            )
            conn.execute("drop policy tenant_guard on roles")
            line = probe_lines(run_cli(ini, "check", "--probe", expect=1).output)["pool1"]
        finally:
            conn.execute("drop policy if exists wide_open on roles")
            conn.execute("drop policy if exists tenant_guard on roles")
            conn.execute(
                f"create policy tenant_guard on roles as restrictive for all "
                f"using ({TENANT_PREDICATE}) with check ({TENANT_PREDICATE})"
            )
    assert line.startswith("FAIL  ")
    assert "roles: 6 rows visible with no tenant bound" in line  # 3 roles of 2 tenants
    assert f"roles: tenant {PROBE_A} sees tenant {PROBE_B}'s row" in line
    run_cli(ini, "check", "--probe")


def test_probe_fails_on_a_foreign_key_without_tenant_id(deployment, server_admin_url):
    """A key on the id alone lets one tenant's row point at another's (foreign-key checks
    bypass row-level security): the probe's reference across tenants must fail."""
    _settings, catalog, ini, _dedicated = deployment
    fk = "fk_user_roles_tenant_id_role_id_roles"
    with superuser_on(catalog, server_admin_url, "pool1") as conn:
        conn.execute("alter table roles add constraint probe_roles_id unique (id)")
        conn.execute(f"alter table user_roles drop constraint {fk}")
        conn.execute(
            "alter table user_roles add constraint probe_loose_fk "
            "foreign key (role_id) references roles (id)"
        )
        try:
            result = run_cli(ini, "check", "--probe", expect=1)
        finally:
            conn.execute("alter table user_roles drop constraint probe_loose_fk")
            conn.execute(
                f"alter table user_roles add constraint {fk} foreign key (tenant_id, role_id) "
                "references roles (tenant_id, id) on delete cascade"
            )
            conn.execute("alter table roles drop constraint probe_roles_id")
    line = probe_lines(result.output)["pool1"]
    assert line == (
        "FAIL  store pool1 isolation probe: user_roles: "
        f"tenant {PROBE_A}'s row referencing tenant {PROBE_B}'s role was accepted"
    )
    run_cli(ini, "check", "--probe")


def test_probe_fails_for_an_app_role_that_bypasses_rls(deployment, admin_conn):
    settings, _catalog, ini, _dedicated = deployment
    role = sql.Identifier(settings.app_role)
    admin_conn.execute(sql.SQL("ALTER ROLE {} BYPASSRLS").format(role))
    try:
        out = run_cli(ini, "check", "--probe", expect=1).output
    finally:
        admin_conn.execute(sql.SQL("ALTER ROLE {} NOBYPASSRLS").format(role))
    for line in probe_lines(out).values():
        assert line.startswith("FAIL  ")
        assert f"connected as {settings.app_role}, which has BYPASSRLS" in line
    assert "make `salesapp check` pass without --probe" in out


def test_probe_reports_a_store_it_cannot_reach(deployment, admin_conn):
    settings, catalog, ini, _dedicated = deployment
    create(catalog, "probe-gone", "dedicated")
    bootstrap.drop_database(admin_conn, provisioning.dedicated_database_name(catalog, "probe-gone"))
    try:
        result = run_cli(ini, "check", "--probe", expect=1)
    finally:
        run_cli(ini, "tenant", "delete", "probe-gone", "--force", "--keep-database")
    line = probe_lines(result.output)["dedicated-probe-gone"]
    assert line.startswith(
        "FAIL  store dedicated-probe-gone isolation probe: "
        f"cannot connect as the app role {settings.app_role}: "
    )
    assert "does not exist" in line
    assert "the app role's password" in result.output
    assert probe_lines(result.output)["pool1"].startswith("PASS  ")
    assert "Traceback" not in result.output
    run_cli(ini, "check", "--probe")


def test_probe_on_the_session_deployment(catalog, tenant_a, tenant_b, tenant_d):
    """The session's deployment: with SALESAPP_TEST_PGBOUNCER=1 its pooled store is
    reached through PgBouncer in transaction mode, which the probe's single transaction
    (savepoints, transaction-local settings) must work behind."""
    checks = {c.name: c for c in run_checks(catalog, probe=True)}
    for tenant in (tenant_a, tenant_d):
        probe = checks[f"store {tenant.store_name} isolation probe"]
        assert probe.ok, probe.detail
    if os.environ.get("SALESAPP_TEST_PGBOUNCER"):
        with catalog.session() as session:
            url = catalog.store_url(catalog.store_named(session, tenant_a.store_name))
        assert urls.parse(url).port == PGBOUNCER["port"]
