"""The one door into a tenant's store (salesapp.operations.door): bound to the right
tenant as the owner and as the app role, only that tenant's rows in a pooled store,
committed on success and rolled back on error, for sessions and psycopg connections."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from salesapp.operations import door
from salesapp.operations.door import As, TenantAddress
from salesapp.operations.errors import NotFound
from salesapp.tenancy import urls
from salesapp.tenancy.binding import TENANT_SETTING, bind

SETTING = text(f"select current_setting('{TENANT_SETTING}', true)")
WHO = text("select current_user")
OWNERS = text("select distinct tenant_id from users")
RENAME = text("update users set full_name = :name where username = 'admin'")
ADMIN_NAME = text("select full_name from users where username = 'admin'")


class Boom(Exception):
    pass


@pytest.fixture(scope="module")
def neighbours(make_tenant):
    """Two tenants of the same pooled store."""
    first, second = make_tenant("pooled"), make_tenant("pooled")
    assert first.store_name == second.store_name
    return first, second


@pytest.fixture(scope="module")
def dedicated(make_tenant):
    return make_tenant("dedicated")


def role_of(catalog, store_name: str, role: As) -> str:
    return urls.parse(door.store_url(catalog, store_name, role)).username


def admin_name(catalog, tenant) -> str:
    with door.tenant_session(catalog, tenant) as db:
        return db.scalar(ADMIN_NAME)


@pytest.mark.parametrize("role", list(As))
def test_a_session_is_bound_to_the_tenant_as_the_role(catalog, settings, neighbours, role):
    tenant, _ = neighbours
    with door.tenant_session(catalog, tenant, role) as db:
        assert db.scalar(SETTING) == str(tenant.id)
        assert db.scalar(WHO) == role_of(catalog, tenant.store_name, role)
        assert db.scalars(OWNERS).all() == [tenant.id]
    assert role_of(catalog, tenant.store_name, As.APP) == settings.app_role
    assert role_of(catalog, tenant.store_name, As.OWNER) != settings.app_role


@pytest.mark.parametrize("role", list(As))
def test_a_connection_is_bound_to_the_tenant_as_the_role(catalog, neighbours, role):
    tenant, _ = neighbours
    with door.tenant_connection(catalog, tenant, role) as conn:
        assert conn.execute(SETTING.text).fetchone()[0] == str(tenant.id)
        assert conn.execute(WHO.text).fetchone()[0] == role_of(catalog, tenant.store_name, role)
        assert conn.execute(OWNERS.text).fetchall() == [(tenant.id,)]


def test_the_app_role_sees_only_its_tenants_rows_in_a_pooled_store(catalog, neighbours):
    first, second = neighbours
    for tenant in (first, second):
        with door.tenant_session(catalog, tenant, As.APP) as db:
            assert db.scalars(OWNERS).all() == [tenant.id]
            assert (
                db.scalar(
                    text("select count(*) from users where tenant_id <> :t"), {"t": tenant.id}
                )
                == 0
            )
            # nor can it change the neighbour's rows
            other = second if tenant is first else first
            changed = db.execute(
                text("update users set full_name = 'x' where tenant_id = :t"), {"t": other.id}
            ).rowcount
            assert changed == 0
        with door.tenant_connection(catalog, tenant, As.APP) as conn:
            assert conn.execute(OWNERS.text).fetchall() == [(tenant.id,)]


def test_a_session_commits_on_success_and_rolls_back_on_error(catalog, neighbours):
    tenant, neighbour = neighbours
    before = admin_name(catalog, tenant)
    with door.tenant_session(catalog, tenant, As.APP) as db:
        db.execute(RENAME, {"name": "Committed by the door"})
    assert admin_name(catalog, tenant) == "Committed by the door"
    assert admin_name(catalog, neighbour) == before

    with pytest.raises(Boom), door.tenant_session(catalog, tenant) as db:
        db.execute(RENAME, {"name": "Rolled back"})
        raise Boom
    assert admin_name(catalog, tenant) == "Committed by the door"


def test_a_connection_commits_on_success_and_rolls_back_on_error(catalog, neighbours):
    tenant, neighbour = neighbours
    before = admin_name(catalog, neighbour)
    with door.tenant_connection(catalog, tenant, As.APP) as conn:
        conn.execute(RENAME.text.replace(":name", "%s"), ("Committed by psycopg",))
    assert admin_name(catalog, tenant) == "Committed by psycopg"
    assert admin_name(catalog, neighbour) == before

    with pytest.raises(Boom), door.tenant_connection(catalog, tenant) as conn:
        conn.execute(RENAME.text.replace(":name", "%s"), ("Rolled back",))
        raise Boom
    assert admin_name(catalog, tenant) == "Committed by psycopg"


def test_an_autocommit_connection_is_bound_by_its_caller(catalog, neighbours):
    tenant, _ = neighbours
    with door.tenant_connection(catalog, tenant, As.APP, autocommit=True) as conn:
        assert conn.execute(OWNERS.text).fetchall() == []  # nothing bound: nothing seen
        with conn.transaction():
            bind(conn, tenant.id)
            assert conn.execute(OWNERS.text).fetchall() == [(tenant.id,)]


def test_a_snapshot_connection_reads_one_snapshot_and_cannot_write(catalog, neighbours):
    tenant, _ = neighbours
    with door.tenant_connection(catalog, tenant, snapshot=True) as conn:
        assert conn.execute("show transaction_isolation").fetchone()[0] == "repeatable read"
        assert conn.execute("show transaction_read_only").fetchone()[0] == "on"
        assert conn.execute(OWNERS.text).fetchall() == [(tenant.id,)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute(RENAME.text.replace(":name", "%s"), ("Refused",))


def test_a_store_connection_binds_no_tenant_until_told(catalog, neighbours):
    first, second = neighbours
    with door.store_connection(catalog, first.store_name, As.APP) as conn:
        assert conn.scalar(SETTING) in (None, "")
        assert conn.scalars(OWNERS).all() == []
        for tenant in (first, second):
            bind(conn, tenant.id)
            assert conn.scalars(OWNERS).all() == [tenant.id]


def test_a_dedicated_tenant_comes_through_the_same_door(catalog, dedicated):
    with door.tenant_session(catalog, dedicated.slug, As.APP) as db:
        assert db.scalar(SETTING) == str(dedicated.id)
        assert db.scalars(OWNERS).all() == [dedicated.id]


def test_a_tenant_is_given_by_subdomain_result_or_address(catalog, neighbours):
    tenant, _ = neighbours
    expected = TenantAddress(tenant.id, tenant.store_name)
    assert door.address(catalog, tenant) == expected
    assert door.address(catalog, tenant.slug) == expected
    assert door.address(catalog, expected) is expected
    with door.tenant_session(catalog, expected) as db:
        assert db.scalar(SETTING) == str(tenant.id)


def test_unknown_tenants_and_stores_are_not_found(catalog, neighbours):
    tenant, _ = neighbours
    with (
        pytest.raises(NotFound, match="salesapp tenant list"),
        door.tenant_session(catalog, "no-such-tenant"),
    ):
        pass
    with (
        pytest.raises(NotFound, match="salesapp store list"),
        door.tenant_connection(catalog, TenantAddress(tenant.id, "no-such-store")),
    ):
        pass
    with pytest.raises(NotFound, match="no store named 'no-such-store'"):
        door.store_engine(catalog, "no-such-store")
