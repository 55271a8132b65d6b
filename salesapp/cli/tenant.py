"""`salesapp tenant ...`: create, list, show, suspend, resume, extend-trial, delete,
domains, users, reset-password."""

from __future__ import annotations

import sys

import click
from sqlalchemy.engine import URL

from ..api.grants import DEFAULT_LIFETIME, DEFAULT_SCOPE, LIFETIMES, SCOPE_DESCRIPTIONS, SCOPE_NAMES
from ..tenancy.directory import StoreKind, TenantStatus
from . import emit_json, print_table


@click.group()
def tenant():
    """Create and manage tenants.

    \b
    Example:
      salesapp tenant create "Acme Supplies" acme owner@acme.example
    """


def _database_url(database_url, host, port, user, password, name):
    parts = (host, port, user, password, name)
    if database_url and any(parts):
        raise click.UsageError("give --database-url or the --database-* options, not both")
    if not any(parts):
        return database_url
    if not (host and user and name):
        raise click.UsageError(
            "--database-host, --database-user and --database-name are all needed "
            "(with --database-port and --database-password as required)"
        )
    return URL.create(
        "postgresql", username=user, password=password, host=host, port=port, database=name
    ).render_as_string(hide_password=False)


@tenant.command("create")
@click.argument("name")
@click.argument("subdomain")
@click.argument("admin_email")
@click.option("--pooled", is_flag=True, help="Share a pooled store (default).")
@click.option(
    "--dedicated",
    is_flag=True,
    help="A database of its own on the default server (or --store SERVER).",
)
@click.option("--database-url", help="Dedicated, in exactly this database (created if missing).")
@click.option("--database-host", help="Dedicated: the database's host.")
@click.option("--database-port", type=int, help="Dedicated: the database's port.")
@click.option("--database-user", help="Dedicated: the role that will own it.")
@click.option("--database-password", help="Dedicated: that role's password.")
@click.option("--database-name", help="Dedicated: the database name.")
@click.option(
    "--store", "store_name", help="A pooled store (pooled) or a dedicated-server store (dedicated)."
)
@click.option("--max-users", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--multi-location", is_flag=True, help="The tenant manages several locations.")
@click.option("--admin-username", default="admin", show_default=True)
@click.option("--admin-password", help="Else prompted on a terminal, else generated.")
@click.option("--trial-days", type=click.IntRange(1, 3650), help="A trial ending in N days.")
@click.option("--domain", "domains", multiple=True, help="A custom domain (repeatable).")
@click.option("--demo-data", is_flag=True, help="Add demo staff (and a second location).")
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@click.pass_obj
def create(
    obj,
    name,
    subdomain,
    admin_email,
    pooled,
    dedicated,
    database_url,
    database_host,
    database_port,
    database_user,
    database_password,
    database_name,
    store_name,
    max_users,
    multi_location,
    admin_username,
    admin_password,
    trial_days,
    domains,
    demo_data,
    dry_run,
):
    """Create a tenant: NAME of the business, its SUBDOMAIN, the ADMIN_EMAIL.

    Everything is checked before anything is touched (--dry-run makes the same checks),
    and a failure at any step leaves nothing behind. A creation killed midway shows in
    `tenant show` and `tenant list` as "creator gone"; running the same command again,
    `tenant delete` or `salesapp doctor --yes` undoes what it had made. With --demo-data
    the demo staff's one-time passwords are printed once.

    \b
    Examples:
      salesapp tenant create "Demo Shop" demo-shop owner@shop.example
      salesapp tenant create "Big Co" bigco it@big.example --dedicated --max-users 200
      salesapp tenant create "Far Co" farco a@far.example \\
          --database-url postgresql://owner:pw@db2.internal/farco
    """
    from ..operations import lifecycle, provisioning

    url = _database_url(
        database_url, database_host, database_port, database_user, database_password, database_name
    )
    if pooled and dedicated:
        raise click.UsageError("--pooled and --dedicated contradict each other: give one")
    if pooled and url:
        raise click.UsageError(
            "--pooled and a database URL contradict each other: a database of its own is "
            "--dedicated"
        )
    placement = StoreKind.DEDICATED if dedicated or url else StoreKind.POOLED
    if admin_password is None and not dry_run and sys.stdin.isatty():
        admin_password = (
            click.prompt(
                "Admin password (empty: generate one)",
                hide_input=True,
                default="",
                show_default=False,
                confirmation_prompt=True,
            )
            or None
        )
    request = provisioning.TenantRequest(
        name=name,
        slug=subdomain,
        admin_email=admin_email,
        placement=placement,
        store_name=store_name,
        database_url=url,
        admin_username=admin_username,
        admin_password=admin_password,
        max_users=max_users,
        multi_location=multi_location,
        trial_days=trial_days,
        domains=list(domains),
        demo_data=demo_data,
    )
    catalog = obj.catalog
    if dry_run:
        # every check first: a refusal is printed as one, never after "Would:"
        steps = provisioning.plan(catalog, request)
        click.echo("Dry run: nothing is changed. Would:")
        for step in steps:
            click.echo(f"  - {step}")
        return
    created = provisioning.create_tenant(catalog, request)
    info = lifecycle.show_tenant(catalog, created.slug)
    if created.undone:
        click.echo(f"Undid the interrupted creation of {created.slug} first:")
        for line in created.undone:
            click.echo(f"  - {line}")
    where = f"store {created.store_name}" + (
        f" (database {created.database})" if created.database else ""
    )
    click.echo(f"Created tenant {created.slug} ({created.name}), {created.store_kind} in {where}")
    click.echo(f"  Sign in at: {info['url']}")
    click.echo(f"  Username:   {created.admin_username}")
    if created.generated_password:
        click.echo(f"  Password:   {created.admin_password}   (generated: shown once, not stored)")
    else:
        click.echo("  Password:   the one you gave")
    if created.one_time_passwords:
        click.echo("  Demo staff (one-time passwords, shown once, changed at first sign-in):")
        width = max(len(username) for username, _ in created.one_time_passwords)
        for username, password in created.one_time_passwords:
            click.echo(f"    {username:<{width}}  {password}")


TENANT_COLUMNS = [
    ("slug", "SUBDOMAIN"),
    ("name", "NAME"),
    ("state", "STATUS"),
    ("store_kind", "STORE"),
    ("users_of_max", "USERS"),
    ("domains_text", "DOMAINS"),
    ("created", "CREATED"),
]


def _tabular(row: dict) -> dict:
    users = "?" if row["users"] is None else row["users"]
    return {
        **row,
        "store_kind": f"{row['store']} ({row['kind']})" if row["store"] else "-",
        "users_of_max": f"{users}/{row['max_users']}",
        "domains_text": ", ".join(row["domains"]) or "-",
        "created": row["created_at"][:10],
    }


@tenant.command("list")
@click.option(
    "--active-only", is_flag=True, help="Only active tenants (not suspended or being created)."
)
@click.option("--store", "store_name", help="Only the tenants of this store.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_(obj, active_only, store_name, as_json):
    """List tenants: subdomain, name, status, store and kind, users/max, domains, created.

    The status also says when a tenant is being moved, when its trial has ended, and when
    it is still being created (or its creation was interrupted: `salesapp doctor`).

    \b
    Example:
      salesapp tenant list --store pool1 --json
    """
    from ..operations import lifecycle

    rows = lifecycle.list_tenants(obj.catalog, active_only=active_only, store_name=store_name)
    if as_json:
        emit_json(rows)
    elif not rows:
        click.echo(
            "No tenants."
            + ("" if active_only or store_name else " Create one with `salesapp tenant create`.")
        )
    else:
        print_table([_tabular(r) for r in rows], TENANT_COLUMNS)


def _print_tenant(info: dict) -> None:
    users = "?" if info["users"] is None else info["users"]
    if info["creation"] is not None:
        status = f"{info['state']}; {info['status_reason']}"
    else:
        status = info["status"] + (f" ({info['status_reason']})" if info["status_reason"] else "")
    store = f"{info['store']} ({info['kind']}, {info['placement_state']})" if info["store"] else "-"
    lines = [
        ("Subdomain", info["slug"]),
        ("Name", info["name"]),
        ("Status", status),
        ("Store", store),
        ("Users", f"{users} of {info['max_users']}"),
        ("Locations", "several" if info["multi_location"] else "one"),
        ("Admin e-mail", info["admin_email"]),
        (
            "Trial ends",
            (info["trial_ends_at"] or "-") + (" (ended)" if info["trial_ended"] else ""),
        ),
        ("Domains", ", ".join(info["domains"]) or "-"),
        ("URL", info["url"]),
        ("Created", info["created_at"]),
    ]
    if info["moving"]:
        moving = info["moving"]
        lines.insert(4, ("Moving", f"phase {moving['phase']}, since {moving['started_at']}"))
    for copy in info["copies"]:
        lines.append(
            ("Kept copy", f"in store {copy['store']} ({copy['reason']}, since {copy['kept_at']})")
        )
    for label, value in lines:
        click.echo(f"{label + ':':<14}{value}")


@tenant.command("show")
@click.argument("subdomain")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(obj, subdomain, as_json):
    """Everything about one tenant.

    \b
    Example:
      salesapp tenant show acme
    """
    from ..operations import lifecycle

    info = lifecycle.show_tenant(obj.catalog, subdomain)
    emit_json(info) if as_json else _print_tenant(info)


@tenant.command("suspend")
@click.argument("subdomain")
@click.option("--reason", help="Why; shown to operators, kept in the log.")
@click.pass_obj
def suspend(obj, subdomain, reason):
    """Stop a tenant's staff from using it (data is kept). Takes effect at once.

    \b
    Example:
      salesapp tenant suspend acme --reason "unpaid invoice 2026-11"
    """
    from ..operations import lifecycle

    info = lifecycle.set_status(obj.catalog, subdomain, TenantStatus.SUSPENDED, reason)
    click.echo(f"Suspended {info['slug']}" + (f": {reason}" if reason else ""))


@tenant.command("resume")
@click.argument("subdomain")
@click.option("--reason", help="Why; kept in the log.")
@click.pass_obj
def resume(obj, subdomain, reason):
    """Let a suspended tenant's staff back in.

    \b
    Example:
      salesapp tenant resume acme
    """
    from ..operations import lifecycle

    info = lifecycle.set_status(obj.catalog, subdomain, TenantStatus.ACTIVE, reason)
    click.echo(f"Resumed {info['slug']}")


@tenant.command("extend-trial")
@click.argument("subdomain")
@click.option("--days", type=int, required=True, help="How many days to add.")
@click.pass_obj
def extend_trial(obj, subdomain, days):
    """Extend a tenant's trial by N days (from today if it had ended).

    \b
    Example:
      salesapp tenant extend-trial acme --days 14
    """
    from ..operations import lifecycle

    info = lifecycle.extend_trial(obj.catalog, subdomain, days)
    if info["trial_was"] == "none":
        click.echo(
            f"{info['slug']} had no trial (it was not time-limited): started one of {days} days"
        )
    elif info["trial_was"] == "ended":
        click.echo(
            f"The trial of {info['slug']} had ended on {info['trial_ended_before']}; "
            f"{days} days counted from now"
        )
    else:
        click.echo(
            f"The trial of {info['slug']} was to end {info['trial_ended_before']}; {days} days added"
        )
    click.echo(f"Trial of {info['slug']} now ends {info['trial_ends_at']}")


@tenant.command("delete")
@click.argument("subdomain")
@click.option("--force", is_flag=True, help="Do not ask for the subdomain to confirm.")
@click.option(
    "--keep-database",
    is_flag=True,
    help="Keep its dedicated database(s), named in the output, instead of dropping them.",
)
@click.pass_obj
def delete(obj, subdomain, force, keep_database):
    """Delete a tenant and all its data. Asks you to type the subdomain unless --force.

    Every copy the catalog knows of goes too: where it lives and any copy a move kept
    (`tenant move --keep-source`); each kept database is named. Refused while the tenant
    is being moved. A tenant whose creation was interrupted has that creation undone.

    \b
    Example:
      salesapp tenant delete acme --keep-database
    """
    from ..operations import lifecycle

    if not force:
        info = lifecycle.show_tenant(obj.catalog, subdomain)
        if not sys.stdin.isatty():
            raise click.ClickException(
                "refusing to delete without confirmation: run it on a terminal, or pass --force"
            )
        dedicated = info["kind"] == StoreKind.DEDICATED
        what = "its database" if dedicated and not keep_database else "its rows"
        if info["copies"]:
            what += f" and {len(info['copies'])} kept copies"
        typed = click.prompt(
            f"This deletes {info['slug']} ({info['name']}) and {what}. "
            "Type the subdomain to confirm",
            default="",
            show_default=False,
        )
        if typed.strip().lower() != info["slug"]:
            raise click.ClickException("the subdomain did not match; nothing was deleted")
        subdomain = info["slug"]
    result = lifecycle.delete_tenant(obj.catalog, subdomain, keep_database=keep_database)
    if result["undone_creation"] is not None:
        click.echo(f"Deleted {result['slug']}, whose creation had been interrupted:")
        for line in result["undone_creation"]:
            click.echo(f"  - {line}")
        return
    if result["rows_deleted"] is not None:
        total = sum(result["rows_deleted"].values())
        click.echo(f"Deleted {result['slug']}: {total} rows from store {result['store']}")
    elif result["database_dropped"]:
        click.echo(f"Deleted {result['slug']} and dropped database {result['database']}")
    else:
        click.echo(f"Deleted {result['slug']}; kept database {result['database']}")
    for copy in result["copies"]:
        click.echo(f"  Kept copy: {copy['done']}")
    for kept in result["kept"]:
        click.echo(f"  Kept: database {kept}; nothing in the catalog names it now")


@tenant.group("domain")
def domain():
    """Custom domains of a tenant.

    \b
    Example:
      salesapp tenant domain add acme shop.acme.example
    """


def _domains_line(info):
    return f"{info['slug']}: " + (
        ", ".join(
            d + (" (primary)" if d == info["primary_domain"] else "") for d in info["domains"]
        )
        or "no custom domains"
    )


@domain.command("add")
@click.argument("subdomain")
@click.argument("host")
@click.option("--primary", is_flag=True, help="Make it the primary domain.")
@click.pass_obj
def domain_add(obj, subdomain, host, primary):
    """Serve the tenant at HOST too (the first domain becomes primary).

    \b
    Example:
      salesapp tenant domain add acme shop.acme.example --primary
    """
    from ..operations import lifecycle

    click.echo(_domains_line(lifecycle.add_domain(obj.catalog, subdomain, host, primary)))


@domain.command("remove")
@click.argument("subdomain")
@click.argument("host")
@click.pass_obj
def domain_remove(obj, subdomain, host):
    """Stop serving the tenant at HOST.

    \b
    Example:
      salesapp tenant domain remove acme old.acme.example
    """
    from ..operations import lifecycle

    click.echo(_domains_line(lifecycle.remove_domain(obj.catalog, subdomain, host)))


@domain.command("primary")
@click.argument("subdomain")
@click.argument("host")
@click.pass_obj
def domain_primary(obj, subdomain, host):
    """Make HOST the tenant's primary domain (used in links and messages).

    \b
    Example:
      salesapp tenant domain primary acme shop.acme.example
    """
    from ..operations import lifecycle

    click.echo(_domains_line(lifecycle.make_primary(obj.catalog, subdomain, host)))


@tenant.command("users")
@click.argument("subdomain")
@click.option("--fix", is_flag=True, help="Repair what the check finds.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def users(obj, subdomain, fix, as_json):
    """List a tenant's users and roles; check the admin and max-users; repair with --fix.

    Exits 1 if problems remain.

    \b
    Example:
      salesapp tenant users acme --fix
    """
    from ..operations.workspace import check_users

    report = check_users(obj.catalog, subdomain, fix=fix)
    if as_json:
        emit_json(report)
    else:
        rows = [
            {
                **u,
                "roles": ", ".join(u["roles"]) or "-",
                "state": ("active" if u["active"] else "deactivated")
                + (", must change password" if u["must_change_password"] else ""),
            }
            for u in report["users"]
        ]
        print_table(
            rows,
            [("username", "USERNAME"), ("email", "E-MAIL"), ("roles", "ROLES"), ("state", "STATE")],
        )
        click.echo(
            f"{sum(u['active'] for u in report['users'])} active of max {report['max_users']}"
        )
        for repair in report["repairs"]:
            click.echo(f"FIXED   {repair}")
        for problem in report["problems"]:
            click.echo(f"PROBLEM {problem}")
        if report["problems"]:
            click.echo(
                f"Run `salesapp tenant users {report['slug']} --fix` to repair."
                if not fix
                else "These need an Admin of the workspace or an operator to fix by hand."
            )
    if report["problems"]:
        sys.exit(1)


@tenant.command("reset-password")
@click.argument("subdomain")
@click.argument("user")
@click.pass_obj
def reset_password(obj, subdomain, user):
    """Give USER (username or e-mail) a one-time password, changed at next sign-in.

    \b
    Example:
      salesapp tenant reset-password acme cashier1
    """
    from ..operations.workspace import reset_password as reset

    password = reset(obj.catalog, subdomain, user)
    click.echo(f"One-time password for {user} on {subdomain.lower()}: {password}")
    click.echo("It must be changed at the next sign-in.")


@tenant.command("token")
@click.argument("subdomain")
@click.argument("user")
@click.option("--name", help="What or who will use it (default: issued by an operator on DATE).")
@click.option(
    "--scope",
    type=click.Choice(SCOPE_NAMES),
    default=DEFAULT_SCOPE.value,
    show_default=True,
    help="What it may do, within USER's role: "
    + "; ".join(f"{scope}: {text}" for scope, text in SCOPE_DESCRIPTIONS.items())
    + ".",
)
@click.option(
    "--expires-in",
    "lifetime",
    type=click.Choice(tuple(LIFETIMES)),
    default=DEFAULT_LIFETIME,
    show_default=True,
    help="How long from now until it stops working (never: until revoked).",
)
@click.pass_obj
def token(obj, subdomain, user, name, scope, lifetime):
    """Make an API token for USER (username or e-mail): printed once, stored hashed.

    The user can see and revoke it under API tokens in the workspace. Its scope and
    expiry cannot be changed later: make a new token instead.

    \b
    Examples:
      salesapp tenant token acme manager --name "stock sync"
      salesapp tenant token acme till1 --name "till 1" --scope sales --expires-in 1y
    """
    from ..operations.tokens import issue_token

    issued = issue_token(obj.catalog, subdomain, user, name, scope=scope, lifetime=lifetime)
    expires = (
        f"expires {issued.expires_at:%Y-%m-%d %H:%M} UTC" if issued.expires_at else "never expires"
    )
    click.echo(
        f"API token {issued.name!r} for {issued.username} on {issued.slug} "
        f"(scope {issued.scope}, {expires}):"
    )
    click.echo(f"  {issued.plaintext}")
    click.echo("Shown once: copy it now. Send it as `Authorization: Bearer <token>`.")
    if issued.must_change_password:
        click.echo(
            f"Note: {issued.username} has a one-time password; the API refuses the token "
            "until they sign in and change it."
        )
