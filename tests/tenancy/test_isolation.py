"""Row-level security, tested as the app role (a superuser or the table owner would
bypass RLS and make these pass falsely), in a pooled and in a dedicated store."""

import os
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from salesapp.db import tenant_session
from salesapp.ids import uuid7
from salesapp.tenancy import urls
from salesapp.tenancy.binding import bind
from tests.conftest import PGBOUNCER


def store_of(tenant):
    return tenant.store_name


def test_engine_connects_as_the_app_role(app_engine, tenant_a, settings):
    engine = app_engine(store_of(tenant_a))
    with engine.connect() as conn:
        who = conn.execute(
            text("select current_user, usesuper from pg_user where usename = current_user")
        ).one()
    assert who == (settings.app_role, False)


def test_the_pooled_store_is_reached_as_the_run_asks(app_engine, tenant_a, server_admin_url):
    """With SALESAPP_TEST_PGBOUNCER=1 (CI runs this module so) the pooled store's URL
    leads to PgBouncer in transaction mode, so every test here ran behind it; without,
    straight to the server."""
    engine = app_engine(store_of(tenant_a))
    with engine.connect() as conn:
        assert conn.scalar(text("select 1")) == 1
    if os.environ.get("SALESAPP_TEST_PGBOUNCER"):
        assert (engine.url.host, engine.url.port) == ("127.0.0.1", PGBOUNCER["port"])
    else:
        server = urls.parse(server_admin_url)
        where = (engine.url.host, engine.url.port, engine.url.query.get("host"))
        assert where == (server.host, server.port, server.query.get("host"))


@pytest.fixture(params=["pooled", "dedicated"])
def case(request, tenant_a, tenant_b, tenant_d):
    """(store name, own tenant, foreign tenant id) for a pooled and a dedicated store."""
    if request.param == "pooled":
        return tenant_a.store_name, tenant_a, tenant_b.id
    return tenant_d.store_name, tenant_d, tenant_a.id


def test_reads_see_only_own_rows(case, app_engine, tenant_a, tenant_b):
    store, own, foreign_id = case
    engine = app_engine(store)
    with engine.begin() as conn:
        bind(conn, own.id)
        tenant_ids = {row[0] for row in conn.execute(text("select tenant_id from users"))}
        assert tenant_ids == {own.id}
        for table in ("users", "roles", "user_roles", "locations"):
            count = conn.scalar(
                text(f"select count(*) from {table} where tenant_id = :t"), {"t": foreign_id}
            )
            assert count == 0, table
    if store == tenant_a.store_name:
        # the pooled store really does hold tenant B's rows: visible only under B's setting
        with engine.begin() as conn:
            bind(conn, tenant_b.id)
            assert conn.scalar(text("select count(*) from users")) >= 1


def test_insert_with_foreign_tenant_id_is_refused(case, app_engine):
    store, own, foreign_id = case
    engine = app_engine(store)
    with pytest.raises(ProgrammingError, match="row-level security"), engine.begin() as conn:
        bind(conn, own.id)
        conn.execute(
            text("insert into locations (tenant_id, id, name) values (:t, :id, 'Intruder')"),
            {"t": foreign_id, "id": uuid7()},
        )


def test_update_of_tenant_id_is_refused(case, app_engine):
    store, own, foreign_id = case
    engine = app_engine(store)
    with pytest.raises(ProgrammingError, match="row-level security"), engine.begin() as conn:
        bind(conn, own.id)
        conn.execute(text("update locations set tenant_id = :f"), {"f": foreign_id})


def test_foreign_key_to_another_tenants_row_is_refused(
    app_engine, tenant_a, tenant_b, owner_engine
):
    # B's Admin role id, read as the owner (under B's setting: the owner is forced too)
    with owner_engine(tenant_b.store_name).begin() as conn:
        bind(conn, tenant_b.id)
        role_b = conn.scalar(text("select id from roles where name = 'Admin'"))
    engine = app_engine(tenant_a.store_name)
    with engine.begin() as conn:
        bind(conn, tenant_a.id)
        user_a = conn.scalar(text("select id from users limit 1"))
    with pytest.raises(DBAPIError, match="foreign key"), engine.begin() as conn:
        bind(conn, tenant_a.id)
        conn.execute(
            text("insert into user_roles (tenant_id, user_id, role_id) values (:t, :u, :r)"),
            {"t": tenant_a.id, "u": user_a, "r": role_b},
        )


