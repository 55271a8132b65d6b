"""The catalog meta-test: every store the catalog knows (and the template) has every
tenant table under forced RLS with both policies, and the app role is least-privileged."""

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from salesapp.operations import bootstrap
from salesapp.operations.models import Store
from salesapp.operations.rls import audit_problems, audit_store, role_problems
from salesapp.tenancy import urls

TENANT_TABLES = {"users", "roles", "user_roles", "locations"}


def every_store_url(catalog):
    with catalog.session() as session:
        stores = session.scalars(select(Store)).all()
        # (a dedicated-server store is a server that receives new databases, not a store)
        found = {s.name: catalog.store_url(s) for s in stores if s.kind != "dedicated-server"}
    template = urls.with_database(
        bootstrap.owner_server_url(catalog.settings), bootstrap.template_database(catalog.settings)
    )
    found["<template>"] = template
    return found


def test_every_store_has_forced_rls_and_both_policies(catalog, tenant_a, tenant_d):
    stores = every_store_url(catalog)
    kinds = set()
    assert tenant_d.store_name in stores and tenant_a.store_name in stores
    for name, url in stores.items():
        engine = create_engine(urls.sqlalchemy_url(url), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                rows = audit_store(conn)
                kinds.add(name)
                assert {r["table_name"] for r in rows} >= TENANT_TABLES, name
                assert audit_problems(rows, catalog.settings.app_role) == [], name
                assert role_problems(conn, catalog.settings.app_role) == [], name
                # every table in the store, not only those we expect, carries tenant_id
                tables = set(
                    conn.scalars(
                        text(
                            "select tablename from pg_tables where schemaname = 'public' "
                            "and tablename <> 'alembic_version'"
                        )
                    )
                )
                # (but the write fence's own table, which holds no tenant's data)
                assert tables == {r["table_name"] for r in rows} | {"tenant_fences"}, name
        finally:
            engine.dispose()
    assert len(kinds) >= 3  # pooled, dedicated, template


def test_audit_detects_what_it_should(catalog, admin_conn, settings):
    """The meta-test can fail: a table without forced RLS or policies is reported."""
    rows = [
        {
            "table_name": "t1",
            "enabled": True,
            "forced": False,
            "owner": settings.owner_role,
            "has_permissive": True,
            "has_restrictive": False,
            "has_fence": True,
        },
        {
            "table_name": "t2",
            "enabled": False,
            "forced": True,
            "owner": settings.app_role,
            "has_permissive": False,
            "has_restrictive": True,
            "has_fence": False,
        },
    ]
    problems = audit_problems(rows, settings.app_role)
    assert "t1: row-level security is not forced" in problems
    assert "t1: restrictive policy tenant_guard is missing" in problems
    assert "t2: row-level security is not enabled" in problems
    assert "t2: permissive policy tenant_isolation is missing" in problems
    assert f"t2: owned by the app role {settings.app_role}" in problems
    assert "t2: the write-fence trigger write_fence is missing or disabled" in problems
    assert not any(p.startswith("t1: the write-fence") for p in problems)


def test_app_role_flags(admin_conn, settings):
    row = admin_conn.execute(
        "select rolcanlogin, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole "
        "from pg_roles where rolname = %s",
        (settings.app_role,),
    ).fetchone()
    assert row == (True, False, False, False, False)


def test_app_role_reads_but_never_writes_the_catalog(catalog, tenant_a):
    app_url = catalog.app_url(catalog.settings.catalog_url)
    engine = create_engine(urls.sqlalchemy_url(app_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("select count(*) from tenants")) >= 1
        for statement in (
            "update tenants set status = 'active'",
            "insert into domains (tenant_id, host) values (1, 'x.example.org')",
            "delete from placements",
            "select count(*) from operations",
        ):
            with pytest.raises(DBAPIError, match="permission denied"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_app_role_cannot_connect_to_the_template(catalog):
    settings = catalog.settings
    url = urls.with_role(
        urls.with_database(settings.catalog_url, bootstrap.template_database(settings)),
        settings.app_role,
        settings.app_password,
    )
    engine = create_engine(urls.sqlalchemy_url(url), poolclass=NullPool)
    with pytest.raises(DBAPIError, match="permission denied"), engine.connect():
        pass
    engine.dispose()
