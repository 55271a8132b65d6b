"""The operator's console holds a chosen admin password to the web's policy: `tenant
create --admin-password` refuses a guessable one in one error line with zxcvbn's
feedback and exit code 1 (as for any bad input), and creates nothing."""

import pytest

from tests.cli.test_tenant_commands import (
    assert_clean_error,
    create_args,
    new_sub,
    operations,
    serves,
    tenant_row,
)
from tests.conftest import BASE_DOMAIN, sign_in


@pytest.mark.parametrize(
    ("password", "feedback"),
    [
        ("passwordpassword", 'Repeats like "abcabcabc"'),
        ("Password2024", "similar to a commonly used password"),
        ("P@ssword12", "Predictable substitutions"),
    ],
)
def test_create_refuses_a_guessable_admin_password_with_its_feedback(
    cli, catalog, password, feedback
):
    sub = new_sub()
    result = cli(*create_args(sub, "--admin-password", password), expect=None)
    assert_clean_error(result, 1, "the admin password is refused: This password is too easy")
    assert feedback in result.output
    assert "Add another word or two" in result.output
    assert tenant_row(catalog, sub) is None
    assert [op.outcome for op in operations(catalog, sub, "tenant.create")] == ["refused"]


def test_create_takes_a_strong_admin_passphrase(cli, client_for):
    sub = new_sub()
    passphrase = "a tangerine sky at noon"
    cli(*create_args(sub, "--admin-password", passphrase))
    client = client_for(f"{sub}.{BASE_DOMAIN}")
    assert serves(client)
    sign_in(client, "admin", passphrase)


def test_create_refuses_an_admin_password_made_of_the_workspaces_name(cli, catalog):
    sub = new_sub()
    result = cli(
        *create_args(sub, "--admin-password", "zanzibarspices2024", name="Zanzibar Spices"),
        expect=None,
    )
    assert_clean_error(result, 1, "the admin password is refused")
    assert "uses the user's name" in result.output
    assert tenant_row(catalog, sub) is None
