"""Cashiers make no API tokens (issue 17, ``tokens.create``: Managers and Admin): the
tokens page shows them no form and refuses a post; they still see and revoke the tokens
they have."""

from __future__ import annotations

import pytest

from tests.api.conftest import browser
from tests.api.test_tokens import tokens_of
from tests.conftest import form_with


def test_a_cashier_sees_no_form_and_a_post_is_refused(api_staff, client_for, store):
    web = browser(client_for, api_staff, "Cashiers")
    page = web.get("/account/tokens")
    assert not page.html.select('[data-testid="create-token-form"]')
    assert "Only Managers and Admins make API tokens" in page.text
    csrf = form_with(page, "csrf_token")["csrf_token"].value
    web.post(
        "/account/tokens",
        {"csrf_token": csrf, "name": "mine", "scope": "read", "expires_in": "30d"},
        status=403,
    )
    assert len(tokens_of(store, api_staff.tenant)) == 3  # the fixture's only


def test_a_cashier_still_revokes_their_own_token(api_staff, client_for, store):
    web = browser(client_for, api_staff, "Cashiers")
    username, _ = api_staff.users["Cashiers"]
    (token,) = tokens_of(store, api_staff.tenant, username)
    page = web.get("/account/tokens")
    row = page.html.select_one(f'tr[data-token="{token.prefix}"]')
    form = next(f for f in page.forms.values() if f.action == row.select_one("form")["action"])
    form.submit(status=303)
    api_staff.cashier.get("/api/products", status=401)


@pytest.mark.parametrize("role", ["Managers", "Admin"])
def test_managers_and_admins_make_tokens(api_staff, client_for, store, role):
    web = browser(client_for, api_staff, role)
    form = form_with(web.get("/account/tokens"), "name")
    form["name"] = "sync"
    res = form.submit(status=200)
    assert res.html.select_one('[data-testid="token-value"]')
    assert len(tokens_of(store, api_staff.tenant)) == 4
