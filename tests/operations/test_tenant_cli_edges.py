"""`salesapp tenant ...` at its edges (issue 15, items 13, 7 and the states of 4 and 5):
contradictory flags refused, a dry run that makes the real run's checks and prints a
refusal as one, extend-trial that says what it did, demo staff whose one-time passwords
are printed, `tenant list` showing moving tenants and ended trials, and create and
delete logged before they start and when they end, refusals included."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets

import pytest
from psycopg import sql
from sqlalchemy import delete, select

from salesapp.operations import bootstrap, provisioning
from salesapp.operations.models import MovePhase, Operation, Placement, Tenant, TenantMove
from salesapp.tenancy import urls
from tests.conftest import BASE_DOMAIN, form_with, sign_in, wait_for


def new_sub(prefix="e"):
    return f"{prefix}{secrets.token_hex(4)}"


def create_args(sub, *options):
    return ("tenant", "create", *options, "--", f"Shop {sub}", sub, f"owner@{sub}.example.org")


def tenant_row(catalog, slug):
    with catalog.session() as session:
        return session.scalars(select(Tenant).where(Tenant.slug == slug)).first()


def operations(catalog, slug, action):
    with catalog.session() as session:
        return session.scalars(
            select(Operation)
            .where(Operation.tenant_slug == slug, Operation.action == action)
            .order_by(Operation.id)
        ).all()


def refused(result, code, *fragments):
    """A refusal: the exit code, one line of error, no traceback, no dry-run text."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert "Would" not in result.output and "Dry run" not in result.output, result.output
    if code == 1:
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in result.output, (fragment, result.output)


# -- item 13: flags and the dry run ---------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [("--dedicated", "--pooled"), ("--pooled", "--dedicated"), ("--pooled", "--database-url")],
)
def test_contradictory_placements_are_refused(cli, catalog, settings, options):
    sub = new_sub()
    if "--database-url" in options:
        url = urls.with_database(bootstrap.owner_server_url(settings), settings.database_name(sub))
        options = (*options, url)
    refused(cli(*create_args(sub, *options), expect=None), 2, "contradict")
    assert tenant_row(catalog, sub) is None


def test_a_dry_run_refuses_what_the_real_run_refuses_an_existing_database(cli, catalog, admin_conn):
    sub = new_sub()
    database = provisioning.dedicated_database_name(catalog, sub)
    admin_conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        for options in (("--dedicated", "--dry-run"), ("--dedicated",)):
            refused(
                cli(*create_args(sub, *options), expect=None),
                1,
                f"database {database} already exists",
            )
        assert tenant_row(catalog, sub) is None
        still = admin_conn.execute("select 1 from pg_database where datname = %s", (database,))
        assert still.fetchone() is not None  # the real run's undo did not drop it
    finally:
        bootstrap.drop_database(admin_conn, database)


def test_a_dry_run_refuses_a_target_that_is_not_empty(cli, catalog, settings):
    sub = new_sub()
    pool = urls.with_database(bootstrap.owner_server_url(settings), settings.database_name("pool1"))
    refused(
        cli(*create_args(sub, "--database-url", pool, "--dry-run"), expect=None),
        1,
        "is not empty",
    )


def test_a_dry_run_of_a_taken_subdomain_is_a_refusal(cli, make_tenant):
    tenant = make_tenant("pooled")
    refused(
        cli(*create_args(tenant.slug, "--dry-run"), expect=None),
        1,
        f"subdomain {tenant.slug!r} is taken",
    )


def test_a_dry_run_that_passes_says_what_it_would_do(cli, catalog):
    sub = new_sub()
    out = cli(*create_args(sub, "--dedicated", "--dry-run", "--demo-data")).output
    assert out.startswith("Dry run: nothing is changed. Would:")
    assert f"create database {provisioning.dedicated_database_name(catalog, sub)}" in out
    assert "one-time passwords printed once" in out
    assert tenant_row(catalog, sub) is None


