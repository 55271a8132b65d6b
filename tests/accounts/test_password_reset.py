"""Forgot your password: a link by e-mail (through the tests' real SMTP server), single
use, expiring, voided by a newer link or any password change, answering alike whether
or not the account exists, throttled per account and per client address."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from salesapp.accounts.models import EmailToken, User
from salesapp.accounts.resets import RESETS_PER_ACCOUNT, RESETS_PER_ADDRESS
from tests.accounts.support import accounts_service, fill, form_for, sql, user_row
from tests.conftest import sign_in

NEW_PASSWORD = "plum kettle orbit 42"
STALE_FORM = "This form has expired"
SENT = "If an account of"
GONE = "This link is no longer valid"


@pytest.fixture
def shop(make_tenant, make_user):
    """A tenant and a cashier with an e-mail address: (tenant, username, password)."""
    tenant = make_tenant("pooled")
    username, password = make_user(tenant, ("Cashiers",), email="ann@example.com")
    return tenant, username, password


def ask(client, login, status=303):
    """Ask for a reset link on the sign-in page's "Forgot your password?"; the answer."""
    forgot = client.get("/login").click(href="/password/forgot")
    form = fill(form_for(forgot, "/password/forgot"), login=login)
    res = form.submit(status=status)
    return res.follow() if status == 303 else res


def link_in(message) -> str:
    """The path of the reset link in a received message."""
    (url,) = set(re.findall(r"https?://\S+/password/reset/[\w-]+", message.text()))
    assert url in message.html()
    return urlsplit(url).path


def nothing_arrives(smtp_server):
    time.sleep(0.3)  # what was sent would have arrived by now
    assert smtp_server.messages == []


def set_password(client, path, new=NEW_PASSWORD, confirm=None, status=303):
    form = form_for(client.get(path), path)
    fill(form, new_password=new, confirm_password=new if confirm is None else confirm)
    return form.submit(status=status)


