"""`salesapp tenant move | backup | restore | clone`: a tenant's data between stores and
files (the work is done by salesapp.operations.mobility and .archive)."""

from __future__ import annotations

import click

from ..tenancy.directory import PLACEMENT_KINDS, StoreKind
from .tenant import tenant


def _moved_line(event, info) -> str | None:
    if event == "table":
        t = info["table"]
        return f"    {t.name:<18} {t.rows:>8} rows  {t.seconds:6.2f} s  checksum {t.checksum[:12]}"
    if event == "stale":
        return f"    removed {info['rows']} stale rows an earlier move had left in the target"
    if event == "step":
        return f"  {info['step']:<7} {info['detail']}"
    if event == "resume":
        return f"  note    {info['detail']}"
    return None


def _echo_progress(event, **info):
    line = _moved_line(event, info)
    if line:
        click.echo(line)


@tenant.command("move")
@click.argument("subdomain")
@click.option(
    "--to",
    "to",
    type=click.Choice([kind.value for kind in PLACEMENT_KINDS]),
    required=True,
    help="The kind of store to move it to.",
)
@click.option("--store", "store_name", help="A pooled store, or a dedicated-server store.")
@click.option("--database-url", help="--to dedicated: exactly this database (new or empty).")
@click.option(
    "--keep-source",
    is_flag=True,
    help="Keep the source rows or database (fenced; recorded as a kept copy).",
)
@click.option(
    "--wait",
    type=click.FloatRange(1, 600),
    default=30,
    show_default=True,
    help="Seconds to wait for the tenant's writes in flight.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@click.pass_obj
def move(obj, subdomain, to, store_name, database_url, keep_source, wait, dry_run):
    """Move a tenant to another store while its business goes on.

    Its writes pause (staff can read; a change gets "try again in a moment", with the
    pause expected from its rows) while its rows are copied and verified; other tenants
    are not touched. If the command is interrupted, run it again: it finishes or undoes
    the earlier attempt first. A mover that was killed stops pausing the tenant's writes
    within seconds by itself; a second move of the tenant is refused while one runs.
    --database-url must name a new or empty database: the tenant's own database, another
    store's and the catalog are refused (by identity, whatever the URL).

    \b
    Examples:
      salesapp tenant move acme --to dedicated
      salesapp tenant move acme --to dedicated --store db2
      salesapp tenant move acme --to pooled --store pool2 --keep-source
    """
    from ..operations.mobility import MoveRequest, move_tenant, plan_move

    request = MoveRequest(
        slug=subdomain,
        to=to,
        store_name=store_name,
        database_url=database_url,
        keep_source=keep_source,
        wait_seconds=wait,
        grace_seconds=obj.settings.move_grace_seconds,
    )
    if dry_run:
        click.echo("Dry run: nothing is changed. Would:")
        for step in plan_move(obj.catalog, request):
            click.echo(f"  - {step}")
        return
    result = move_tenant(obj.catalog, request, progress=_echo_progress)
    rows = sum(t.rows for t in result.tables)
    if result.resumed:
        click.echo(
            f"Finished the earlier move of {result.slug} to {result.target_kind} store "
            f"{result.target} in {result.total_seconds:.2f} s"
        )
        return
    click.echo(
        f"Moved {result.slug} from {result.source_kind} store {result.source} to "
        f"{result.target_kind} store {result.target}: {rows} rows in {len(result.tables)} "
        f"tables, verified, in {result.total_seconds:.2f} s"
    )
    click.echo(
        f"  Writes were paused for {result.fence_seconds:.2f} s (about "
        f"{result.expected_pause_seconds:.0f} s expected); {result.source_fate}"
    )


@tenant.command("backup")
@click.argument("subdomain")
@click.option(
    "-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="The file."
)
@click.pass_obj
def backup(obj, subdomain, output):
    """Write one tenant to a file: a manifest and its rows, from one snapshot.

    \b
    Example:
      salesapp tenant backup acme -o backups/acme-2026-11-23.zip
    """
    from ..operations.archive import backup_tenant

    manifest = backup_tenant(
        obj.catalog,
        subdomain,
        output,
        progress=lambda event, **i: click.echo(f"    {i['table']:<18} {i['rows']:>8} rows"),
    )
    rows = sum(t["rows"] for t in manifest["tables"])
    click.echo(
        f"Backed up {manifest['tenant']['slug']} ({manifest['tenant']['name']}): {rows} rows "
        f"in {len(manifest['tables'])} tables, schema {manifest['schema_revision']}, to {output}"
    )


def _restored(info: dict) -> None:
    click.echo(
        f"Restored {info['from']} as {info['slug']} ({info['name']}), {info['kind']} in store "
        f"{info['store']}: {info['rows']} rows in {info['tables']} tables, checksums verified"
    )
    if info["migrated"]:
        click.echo(
            f"  The archive was at schema {info['schema_revision']}; it was migrated forward"
        )
    if info["domains"]:
        click.echo(f"  Domains: {', '.join(info['domains'])}")
    for line in info.get("credential_lines") or ():
        click.echo(line)


def _placement_options(f):
    """--pooled / --dedicated (at most one: click would let the last one win silently)
    and --store, passed on as ``placement`` and ``store_name``."""

    def one_placement(ctx, param, value):
        if value:
            chosen = ctx.meta.setdefault("salesapp.placement_flags", [])
            chosen.append(param.name)
            if len(chosen) > 1:
                raise click.UsageError("--pooled and --dedicated contradict each other: give one")
        return value

    f = click.option("--store", "store_name", help="A pooled store, or a dedicated-server store.")(
        f
    )
    f = click.option(
        "--dedicated", is_flag=True, callback=one_placement, help="A database of its own."
    )(f)
    f = click.option("--pooled", is_flag=True, callback=one_placement, help="A pooled store.")(f)
    return f


def _placement(pooled: bool, dedicated: bool) -> StoreKind | None:
    if dedicated:
        return StoreKind.DEDICATED
    return StoreKind.POOLED if pooled else None


def _table_line(event, **info):
    if event == "table":
        click.echo(f"    {info['table']:<18} {info['rows']:>8} rows")
    elif event == "migrate":
        click.echo(f"  {info['detail']}")


@tenant.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "as_subdomain", help="Restore under this subdomain (no custom domains).")
@click.option("--name", help="The business name (default: the archive's).")
@_placement_options
@click.option(
    "--keep-credentials",
    is_flag=True,
    help="Keep the archive's passwords and API tokens (bringing back a deleted tenant as "
    "itself); by default every user gets a one-time password and tokens new keys.",
)
@click.pass_obj
def restore(obj, file, as_subdomain, name, pooled, dedicated, store_name, keep_credentials):
    """Restore a tenant from a backup file, into either kind of store.

    Refuses a subdomain that exists. The default store kind is the one it was backed
    up from. Everything or nothing is restored.

    \b
    Examples:
      salesapp tenant restore backups/acme.zip
      salesapp tenant restore backups/acme.zip --as acme-restored --dedicated
    """
    from ..operations.archive import restore_tenant

    info = restore_tenant(
        obj.catalog,
        file,
        slug=as_subdomain,
        name=name,
        placement=_placement(pooled, dedicated),
        store_name=store_name,
        keep_credentials=keep_credentials,
        progress=_table_line,
    )
    _restored(info)


@tenant.command("clone")
@click.argument("subdomain")
@click.argument("new_subdomain")
@click.option("--name", help="Its business name (default: the source's, with ' (copy)').")
@_placement_options
@click.pass_obj
def clone(obj, subdomain, new_subdomain, name, pooled, dedicated, store_name):
    """Copy a tenant under a new subdomain in one step (e.g. a training workspace).

    \b
    Example:
      salesapp tenant clone acme acme-training
    """
    from ..operations.archive import clone_tenant

    info = clone_tenant(
        obj.catalog,
        subdomain,
        new_subdomain,
        name=name,
        placement=_placement(pooled, dedicated),
        store_name=store_name,
        progress=_table_line,
    )
    _restored(info)
