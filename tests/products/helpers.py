"""Helpers for the products and customers tests: CSRF tokens, and SQL on a tenant's
store as the owner under the tenant's setting (RLS is forced, even for the owner)."""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import text

from salesapp.tenancy.binding import bind

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client) -> str:
    """The signed-in client's CSRF token (every page's sign-out form carries it)."""
    return CSRF.search(client.get("/").text).group(1)


def post(client, url, data, status=None, **kw):
    """POST form ``data`` with the client's CSRF token."""
    return client.post(url, {**data, "csrf_token": csrf_token(client)}, status=status, **kw)


@contextmanager
def tenant_connection(owner_engine, tenant):
    """A connection to the tenant's store as the owner, in one transaction bound to the
    tenant (salesapp.tenancy.binding), committed at the end of the block."""
    with owner_engine(tenant.store_name).begin() as conn:
        bind(conn, tenant.id)
        yield conn


def rows(owner_engine, tenant, sql, **params):
    with tenant_connection(owner_engine, tenant) as conn:
        return conn.execute(text(sql), params).all()


def count(owner_engine, tenant, table) -> int:
    return rows(owner_engine, tenant, f"select count(*) from {table}")[0][0]


def import_csv(client, text: str, status=303):
    """Import products from CSV ``text`` through the import page as ``client``."""
    return post(
        client,
        "/products/import",
        {},
        upload_files=[("file", "products.csv", text.encode())],
        status=status,
    )


def default_location_id(owner_engine, tenant):
    return rows(owner_engine, tenant, "select id from locations where is_default")[0][0]


def product_ids(owner_engine, tenant) -> dict:
    """SKU -> id of the tenant's products."""
    return dict(rows(owner_engine, tenant, "select sku, id from products"))
