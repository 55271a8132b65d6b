"""`salesapp operator ...`: the deployment's operator accounts (create, list, disable,
enable, reset-password), kept in the catalog apart from every tenant's users.

Each change is recorded in the operations log with the person at the console (the OS
user) as the actor and the operator acted on in its detail.
"""

from __future__ import annotations

import io
import sys

import click

from . import emit_json, print_table

ROLES = ("operator", "viewer")

qr_option = click.option(
    "--qr/--no-qr",
    "show_qr",
    default=None,
    help="Print the authenticator QR code (default: on a terminal only).",
)


@click.group()
def operator():
    """Operator accounts: who may use the operator console.

    An operator signs in with a password and a code from an authenticator app, both
    required. Role "operator" may change things; "viewer" may only look.

    \b
    Example:
      salesapp operator create maria --role operator --display-name "Maria Lopez"
    """


def _qr(uri: str) -> str:
    import segno

    out = io.StringIO()
    segno.make(uri).terminal(out=out, compact=True)
    return out.getvalue()


def _print_credentials(credentials, show_qr: bool | None) -> None:
    """The one-time password, and the two-factor enrolment if there is a new one."""
    click.echo(f"  One-time password: {credentials.password}")
    click.echo("    (shown once, not stored; it must be changed at the first sign-in)")
    if credentials.secret is None:
        click.echo("  Two-factor sign-in: unchanged (their authenticator app keeps working)")
        click.echo("Hand the password to the operator privately; it is not shown again.")
        return
    click.echo("  Two-factor secret: " + credentials.secret)
    click.echo("  Authenticator URI: " + credentials.uri)
    click.echo("    (add it to an authenticator app now: sign-in needs a code from it)")
    if show_qr is None:
        show_qr = sys.stdout.isatty()
    if show_qr:
        click.echo(_qr(credentials.uri), nl=False)
    click.echo("Hand both to the operator privately; neither is shown again.")


@operator.command("create")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="operator: may change things; viewer: may only look.",
)
@click.option("--display-name", default="", help="How the operator is shown (e.g. a full name).")
@qr_option
@click.pass_obj
def create(obj, name, role, display_name, show_qr):
    """Create operator NAME: prints a one-time password and a two-factor secret.

    The operator adds the secret to an authenticator app (or scans the QR code) and
    signs in with the password and a code; the password is changed at that first
    sign-in. A name already taken, in any case, is refused.

    \b
    Examples:
      salesapp operator create maria --role operator --display-name "Maria Lopez"
      salesapp operator create auditor1 --role viewer
    """
    from ..operations import operators

    credentials = operators.create_operator(obj.catalog, name, role, display_name)
    shown = f" ({credentials.display_name})" if credentials.display_name else ""
    click.echo(f"Created operator {credentials.name}{shown}, role {credentials.role}")
    _print_credentials(credentials, show_qr)


OPERATOR_COLUMNS = [
    ("name", "NAME"),
    ("display_name", "DISPLAY NAME"),
    ("role", "ROLE"),
    ("state", "STATE"),
    ("last_sign_in", "LAST SIGN-IN"),
    ("created", "CREATED"),
]


def _state(row: dict) -> str:
    if row["disabled"]:
        return f"disabled {row['disabled_at'][:10]}: {row['disabled_reason']}"
    return "active" + (", must change password" if row["must_change_password"] else "")


def _tabular(row: dict) -> dict:
    return {
        **row,
        "display_name": row["display_name"] or "-",
        "state": _state(row),
        "last_sign_in": (row["last_sign_in_at"] or "never")[:16].replace("T", " "),
        "created": row["created_at"][:10],
    }


