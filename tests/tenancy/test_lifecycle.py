"""The operation functions behind `salesapp tenant ...`, called directly."""

import datetime as dt

import psycopg
import pytest
from sqlalchemy import select

from salesapp.operations import door, lifecycle, provisioning
from salesapp.operations.errors import NotFound, OperationError
from salesapp.operations.models import Operation, Store
from salesapp.operations.workspace import check_users, reset_password
from salesapp.tenancy import urls


def ops(catalog, slug):
    with catalog.session() as session:
        return [
            (o.action, o.outcome)
            for o in session.scalars(
                select(Operation).where(Operation.tenant_slug == slug).order_by(Operation.id)
            )
        ]


def test_unknown_tenant_is_notfound_everywhere(catalog):
    for call in (
        lambda: lifecycle.show_tenant(catalog, "nobody-here"),
        lambda: lifecycle.set_status(catalog, "nobody-here", "suspended"),
        lambda: lifecycle.extend_trial(catalog, "nobody-here", 3),
        lambda: lifecycle.add_domain(catalog, "nobody-here", "x.example.org"),
        lambda: lifecycle.delete_tenant(catalog, "nobody-here"),
        lambda: check_users(catalog, "nobody-here"),
        lambda: reset_password(catalog, "nobody-here", "admin"),
    ):
        with pytest.raises(NotFound, match="no tenant with subdomain 'nobody-here'"):
            call()


def test_suspend_resume_and_their_refusals(catalog, make_tenant):
    tenant = make_tenant()
    info = lifecycle.set_status(catalog, tenant.slug, "suspended", "audit")
    assert (info["status"], info["status_reason"]) == ("suspended", "audit")
    with pytest.raises(OperationError, match="already suspended"):
        lifecycle.set_status(catalog, tenant.slug, "suspended")
    info = lifecycle.set_status(catalog, tenant.slug, "active")
    assert (info["status"], info["status_reason"]) == ("active", None)
    with pytest.raises(OperationError, match="status must be"):
        lifecycle.set_status(catalog, tenant.slug, "gone")
    assert ops(catalog, tenant.slug)[-2:] == [("tenant.suspend", "ok"), ("tenant.resume", "ok")]


def test_extend_trial_adds_up_from_now_or_from_the_end(catalog, make_tenant):
    tenant = make_tenant(trial_days=10)
    ends = dt.datetime.fromisoformat(
        lifecycle.extend_trial(catalog, tenant.slug, 5)["trial_ends_at"]
    )
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(days=15)
    assert abs(ends - expected) < dt.timedelta(minutes=1)
    for days in (0, -1, 4000):
        with pytest.raises(OperationError, match="between 1 and 3650"):
            lifecycle.extend_trial(catalog, tenant.slug, days)


def test_domains_first_is_primary_and_primary_moves(catalog, make_tenant):
    tenant = make_tenant()
    a, b = f"a-{tenant.slug}.example.org", f"b-{tenant.slug}.example.org"
    assert lifecycle.add_domain(catalog, tenant.slug, a.upper())["primary_domain"] == a
    assert lifecycle.add_domain(catalog, tenant.slug, b)["primary_domain"] == a
    assert lifecycle.make_primary(catalog, tenant.slug, b)["primary_domain"] == b
    info = lifecycle.remove_domain(catalog, tenant.slug, b)
    assert info["domains"] == [a] and info["primary_domain"] == a
    with pytest.raises(OperationError, match="already belongs to this tenant"):
        lifecycle.add_domain(catalog, tenant.slug, a)
    with pytest.raises(NotFound, match="has no domain"):
        lifecycle.remove_domain(catalog, tenant.slug, b)
    with pytest.raises(OperationError, match="under a base domain"):
        lifecycle.add_domain(catalog, tenant.slug, "x.example.test")
    with pytest.raises(OperationError, match="not a valid host name"):
        lifecycle.add_domain(catalog, tenant.slug, "127.0.0.1")


def test_delete_pooled_removes_only_its_rows(catalog, with_demo_staff, server_admin_url, tenant_a):
    tenant = with_demo_staff()
    result = lifecycle.delete_tenant(catalog, tenant.slug)
    deleted = {k: v for k, v in result["rows_deleted"].items() if v}
    assert deleted.pop("audit_events") > 0  # its audit trail goes with it
    assert deleted == {
        "user_roles": 3,
        "locations": 1,
        "roles": 3,
        "users": 3,
        "workspace_settings": 1,
    }
    with pytest.raises(NotFound):
        lifecycle.show_tenant(catalog, tenant.slug)
    pool = urls.with_database(server_admin_url, catalog.settings.database_name("pool1"))
    with psycopg.connect(urls.libpq_url(pool)) as conn:  # superuser: sees every row
        for table in ("users", "roles", "user_roles", "locations"):
            ids = {r[0] for r in conn.execute(f"select distinct tenant_id from {table}")}
            assert tenant.id not in ids and tenant_a.id in ids
    assert ops(catalog, tenant.slug)[-1] == ("tenant.delete", "ok")


def test_delete_dedicated_drops_its_database_and_store(catalog, make_tenant, admin_conn):
    tenant = make_tenant("dedicated")
    result = lifecycle.delete_tenant(catalog, tenant.slug)
    assert result["database_dropped"] and result["database"] == tenant.database
    assert (
        admin_conn.execute(
            "select 1 from pg_database where datname = %s", (tenant.database,)
        ).fetchone()
        is None
    )
    with catalog.session() as session:
        assert session.scalar(select(Store).where(Store.name == tenant.store_name)) is None


def test_reset_password_refuses_unknown_and_deactivated_users(catalog, with_demo_staff):
    tenant = with_demo_staff()
    with pytest.raises(NotFound, match="no user 'ghost'"):
        reset_password(catalog, tenant.slug, "ghost")
    from sqlalchemy import text

    with door.tenant_session(catalog, tenant) as db:
        db.execute(text("update users set is_active = false where username = 'cashier'"))
    with pytest.raises(OperationError, match="deactivated"):
        reset_password(catalog, tenant.slug, "cashier")
    password = reset_password(catalog, tenant.slug, "MANAGER")
    assert len(password) >= 16


def test_plan_changes_nothing(catalog):
    steps = provisioning.plan(
        catalog,
        provisioning.TenantRequest(
            name="Planned",
            slug="planned-x",
            admin_email="a@b.org",
            placement="dedicated",
            domains=["planned-x.example.org"],
        ),
    )
    assert any("create database" in step for step in steps)
    assert any("planned-x.example.org" in step for step in steps)
    with pytest.raises(NotFound):
        lifecycle.show_tenant(catalog, "planned-x")
