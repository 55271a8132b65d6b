"""`salesapp tenant ...`: what operators type, what they read, and what it changes."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from salesapp.operations import bootstrap, provisioning
from salesapp.operations.models import Domain, Operation, Tenant
from salesapp.tenancy import urls
from salesapp.tenancy.binding import bind
from tests.conftest import BASE_DOMAIN, sign_in, wait_for

SECRET = "S3cretPw"


def new_sub(prefix="c"):
    return f"{prefix}{secrets.token_hex(4)}"


def create_args(sub, *options, name=None, email=None):
    """`tenant create` with options first and `--` so any subdomain reaches the validator."""
    return (
        "tenant",
        "create",
        *options,
        "--",
        name or f"Shop {sub}",
        sub,
        email or f"owner@{sub}.example.org",
    )


def printed_password(output):
    match = re.search(r"Password:\s+(\S+)\s+\(generated", output)
    assert match, output
    return match.group(1)


def serves(client, status=200, path="/login"):
    """Wait (the app's directory learns of catalog changes by NOTIFY) for ``status``."""
    return wait_for(lambda: client.get(path, expect_errors=True).status_int == status)


def tenant_row(catalog, slug):
    """The catalog row, in any status (provisioning included), or None."""
    with catalog.session() as session:
        return session.scalars(select(Tenant).where(Tenant.slug == slug)).first()


def show_json(cli, slug):
    return json.loads(cli("tenant", "show", slug, "--json").output)


def list_json(cli, *options):
    return json.loads(cli("tenant", "list", "--json", *options).output)


def operations(catalog, slug, action=None):
    with catalog.session() as session:
        query = select(Operation).where(Operation.tenant_slug == slug).order_by(Operation.id)
        if action:
            query = query.where(Operation.action == action)
        return session.scalars(query).all()


def database_exists(admin_conn, name):
    row = admin_conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
    return row is not None


def assert_clean_error(result, code, message):
    """A handled error: the exit code, the message, no traceback, no stray exception."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    if code == 1:
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.output


def created_database(output):
    match = re.search(r"\(database (\S+)\)", output)
    assert match, output
    return match.group(1)


@pytest.fixture
def pool_conn(server_admin_url, settings):
    """The pooled store as the superuser, who sees every tenant's rows."""
    pool_db = settings.database_name("pool1")
    with psycopg.connect(
        urls.libpq_url(urls.with_database(server_admin_url, pool_db)), autocommit=True
    ) as conn:
        yield conn


TENANT_TABLES = ("users", "roles", "user_roles", "locations")


def row_counts(conn, tenant_id):
    return {
        table: conn.execute(
            f"select count(*) from {table} where tenant_id = %s", (tenant_id,)
        ).fetchone()[0]
        for table in TENANT_TABLES
    }


@pytest.fixture
def operations_log(ini_file):
    return ini_file.parent / "logs" / "tenant_operations.log"


# -- create ----------------------------------------------------------------------------
def test_create_pooled_prints_where_to_sign_in_and_a_password_that_works(cli, catalog, client_for):
    sub = new_sub()
    out = cli(*create_args(sub)).output
    assert f"Created tenant {sub}" in out
    assert "pooled in store pool1" in out
    assert f"Sign in at: http://{sub}.{BASE_DOMAIN}" in out
    assert "Username:   admin" in out
    password = printed_password(out)
    assert len(password) >= 16
    row = tenant_row(catalog, sub)
    assert row.status == "active" and row.max_users == 50

    client = client_for(f"{sub}.{BASE_DOMAIN}")
    assert serves(client)
    res = sign_in(client, "admin", password)
    assert res.location.endswith("/")
    assert client.get("/").status_int == 200


def test_create_dedicated_names_its_new_database(cli, admin_conn, client_for):
    sub = new_sub()
    out = cli(*create_args(sub, "--dedicated")).output
    assert f"dedicated in store dedicated-{sub}" in out
    database = created_database(out)
    assert database_exists(admin_conn, database)
    info = show_json(cli, sub)
    assert (info["kind"], info["store"], info["users"]) == ("dedicated", f"dedicated-{sub}", 1)
    client = client_for(f"{sub}.{BASE_DOMAIN}")
    assert serves(client)
    sign_in(client, "admin", printed_password(out))
    assert client.get("/").status_int == 200


def test_create_with_given_admin_username_and_password(cli, client_for):
    sub = new_sub()
    password = "given-" + secrets.token_hex(6)
    out = cli(*create_args(sub, "--admin-username", "boss", "--admin-password", password)).output
    assert "Username:   boss" in out
    assert "Password:   the one you gave" in out
    assert password not in out
    client = client_for(f"{sub}.{BASE_DOMAIN}")
    assert serves(client)
    sign_in(client, "admin", password, status=400)  # there is no 'admin'
    sign_in(client, "boss", password)
    assert client.get("/").status_int == 200


@pytest.mark.parametrize("placement", ["--pooled", "--dedicated"])
def test_dry_run_says_what_it_would_do_and_creates_nothing(cli, catalog, admin_conn, placement):
    sub = new_sub()
    out = cli(*create_args(sub, placement, "--dry-run", "--domain", f"{sub}.example.org")).output
    assert "Dry run" in out
    assert f"add tenant {sub!r}" in out
    assert f"serve it at {sub}.example.org" in out
    if placement == "--pooled":
        assert "pooled store pool1" in out
    else:
        assert f"create database {provisioning.dedicated_database_name(catalog, sub)}" in out
    assert "Created tenant" not in out
    assert tenant_row(catalog, sub) is None
    assert not database_exists(admin_conn, provisioning.dedicated_database_name(catalog, sub))
    with catalog.session() as session:
        assert session.scalar(select(Domain).where(Domain.host == f"{sub}.example.org")) is None
    assert operations(catalog, sub) == []
    assert_clean_error(cli("tenant", "show", sub, expect=None), 1, "no tenant with subdomain")


@pytest.mark.parametrize(
    ("slug", "options", "code", "message"),
    [
        ("-bad", (), 1, "is not a DNS label"),
        ("bad-", (), 1, "is not a DNS label"),
        ("www", (), 1, "'www' is reserved"),
        (None, ("--max-users", "0"), 2, "Invalid value for '--max-users'"),
        (None, ("--store", "nosuch"), 1, "no pooled store named 'nosuch'"),
        (None, ("--database-url", "mysql://x@y/z"), 1, "only PostgreSQL"),
        (
            None,
            ("--database-url", "postgresql://a@b/c", "--database-host", "localhost"),
            2,
            "not both",
        ),
        (None, ("--database-url", "postgresql://nobody@127.0.0.1:1/x"), 1, "cannot reach"),
        (None, ("--domain", f"shop.{BASE_DOMAIN}"), 1, "under a base domain"),
        (None, ("--domain", "not a host"), 1, "not a valid host name"),
        (None, ("--admin-password", "short"), 1, "at least 10 characters"),
        (None, ("--admin-password", "password123"), 1, "most common"),
    ],
    ids=[
        "leading-hyphen",
        "trailing-hyphen",
        "reserved",
        "max-users-0",
        "no-such-store",
        "mysql-url",
        "url-and-host",
        "unreachable",
        "domain-under-base",
        "domain-invalid",
        "short-password",
        "common-password",
    ],
)
def test_create_refuses_bad_requests_in_one_line_and_creates_nothing(
    cli, catalog, admin_conn, slug, options, code, message
):
    sub = slug or new_sub()
    result = cli(*create_args(sub, *options), expect=None)
    assert_clean_error(result, code, message)
    assert tenant_row(catalog, sub) is None
    # the refusal is logged (issue 15, item 7), and nothing else is
    assert [(op.action, op.outcome) for op in operations(catalog, sub)] in (
        [],  # refused by the command line, before any operation began
        [("tenant.create", "refused")],
    )
    assert not database_exists(admin_conn, provisioning.dedicated_database_name(catalog, sub))


def test_create_refuses_a_bad_email(cli, catalog):
    sub = new_sub()
    result = cli(*create_args(sub, email="nope"), expect=None)
    assert_clean_error(result, 1, "admin e-mail 'nope' is not a valid address")
    assert tenant_row(catalog, sub) is None


def test_create_refuses_a_taken_subdomain_and_leaves_the_owner_alone(cli, catalog, make_tenant):
    tenant = make_tenant("pooled")
    result = cli(*create_args(tenant.slug.upper(), name="Impostor"), expect=None)
    assert_clean_error(result, 1, f"subdomain {tenant.slug!r} is taken")
    with catalog.session() as session:
        rows = session.scalars(select(Tenant).where(Tenant.slug == tenant.slug)).all()
        assert [r.name for r in rows] == [tenant.name]


def test_create_refuses_a_domain_another_tenant_has(cli, catalog, make_tenant):
    host = f"{new_sub('taken')}.example.org"
    make_tenant("pooled", domains=[host])
    sub = new_sub()
    result = cli(*create_args(sub, "--domain", host.upper()), expect=None)
    assert_clean_error(result, 1, "already belongs to a tenant")
    assert tenant_row(catalog, sub) is None


def test_unreachable_database_url_does_not_echo_its_password(cli, operations_log):
    sub = new_sub()
    url = f"postgresql://nobody:{SECRET}@127.0.0.1:1/x"
    result = cli(*create_args(sub, "--database-url", url), expect=None)
    assert_clean_error(result, 1, "cannot reach")
    assert SECRET not in result.output


def test_custom_domains_are_served_and_the_first_is_primary(cli, client_for):
    sub = new_sub()
    first, second = (
        f"shop-{secrets.token_hex(4)}.example.org",
        f"shop-{secrets.token_hex(4)}.example.org",
    )
    out = cli(*create_args(sub, "--domain", first, "--domain", second.upper())).output
    assert f"Sign in at: http://{first}" in out
    info = show_json(cli, sub)
    assert info["primary_domain"] == first
    assert sorted(info["domains"]) == sorted([first, second])
    for host in (first, second, f"{sub}.{BASE_DOMAIN}"):
        client = client_for(host)
        assert serves(client), host
        assert f"Sign in to Shop {sub}" in client.get("/login").text


# -- list and show ---------------------------------------------------------------------
def test_list_table_shows_the_tenant_with_its_store_and_users(cli, make_tenant):
    tenant = make_tenant("pooled")
    out = cli("tenant", "list").output
    assert out.splitlines()[0].split()[:3] == ["SUBDOMAIN", "NAME", "STATUS"]
    line = next(line for line in out.splitlines() if line.startswith(tenant.slug + " "))
    assert tenant.name in line
    assert "active" in line
    assert "pool1 (pooled)" in line
    assert "1/50" in line


def test_list_json_has_every_field(cli, make_tenant):
    tenant = make_tenant("pooled", max_users=7)
    rows = list_json(cli)
    row = next(r for r in rows if r["slug"] == tenant.slug)
    keys = "slug name status store kind users max_users domains created_at".split()
    assert set(keys) <= set(row)
    assert row["users"] == 1
    assert row["name"] == tenant.name and row["status"] == "active"
    assert (row["store"], row["kind"]) == ("pool1", "pooled")
    assert row["max_users"] == 7 and row["domains"] == []
    created = dt.datetime.fromisoformat(row["created_at"])
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=5)


