"""Operator accounts' fixtures: operators made through the service, each with a name of
its own (the session's catalog keeps them), and an address of its own per test, so
that failed sign-ins counted by one test never throttle another."""

from __future__ import annotations

import secrets

import pytest

from salesapp.operations import operators


def new_name(prefix="op") -> str:
    return f"{prefix}{secrets.token_hex(4)}"


@pytest.fixture
def make_operator(catalog):
    """make_operator(role="operator", **kw) -> the Credentials of a new operator."""

    def make(role="operator", name=None, **kw):
        return operators.create_operator(catalog, name or new_name(), role, **kw)

    return make


@pytest.fixture
def address():
    """A client address no other test uses."""
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
