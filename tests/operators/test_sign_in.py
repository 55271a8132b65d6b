"""Operators sign in with a name, a password and a current TOTP code, all three
required: what is refused (and that the answer never says which was wrong), what is
counted and locked, and what the operations log says in the operator's name."""

from __future__ import annotations

import dataclasses
import time

import pytest
from sqlalchemy import select

from salesapp.accounts import totp
from salesapp.accounts.services import MAX_FAILED_CODES
from salesapp.accounts.throttle import FREE_FAILURES
from salesapp.operations import operators
from salesapp.operations.catalog import Catalog
from salesapp.operations.errors import OperationError
from salesapp.operations.models import Operation
from salesapp.operations.operator_models import Operator
from salesapp.operations.operators import (
    WRONG,
    AccountLocked,
    LoginThrottled,
    SignInRefused,
    authenticate,
)

from .conftest import new_name

STEP = totp.STEP_SECONDS


def code(credentials, steps_ahead=0):
    """The code the operator's app shows now (or ``steps_ahead`` steps later: within
    the drift allowed, a fresh code for a second sign-in in one test)."""
    return totp.code_at(credentials.secret, time.time() + steps_ahead * STEP)


def wrong_code(credentials):
    right = {code(credentials, n) for n in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def row(catalog, name) -> Operator:
    with catalog.session() as session:
        return session.scalars(select(Operator).where(Operator.name == name)).one()


def sign_ins(catalog, name):
    """The operations log's sign-in rows in ``name``'s name: (outcome, reason)."""
    with catalog.session() as session:
        rows = session.scalars(
            select(Operation)
            .where(Operation.actor == name, Operation.action == "operator.sign_in")
            .order_by(Operation.id)
        )
        return [(r.outcome, r.detail.get("reason")) for r in rows]


def test_the_name_password_and_current_code_sign_in(catalog, make_operator, address):
    made = make_operator(display_name="Maria Lopez")
    signed_in = authenticate(catalog, made.name.upper(), made.password, code(made), address)
    assert signed_in.name == made.name
    assert signed_in.display_name == "Maria Lopez"
    assert signed_in.must_change_password  # a one-time password: the console asks first
    assert row(catalog, made.name).last_sign_in_at is not None
    assert sign_ins(catalog, made.name) == [("ok", None)]


def test_a_code_is_taken_once(catalog, make_operator, address):
    made = make_operator()
    now = code(made)
    authenticate(catalog, made.name, made.password, now, address)
    with pytest.raises(SignInRefused):
        authenticate(catalog, made.name, made.password, now, address)
    # the next step's code is still good
    authenticate(catalog, made.name, made.password, code(made, 1), address)


@pytest.mark.parametrize("what", ["password", "code", "name", "no code"])
def test_every_failure_says_the_same(catalog, make_operator, address, what):
    made = make_operator()
    name, password, typed = made.name, made.password, code(made)
    if what == "password":
        password += "x"
    elif what == "code":
        typed = wrong_code(made)
    elif what == "name":
        name = new_name("nobody")
    else:
        typed = ""
    with pytest.raises(SignInRefused) as refused:
        authenticate(catalog, name, password, typed, address)
    assert str(refused.value) == WRONG == "Wrong name, password or code."
    assert row(catalog, made.name).last_sign_in_at is None


def test_wrong_password_and_code_are_logged_in_the_operators_name(catalog, make_operator, address):
    made = make_operator()
    with pytest.raises(SignInRefused):
        authenticate(catalog, made.name, "not it at all", code(made), address)
    with pytest.raises(SignInRefused):
        authenticate(catalog, made.name, made.password, wrong_code(made), address)
    assert sign_ins(catalog, made.name) == [
        ("refused", "wrong password"),
        ("refused", "wrong code"),
    ]


def test_a_disabled_operator_cannot_sign_in_with_the_right_password_and_code(
    catalog, make_operator, address
):
    made = make_operator()
    operators.disable_operator(catalog, made.name, "on leave")
    with pytest.raises(SignInRefused):
        authenticate(catalog, made.name, made.password, code(made), address)
    operators.enable_operator(catalog, made.name)
    assert authenticate(catalog, made.name, made.password, code(made), address).name == made.name


def test_wrong_codes_lock_the_code_step(catalog, make_operator, address):
    made = make_operator()
    for _ in range(MAX_FAILED_CODES - 1):
        with pytest.raises(SignInRefused):
            authenticate(catalog, made.name, made.password, wrong_code(made), address)
    with pytest.raises(AccountLocked) as locked:
        authenticate(catalog, made.name, made.password, wrong_code(made), address)
    assert "Too many wrong codes for this account" in str(locked.value)
    # locked: the right code from another address is refused too
    with pytest.raises(AccountLocked):
        authenticate(catalog, made.name, made.password, code(made), address + "::other")
    assert row(catalog, made.name).last_sign_in_at is None
    # an operator's reset opens it again
    reset = operators.reset_password(catalog, made.name)
    assert authenticate(catalog, made.name, reset.password, code(made), address + "::other")


def test_wrong_passwords_throttle_the_name_from_that_address(catalog, make_operator, address):
    made = make_operator()
    for _ in range(FREE_FAILURES):
        with pytest.raises(SignInRefused):
            authenticate(catalog, made.name, "wrong wrong wrong", code(made), address)
    # the right credentials from that address now wait, before any hash
    with pytest.raises(LoginThrottled) as throttled:
        authenticate(catalog, made.name, made.password, code(made), address)
    assert "Try again in 1 minute" in str(throttled.value)
    # the rightful operator's own address is not held back
    assert authenticate(catalog, made.name, made.password, code(made), address + "::home")


def test_a_password_reset_ends_the_old_password(catalog, make_operator, address):
    made = make_operator()
    reset = operators.reset_password(catalog, made.name)
    assert reset.password != made.password
    assert reset.secret is None
    with pytest.raises(SignInRefused):
        authenticate(catalog, made.name, made.password, code(made), address)
    # the same authenticator app keeps working
    assert authenticate(catalog, made.name, reset.password, code(made, 1), address)
    assert row(catalog, made.name).must_change_password


def test_a_two_factor_reset_ends_the_old_secret(catalog, make_operator, address):
    made = make_operator()
    reset = operators.reset_password(catalog, made.name, reset_two_factor=True)
    assert reset.secret
    assert reset.secret != made.secret
    with pytest.raises(SignInRefused):
        authenticate(catalog, made.name, reset.password, code(made), address)
    assert authenticate(catalog, made.name, reset.password, code(reset), address)


def test_the_operator_chooses_a_password_under_the_policy(catalog, make_operator, address):
    made = make_operator(display_name="Maria Lopez")
    with pytest.raises(OperationError, match="too easy to guess"):
        operators.change_password(catalog, made.name, made.password, "MariaLopez1")
    with pytest.raises(OperationError, match="current password is not right"):
        operators.change_password(catalog, made.name, "guess", "a tangerine sky at noon")
    before = row(catalog, made.name)
    changed = operators.change_password(
        catalog, made.name, made.password, "a tangerine sky at noon"
    )
    assert not changed.must_change_password
    assert changed.session_generation == before.session_generation + 1
    with pytest.raises(SignInRefused):
        authenticate(catalog, made.name, made.password, code(made), address)
    signed_in = authenticate(catalog, made.name, "a tangerine sky at noon", code(made), address)
    assert not signed_in.must_change_password
    with catalog.session() as session:
        actions = session.execute(
            select(Operation.action, Operation.outcome)
            .where(Operation.actor == made.name)
            .order_by(Operation.id)
        ).all()
    assert [tuple(a) for a in actions] == [
        ("operator.change-password", "refused"),  # too easy to guess
        ("operator.change-password", "refused"),  # not the current password
        ("operator.change-password", "ok"),
        ("operator.sign_in", "refused"),  # the old password
        ("operator.sign_in", "ok"),
    ]


def test_the_two_factor_secret_is_stored_encrypted(catalog, make_operator):
    made = make_operator()
    stored = row(catalog, made.name)
    assert made.secret not in stored.totp_secret
    assert made.password not in stored.password_hash
    assert stored.password_hash.startswith("$argon2")


def test_a_rotation_of_the_secret_key_reencrypts_the_secrets(settings, catalog, make_operator):
    made = make_operator()
    new_key = "a-new-secret-key-" + new_name()
    rotated = Catalog(
        dataclasses.replace(
            settings, secret_key=new_key, previous_secret_keys=(settings.secret_key,)
        )
    )
    back = Catalog(dataclasses.replace(settings, previous_secret_keys=(new_key,)))
    try:
        assert operators.reencrypt_secrets(rotated) >= 1
        assert operators.reencrypt_secrets(rotated) == 0  # a rerun changes nothing twice
        # under the new key alone, the operator still signs in
        alone = dataclasses.replace(settings, secret_key=new_key, previous_secret_keys=())
        new_only = Catalog(alone)
        try:
            assert authenticate(new_only, made.name, made.password, code(made), "2001:db8::r")
        finally:
            new_only.dispose()
    finally:
        operators.reencrypt_secrets(back)  # the session's other tests use the old key
        rotated.dispose()
        back.dispose()
