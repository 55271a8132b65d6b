"""`salesapp rotate owner-password | secret-key`: rotate the deployment's secrets.

Register in salesapp/cli/__init__.py, next to the other commands:

    cli.add_command(rotate.rotate)   # with `rotate` added to `from . import deploy, ...`
"""

from __future__ import annotations

import click

from . import SalesappGroup, emit_json


@click.group(cls=SalesappGroup)
def rotate():
    """Rotate the owner role's password or the secret key.

    \b
    Examples:
      salesapp rotate owner-password
      salesapp rotate secret-key
    """


@rotate.command("owner-password")
@click.option(
    "--ask",
    is_flag=True,
    help="Type the new password (hidden, twice) instead of generating one; give the same "
    "one again to finish a rotation that was interrupted.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def owner_password(obj, ask, as_json):
    """Give the owner role a new password and rewrite every store URL in the catalog.

    Sets the password (generated unless --ask) on the owner role of every server the
    catalog and the stores are on, and rewrites the store URLs that connect as the
    owner role, all or nothing. The app role, which web requests use, is not touched:
    the app serves throughout. Then, wherever salesapp runs (every app process, the
    operators' environment), put the new password in SALESAPP_OWNER_PASSWORD and in the
    catalog URL (SALESAPP_CATALOG_URL); until then `salesapp` commands cannot reach the
    catalog. A PgBouncer that authenticates clients from its own userlist needs the
    new password there too.

    \b
    Examples:
      salesapp rotate owner-password
      salesapp rotate owner-password --ask
    """
    from ..operations import rotate as rotation

    password = None
    if ask:
        password = click.prompt(
            "New password of the owner role", hide_input=True, confirmation_prompt=True
        )
    else:
        password = rotation.new_password()
        # shown before anything changes: an interrupted rotation is finished with it
        click.echo(f"New password of the owner role: {password}", err=as_json)
    result = rotation.rotate_owner_password(obj.catalog, password)
    if as_json:
        emit_json({**result.__dict__, "password": None if ask else result.password})
        return
    click.echo(f"The owner role {result.role} has the new password on:")
    for server in result.servers:
        click.echo(f"  {server}")
    click.echo(f"Store URLs rewritten in the catalog: {', '.join(result.stores) or 'none'}")
    for store, role in result.other_roles.items():
        click.echo(f"  left alone: store {store} connects as {role}, not the owner role")
    click.echo("Now, wherever salesapp runs, update:")
    click.echo("  SALESAPP_OWNER_PASSWORD  = the new password")
    if result.catalog_url:
        click.echo(f"  SALESAPP_CATALOG_URL     = {result.catalog_url} (*** = the new password)")


@rotate.command("secret-key")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def secret_key(obj, as_json):
    """Re-encrypt every secret still under a previous secret key (step 2 of 3).

    \b
    1. Wherever salesapp runs, set SALESAPP_PREVIOUS_SECRET_KEYS to the current key
       and SALESAPP_SECRET_KEY to a new one; restart the app processes. Sessions
       signed under the old key keep working; new ones are signed under the new key.
    2. Run this command: store URLs in the catalog and users' two-factor secrets in
       the stores are re-encrypted under the new key (a rerun changes nothing twice).
    3. After the grace it prints (8 hours, the longest a session lives), remove
       SALESAPP_PREVIOUS_SECRET_KEYS: sessions signed under the old key end.

    Run without previous keys, it says how to begin, with a generated key.

    \b
    Example:
      SALESAPP_SECRET_KEY=<new> SALESAPP_PREVIOUS_SECRET_KEYS=<old> salesapp rotate secret-key
    """
    from ..operations import rotate as rotation

    result = rotation.reencrypt_secrets(obj.catalog)
    if as_json:
        emit_json(result.__dict__)
    else:
        click.echo(f"Store URLs re-encrypted: {', '.join(result.stores) or 'none'}")
        for store, count in result.two_factor.items():
            click.echo(f"  {store}: {count} two-factor secret(s) re-encrypted")
        click.echo(f"  operators: {result.operator_secrets} two-factor secret(s) re-encrypted")
        for store, error in result.failed.items():
            click.echo(f"  {store}: NOT DONE: {error}")
    if result.failed:
        raise click.ClickException(
            "some stores could not be reached; their two-factor secrets stay readable "
            "under the previous key: run `salesapp rotate secret-key` again"
        )
    if not as_json:
        ends = result.grace_ends_at.isoformat(timespec="minutes")
        click.echo(
            "Everything is under the current key. Remove SALESAPP_PREVIOUS_SECRET_KEYS "
            f"after {ends} (sessions signed under the old key end then)."
        )