def test_list_by_store_keeps_that_store_only(cli, make_tenant, tenant_d):
    pooled = make_tenant("pooled")
    slugs = {r["slug"] for r in list_json(cli, "--store", "pool1")}
    assert pooled.slug in slugs
    assert tenant_d.slug not in slugs
    rows = list_json(cli, "--store", tenant_d.store_name)
    assert [r["slug"] for r in rows] == [tenant_d.slug]


def test_list_active_only_leaves_out_suspended_tenants(cli, make_tenant):
    active, suspended = make_tenant("pooled"), make_tenant("pooled")
    cli("tenant", "suspend", suspended.slug)
    every = {r["slug"]: r["status"] for r in list_json(cli)}
    assert every[active.slug] == "active" and every[suspended.slug] == "suspended"
    only = {r["slug"] for r in list_json(cli, "--active-only")}
    assert active.slug in only and suspended.slug not in only


def test_list_of_an_unknown_store_fails(cli):
    assert_clean_error(
        cli("tenant", "list", "--store", "nosuch", expect=None), 1, "no store named 'nosuch'"
    )


def test_show_prints_the_tenant(cli, make_tenant):
    tenant = make_tenant("pooled", max_users=9, admin_email="Boss@Example.org")
    out = cli("tenant", "show", tenant.slug.upper()).output
    fields = dict(
        (label.strip(), value.strip())
        for label, value in (line.split(":", 1) for line in out.splitlines())
    )
    assert fields["Subdomain"] == tenant.slug
    assert fields["Name"] == tenant.name
    assert fields["Status"] == "active"
    assert fields["Store"] == "pool1 (pooled, active)"
    assert fields["Users"] == "1 of 9"
    assert fields["Admin e-mail"] == "boss@example.org"
    assert fields["Trial ends"] == "-"
    assert fields["URL"].startswith(f"http://{tenant.slug}.{BASE_DOMAIN}")