@pytest.mark.parametrize("setting", [None, ""])
def test_no_or_empty_setting_sees_and_writes_nothing(case, app_engine, setting):
    store, own, _ = case
    engine = app_engine(store)
    with engine.begin() as conn:
        if setting is not None:
            bind(conn, setting)  # "": bound, to no tenant
        for table in ("users", "roles", "user_roles", "locations"):
            assert conn.scalar(text(f"select count(*) from {table}")) == 0, table
        # updates and deletes find nothing to touch
        assert conn.execute(text("update users set full_name = 'x'")).rowcount == 0
        assert conn.execute(text("delete from locations")).rowcount == 0
    with pytest.raises(ProgrammingError, match="row-level security"), engine.begin() as conn:
        if setting is not None:
            bind(conn, setting)
        conn.execute(
            text("insert into locations (tenant_id, id, name) values (:t, :id, 'x')"),
            {"t": own.id, "id": uuid.uuid4()},
        )


def test_wrong_setting_sees_nothing_of_the_store_owner(case, app_engine):
    store, _own, _ = case
    engine = app_engine(store)
    with engine.begin() as conn:
        bind(conn, 987654321)
        assert conn.scalar(text("select count(*) from users")) == 0


def test_app_role_cannot_turn_rls_off_or_change_the_schema(app_engine, tenant_a):
    engine = app_engine(tenant_a.store_name)
    for statement in (
        "alter table users disable row level security",
        "alter table users no force row level security",
        "drop policy tenant_guard on users",
        "create table sneaky (id int)",
        "truncate users",
    ):
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.exec_driver_sql(statement)


def test_row_security_off_is_an_error_not_a_bypass(app_engine, tenant_a):
    engine = app_engine(tenant_a.store_name)
    with pytest.raises(DBAPIError, match="row-level security"), engine.begin() as conn:
        conn.exec_driver_sql("set local row_security = off")
        conn.exec_driver_sql("select count(*) from users")


def test_pooled_connection_carries_nothing_to_the_next_tenant(app_engine, tenant_a, tenant_b):
    """One physical connection serves A, then B: B sees only B, and a bare transaction
    on it sees no tenant at all — also after an error in A's transaction."""
    engine = app_engine(tenant_a.store_name, pool_size=1, max_overflow=0)

    def session_for(tenant_id):
        return tenant_session(engine, tenant_id)

    with session_for(tenant_a.id) as s, s.begin():
        pid_a = s.scalar(text("select pg_backend_pid()"))
        assert s.scalar(text("select current_setting('app.tenant_id', true)")) == str(tenant_a.id)
        assert {r[0] for r in s.execute(text("select tenant_id from users"))} == {tenant_a.id}

    with session_for(tenant_b.id) as s, s.begin():
        assert s.scalar(text("select pg_backend_pid()")) == pid_a
        assert {r[0] for r in s.execute(text("select tenant_id from users"))} == {tenant_b.id}

    # an error mid-transaction as A, then the same connection without any tenant
    with session_for(tenant_a.id) as s, pytest.raises(DBAPIError), s.begin():
        s.execute(text("select count(*) from users"))
        s.execute(text("select 1/0"))
    with engine.begin() as conn:
        assert conn.scalar(text("select pg_backend_pid()")) == pid_a
        assert (
            conn.scalar(text("select coalesce(current_setting('app.tenant_id', true), '')")) == ""
        )
        assert conn.scalar(text("select count(*) from users")) == 0

    # and B after A's failed transaction sees B only
    with session_for(tenant_b.id) as s, s.begin():
        assert s.scalar(text("select pg_backend_pid()")) == pid_a
        assert {r[0] for r in s.execute(text("select tenant_id from users"))} == {tenant_b.id}


def test_setting_holds_in_every_transaction_of_a_session(app_engine, tenant_a):
    engine = app_engine(tenant_a.store_name)
    with tenant_session(engine, tenant_a.id) as s:
        for _ in range(3):
            with s.begin():
                assert s.scalar(text("select count(*) from users")) >= 1


@pytest.mark.parametrize("table", ["audit_events", "stock_movements"])
def test_append_only_tables_refuse_update_and_delete_to_the_app_role(app_engine, tenant_a, table):
    engine = app_engine(tenant_a.store_name)
    for statement in (
        f"update {table} set tenant_id = tenant_id",
        f"delete from {table}",
        f"truncate {table}",
    ):
        with pytest.raises(DBAPIError, match="permission denied"), engine.begin() as conn:
            bind(conn, tenant_a.id)
            conn.exec_driver_sql(statement)
    with engine.begin() as conn:  # reading and adding stay allowed
        bind(conn, tenant_a.id)
        conn.exec_driver_sql(f"select count(*) from {table}")
