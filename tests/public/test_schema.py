"""The sign-ups' Core table and migration c0007 agree, and the app role (the web
process's) has exactly what sign-up needs on it, no more in the catalog."""

from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from salesapp.public.models import metadata
from salesapp.tenancy import urls


def test_the_table_matches_the_migration(catalog):
    with catalog.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = [
            diff for diff in compare_metadata(context, metadata) if "signups" in repr(diff)
        ]
    assert differences == []


def app_connection(settings):
    url = urls.with_role(settings.catalog_url, settings.app_role, settings.app_password)
    return psycopg.connect(urls.libpq_url(url), autocommit=True)


def test_the_app_role_may_read_and_write_sign_ups(settings):
    with app_connection(settings) as conn, conn.transaction(force_rollback=True):
        conn.execute(
            "insert into signups (token_hash, business_name, slug, email, password_hash, "
            "expires_at) values ('t-schema', 'B', 'b-schema', 'b@x.test', 'h', now())"
        )
        conn.execute("update signups set status = 'verified' where token_hash = 't-schema'")
        conn.execute("delete from signups where token_hash = 't-schema'")


def test_the_app_role_still_cannot_write_tenants(settings):
    with app_connection(settings) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("insert into tenants (slug, name) values ('x', 'x')")
