"""Deleting a tenant removes every copy of it the catalog knows of, or names each one it
keeps, and removes nothing it has not proven to be what it thinks (issue 15, item 3).

A move with --keep-source leaves a copy (rows in a pooled store, or a whole dedicated
database) recorded in ``tenant_copies``; `tenant delete` removes it too, and
``lifecycle.remove_copy`` (the doctor's repair) removes one alone. Every removal is
checked by database identity first: a store row whose URL reaches another database than
it records, or a "copy" that is the very database the tenant lives in, is refused
before anything changes. A delete while a move of the tenant is recorded is refused.
"""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import delete, select

from salesapp.operations import bootstrap, lifecycle, mobility, provisioning, storeadmin
from salesapp.operations.errors import OperationError
from salesapp.operations.mobility import MoveRequest
from salesapp.operations.models import (
    MovePhase,
    Operation,
    Placement,
    Store,
    Tenant,
    TenantCopy,
    TenantMove,
)
from salesapp.tenancy import urls

TABLES = ("users", "roles", "user_roles", "locations")


def rows_in(server_admin_url, database, tenant_id) -> int:
    """The tenant's rows in a database, counted as the superuser (who sees them all)."""
    url = urls.with_database(server_admin_url, database)
    with psycopg.connect(urls.libpq_url(url)) as conn:
        return sum(
            conn.execute(
                f"select count(*) from {table} where tenant_id = %s", (tenant_id,)
            ).fetchone()[0]
            for table in TABLES
        )


def database_exists(admin_conn, name) -> bool:
    found = admin_conn.execute("select 1 from pg_database where datname = %s", (name,))
    return found.fetchone() is not None


def store_of(catalog, slug):
    """(id, name, database name) of the store the tenant lives in."""
    with catalog.session() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
        store = session.get(Store, session.get(Placement, tenant.id).store_id)
        return store.id, store.name, urls.database_of(catalog.store_url(store))


def address_of(catalog, store_name):
    with catalog.session() as session:
        return provisioning.database_address(
            catalog.store_url(catalog.store_named(session, store_name))
        )


def kept_copy(catalog, tenant_id, store_name) -> int:
    """The id of the tenant's copy kept in ``store_name``: the row `move --keep-source`
    writes (written here if this mover does not yet)."""
    with catalog.session() as session:
        store = catalog.store_named(session, store_name)
        copy = session.scalars(
            select(TenantCopy).where(
                TenantCopy.tenant_id == tenant_id, TenantCopy.store_id == store.id
            )
        ).first()
        if copy is None:
            copy = TenantCopy(tenant_id=tenant_id, store_id=store.id, reason="move --keep-source")
            session.add(copy)
            session.flush()
        return copy.id


def move_keeping_source(catalog, slug, to, store_name=None):
    source = store_of(catalog, slug)
    mobility.move_tenant(
        catalog, MoveRequest(slug=slug, to=to, store_name=store_name, keep_source=True)
    )
    return source


@pytest.fixture(scope="module")
def second_pool(catalog, settings, server_admin_url):
    """(name, database) of a second pooled store, made for this module and removed after
    (its database too, once no tenant is placed there)."""
    name = f"pool{secrets.token_hex(3)}"
    database = settings.database_name(name)
    url = urls.with_database(bootstrap.owner_server_url(settings), database)
    storeadmin.add_store(catalog, name, url, "pooled", accepting=False)
    yield name, database
    with catalog.session() as session:
        store = catalog.store_named(session, name)
        session.execute(delete(TenantCopy).where(TenantCopy.store_id == store.id))
        placed = session.scalar(select(Placement.tenant_id).where(Placement.store_id == store.id))
        if placed is None:
            session.delete(store)
    if placed is None:
        with bootstrap.admin_connection(server_admin_url) as conn:
            bootstrap.drop_database(conn, database)