def test_show_json(cli, make_tenant):
    tenant = make_tenant("pooled", multi_location=True, trial_days=3)
    info = show_json(cli, tenant.slug)
    assert info["slug"] == tenant.slug and info["name"] == tenant.name
    assert info["status"] == "active" and info["status_reason"] is None
    assert (info["store"], info["kind"], info["placement_state"]) == ("pool1", "pooled", "active")
    assert info["users"] == 1 and info["multi_location"] is True
    ends = dt.datetime.fromisoformat(info["trial_ends_at"])
    assert abs(ends - (dt.datetime.now(dt.UTC) + dt.timedelta(days=3))) < dt.timedelta(minutes=1)


def test_show_unknown_subdomain_fails(cli):
    sub = new_sub()
    assert_clean_error(
        cli("tenant", "show", sub, expect=None), 1, f"no tenant with subdomain {sub!r}"
    )


# -- suspend, resume, trial ------------------------------------------------------------
def test_suspend_stops_the_web_at_once_and_resume_restores_it(
    app, cli, catalog, make_tenant, client_for
):
    tenant = make_tenant("pooled")
    client = client_for(tenant)
    assert serves(client)
    assert wait_for(app.registry.directory.listening.is_set)

    out = cli("tenant", "suspend", tenant.slug, "--reason", "unpaid").output
    assert f"Suspended {tenant.slug}: unpaid" in out
    assert serves(client, 403)
    info = show_json(cli, tenant.slug)
    assert (info["status"], info["status_reason"]) == ("suspended", "unpaid")

    again = cli("tenant", "suspend", tenant.slug, expect=None)
    assert_clean_error(again, 1, "already suspended")

    assert f"Resumed {tenant.slug}" in cli("tenant", "resume", tenant.slug).output
    assert serves(client, 200)
    info = show_json(cli, tenant.slug)
    assert (info["status"], info["status_reason"]) == ("active", None)
    sign_in(client, "admin", tenant.admin_password)
    assert client.get("/").status_int == 200


