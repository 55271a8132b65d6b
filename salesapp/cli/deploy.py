"""`salesapp migrate`, `salesapp check`, `salesapp stats`: keeping the deployment right."""

from __future__ import annotations

import sys

import click

from . import emit_json, print_table, progress


@click.command()
@click.option("--tenant", "tenant_slug", help="Only the store of this tenant.")
@click.option("--store", "store_name", help="Only this store.")
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if anything is behind.")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Stores migrated at once, each in a worker process that ends with this one.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def migrate(obj, tenant_slug, store_name, check, sql, jobs, as_json):
    """Migrate the catalog, then every store (each pooled store once), to head.

    One store's failure does not stop the others; the table at the end says what
    happened to each; exit 1 if any failed. Each store's status is in the catalog as
    soon as it is done (`salesapp store list`); after a crash, only the stores that were
    being migrated read "running". Rerun to resume after a failure or crash.

    A migration waits at most salesapp.migration_lock_timeout seconds for a table lock
    (the store's tenants queue behind it meanwhile), then rolls back, pauses and tries
    again a few times.

    --sql prints one section per group of databases at one revision, headed by the
    databases it is for, to run on each as the owner role.

    \b
    Examples:
      salesapp migrate --jobs 4
      salesapp migrate --check
      salesapp migrate --sql > upgrade.sql
    """
    from ..operations import migrations

    if tenant_slug and store_name:
        raise click.UsageError("give --tenant or --store, not both")
    if sql and (tenant_slug or store_name or check):
        raise click.UsageError(
            "--sql prints the SQL of the whole deployment: give it without --tenant, "
            "--store or --check"
        )
    if sql:
        click.echo(migrations.migration_sql(obj.catalog), nl=False)
        return
    with progress(0, "Migrating") as bar:
        results = migrations.migrate_deployment(
            obj.catalog,
            tenant=tenant_slug,
            store=store_name,
            jobs=jobs,
            check=check,
            on_result=lambda result: bar.update(1),
            on_plan=bar.set_length,
        )
    rows = [{**r.__dict__, "seconds": round(r.seconds, 2)} for r in results]
    if as_json:
        emit_json(rows)
    else:
        print_table(
            [{**row, "error": row["error"] or ""} for row in rows],
            [
                ("name", "DATABASE"),
                ("kind", "KIND"),
                ("before", "FROM"),
                ("after", "TO"),
                ("status", "RESULT"),
                ("seconds", "SECONDS"),
                ("error", "ERROR"),
            ],
        )
    failed = [r for r in results if r.failed]
    if failed:
        word = "behind head" if check else "failed"
        click.echo(
            f"{len(failed)} of {len(results)} {word}: "
            + ", ".join(r.name for r in failed)
            + ("; run `salesapp migrate`" if check else "; fix the cause and run again"),
            err=True,
        )
        sys.exit(1)


@click.command()
@click.option(
    "--probe",
    is_flag=True,
    help="Also connect to every store as the app role and try to read, change and "
    "reference rows across two tenants (in a transaction that is rolled back).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def check(obj, probe, as_json):
    """The pre-deploy check: databases reachable and at head, row-level security in
    every store, the app role least-privileged, production settings. Exit 1 on any FAIL.

    With --probe, every pooled and dedicated store is also tried live, as the app role:
    two made-up tenants (negative ids, which no tenant has) read, change, delete, insert
    and reference across each other, with the store's real rows as other tenants' rows;
    one line per store, PASS only if every attempt was refused. Nothing is kept.

    \b
    Examples:
      salesapp -c production.ini check
      salesapp -c production.ini check --probe
    """
    from ..operations.checks import run_checks

    results = run_checks(obj.catalog, probe=probe)
    if as_json:
        emit_json([r.__dict__ for r in results])
    else:
        for r in results:
            line = f"{'PASS' if r.ok else 'FAIL'}  {r.name}"
            if r.detail:
                line += f": {r.detail}"
            click.echo(line)
            if not r.ok:
                click.echo(f"      fix: {r.fix}")
        failed = sum(not r.ok for r in results)
        click.echo(f"{len(results) - failed} passed, {failed} failed")
    if any(not r.ok for r in results):
        sys.exit(1)


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def stats(obj, as_json):
    """Per tenant: rows, approximate size, new rows a day, users, last activity; flags
    pooled tenants that are candidates for a dedicated store, with the figures the
    advice rests on (rows and size against salesapp.dedicated_threshold_rows / _mb; new
    rows a day and the share of the store beside them).

    \b
    Example:
      salesapp stats --json
    """
    from ..formatting import size
    from ..operations.stats import tenant_stats

    with progress(0, "Counting") as bar:
        rows = tenant_stats(
            obj.catalog, on_store=lambda name: bar.update(1), on_plan=bar.set_length
        )
    if as_json:
        emit_json(rows)
        return
    print_table(
        [
            {
                **r,
                "size": f"{r.get('approx_bytes', 0) / 1024:.1f} kB",
                "flag": "-> dedicated?" if r.get("dedicated_candidate") else (r.get("error") or ""),
                "where": f"{r['store']} ({r['kind']})",
            }
            for r in rows
        ],
        [
            ("slug", "SUBDOMAIN"),
            ("where", "STORE"),
            ("total_rows", "ROWS"),
            ("size", "SIZE"),
            ("new_rows_per_day", "NEW/DAY"),
            ("users", "USERS"),
            ("last_activity", "LAST ACTIVITY"),
            ("flag", ""),
        ],
    )
    settings = obj.catalog.settings
    candidates = [r for r in rows if r.get("dedicated_candidate")]
    click.echo(
        f"\nPromotion advice: a pooled tenant with {settings.dedicated_threshold_rows:,} rows "
        f"or {size(settings.dedicated_threshold_mb * 2**20)} "
        "(salesapp.dedicated_threshold_rows / _mb) is a candidate for a dedicated store; "
        + (f"{len(candidates)} found." if candidates else "none is past them.")
    )
    for r in candidates:
        click.echo(f"  {r['slug']}: {r['advice']['summary']}")
        for reason in r["advice"]["reasons"]:
            click.echo(f"      {reason['text']}")
        click.echo(f"      run: {r['advice']['command']}")