def test_delete_removes_the_pooled_copy_a_move_kept(
    catalog, settings, make_tenant, make_user, second_pool, server_admin_url
):
    pool2, pool2_db = second_pool
    tenant = make_tenant("pooled")
    make_user(tenant, ("Managers",), username="kept")
    _, source, source_db = move_keeping_source(catalog, tenant.slug, "pooled", pool2)
    copy_id = kept_copy(catalog, tenant.id, source)
    assert rows_in(server_admin_url, source_db, tenant.id) > 0  # the kept copy
    assert rows_in(server_admin_url, pool2_db, tenant.id) > 0  # where it lives

    result = lifecycle.delete_tenant(catalog, tenant.slug)

    assert rows_in(server_admin_url, source_db, tenant.id) == 0
    assert rows_in(server_admin_url, pool2_db, tenant.id) == 0
    assert result["store"] == pool2 and sum(result["rows_deleted"].values()) > 0
    (copy,) = result["copies"]
    assert copy["store"] == source and "deleted its" in copy["done"]
    with catalog.session() as session:
        assert session.get(TenantCopy, copy_id) is None
        op = session.scalars(
            select(Operation).where(
                Operation.tenant_slug == tenant.slug, Operation.action == "tenant.delete"
            )
        ).one()
        assert op.outcome == "ok" and op.finished_at is not None
        assert op.detail["copies"][0]["store"] == source


def test_delete_drops_the_dedicated_database_a_move_kept(
    catalog, make_tenant, admin_conn, server_admin_url
):
    tenant = make_tenant("dedicated")
    _, source, source_db = move_keeping_source(catalog, tenant.slug, "pooled")
    kept_copy(catalog, tenant.id, source)
    _, _pool, pool_db = store_of(catalog, tenant.slug)
    assert database_exists(admin_conn, source_db)

    result = lifecycle.delete_tenant(catalog, tenant.slug)

    assert not database_exists(admin_conn, source_db)
    assert rows_in(server_admin_url, pool_db, tenant.id) == 0
    assert "dropped database" in result["copies"][0]["done"]
    with catalog.session() as session:
        assert catalog.store_by_name(session, source) is None


def test_keep_database_names_every_database_it_keeps_and_where(
    catalog, cli, make_tenant, admin_conn, server_admin_url
):
    tenant = make_tenant("dedicated")
    _, source, source_db = move_keeping_source(catalog, tenant.slug, "pooled")
    kept_copy(catalog, tenant.id, source)
    _, pool, pool_db = store_of(catalog, tenant.slug)
    where = address_of(catalog, source)
    assert where.endswith(f"/{source_db}")
    try:
        out = cli("tenant", "delete", tenant.slug, "--force", "--keep-database").output

        assert f"Deleted {tenant.slug}:" in out and f"from store {pool}" in out
        kept_line = next(line for line in out.splitlines() if line.strip().startswith("Kept:"))
        assert where in kept_line and f"store {source}" in kept_line, out
        assert "Kept copy: kept database" in out
        assert database_exists(admin_conn, source_db)
        assert rows_in(server_admin_url, pool_db, tenant.id) == 0
    finally:
        bootstrap.drop_database(admin_conn, source_db)


def test_delete_while_a_move_is_recorded_is_refused(
    catalog, cli, make_tenant, settings, server_admin_url
):
    tenant = make_tenant("pooled")
    store_id, _, pool_db = store_of(catalog, tenant.slug)
    with catalog.session() as session:
        session.add(
            TenantMove(tenant_id=tenant.id, source_store_id=store_id, phase=MovePhase.FENCED)
        )
    try:
        with pytest.raises(OperationError, match="is being moved .*salesapp doctor"):
            lifecycle.delete_tenant(catalog, tenant.slug)
        result = cli("tenant", "delete", tenant.slug, "--force", expect=1)
        assert "is being moved" in result.output and "Traceback" not in result.output
        assert rows_in(server_admin_url, pool_db, tenant.id) > 0
        with catalog.session() as session:
            assert session.get(Tenant, tenant.id).status == "active"
            outcomes = session.scalars(
                select(Operation.outcome).where(
                    Operation.tenant_slug == tenant.slug, Operation.action == "tenant.delete"
                )
            ).all()
            assert outcomes == ["refused", "refused"]
    finally:
        with catalog.session() as session:
            session.execute(delete(TenantMove).where(TenantMove.tenant_id == tenant.id))
    lifecycle.delete_tenant(catalog, tenant.slug)
    assert rows_in(server_admin_url, pool_db, tenant.id) == 0