def test_resume_an_active_tenant_fails(cli, make_tenant):
    tenant = make_tenant("pooled")
    assert_clean_error(cli("tenant", "resume", tenant.slug, expect=None), 1, "already active")


def _trial_end(cli, slug):
    return dt.datetime.fromisoformat(show_json(cli, slug)["trial_ends_at"])


def _about(when, days):
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return abs(when - expected) < dt.timedelta(minutes=1)


def test_extend_trial_adds_days_each_time(cli, make_tenant):
    tenant = make_tenant("pooled")
    out = cli("tenant", "extend-trial", tenant.slug, "--days", "14").output
    assert f"Trial of {tenant.slug} now ends" in out
    assert _about(_trial_end(cli, tenant.slug), 14)
    cli("tenant", "extend-trial", tenant.slug, "--days", "14")
    assert _about(_trial_end(cli, tenant.slug), 28)


def test_extend_an_ended_trial_counts_from_now(cli, catalog, make_tenant):
    tenant = make_tenant("pooled")
    with catalog.session() as session:
        session.get(Tenant, tenant.id).trial_ends_at = dt.datetime.now(dt.UTC) - dt.timedelta(
            days=30
        )
    cli("tenant", "extend-trial", tenant.slug, "--days", "5")
    assert _about(_trial_end(cli, tenant.slug), 5)


@pytest.mark.parametrize("days", ["0", "-3"])
def test_extend_trial_by_no_days_fails(cli, make_tenant, days):
    tenant = make_tenant("pooled")
    result = cli("tenant", "extend-trial", tenant.slug, "--days", days, expect=None)
    assert_clean_error(result, 1, "--days must be between 1 and 3650")
    assert show_json(cli, tenant.slug)["trial_ends_at"] is None


