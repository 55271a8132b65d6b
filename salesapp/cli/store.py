"""`salesapp store ...`: add and list stores."""

from __future__ import annotations

import click

from ..tenancy.directory import StoreKind
from . import emit_json, print_table


@click.group()
def store():
    """Stores: the databases that hold tenant data.

    \b
    Example:
      salesapp store list
    """


@store.command("add")
@click.argument("name")
@click.option(
    "--url",
    required=True,
    help="pooled: the database (created if missing); dedicated-server: the server.",
)
@click.option(
    "--kind",
    type=click.Choice([StoreKind.POOLED.value, StoreKind.DEDICATED_SERVER.value]),
    required=True,
)
@click.pass_obj
def add(obj, name, url, kind):
    """Register a store: a pooled database, or a server for dedicated databases.

    A database is registered once: a pooled store's URL is refused when it reaches the
    catalog, the tenant template or a database another store names (by whatever host,
    port or pooler), as told by the server's system identifier and the database's oid,
    which the store keeps.

    \b
    Examples:
      salesapp store add pool2 --kind pooled \\
          --url postgresql://salesapp_owner:pw@db2.internal/salesapp_pool2
      salesapp store add big-server --kind dedicated-server \\
          --url postgresql://salesapp_owner:pw@db3.internal/postgres
    """
    from ..operations.storeadmin import add_store

    result = add_store(obj.catalog, name, url, kind)
    detail = f"at {result['schema_revision']}" if result["schema_revision"] else "ready"
    made = " (database created)" if result["created"] else ""
    click.echo(f"Added {kind} store {result['name']}: {result['url']}{made}, {detail}")
    if result["identity"]:
        click.echo(f"  Database identity (system identifier/oid): {result['identity']}")


def _size(n):
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


@store.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_(obj, as_json):
    """Stores: kind, tenants, size, schema revision, reachable.

    \b
    Example:
      salesapp store list --json
    """
    from ..operations.storeadmin import list_stores

    rows = list_stores(obj.catalog)
    if as_json:
        emit_json(rows)
        return
    print_table(
        [
            {
                **r,
                "size": _size(r["size_bytes"]),
                "reach": "yes" if r["reachable"] else f"NO: {r['error']}",
                "name_d": r["name"] + (" (default)" if r["default"] else ""),
            }
            for r in rows
        ],
        [
            ("name_d", "NAME"),
            ("kind", "KIND"),
            ("tenants", "TENANTS"),
            ("size", "SIZE"),
            ("schema_revision", "REVISION"),
            ("reach", "REACHABLE"),
        ],
    )
