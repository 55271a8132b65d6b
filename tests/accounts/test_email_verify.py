"""Verifying one's e-mail address: a link sent from one's Password page (through the
tests' real SMTP server), single use, for the address it was sent to only."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from salesapp.accounts.resets import VERIFICATIONS_PER_ACCOUNT
from tests.accounts.support import fill, form_for, sql, user_row
from tests.conftest import sign_in

STALE_FORM = "This form has expired"
GONE = "This link is no longer valid"


@pytest.fixture
def signed_in(make_tenant, make_user, client_for):
    """A tenant and its signed-in cashier with an e-mail: (tenant, username, client)."""
    tenant = make_tenant("pooled")
    username, password = make_user(tenant, ("Cashiers",), email="bo@example.com")
    client = client_for(tenant)
    sign_in(client, username, password)
    return tenant, username, client


def ask(client):
    """Press "Verify my e-mail" on one's Password page; the page it comes back to."""
    page = client.get("/account/password")
    section = page.html.select_one('[data-testid="email-verification"]')
    assert "not verified" in section.text
    return form_for(page, "/account/email/verify").submit(status=303).follow()


def link_in(message) -> str:
    (url,) = set(re.findall(r"https?://\S+/account/email/verify/[\w-]+", message.text()))
    return urlsplit(url).path


def test_a_user_verifies_their_email_through_the_link(
    signed_in, make_user, client_for, smtp_server, owner_engine
):
    tenant, username, client = signed_in
    back = ask(client)
    assert "We sent a link to bo@example.com" in back.text
    (message,) = smtp_server.wait_for(1)
    assert message.recipients == ["bo@example.com"]
    assert message["Subject"] == f"Verify your e-mail address for {tenant.name}"
    path = link_in(message)

    done = client_for(tenant).get(path)  # from the mail program: no session needed
    assert "bo@example.com" in done.html.select_one('[data-testid="verified"]').text
    assert user_row(owner_engine, tenant, username).email_verified_at is not None
    section = client.get("/account/password").html.select_one('[data-testid="email-verification"]')
    assert "verified" in section.text
    assert "not verified" not in section.text
    assert section.select_one("form") is None
    assert GONE in client.get(path, status=410).text  # once

    admin = client_for(tenant)
    sign_in(admin, "admin", tenant.admin_password)
    row = admin.get("/users").html.select_one(f'tr[data-username="{username}"]')
    assert "verified" in row.text
    (event,) = sql(
        owner_engine,
        tenant,
        "select username, detail from audit_events where action = 'user.email_verified'",
    )
    assert (event.username, event.detail["email"]) == (username, "bo@example.com")


def test_a_new_email_is_unverified_and_voids_the_link(
    signed_in, client_for, smtp_server, owner_engine
):
    tenant, username, client = signed_in
    ask(client)
    path = link_in(smtp_server.wait_for(1)[0])
    # as if verified before (an earlier address): the change below unverifies it
    sql(owner_engine, tenant, "update users set email_verified_at = now()")
    admin = client_for(tenant)
    sign_in(admin, "admin", tenant.admin_password)
    user_id = user_row(owner_engine, tenant, username).id
    edit = admin.get(f"/users/{user_id}/edit")
    fill(
        form_for(edit, "/edit", testid="user-form"), email="bo@elsewhere.example", full_name="Bo"
    ).submit(status=303)
    assert user_row(owner_engine, tenant, username).email_verified_at is None
    assert GONE in client.get(path, status=410).text


def test_asking_again_is_throttled_and_voids_the_older_link(signed_in, smtp_server):
    _tenant, _username, client = signed_in
    for _ in range(VERIFICATIONS_PER_ACCOUNT):
        ask(client)
    messages = smtp_server.wait_for(VERIFICATIONS_PER_ACCOUNT)
    refused = ask(client)
    assert "already" in refused.html.select_one(".error").text
    time.sleep(0.3)
    assert len(smtp_server.messages) == VERIFICATIONS_PER_ACCOUNT
    assert GONE in client.get(link_in(messages[0]), status=410).text
    client.get(link_in(messages[-1]))


def test_without_an_email_there_is_nothing_to_verify(
    make_tenant, make_user, client_for, smtp_server
):
    tenant = make_tenant("pooled")
    username, password = make_user(tenant)
    client = client_for(tenant)
    sign_in(client, username, password)
    page = client.get("/account/password")
    section = page.html.select_one('[data-testid="email-verification"]')
    assert "no e-mail address" in section.text
    assert section.select_one("form") is None
    token = form_for(page, "/account/password")["csrf_token"].value
    back = client.post("/account/email/verify", {"csrf_token": token}, status=303).follow()
    assert "has no e-mail address" in back.html.select_one(".error").text
    time.sleep(0.3)
    assert smtp_server.messages == []


def test_sending_needs_the_csrf_token_and_a_sign_in(signed_in, client_for, smtp_server):
    tenant, _, client = signed_in
    res = client.post("/account/email/verify", {"csrf_token": "nope"}, status=400)
    assert STALE_FORM in res.text
    stranger = client_for(tenant)
    token = form_for(stranger.get("/login"), "/login")["csrf_token"].value
    res = stranger.post("/account/email/verify", {"csrf_token": token}, expect_errors=True)
    assert res.status_int in (302, 303, 403)
    time.sleep(0.3)
    assert smtp_server.messages == []