# -- delete ----------------------------------------------------------------------------
def test_delete_without_force_and_no_terminal_refuses(cli, catalog, make_tenant):
    tenant = make_tenant("pooled")
    result = cli("tenant", "delete", tenant.slug, input=f"{tenant.slug}\n", expect=None)
    assert_clean_error(result, 1, "refusing to delete without confirmation")
    assert show_json(cli, tenant.slug)["status"] == "active"
    assert operations(catalog, tenant.slug, "tenant.delete") == []


def test_delete_pooled_removes_its_rows_and_only_its_rows(cli, catalog, make_tenant, pool_conn):
    doomed, other = make_tenant("pooled"), make_tenant("pooled")
    assert all(row_counts(pool_conn, doomed.id).values())
    other_before = row_counts(pool_conn, other.id)

    doomed_before = row_counts(pool_conn, doomed.id)

    out = cli("tenant", "delete", doomed.slug, "--force").output
    match = re.search(rf"Deleted {doomed.slug}: (\d+) rows from store pool1", out)
    assert match, out
    assert int(match.group(1)) >= sum(doomed_before.values())

    assert_clean_error(cli("tenant", "show", doomed.slug, expect=None), 1, "no tenant")
    assert tenant_row(catalog, doomed.slug) is None
    assert row_counts(pool_conn, doomed.id) == dict.fromkeys(TENANT_TABLES, 0)
    assert row_counts(pool_conn, other.id) == other_before
    (op,) = operations(catalog, doomed.slug, "tenant.delete")
    assert op.outcome == "ok" and op.store_name == "pool1"


def test_delete_dedicated_drops_its_database_and_store(cli, catalog, make_tenant, admin_conn):
    tenant = make_tenant("dedicated")
    database = provisioning.dedicated_database_name(catalog, tenant.slug)
    assert database_exists(admin_conn, database)

    out = cli("tenant", "delete", tenant.slug, "--force").output
    assert f"Deleted {tenant.slug} and dropped database {database}" in out
    assert not database_exists(admin_conn, database)
    assert tenant_row(catalog, tenant.slug) is None
    with catalog.session() as session:
        assert catalog.store_by_name(session, tenant.store_name) is None
    (op,) = operations(catalog, tenant.slug, "tenant.delete")
    assert op.outcome == "ok" and op.detail["database_dropped"] is True


def test_delete_dedicated_keep_database(cli, catalog, make_tenant, admin_conn):
    tenant = make_tenant("dedicated")
    database = provisioning.dedicated_database_name(catalog, tenant.slug)

    out = cli("tenant", "delete", tenant.slug, "--force", "--keep-database").output
    assert f"Deleted {tenant.slug}; kept database {database}" in out
    assert database_exists(admin_conn, database)
    assert tenant_row(catalog, tenant.slug) is None
    assert_clean_error(cli("tenant", "show", tenant.slug, expect=None), 1, "no tenant")
    (op,) = operations(catalog, tenant.slug, "tenant.delete")
    assert op.outcome == "ok" and op.detail["database_dropped"] is False


def test_deleted_tenant_is_no_longer_served(app, cli, make_tenant, client_for):
    tenant = make_tenant("pooled")
    client = client_for(tenant)
    assert serves(client)
    cli("tenant", "delete", tenant.slug, "--force")
    assert serves(client, 404)


# -- domains ---------------------------------------------------------------------------
def test_domain_add_primary_remove(cli, make_tenant, client_for):
    tenant = make_tenant("pooled")
    a, b = f"a-{tenant.slug}.example.org", f"b-{tenant.slug}.example.org"

    out = cli("tenant", "domain", "add", tenant.slug, a.upper()).output
    assert out.strip() == f"{tenant.slug}: {a} (primary)"
    out = cli("tenant", "domain", "add", tenant.slug, b).output
    assert out.strip() == f"{tenant.slug}: {a} (primary), {b}"
    client = client_for(b)
    assert serves(client)
    assert f"Sign in to {tenant.name}" in client.get("/login").text

    out = cli("tenant", "domain", "primary", tenant.slug, b).output
    assert out.strip() == f"{tenant.slug}: {b} (primary), {a}"
    assert show_json(cli, tenant.slug)["url"].startswith(f"http://{b}")

    out = cli("tenant", "domain", "remove", tenant.slug, b).output
    assert out.strip() == f"{tenant.slug}: {a} (primary)"
    assert serves(client, 404)
    out = cli("tenant", "domain", "remove", tenant.slug, a).output
    assert out.strip() == f"{tenant.slug}: no custom domains"


