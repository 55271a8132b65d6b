"""Operator commands into a store behind PgBouncer in transaction mode (issue 15, item 9).

PgBouncer 1.18 in transaction mode hands a client a different server connection per
transaction and keeps no prepared statement apart: psycopg's automatic prepared
statements (``_pg3_0`` ...) then clash with another client's (``already exists``) or go
missing (``does not exist``). ``salesapp.prepared_statements = false`` must govern every
connection the app and the operator tools make, not only the web app's engines.

Here the deployment's catalog and its pooled store are both reached through a real
PgBouncer with no reset query between clients (what a production pooler in transaction
mode does), and a move out and back, a backup and restore and a clone all have to work
and keep every row. A clash needs a statement run 5 times on one connection, which a
small tenant may not reach in every step, so each test also checks that no connection
made through the pooler could prepare at all.
"""

from __future__ import annotations

import dataclasses
import secrets
import traceback
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from salesapp.operations import archive, door, mobility, pgbouncer, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.mobility import MoveRequest
from salesapp.operations.tablecopy import checksum, normalize, table_specs
from salesapp.products.services import ProductService
from salesapp.tenancy.directory import StoreKind


@pytest.fixture(scope="module")
def bounced(make_deployment):
    """A catalog whose database and pooled store are reached through PgBouncer in
    transaction mode, with prepared statements off as such a deployment sets them."""
    settings = make_deployment()
    roles = [settings.app_role, settings.owner_role]
    with pgbouncer.start(settings.server_admin_url, roles, pool_size=2) as port:
        bounced_settings = dataclasses.replace(
            settings,
            catalog_url=pgbouncer.bounced_url(settings.catalog_url, port),
            prepared_statements=False,
        )
        catalog = Catalog(bounced_settings)
        try:
            with catalog.session() as session:
                pool = catalog.default_pooled_store(session).name
            with pgbouncer.route_store(catalog, pool, port):
                catalog.pooler_port = port
                yield catalog
        finally:
            catalog.dispose()


def _made_by() -> str:
    """Where in salesapp a connection is being made (innermost last), for the message."""
    frames = traceback.extract_stack()
    return " > ".join(
        f"{Path(f.filename).name}:{f.lineno}" for f in frames if "/salesapp/" in f.filename
    )


@pytest.fixture(autouse=True)
def preparing_through_the_pooler(bounced, monkeypatch):
    """Every connection made through the pooler during the test must prepare nothing:
    fails the test naming the ones that could."""
    original = psycopg.Connection.connect
    preparing = []

    def connect(*args, **kw):
        conn = original(*args, **kw)
        if conn.info.port == bounced.pooler_port and conn.prepare_threshold is not None:
            preparing.append(f"{conn.info.user}@{conn.info.dbname} from {_made_by()}")
        return conn

    # psycopg.connect is Connection.connect, bound when psycopg was imported
    monkeypatch.setattr(psycopg, "connect", connect)
    monkeypatch.setattr(psycopg.Connection, "connect", connect)
    yield
    assert not preparing, f"connections through the pooler that prepare: {preparing}"


def fingerprint(catalog, slug) -> dict[str, tuple[int, str]]:
    """{table: (rows, checksum)} of the tenant's rows wherever it lives now."""
    with door.tenant_connection(catalog, slug) as conn:
        normalize(conn, local=True)
        tenant_id = door.address(catalog, slug).id
        return {spec.name: checksum(conn, spec, tenant_id) for spec in table_specs(conn)}


def rows_without_ids(catalog, slug) -> dict[str, int]:
    return {table: rows for table, (rows, _) in fingerprint(catalog, slug).items()}


def store_of(catalog, slug) -> tuple[str, str]:
    with catalog.session() as session:
        _, store = catalog.placement(session, catalog.tenant(session, slug))
        return store.name, store.kind


@pytest.fixture(scope="module")
def tenant(bounced):
    """A pooled tenant with some products, made through the pooler."""
    slug = f"pb{secrets.token_hex(4)}"
    made = provisioning.create_tenant(
        bounced,
        provisioning.TenantRequest(
            name="Pooled", slug=slug, admin_email=f"admin@{slug}.example.org", placement="pooled"
        ),
    )
    with door.tenant_session(bounced, made) as session:
        products = ProductService(session, made.id)
        for number in range(12):
            products.create(
                name=f"Product {number}", unit_price=Decimal("1.50"), sku=f"SKU{number}"
            )
    return slug


def test_a_move_out_of_and_back_into_the_bounced_pool(bounced, tenant):
    before = fingerprint(bounced, tenant)
    out = mobility.move_tenant(bounced, MoveRequest(slug=tenant, to=StoreKind.DEDICATED))
    assert store_of(bounced, tenant)[1] == StoreKind.DEDICATED
    assert fingerprint(bounced, tenant) == before
    back = mobility.move_tenant(bounced, MoveRequest(slug=tenant, to=StoreKind.POOLED))
    assert store_of(bounced, tenant) == (out.source, StoreKind.POOLED) == (back.target, "pooled")
    assert fingerprint(bounced, tenant) == before


def test_a_backup_restored_into_the_bounced_pool(bounced, tenant, tmp_path):
    path = tmp_path / "backup.zip"
    archive.backup_tenant(bounced, tenant, path)
    restored = f"rs{secrets.token_hex(4)}"
    done = archive.restore_tenant(bounced, path, slug=restored, placement=StoreKind.POOLED)
    assert done["kind"] == StoreKind.POOLED
    # ids and rows come back as they were (the tenant id differs, so counts, not sums)
    assert rows_without_ids(bounced, restored) == rows_without_ids(bounced, tenant)


def test_a_clone_into_the_bounced_pool(bounced, tenant):
    copy = f"cl{secrets.token_hex(4)}"
    done = archive.clone_tenant(bounced, tenant, copy)
    assert done["kind"] == StoreKind.POOLED
    assert rows_without_ids(bounced, copy) == rows_without_ids(bounced, tenant)
