"""The console's API tokens page (/operator/tokens): an operator's own tokens listed,
a new one shown once and working at once on the API, revoked and refused at the next
call; a viewer makes read tokens only; the forms need the CSRF token."""

from __future__ import annotations

import re

import webtest
from sqlalchemy import select

from salesapp.console.api import PREFIX
from salesapp.operations import operator_tokens
from salesapp.operations.models import Operation
from tests.conftest import BASE_DOMAIN

TOKEN = re.compile(r"sop_[A-Za-z0-9_-]{43}")


def shown_token(page) -> str:
    text = page.html.select_one("[data-testid=token-value]").get_text().replace(" ", "")
    match = TOKEN.search(text)
    assert match, page.text[:2000]
    return match.group(0)


def call(app, token, status):
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": BASE_DOMAIN})
    headers = {"Authorization": f"Bearer {token}"}
    return client.get(PREFIX + "/tenants?status=suspended", headers=headers, status=status)


def test_signed_out_goes_to_the_sign_in(console_anonymous):
    page = console_anonymous().get("/operator/tokens", status=303)
    assert "/operator/login" in page.location


def test_create_shows_it_once_and_revoke_stops_it(app, console_client, catalog):
    client = console_client("operator")
    page = client.get("/operator/tokens")
    assert page.html.select_one("[data-testid=no-tokens]")
    form = page.forms["create-token"]
    form["label"], form["scope"], form["expires_days"] = "deploy bot", "write", "30"
    made = form.submit()
    assert made.headers["Cache-Control"] == "no-store"
    token = shown_token(made)
    call(app, token, 200)
    # listed with its prefix, never shown again
    listed = client.get("/operator/tokens")
    assert token not in listed.text
    assert token[:10] in listed.text
    assert "deploy bot" in listed.text
    (row,) = operator_tokens.list_tokens(catalog, client.operator.name)
    assert (row["scope"], row["label"], row["state"]) == ("write", "deploy bot", "active")
    assert row["expires_at"] is not None
    (revoke,) = [f for f in listed.forms.values() if f.action.endswith("/revoke")][:1]
    revoked = revoke.submit(status=303).follow()
    assert "was revoked" in revoked.text
    call(app, token, 401)
    with catalog.session() as session:
        actions = session.execute(
            select(Operation.action, Operation.actor)
            .where(Operation.detail["operator"].astext == client.operator.name)
            .where(Operation.action.like("operator.token.%"))
            .order_by(Operation.id)
        ).all()
    name = client.operator.name
    assert actions == [("operator.token.create", name), ("operator.token.revoke", name)]


def test_a_viewer_makes_read_tokens_only(app, console_client, catalog):
    client = console_client("viewer")
    page = client.get("/operator/tokens")
    offered = [field["value"] for field in page.html.select("input[name=scope]")]
    assert offered == ["read"]
    form = page.forms["create-token"]
    form["scope"].force_value("write")
    refused = form.submit(status=400)
    error = refused.html.select_one("[data-testid=token-error]").get_text()
    assert "a viewer may only hold read tokens" in error
    assert operator_tokens.list_tokens(catalog, client.operator.name) == []
    form = refused.forms["create-token"]
    form["scope"] = "read"
    token = shown_token(form.submit())
    call(app, token, 200)


def test_one_cannot_revoke_anothers_token(console_client, catalog, make_operator):
    other = make_operator("operator")
    issued = operator_tokens.create_token(catalog, other.name, "read")
    client = console_client("operator")
    page = client.get("/operator/tokens")
    answer = client.post(
        f"/operator/tokens/{issued.id}/revoke",
        {"csrf_token": page.forms["create-token"]["csrf_token"].value},
        status=303,
    ).follow()
    assert f"no API token of yours with id {issued.id}" in answer.text
    assert operator_tokens.list_tokens(catalog, other.name)[0]["state"] == "active"


def test_the_forms_need_the_csrf_token(console_client, catalog):
    client = console_client("operator")
    client.post("/operator/tokens", {"scope": "read"}, status=400)
    assert operator_tokens.list_tokens(catalog, client.operator.name) == []