def test_domain_add_primary_flag_moves_the_primary(cli, make_tenant):
    tenant = make_tenant("pooled")
    a, b = f"a-{tenant.slug}.example.org", f"b-{tenant.slug}.example.org"
    cli("tenant", "domain", "add", tenant.slug, a)
    out = cli("tenant", "domain", "add", tenant.slug, b, "--primary").output
    assert out.strip() == f"{tenant.slug}: {b} (primary), {a}"


def test_domain_of_another_tenant_cannot_be_added(cli, make_tenant):
    host = f"{new_sub('d')}.example.org"
    owner, other = make_tenant("pooled", domains=[host]), make_tenant("pooled")
    result = cli("tenant", "domain", "add", other.slug, host, expect=None)
    assert_clean_error(result, 1, "already belongs to another tenant")
    assert show_json(cli, other.slug)["domains"] == []
    assert show_json(cli, owner.slug)["domains"] == [host]


def test_domain_remove_of_a_domain_it_does_not_have_fails(cli, make_tenant):
    host = f"{new_sub('d')}.example.org"
    owner, other = make_tenant("pooled", domains=[host]), make_tenant("pooled")
    result = cli("tenant", "domain", "remove", other.slug, host, expect=None)
    assert_clean_error(result, 1, f"has no domain {host!r}")
    assert show_json(cli, owner.slug)["domains"] == [host]


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("not a host", "not a valid host name"),
        ("nodots", "not a valid host name"),
        (f"x.{BASE_DOMAIN}", "under a base domain"),
    ],
)
def test_domain_add_invalid_host_fails(cli, make_tenant, host, message):
    tenant = make_tenant("pooled")
    assert_clean_error(cli("tenant", "domain", "add", tenant.slug, host, expect=None), 1, message)
    assert show_json(cli, tenant.slug)["domains"] == []


# -- users -----------------------------------------------------------------------------
def _users_json(cli, slug, expect=0):
    return json.loads(cli("tenant", "users", slug, "--json", expect=expect).output)


def _in_tenant(owner_engine, tenant, statement, **params):
    with owner_engine(tenant.store_name).begin() as conn:
        bind(conn, tenant.id)
        conn.execute(text(statement), {"tid": tenant.id, **params})


def test_users_lists_the_admin(cli, make_tenant):
    tenant = make_tenant("pooled")
    out = cli("tenant", "users", tenant.slug).output
    line = next(line for line in out.splitlines() if line.startswith("admin "))
    assert f"admin@{tenant.slug}.example.org" in line
    assert "Admin" in line and "active" in line
    assert "1 active of max 50" in out
    assert "PROBLEM" not in out


def test_users_finds_and_fixes_an_admin_without_the_admin_role(
    cli, catalog, make_tenant, owner_engine
):
    tenant = make_tenant("pooled")
    _in_tenant(owner_engine, tenant, "delete from user_roles where tenant_id = :tid")

    broken = cli("tenant", "users", tenant.slug, expect=1)
    assert "PROBLEM" in broken.output and "lacks the Admin role" in broken.output
    assert f"salesapp tenant users {tenant.slug} --fix" in broken.output

    fixed = cli("tenant", "users", tenant.slug, "--fix")
    assert "FIXED" in fixed.output and "gave 'admin' the Admin role" in fixed.output
    assert "PROBLEM" not in fixed.output

    again = cli("tenant", "users", tenant.slug)
    assert "PROBLEM" not in again.output and "FIXED" not in again.output
    (admin,) = _users_json(cli, tenant.slug)["users"]
    assert admin["roles"] == ["Admin"]
    assert [op.outcome for op in operations(catalog, tenant.slug, "tenant.users.fix")] == ["ok"]


