"""`salesapp operator token ...`: an operator API token is printed once and stored only
hashed, listed without its secret, revoked at once, and each change is in the
operations log with the operator it belongs to."""

from __future__ import annotations

import getpass
import json
import re

import pytest
from sqlalchemy import select

from salesapp.api.services import token_hash
from salesapp.operations import operator_tokens
from salesapp.operations.models import Operation
from salesapp.operations.operator_models import Operator, OperatorToken
from salesapp.operations.operator_tokens import TokenHolder, TokenRefusal
from tests.cli.test_tenant_commands import assert_clean_error

TOKEN = re.compile(r"^\s+(sop_[A-Za-z0-9_-]{43})$", re.MULTILINE)


def made_token(output: str) -> str:
    match = TOKEN.search(output)
    assert match, output
    return match.group(1)


def listed(cli, *args) -> list[dict]:
    return json.loads(cli("operator", "token", "list", *args, "--json").output)


def test_create_prints_the_token_once_and_stores_its_hash(cli, catalog, make_operator):
    maria = make_operator("operator")
    result = cli(
        "operator", "token", "create", maria.name.upper(), "--scope", "write", "--label", "bot"
    )
    plaintext = made_token(result.output)
    assert f"for operator {maria.name} (scope write, never expires)" in result.output
    assert "Shown once" in result.output
    with catalog.session() as session:
        row = session.scalars(
            select(OperatorToken).where(OperatorToken.token_hash == token_hash(plaintext))
        ).one()
        assert row.scope == "write"
        assert row.label == "bot"
        assert row.expires_at is None
        assert row.prefix == plaintext[:10]
        assert plaintext not in (row.token_hash, row.label)
    holder = operator_tokens.holder_of(catalog, plaintext)
    assert holder == TokenHolder(row.id, maria.name, "operator", "write")
    # listed by operator, never with the secret
    rows = listed(cli, maria.name)
    assert [(r["id"], r["scope"], r["label"], r["state"]) for r in rows] == [
        (row.id, "write", "bot", "active")
    ]
    assert plaintext not in json.dumps(rows)
    table = cli("operator", "token", "list", maria.name).output
    assert row.prefix + "…" in table
    assert "never" in table
    assert plaintext not in table


def test_create_and_revoke_are_in_the_operations_log(cli, catalog, make_operator):
    maria = make_operator("operator")
    plaintext = made_token(cli("operator", "token", "create", maria.name, "--scope", "read").output)
    token_id = listed(cli, maria.name)[0]["id"]
    result = cli("operator", "token", "revoke", str(token_id))
    assert f"Revoked API token {token_id}" in result.output
    assert maria.name in result.output
    assert isinstance(operator_tokens.holder_of(catalog, plaintext), TokenRefusal)
    assert listed(cli, maria.name)[0]["state"] == "revoked"
    with catalog.session() as session:
        rows = session.scalars(
            select(Operation)
            .where(Operation.action.like("operator.token.%"))
            .where(Operation.detail["operator"].astext == maria.name)
            .order_by(Operation.id)
        ).all()
        assert [(r.action, r.outcome, r.actor) for r in rows] == [
            ("operator.token.create", "ok", getpass.getuser()),
            ("operator.token.revoke", "ok", getpass.getuser()),
        ]
        assert rows[0].detail["token_id"] == token_id
        assert rows[0].detail["scope"] == "read"
        assert plaintext not in json.dumps([r.detail for r in rows])


def test_expiry_in_days(cli, make_operator):
    maria = make_operator("operator")
    out = cli(
        "operator", "token", "create", maria.name, "--scope", "read", "--expires-days", "30"
    ).output
    assert "(scope read, expires " in out
    (row,) = listed(cli, maria.name)
    assert row["expires_at"] is not None
    assert row["state"] == "active"


def test_a_viewer_gets_read_tokens_only(cli, make_operator):
    viewer = make_operator("viewer")
    result = cli("operator", "token", "create", viewer.name, "--scope", "write", expect=1)
    assert_clean_error(result, 1, "a viewer may only hold read tokens")
    assert listed(cli, viewer.name) == []
    made_token(cli("operator", "token", "create", viewer.name, "--scope", "read").output)


def test_a_disabled_operator_gets_none_and_theirs_stop_working(cli, catalog, make_operator):
    maria = make_operator("operator")
    plaintext = made_token(
        cli("operator", "token", "create", maria.name, "--scope", "write").output
    )
    cli("operator", "disable", maria.name, "--reason", "left")
    refusal = operator_tokens.holder_of(catalog, plaintext)
    assert refusal == TokenRefusal("This token's operator is disabled")
    result = cli("operator", "token", "create", maria.name, "--scope", "read", expect=1)
    assert_clean_error(result, 1, f"operator {maria.name!r} is disabled")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "nobody-here", "--scope", "read"], "no operator named 'nobody-here'"),
        (["create", "x", "--scope", "admin"], "Invalid value for '--scope'"),
        (["create", "x", "--scope", "read", "--expires-days", "0"], "--expires-days"),
        (["revoke", "999999999"], "no API token with id 999999999"),
        (["list", "nobody-here"], "no operator named 'nobody-here'"),
    ],
)
def test_errors_are_one_clear_line(cli, args, message):
    result = cli("operator", "token", *args, expect=None)
    code = 2 if "Invalid value" in message or "--expires-days" in message else 1
    assert_clean_error(result, code, message)


def test_a_long_label_is_refused(cli, make_operator):
    maria = make_operator("operator")
    result = cli(
        "operator",
        "token",
        "create",
        maria.name,
        "--scope",
        "read",
        "--label",
        "x" * 101,
        expect=1,
    )
    assert_clean_error(result, 1, "a token label has at most 100 characters (101 given)")


def test_revoking_twice_says_so(cli, make_operator):
    maria = make_operator("operator")
    cli("operator", "token", "create", maria.name, "--scope", "read")
    token_id = listed(cli, maria.name)[0]["id"]
    cli("operator", "token", "revoke", str(token_id))
    result = cli("operator", "token", "revoke", str(token_id), expect=1)
    assert_clean_error(result, 1, "was revoked already")


def test_the_model_matches_migration_c0010(catalog):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import MetaData

    metadata = MetaData(naming_convention=OperatorToken.metadata.naming_convention)
    tables = (Operator.__table__, OperatorToken.__table__)  # the key needs its table
    for table in tables:
        table.to_metadata(metadata)
    with catalog.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = [
            diff for diff in compare_metadata(context, metadata) if "operator_tokens" in str(diff)
        ]
    assert differences == []


def test_the_app_role_cannot_read_tokens(settings):
    import psycopg

    from salesapp.tenancy import urls

    url = urls.with_role(settings.catalog_url, settings.app_role, settings.app_password)
    with (
        psycopg.connect(urls.libpq_url(url), autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("select * from operator_tokens")