# -- item 13: extend-trial ----------------------------------------------------------------
def test_extend_trial_of_a_tenant_without_one_says_it_starts_one(cli, catalog, make_tenant):
    tenant = make_tenant("pooled")
    out = cli("tenant", "extend-trial", tenant.slug, "--days", "7").output
    assert f"{tenant.slug} had no trial" in out and "started one of 7 days" in out
    assert f"Trial of {tenant.slug} now ends" in out
    (op,) = operations(catalog, tenant.slug, "tenant.extend-trial")
    assert op.detail["trial_was"] == "none"

    with catalog.session() as session:
        session.get(Tenant, tenant.id).trial_ends_at = dt.datetime(2020, 1, 2, tzinfo=dt.UTC)
    out = cli("tenant", "extend-trial", tenant.slug, "--days", "3").output
    assert f"The trial of {tenant.slug} had ended on 2020-01-02" in out
    out = cli("tenant", "extend-trial", tenant.slug, "--days", "3").output
    assert "3 days added" in out


# -- item 13: the demo staff's one-time passwords -------------------------------------------
@pytest.mark.usefixtures("short_demo_data")
def test_demo_data_prints_the_one_time_passwords_of_its_staff(cli, client_for):
    sub = new_sub()
    out = cli(*create_args(sub, "--demo-data")).output
    assert "Demo staff (one-time passwords" in out
    passwords = dict(re.findall(r"^\s{4}(manager|cashier)\s+(\S+)$", out, re.MULTILINE))
    assert set(passwords) == {"manager", "cashier"}, out
    client = client_for(f"{sub}.{BASE_DOMAIN}")
    assert wait_for(lambda: client.get("/login", expect_errors=True).status_int == 200)
    for username, password in passwords.items():
        fresh = client_for(f"{sub}.{BASE_DOMAIN}")
        assert sign_in(fresh, username, password).location.endswith("/account/password")
        form = form_with(fresh.get("/account/password"), "new_password")
        assert form is not None


# -- what `tenant list` says --------------------------------------------------------------------
def test_list_shows_a_tenant_being_moved_and_an_ended_trial(cli, catalog, make_tenant):
    moving, expired = make_tenant("pooled"), make_tenant("pooled", trial_days=5)
    with catalog.session() as session:
        store_id = session.get(Placement, moving.id).store_id
        session.add(
            TenantMove(tenant_id=moving.id, source_store_id=store_id, phase=MovePhase.COPIED)
        )
        session.get(Tenant, expired.id).trial_ends_at = dt.datetime(2021, 3, 4, tzinfo=dt.UTC)
    try:
        rows = {r["slug"]: r for r in json.loads(cli("tenant", "list", "--json").output)}
        assert rows[moving.slug]["state"].startswith("active, moving (copied")
        assert rows[moving.slug]["moving"]["phase"] == "copied"
        assert rows[expired.slug]["state"] == "active, trial ended 2021-03-04"
        assert rows[expired.slug]["trial_ended"] is True
        table = cli("tenant", "list").output.splitlines()
        assert "moving (copied" in next(line for line in table if line.startswith(moving.slug))
        assert "trial ended 2021-03-04" in next(
            line for line in table if line.startswith(expired.slug)
        )
        shown = cli("tenant", "show", moving.slug).output
        assert re.search(r"^Moving:\s+phase copied, since ", shown, re.MULTILINE), shown
        assert "2021-03-04" in cli("tenant", "show", expired.slug).output
    finally:
        with catalog.session() as session:
            session.execute(delete(TenantMove).where(TenantMove.tenant_id == moving.id))


# -- item 7: logged before and after, refusals too -----------------------------------------------
def test_create_and_delete_are_logged_when_they_start_and_end_refusals_too(cli, catalog):
    sub = new_sub()
    cli(*create_args(sub, "--admin-password", "password123"), expect=1)
    (refusal,) = operations(catalog, sub, "tenant.create")
    assert refusal.outcome == "refused" and "most common" in refusal.detail["error"]
    assert refusal.finished_at is not None

    cli(*create_args(sub))
    cli("tenant", "delete", sub, "--force")
    cli("tenant", "delete", sub, "--force", expect=1)
    created = operations(catalog, sub, "tenant.create")[-1]
    assert created.outcome == "ok" and created.at <= created.finished_at
    deleted = operations(catalog, sub, "tenant.delete")
    assert [op.outcome for op in deleted] == ["ok", "refused"]
    assert "no tenant with subdomain" in deleted[1].detail["error"]
