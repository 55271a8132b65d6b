"""Fixtures of the move and backup tests: tenants with sales in them, and a way to
fingerprint every row a tenant has, wherever it lives."""

from __future__ import annotations

import pytest

from salesapp.operations import mobility
from salesapp.operations.mobility import MoveRequest
from salesapp.operations.tablecopy import checksum, normalize, set_tenant, table_specs
from salesapp.tenancy import urls


def placement_of(catalog, slug):
    """(store name, store kind, placement state) of a tenant, from the catalog."""
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        placement, store = catalog.placement(session, tenant)
        return store.name, store.kind, placement.state


def store_url(catalog, name):
    with catalog.session() as session:
        return catalog.store_url(catalog.store_named(session, name))


def fingerprint(catalog, store_name, tenant_id) -> dict[str, tuple[int, str]]:
    """{table: (rows, checksum)} of one tenant's rows in one store (as the owner)."""
    import psycopg

    with psycopg.connect(urls.libpq_url(store_url(catalog, store_name))) as conn:
        set_tenant(conn, tenant_id)
        normalize(conn, local=True)
        return {s.name: checksum(conn, s, tenant_id) for s in table_specs(conn)}


def tenant_rows(catalog, store_name, tenant_id) -> int:
    return sum(rows for rows, _ in fingerprint(catalog, store_name, tenant_id).values())


@pytest.fixture
def move(catalog):
    """move(slug, to, **options) -> MoveResult (progress lines collected in .lines)."""

    def run(slug, to, fail_at=None, **options):
        lines = []
        result = mobility.move_tenant(
            catalog,
            MoveRequest(slug=slug, to=to, **options),
            progress=lambda event, **info: lines.append((event, info)),
            fail_at=fail_at,
        )
        result.lines = lines
        return result

    return run