def test_users_fix_reactivates_a_deactivated_admin(cli, make_tenant, owner_engine):
    tenant = make_tenant("pooled")
    _in_tenant(owner_engine, tenant, "update users set is_active = false")
    assert "is deactivated" in cli("tenant", "users", tenant.slug, expect=1).output
    assert "reactivated 'admin'" in cli("tenant", "users", tenant.slug, "--fix").output
    (admin,) = _users_json(cli, tenant.slug)["users"]
    assert admin["active"] is True


@pytest.mark.usefixtures("short_demo_data")  # the demo staff count here, not the sales
def test_users_beyond_max_users_are_found_and_the_newest_deactivated(cli, client_for):
    sub = new_sub()
    out = cli(*create_args(sub, "--max-users", "1", "--demo-data")).output
    password = printed_password(out)

    over = cli("tenant", "users", sub, expect=1)
    assert "PROBLEM" in over.output and "3 active users exceed max-users 1" in over.output

    fixed = cli("tenant", "users", sub, "--fix").output
    assert "FIXED" in fixed and "deactivated" in fixed
    report = _users_json(cli, sub)
    state = {u["username"]: u["active"] for u in report["users"]}
    assert state == {"admin": True, "manager": False, "cashier": False}
    assert report["problems"] == []

    client = client_for(f"{sub}.{BASE_DOMAIN}")
    assert serves(client)
    sign_in(client, "admin", password)
    assert client.get("/").status_int == 200


def test_users_fix_deactivates_the_most_recently_created_first(cli, with_demo_staff, owner_engine):
    tenant = with_demo_staff("pooled", max_users=2)
    _in_tenant(
        owner_engine,
        tenant,
        "update users set created_at = created_at + interval '1 hour' where username = 'cashier'",
    )
    cli("tenant", "users", tenant.slug, "--fix")
    state = {u["username"]: u["active"] for u in _users_json(cli, tenant.slug)["users"]}
    assert state == {"admin": True, "manager": True, "cashier": False}


def test_users_fix_with_a_problem_it_cannot_repair_still_fails(cli, make_tenant, owner_engine):
    """The docstring: "Exits 1 if problems remain." No admin at all cannot be repaired."""
    tenant = make_tenant("pooled")
    _in_tenant(
        owner_engine,
        tenant,
        "update users set username = 'someone', email = 'someone@elsewhere.org'",
    )
    assert "no admin user" in cli("tenant", "users", tenant.slug, expect=1).output
    result = cli("tenant", "users", tenant.slug, "--fix", expect=None)
    assert result.exit_code == 1, result.output
    assert "no admin user" in result.output


# -- reset-password --------------------------------------------------------------------
def test_reset_password_gives_a_one_time_password_that_must_be_changed(
    cli, catalog, make_tenant, client_for
):
    tenant = make_tenant("pooled")
    out = cli("tenant", "reset-password", tenant.slug.upper(), "admin").output
    match = re.search(rf"One-time password for admin on {tenant.slug}: (\S+)", out)
    assert match, out
    one_time = match.group(1)
    assert "must be changed at the next sign-in" in out
    assert "must change password" in cli("tenant", "users", tenant.slug).output

    client = client_for(tenant)
    sign_in(client, "admin", tenant.admin_password, status=400)  # the old one is gone
    res = sign_in(client, "admin", one_time)
    assert res.location.endswith("/account/password")
    home = client.get("/")
    assert home.status_int == 302 and home.location.endswith("/account/password")

    new_password = "brand-new-" + secrets.token_hex(6)
    page = client.get("/account/password")
    (form,) = [f for f in page.forms.values() if f.action.endswith("/account/password")]
    assert {"current_password", "new_password", "confirm_password", "csrf_token"} <= set(
        form.fields
    )
    form["current_password"] = one_time
    form["new_password"] = new_password
    form["confirm_password"] = new_password
    res = form.submit(status=303)
    assert res.location.endswith("/")
    assert client.get("/").status_int == 200

    fresh = client_for(tenant)
    sign_in(fresh, "admin", one_time, status=400)
    sign_in(fresh, "admin", tenant.admin_password, status=400)
    assert sign_in(fresh, "admin", new_password).location.endswith("/")
    assert [op.outcome for op in operations(catalog, tenant.slug, "tenant.reset-password")] == [
        "ok"
    ]


