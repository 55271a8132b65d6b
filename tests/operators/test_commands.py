"""`salesapp operator ...`: what an operator types, what they read, and what it
changes in the catalog and its operations log."""

from __future__ import annotations

import getpass
import json
import re
import time

import pytest
from sqlalchemy import select

from salesapp.accounts import totp
from salesapp.operations.models import Operation
from salesapp.operations.operator_models import Operator
from salesapp.operations.operators import SignInRefused, authenticate
from tests.cli.test_tenant_commands import assert_clean_error

from .conftest import new_name


def printed(output: str, label: str) -> str:
    match = re.search(rf"{label}:\s+(\S+)", output)
    assert match, output
    return match.group(1)


def row(catalog, name) -> Operator | None:
    with catalog.session() as session:
        return session.scalars(select(Operator).where(Operator.name == name)).first()


def logged(catalog, name, action=None):
    """The operations log's rows about operator ``name``: (actor, action, detail)."""
    with catalog.session() as session:
        query = (
            select(Operation)
            .where(Operation.detail["operator"].astext == name)
            .order_by(Operation.id)
        )
        if action:
            query = query.where(Operation.action == action)
        return [(r.actor, r.action, r.outcome, r.detail) for r in session.scalars(query)]


def listed(cli, *options):
    return {
        row["name"]: row for row in json.loads(cli("operator", "list", "--json", *options).output)
    }


def test_create_prints_the_credentials_to_use_together(cli, catalog, address):
    name = new_name()
    result = cli("operator", "create", name, "--role", "operator", "--display-name", "Maria Lopez")
    out = result.output
    assert f"Created operator {name} (Maria Lopez), role operator" in out
    password = printed(out, "One-time password")
    secret = printed(out, "Two-factor secret")
    uri = printed(out, "Authenticator URI")
    assert uri.startswith(
        f"otpauth://totp/salesapp%20operators%20example.test:{name}?secret={secret}"
    )
    assert "█" not in out  # no QR code off a terminal
    assert "neither is shown again" in out
    stored = row(catalog, name)
    assert stored.role == "operator"
    assert stored.display_name == "Maria Lopez"
    assert stored.must_change_password
    assert stored.disabled_at is None
    # both printed credentials sign in, together
    operator = authenticate(catalog, name, password, totp.code_at(secret), address)
    assert operator.name == name
    assert logged(catalog, name, "operator.create") == [
        (getpass.getuser(), "operator.create", "ok", {"operator": name, "role": "operator"})
    ]


def test_create_with_qr_prints_a_terminal_qr_code(cli):
    result = cli("operator", "create", new_name(), "--role", "viewer", "--qr")
    assert "█" in result.output
    assert "▀" in result.output


def test_a_viewer_is_stored_as_one(cli, catalog):
    name = new_name("view")
    cli("operator", "create", name, "--role", "viewer")
    assert row(catalog, name).role == "viewer"
    assert listed(cli)[name]["role"] == "viewer"


def test_a_name_taken_in_any_case_is_refused(cli, catalog):
    name = new_name()
    cli("operator", "create", name, "--role", "operator")
    result = cli("operator", "create", name.upper(), "--role", "viewer", expect=None)
    assert_clean_error(result, 1, f"an operator named {name!r} exists already")
    assert row(catalog, name).role == "operator"
    assert len(logged(catalog, name, "operator.create")) == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("operator", "create", "Bad Name!", "--role", "operator"), 1, "must be 1-63"),
        (("operator", "create", "x" * 64, "--role", "operator"), 1, "must be 1-63"),
        (("operator", "create", "fine", "--role", "admin"), 2, "'admin' is not one of"),
        (("operator", "create", "fine"), 2, "Missing option '--role'"),
        (("operator", "disable", "nobody-at-all", "--reason", "x"), 1, "no operator named"),
        (("operator", "disable", "nobody-at-all"), 2, "Missing option '--reason'"),
        (("operator", "enable", "nobody-at-all"), 1, "no operator named 'nobody-at-all'"),
        (("operator", "reset-password", "nobody-at-all"), 1, "see `salesapp operator list`"),
    ],
)
def test_errors_are_one_clear_line(cli, args, code, message):
    assert_clean_error(cli(*args, expect=None), code, message)