def test_a_database_that_is_not_what_its_store_row_records_is_not_dropped(
    catalog, make_tenant, admin_conn
):
    tenant = make_tenant("dedicated")
    with catalog.session() as session:
        store = catalog.store_named(session, tenant.store_name)
        recorded = store.database_oid
        assert recorded is not None  # recorded when the database was made
        store.database_oid = recorded + 1_000_000

    with pytest.raises(OperationError, match="not the database the store row names"):
        lifecycle.delete_tenant(catalog, tenant.slug)
    assert database_exists(admin_conn, tenant.database)
    with catalog.session() as session:  # refused before anything changed
        assert session.get(Tenant, tenant.id).status == "active"

    with catalog.session() as session:
        catalog.store_named(session, tenant.store_name).database_oid = recorded
    assert lifecycle.delete_tenant(catalog, tenant.slug)["database_dropped"]
    assert not database_exists(admin_conn, tenant.database)


def test_remove_copy_refuses_a_copy_that_is_where_the_tenant_lives(
    catalog, make_tenant, server_admin_url, admin_conn
):
    """Two store rows naming one database (registered before identities were checked):
    the "copy" in the second is the tenant's live data, and is not touched, whether it
    would lose rows (pooled) or be dropped (recorded as a whole dedicated database)."""
    tenant = make_tenant("pooled")
    _, home, home_db = store_of(catalog, tenant.slug)
    alias = f"alias{secrets.token_hex(3)}"
    with catalog.session() as session:
        url = catalog.store_url(catalog.store_named(session, home))
        session.add(Store(name=alias, kind="pooled", url_encrypted=catalog.box.encrypt(url)))
    copy_id = kept_copy(catalog, tenant.id, alias)
    before = rows_in(server_admin_url, home_db, tenant.id)
    try:
        with pytest.raises(OperationError, match="two store rows name one database"):
            lifecycle.remove_copy(catalog, copy_id)
        assert rows_in(server_admin_url, home_db, tenant.id) == before > 0

        with catalog.session() as session:
            catalog.store_named(session, alias).kind = "dedicated"
        with pytest.raises(OperationError, match="two store rows name one database"):
            lifecycle.remove_copy(catalog, copy_id)
        with pytest.raises(OperationError, match="two store rows name one database"):
            lifecycle.delete_tenant(catalog, tenant.slug)
        assert database_exists(admin_conn, home_db)
        assert rows_in(server_admin_url, home_db, tenant.id) == before
        with catalog.session() as session:  # refused before anything changed
            assert session.get(Tenant, tenant.id).status == "active"
            assert session.get(TenantCopy, copy_id) is not None
    finally:
        with catalog.session() as session:
            session.execute(delete(TenantCopy).where(TenantCopy.id == copy_id))
            session.execute(delete(Store).where(Store.name == alias))


def test_remove_copy_removes_one_kept_copy_and_leaves_the_tenant(
    catalog, make_tenant, second_pool, server_admin_url
):
    pool2, pool2_db = second_pool
    tenant = make_tenant("pooled")
    _, source, source_db = move_keeping_source(catalog, tenant.slug, "pooled", pool2)
    copy_id = kept_copy(catalog, tenant.id, source)
    living = rows_in(server_admin_url, pool2_db, tenant.id)

    done = lifecycle.remove_copy(catalog, copy_id)

    assert f"from store {source}" in done
    assert rows_in(server_admin_url, source_db, tenant.id) == 0
    assert rows_in(server_admin_url, pool2_db, tenant.id) == living > 0
    with catalog.session() as session:
        assert session.get(TenantCopy, copy_id) is None
        assert session.get(Tenant, tenant.id).status == "active"
    # the old store stays closed to the tenant's writes
    url = urls.with_database(server_admin_url, source_db)
    with psycopg.connect(urls.libpq_url(url)) as conn:
        fenced = conn.execute(
            sql.SQL("select count(*) from tenant_fences where fenced_tenant = %s"), (tenant.id,)
        ).fetchone()[0]
    assert fenced == 1