def test_reset_password_by_email(cli, make_tenant, client_for):
    tenant = make_tenant("pooled")
    out = cli("tenant", "reset-password", tenant.slug, f"ADMIN@{tenant.slug}.example.org").output
    one_time = out.split(": ", 1)[1].split()[0]
    res = sign_in(client_for(tenant), "admin", one_time)
    assert res.location.endswith("/account/password")


def test_reset_password_of_an_unknown_user_fails(cli, make_tenant):
    tenant = make_tenant("pooled")
    result = cli("tenant", "reset-password", tenant.slug, "nobody", expect=None)
    assert_clean_error(result, 1, "no user 'nobody'")


def test_reset_password_of_a_deactivated_user_fails(cli, with_demo_staff, owner_engine):
    tenant = with_demo_staff("pooled")
    _in_tenant(
        owner_engine, tenant, "update users set is_active = false where username = 'cashier'"
    )
    result = cli("tenant", "reset-password", tenant.slug, "cashier", expect=None)
    assert_clean_error(result, 1, "is deactivated")


# -- the operations log ----------------------------------------------------------------
def test_every_change_is_recorded_in_the_catalog_and_the_log_file(cli, catalog, operations_log):
    sub = new_sub()
    host = f"{sub}.example.org"
    cli(*create_args(sub))
    cli("tenant", "suspend", sub, "--reason", "unpaid")
    cli("tenant", "resume", sub)
    cli("tenant", "extend-trial", sub, "--days", "3")
    cli("tenant", "domain", "add", sub, host)
    cli("tenant", "domain", "primary", sub, host)
    cli("tenant", "domain", "remove", sub, host)
    cli("tenant", "reset-password", sub, "admin")
    cli("tenant", "delete", sub, "--force")
    actions = [
        "tenant.create",
        "tenant.suspend",
        "tenant.resume",
        "tenant.extend-trial",
        "tenant.domain.add",
        "tenant.domain.primary",
        "tenant.domain.remove",
        "tenant.reset-password",
        "tenant.delete",
    ]
    recorded = operations(catalog, sub)
    assert [(op.action, op.outcome) for op in recorded] == [(a, "ok") for a in actions]
    assert recorded[1].detail.get("reason") == "unpaid"

    lines = [line for line in operations_log.read_text().splitlines() if f"tenant={sub} " in line]
    # what takes time is logged when it starts too (Catalog.operation): create, delete
    started = [line.split()[3] for line in lines if " started " in line]
    assert started == ["tenant.create", "tenant.delete"], lines
    done = [line for line in lines if " started " not in line]
    assert [line.split()[3] for line in done] == actions, lines
    assert all(" ok " in line for line in done)


def test_reads_are_not_recorded(cli, catalog, make_tenant):
    tenant = make_tenant("pooled")
    before = operations(catalog, tenant.slug)
    cli("tenant", "show", tenant.slug)
    cli("tenant", "list")
    cli("tenant", "users", tenant.slug)
    cli("tenant", "users", tenant.slug, "--fix")  # nothing to repair
    assert [op.id for op in operations(catalog, tenant.slug)] == [op.id for op in before]


def test_database_password_is_never_logged(cli, catalog, settings, admin_conn, operations_log):
    sub = new_sub()
    database = settings.database_name(f"x{secrets.token_hex(4)}")
    url = urls.with_database(bootstrap.owner_server_url(settings), database)
    url = make_url(url).set(password=SECRET).render_as_string(hide_password=False)
    assert SECRET in url

    out = cli(*create_args(sub, "--database-url", url)).output
    assert f"(database {database})" in out
    assert SECRET not in out
    assert database_exists(admin_conn, database)
    cli("tenant", "show", sub)
    cli("tenant", "delete", sub, "--force")
    assert not database_exists(admin_conn, database)

    recorded = operations(catalog, sub)
    assert [op.action for op in recorded] == ["tenant.create", "tenant.delete"]
    for op in recorded:
        assert SECRET not in json.dumps(op.detail)
    log_text = operations_log.read_text()
    assert f"tenant={sub} " in log_text
    assert SECRET not in log_text