def test_list_shows_each_operator(cli, catalog):
    active, gone = new_name("a"), new_name("b")
    cli("operator", "create", active, "--role", "operator", "--display-name", "Ann Active")
    cli("operator", "create", gone, "--role", "viewer")
    cli("operator", "disable", gone, "--reason", "left in January")
    table = cli("operator", "list").output
    header = table.splitlines()[0]
    assert header.split() == [
        "NAME",
        "DISPLAY",
        "NAME",
        "ROLE",
        "STATE",
        "LAST",
        "SIGN-IN",
        "CREATED",
    ]
    line = next(line for line in table.splitlines() if line.startswith(active + " "))
    assert "Ann Active" in line
    assert "operator" in line
    assert "active, must change password" in line
    assert "never" in line
    line = next(line for line in table.splitlines() if line.startswith(gone + " "))
    assert "viewer" in line
    assert "disabled" in line
    assert "left in January" in line
    rows = listed(cli)
    assert rows[active]["display_name"] == "Ann Active"
    assert not rows[active]["disabled"]
    assert rows[gone]["disabled"]
    assert rows[gone]["disabled_reason"] == "left in January"
    assert "password_hash" not in rows[active]
    assert "totp_secret" not in rows[active]
    only_active = listed(cli, "--active-only")
    assert active in only_active
    assert gone not in only_active


def test_disable_and_enable(cli, catalog, address):
    name = new_name()
    out = cli("operator", "create", name, "--role", "operator").output
    password, secret = printed(out, "One-time password"), printed(out, "Two-factor secret")
    result = cli("operator", "disable", name, "--reason", "on leave")
    assert f"Disabled operator {name}: on leave" in result.output
    assert f"salesapp operator enable {name}" in result.output
    with pytest.raises(SignInRefused):
        authenticate(catalog, name, password, totp.code_at(secret), address)
    again = cli("operator", "disable", name, "--reason", "twice", expect=None)
    assert_clean_error(again, 1, f"operator {name!r} is disabled already")
    assert f"Enabled operator {name}" in cli("operator", "enable", name).output
    assert_clean_error(
        cli("operator", "enable", name, expect=None), 1, f"operator {name!r} is not disabled"
    )
    assert authenticate(catalog, name, password, totp.code_at(secret), address).name == name
    actor = getpass.getuser()
    assert [entry[:3] for entry in logged(catalog, name)] == [
        (actor, "operator.create", "ok"),
        (actor, "operator.disable", "ok"),
        (actor, "operator.enable", "ok"),
    ]
    assert logged(catalog, name, "operator.disable")[0][3]["reason"] == "on leave"


def test_reset_password(cli, catalog, address):
    name = new_name()
    out = cli("operator", "create", name, "--role", "operator").output
    old, secret = printed(out, "One-time password"), printed(out, "Two-factor secret")
    result = cli("operator", "reset-password", name)
    new = printed(result.output, "One-time password")
    assert new != old
    assert "Two-factor sign-in: unchanged" in result.output
    assert "Two-factor secret" not in result.output
    with pytest.raises(SignInRefused):
        authenticate(catalog, name, old, totp.code_at(secret), address)
    assert authenticate(catalog, name, new, totp.code_at(secret), address).must_change_password
    entry = logged(catalog, name, "operator.reset-password")
    assert entry == [
        (
            getpass.getuser(),
            "operator.reset-password",
            "ok",
            {"operator": name, "two_factor_reset": False},
        )
    ]


def test_reset_password_and_two_factor(cli, catalog, address):
    name = new_name()
    out = cli("operator", "create", name, "--role", "viewer").output
    old_secret = printed(out, "Two-factor secret")
    result = cli("operator", "reset-password", name, "--reset-two-factor")
    password = printed(result.output, "One-time password")
    secret = printed(result.output, "Two-factor secret")
    assert secret != old_secret
    assert printed(result.output, "Authenticator URI").startswith("otpauth://totp/")
    later = time.time() + totp.STEP_SECONDS
    with pytest.raises(SignInRefused):
        authenticate(catalog, name, password, totp.code_at(old_secret, later), address)
    assert authenticate(catalog, name, password, totp.code_at(secret), address).name == name
    assert logged(catalog, name, "operator.reset-password")[0][3]["two_factor_reset"] is True


def test_no_operators_yet_says_how_to_make_one(make_deployment, tmp_path):
    from tests.conftest import run_cli, write_ini

    ini = write_ini(make_deployment(), tmp_path / "empty.ini")
    assert (
        "No operators. Create one with `salesapp operator create"
        in run_cli(ini, "operator", "list").output
    )
    assert run_cli(ini, "operator", "list", "--json").output.strip() == "[]"