def post_password(client, path, status):
    """Post a new password to ``path`` straight away (its page may not show a form)."""
    token = form_for(client.get("/password/forgot"), "/password/forgot")["csrf_token"].value
    data = {"csrf_token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    return client.post(path, data, status=status)


def test_a_forgotten_password_is_reset_through_the_emailed_link(
    shop, client_for, smtp_server, owner_engine
):
    tenant, username, old = shop
    elsewhere = client_for(tenant)
    sign_in(elsewhere, username, old)
    visitor = client_for(tenant)
    answer = ask(visitor, "ANN@example.com ")
    assert SENT in answer.text

    (message,) = smtp_server.wait_for(1)
    assert message.recipients == ["ann@example.com"]
    assert message["Subject"] == f"Set a new password for {tenant.name}"
    assert username in message.text()
    assert "within 1 hour" in message.text()
    path = link_in(message)
    page = visitor.get(path)
    assert page.html.select_one('[data-testid="reset-user"]').text == username

    done = set_password(visitor, path).follow()
    assert "Your password is set" in done.text
    sign_in(client_for(tenant), username, old, status=400)
    assert sign_in(client_for(tenant), username, NEW_PASSWORD).location.endswith("/")
    # the session from before ended with the new password
    assert elsewhere.get("/").location.endswith("/login")
    events = sql(
        owner_engine,
        tenant,
        "select action, username from audit_events where target = :t order by id",
        t=f"user {username}",
    )
    actions = [(e.action, e.username) for e in events]
    assert ("auth.password_reset_sent", "system") in actions
    assert ("user.password", username) in actions
    assert ("auth.password_reset", username) in actions
    # the link worked once
    assert GONE in visitor.get(path, status=410).text


@pytest.mark.parametrize("who", ["nobody", "no-email", "deactivated"])
def test_the_answer_is_the_same_and_nothing_is_sent_without_an_active_account_with_email(
    shop, make_user, client_for, smtp_server, owner_engine, who
):
    tenant, username, _ = shop
    known = ask(client_for(tenant), username)
    smtp_server.wait_for(1)
    smtp_server.clear()
    login = {"nobody": "no.such.user", "no-email": make_user(tenant)[0], "deactivated": username}
    if who == "deactivated":
        sql(owner_engine, tenant, "update users set is_active = false")
    other = ask(client_for(tenant), login[who])
    assert other.status_int == known.status_int == 200
    assert other.request.path == known.request.path
    assert other.text == known.text
    nothing_arrives(smtp_server)


def test_an_empty_request_is_refused_with_a_message(shop, client_for, smtp_server):
    tenant, *_ = shop
    res = ask(client_for(tenant), "  ", status=400)
    assert "Enter your username or e-mail address." in res.text
    nothing_arrives(smtp_server)


def test_requests_are_throttled_per_account_alike(shop, client_for, smtp_server):
    tenant, username, _ = shop
    for _ in range(RESETS_PER_ACCOUNT):
        assert SENT in ask(client_for(tenant), username).text
    smtp_server.wait_for(RESETS_PER_ACCOUNT)
    smtp_server.clear()
    assert SENT in ask(client_for(tenant), "ann@example.com").text  # same page, no mail
    nothing_arrives(smtp_server)


def test_requests_are_throttled_per_client_address(shop, client_for, smtp_server):
    tenant, username, _ = shop
    client = client_for(tenant, REMOTE_ADDR="203.0.113.9")
    for n in range(RESETS_PER_ADDRESS):
        assert SENT in ask(client, f"stranger{n}").text
    assert SENT in ask(client, username).text
    nothing_arrives(smtp_server)
    # another address is not held back
    ask(client_for(tenant, REMOTE_ADDR="203.0.113.10"), username)
    smtp_server.wait_for(1)


def test_an_expired_link_is_refused_and_offers_a_new_one(
    shop, client_for, smtp_server, owner_engine
):
    tenant, *_ = shop
    client = client_for(tenant)
    ask(client, "ann@example.com")
    path = link_in(smtp_server.wait_for(1)[0])
    sql(
        owner_engine,
        tenant,
        "update user_email_tokens set expires_at = now() - interval '1 second'",
    )
    gone = client.get(path, status=410)
    assert GONE in gone.text
    assert gone.html.select_one('a[href$="/password/forgot"]') is not None
    assert GONE in post_password(client, path, status=410).text


def test_a_newer_link_voids_the_older_one(shop, client_for, smtp_server):
    tenant, username, _ = shop
    client = client_for(tenant)
    ask(client, username)
    first = link_in(smtp_server.wait_for(1)[0])
    ask(client, username)
    second = link_in(smtp_server.wait_for(2)[1])
    assert first != second
    assert GONE in client.get(first, status=410).text
    set_password(client, second)


def test_a_password_change_by_other_means_voids_the_link(
    shop, catalog, client_for, smtp_server, owner_engine
):
    tenant, username, _ = shop
    client = client_for(tenant)
    ask(client, username)
    path = link_in(smtp_server.wait_for(1)[0])
    with accounts_service(catalog, tenant) as accounts:
        accounts.reset_password(accounts.find_by_login(username), "an admin gave 9 this")
    assert GONE in client.get(path, status=410).text


def test_a_user_deactivated_after_the_link_was_sent_cannot_use_it(
    shop, client_for, smtp_server, owner_engine
):
    tenant, username, _password = shop
    client = client_for(tenant)
    ask(client, username)
    path = link_in(smtp_server.wait_for(1)[0])
    sql(owner_engine, tenant, "update users set is_active = false")
    assert GONE in client.get(path, status=410).text
    assert GONE in post_password(client, path, status=410).text
    assert user_row(owner_engine, tenant, username).is_active is False


@pytest.mark.parametrize(
    ("new", "confirm", "says"),
    [
        ("short", None, "at least 10 characters"),
        ("password1234", None, "too easy to guess"),
        (NEW_PASSWORD, "something else entirely", "differ"),
    ],
)
def test_a_refused_password_keeps_the_link_usable(
    shop, client_for, smtp_server, owner_engine, new, confirm, says
):
    tenant, username, password = shop
    client = client_for(tenant)
    ask(client, username)
    path = link_in(smtp_server.wait_for(1)[0])
    refused = set_password(client, path, new, confirm, status=400)
    assert says in refused.html.select_one(".error").text
    sign_in(client_for(tenant), username, password)  # unchanged
    set_password(client, path)
    sign_in(client_for(tenant), username, NEW_PASSWORD)


def test_the_forms_need_the_csrf_token(shop, client_for, smtp_server):
    tenant, username, _ = shop
    client = client_for(tenant)
    client.get("/password/forgot")  # a session, with its token
    res = client.post("/password/forgot", {"login": username}, status=400)
    assert STALE_FORM in res.text
    nothing_arrives(smtp_server)
    ask(client, username)
    path = link_in(smtp_server.wait_for(1)[0])
    res = client.post(
        path,
        {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": "x"},
        status=400,
    )
    assert STALE_FORM in res.text
    set_password(client, path)  # the link still works


def test_a_link_is_for_its_own_workspace_only(shop, make_tenant, client_for, smtp_server):
    tenant, username, _ = shop
    ask(client_for(tenant), username)
    path = link_in(smtp_server.wait_for(1)[0])
    assert GONE in client_for(make_tenant("pooled")).get(path, status=410).text


def test_only_the_hash_of_a_token_is_stored(shop, client_for, smtp_server, owner_engine):
    tenant, username, _ = shop
    ask(client_for(tenant), username)
    token = link_in(smtp_server.wait_for(1)[0]).rsplit("/", 1)[1]
    (row,) = sql(
        owner_engine,
        tenant,
        "select token_hash, purpose, email, expires_at - created_at as lifetime"
        " from user_email_tokens where token_hash is not null",
    )
    assert token not in row.token_hash
    assert len(row.token_hash) == 64
    assert (row.purpose, row.email, row.lifetime.total_seconds()) == (
        "reset",
        "ann@example.com",
        3600,
    )


def test_the_model_matches_the_migration(shop, owner_engine):
    tenant, *_ = shop
    metadata = MetaData(naming_convention=EmailToken.metadata.naming_convention)
    for table in (User.__table__, EmailToken.__table__):
        table.to_metadata(metadata)
    with owner_engine(tenant.store_name).connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = [
            diff
            for diff in compare_metadata(context, metadata)
            if "user_email_tokens" in repr(diff) or "email_verified_at" in repr(diff)
        ]
    assert differences == []
