"""`salesapp store ...`: add and list stores; mark them accepting or draining, and drain
one (the policy is salesapp.operations.placement's)."""

from __future__ import annotations

import click

from ..formatting import plural, size
from ..tenancy.directory import StoreKind
from . import emit_json, print_table


@click.group()
def store():
    """Stores: the databases that hold tenant data.

    \b
    Examples:
      salesapp store list
      salesapp store drain pool1
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


@store.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_(obj, as_json):
    """Stores: kind, accepting or draining, tenants, size, schema revision, reachable.

    New pooled tenants go to the accepting pooled store with the most room: the fewest
    tenants, then the smallest database; NEXT marks it.

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
                "size": size(r["size_bytes"]),
                "reach": "yes" if r["reachable"] else f"NO: {r['error']}",
                "name_d": r["name"] + (" (default)" if r["default"] else ""),
                "placement_d": r["placement"] or "-",
                "next_d": "<- next" if r["next"] else "",
            }
            for r in rows
        ],
        [
            ("name_d", "NAME"),
            ("kind", "KIND"),
            ("placement_d", "PLACEMENT"),
            ("tenants", "TENANTS"),
            ("size", "SIZE"),
            ("schema_revision", "REVISION"),
            ("reach", "REACHABLE"),
            ("next_d", "NEXT"),
        ],
    )


@store.command("accept")
@click.argument("name")
@click.pass_obj
def accept(obj, name):
    """Mark a pooled store accepting: new pooled tenants may be placed there again.

    A drain running on it stops before its next tenant.

    \b
    Example:
      salesapp store accept pool2
    """
    from ..operations.placement import accept_store

    result = accept_store(obj.catalog, name)
    was = "" if result["changed"] else " (it already was)"
    click.echo(f"Store {result['name']} accepts new tenants{was}")


def _drain_progress(event, **info):
    from .tenant_data import _moved_line

    if event == "marked":
        was = "" if info["marked"] else " (it already was)"
        click.echo(f"Store {info['name']} is draining: it takes no new tenants{was}")
    elif event == "tenant":
        click.echo(f"[{info['index']}] moving {info['slug']} to {info['target']}")
    elif event == "moved":
        result = info["result"]
        rows = sum(t.rows for t in result.tables)
        paused = f", writes paused {result.fence_seconds:.2f} s" if result.fence_seconds else ""
        click.echo(f"    moved {info['slug']} to {result.target}: {rows} rows{paused}")
    elif event == "failed":
        click.echo(f"    FAILED {info['slug']}: {info['error']}")
    elif event != "table":  # a line a table is too many for a store's worth of tenants
        line = _moved_line(event, info)
        if line:
            click.echo("  " + line)


@store.command("drain")
@click.argument("name")
@click.option("--no-move", is_flag=True, help="Only mark it draining: no new tenants; move nobody.")
@click.option(
    "--wait",
    type=click.FloatRange(1, 600),
    default=30,
    show_default=True,
    help="Seconds to wait for each tenant's writes in flight.",
)
@click.pass_obj
def drain(obj, name, no_move, wait):
    """Mark a pooled store draining (it takes no new tenants) and move its tenants out
    online, one at a time, as `salesapp tenant move` does.

    Each tenant goes to the accepting pooled store with the most room at that moment;
    only its own writes pause, for its own copy. Refused, before anything changes, when
    no other pooled store accepts tenants. A failed move leaves that tenant where it was
    and the drain goes on with the next; two failures in a row stop it. Run the command
    again to continue where it stopped; on an empty store it changes nothing. Undo the
    mark with `salesapp store accept NAME`.

    \b
    Examples:
      salesapp store drain pool1
      salesapp store drain pool1 --no-move
    """
    from ..operations.placement import drain_store

    result = drain_store(
        obj.catalog, name, move=not no_move, wait_seconds=wait, progress=_drain_progress
    )
    if no_move:
        click.echo(
            f"  {plural(result.left, 'tenant')} stay there; `salesapp store drain "
            f"{result.name}` moves them"
        )
        return
    click.echo(
        f"Moved {plural(len(result.moved), 'tenant')}, {len(result.failed)} failed; "
        f"{result.left} left in {result.name}"
    )
    problems = []
    if result.stopped:
        problems.append(f"stopped: {result.stopped}")
    if result.failed:
        problems.append(f"{plural(len(result.failed), 'move')} failed (above)")
    if result.being_created:
        problems.append(f"being created there: {', '.join(result.being_created)}")
    if problems or result.left:
        raise click.ClickException(
            f"store {result.name} is not empty yet ({'; '.join(problems) or 'tenants left'}); "
            f"run `salesapp store drain {result.name}` again to continue"
        )