@operator.command("list")
@click.option("--active-only", is_flag=True, help="Leave out disabled operators.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_(obj, active_only, as_json):
    """List operators: name, display name, role, state, last sign-in, created.

    \b
    Example:
      salesapp operator list --json
    """
    from ..operations import operators

    rows = operators.list_operators(obj.catalog, include_disabled=not active_only)
    if as_json:
        emit_json(rows)
    elif not rows:
        click.echo(
            "No operators."
            + ("" if active_only else " Create one with `salesapp operator create NAME --role`.")
        )
    else:
        print_table([_tabular(row) for row in rows], OPERATOR_COLUMNS)


@operator.command("disable")
@click.argument("name")
@click.option("--reason", required=True, help="Why; shown in `operator list`, kept in the log.")
@click.pass_obj
def disable(obj, name, reason):
    """Stop operator NAME signing in, and end their sessions now (the account stays).

    \b
    Example:
      salesapp operator disable maria --reason "left the company 2027-01"
    """
    from ..operations import operators

    info = operators.disable_operator(obj.catalog, name, reason)
    click.echo(f"Disabled operator {info['name']}: {info['disabled_reason']}")
    click.echo(f"Their sessions have ended. `salesapp operator enable {info['name']}` undoes it.")


@operator.command("enable")
@click.argument("name")
@click.pass_obj
def enable(obj, name):
    """Let disabled operator NAME sign in again, with the credentials they had.

    \b
    Example:
      salesapp operator enable maria
    """
    from ..operations import operators

    info = operators.enable_operator(obj.catalog, name)
    click.echo(f"Enabled operator {info['name']}")


@operator.command("reset-password")
@click.argument("name")
@click.option(
    "--reset-two-factor",
    is_flag=True,
    help="A new two-factor secret too (a lost phone): the old app's codes stop working.",
)
@qr_option
@click.pass_obj
def reset_password(obj, name, reset_two_factor, show_qr):
    """Give operator NAME a new one-time password (the old one stops working and their
    sessions end); it must be changed at the next sign-in.

    \b
    Examples:
      salesapp operator reset-password maria
      salesapp operator reset-password maria --reset-two-factor
    """
    from ..operations import operators

    credentials = operators.reset_password(obj.catalog, name, reset_two_factor=reset_two_factor)
    click.echo(f"New credentials for operator {credentials.name}; their sessions have ended")
    _print_credentials(credentials, show_qr)


@operator.group("token")
def token():
    """Operator API tokens: for scripts calling the operator API (/operator/api).

    A token is shown once when made and stored only hashed. Scope read: GET only;
    write: every call (operators only; a viewer holds read tokens). It stops working
    when revoked, when it expires, and while its operator is disabled.

    \b
    Example:
      salesapp operator token create maria --scope write --label "provisioning bot"
    """


@token.command("create")
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice(("read", "write")),
    required=True,
    help="read: GET only; write: every call (not for a viewer).",
)
@click.option("--label", default="", help="What or who will use it (shown in lists).")
@click.option(
    "--expires-days",
    type=click.IntRange(1, 3650),
    help="It stops working N days from now (default: never; revoke it instead).",
)
@click.pass_obj
def token_create(obj, name, scope, label, expires_days):
    """Make an API token for operator NAME: printed once, stored hashed.

    \b
    Examples:
      salesapp operator token create maria --scope write --label "provisioning bot"
      salesapp operator token create auditor1 --scope read --expires-days 30
    """
    from ..operations import operator_tokens

    issued = operator_tokens.create_token(
        obj.catalog, name, scope, label=label, expires_days=expires_days
    )
    expires = (
        f"expires {issued.expires_at:%Y-%m-%d %H:%M} UTC" if issued.expires_at else "never expires"
    )
    shown = f" {issued.label!r}" if issued.label else ""
    click.echo(
        f"API token {issued.id}{shown} for operator {issued.operator} "
        f"(scope {issued.scope}, {expires}):"
    )
    click.echo(f"  {issued.plaintext}")
    click.echo(
        "Shown once: copy it now. Send it to /operator/api as `Authorization: Bearer <token>`."
    )
    click.echo(f"Revoke it with `salesapp operator token revoke {issued.id}`.")


TOKEN_COLUMNS = [
    ("id", "ID"),
    ("operator", "OPERATOR"),
    ("prefix_text", "TOKEN"),
    ("scope", "SCOPE"),
    ("label_text", "LABEL"),
    ("state", "STATE"),
    ("created", "CREATED"),
    ("last_used", "LAST USED"),
    ("expires", "EXPIRES"),
]


def _token_row(row: dict) -> dict:
    def day(value):
        return value[:16].replace("T", " ") if value else None

    return {
        **row,
        "prefix_text": row["prefix"] + "…",
        "label_text": row["label"] or "-",
        "created": day(row["created_at"]),
        "last_used": day(row["last_used_at"]) or "never",
        "expires": day(row["expires_at"]) or "never",
    }


@token.command("list")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def token_list(obj, name, as_json):
    """List API tokens (of operator NAME only, if given), newest first; revoked and
    expired ones too, marked.

    \b
    Example:
      salesapp operator token list maria
    """
    from ..operations import operator_tokens

    rows = operator_tokens.list_tokens(obj.catalog, name)
    if as_json:
        emit_json(rows)
    elif not rows:
        click.echo("No API tokens. Make one with `salesapp operator token create NAME --scope`.")
    else:
        print_table([_token_row(row) for row in rows], TOKEN_COLUMNS)


@token.command("revoke")
@click.argument("token_id", metavar="ID", type=click.IntRange(1))
@click.pass_obj
def token_revoke(obj, token_id):
    """Revoke API token ID (see `token list`): it stops working at once.

    \b
    Example:
      salesapp operator token revoke 12
    """
    from ..operations import operator_tokens

    info = operator_tokens.revoke_token(obj.catalog, token_id)
    click.echo(
        f"Revoked API token {info['id']} ({info['prefix']}…) of operator {info['operator']}; "
        "it no longer works."
    )
