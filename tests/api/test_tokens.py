"""API tokens: stored hashed and shown once, made and revoked on the API tokens page
or by an operator's `salesapp tenant token`; last use recorded at most once a minute."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select, update

from salesapp.accounts.models import User
from salesapp.api.models import ApiToken
from salesapp.api.services import ApiTokenService, TokenError
from salesapp.operations.models import Operation
from tests.api.conftest import browser
from tests.conftest import form_with


def tokens_of(store, tenant, username=None):
    with store(tenant) as db:
        query = select(ApiToken).join(User, User.id == ApiToken.user_id)
        if username:
            query = query.where(User.username == username)
        return db.scalars(query.order_by(ApiToken.created_at)).all()


# -- the service ---------------------------------------------------------------------
def test_a_token_is_stored_as_its_hash_and_a_short_prefix(pooled_shop, store):
    with store(pooled_shop.tenant) as db:
        admin = db.scalars(select(User).where(User.username == "admin")).one()
        service = ApiTokenService(db, pooled_shop.tenant.id)
        row, plaintext = service.create(admin, "  sync  ")
        assert re.fullmatch(r"sa_[A-Za-z0-9_-]{43}", plaintext)
        assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert row.prefix == plaintext[:8] and row.name == "sync"
        stored = [str(getattr(row, c.key)) for c in ApiToken.__table__.columns]
        assert not any(plaintext in value for value in stored)
        assert service.user_for_token(plaintext) is admin
        assert service.user_for_token(plaintext + "x") is None
        assert service.user_for_token(None) is None
        for bad in ("", "   ", "x" * 61):
            with pytest.raises(TokenError):
                service.create(admin, bad)


def test_only_the_owner_or_an_admin_may_revoke(pooled_shop, store):
    tenant = pooled_shop.tenant
    cashier_name, _ = pooled_shop.users["Cashiers"]
    manager_name, _ = pooled_shop.users["Managers"]
    with store(tenant) as db:
        users = {u.username: u for u in db.scalars(select(User))}
        service = ApiTokenService(db, tenant.id)
        token = tokens_of_user(db, users[cashier_name])[0]
        with pytest.raises(TokenError, match="No such token"):
            service.revoke(users[manager_name], token.id)
        assert token.revoked_at is None
        service.revoke(users["admin"], token.id, any_user=True)
        assert token.revoked_at is not None
        with pytest.raises(TokenError):
            service.revoke(users["admin"], "not-an-id", any_user=True)
    pooled_shop.cashier.get("/api/products", status=401)


def tokens_of_user(db, user):
    return db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()


def test_last_use_is_recorded_at_most_once_a_minute(pooled_shop, store):
    tenant = pooled_shop.tenant
    username, _ = pooled_shop.users["Managers"]
    assert tokens_of(store, tenant, username)[0].last_used_at is None
    pooled_shop.manager.get("/api/products")
    first = tokens_of(store, tenant, username)[0].last_used_at
    assert first is not None
    pooled_shop.manager.get("/api/products")
    assert tokens_of(store, tenant, username)[0].last_used_at == first  # within the minute
    earlier = first - dt.timedelta(minutes=2)
    with store(tenant) as db:
        db.execute(update(ApiToken).where(ApiToken.last_used_at == first).values(
            last_used_at=earlier))  # fmt: skip
    pooled_shop.manager.get("/api/products")
    assert tokens_of(store, tenant, username)[0].last_used_at > first


# -- the page ------------------------------------------------------------------------
def create_on_page(web, name, status=200):
    form = form_with(web.get("/account/tokens"), "name")
    form["name"] = name
    return form.submit(status=status)


@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
def test_a_user_makes_a_token_on_the_page_sees_it_once_and_revokes_it(
    make_shop, client_for, api_client, store, placement
):
    shop = make_shop(placement)
    web = browser(client_for, shop, "Cashiers")
    link = web.get("/").html.find("a", string="API tokens")
    assert link["href"].endswith("/account/tokens")
    page = web.get("/account/tokens")
    assert "tests" in page.text  # the fixture's token, listed
    assert not page.html.select('[data-testid="token-value"]')

    res = create_on_page(web, "till script")
    assert res.headers["Cache-Control"] == "no-store"
    plaintext = res.html.select_one('[data-testid="token-value"]').text
    client = api_client(shop.tenant, plaintext)
    client.get("/api/products")
    client.post("/api/products", {"sku": "X", "name": "X", "unit_price": "1"}, status=403)

    again = web.get("/account/tokens")
    assert plaintext not in again.text  # shown once
    row = again.html.select_one(f'tr[data-token="{plaintext[:8]}"]')
    assert "till script" in row.text and "active" in row.text and "never" not in row.text

    form = next(f for f in again.forms.values() if f.action == row.select_one("form")["action"])
    form.submit(status=303)
    assert (
        "revoked"
        in web.get("/account/tokens").html.select_one(f'tr[data-token="{plaintext[:8]}"]').text
    )
    client.get("/api/products", status=401)
    username, _ = shop.users["Cashiers"]
    assert len(tokens_of(store, shop.tenant, username)) == 2


@pytest.mark.parametrize(
    "name, message", [("", "Give the token a name"), ("n" * 61, "at most 60 characters")]
)
def test_a_bad_name_is_refused(pooled_shop, client_for, store, name, message):
    web = browser(client_for, pooled_shop, "Managers")
    form = form_with(web.get("/account/tokens"), "name")
    form["name"] = name
    res = form.submit(status=400)
    assert message in res.html.select_one("#name-error").text
    assert not res.html.select('[data-testid="token-value"]')
    assert len(tokens_of(store, pooled_shop.tenant)) == 3  # the fixture's only


def test_the_page_needs_a_csrf_token_and_a_session(pooled_shop, client_for, store):
    web = browser(client_for, pooled_shop, "Managers")
    web.post("/account/tokens", {"name": "x"}, status=400)
    manager = pooled_shop.tokens["Managers"]
    # a bearer token cannot make tokens: the page needs the session's CSRF token
    web.post("/account/tokens", {"name": "x"}, headers={"Authorization": f"Bearer {manager}"},
             status=400)  # fmt: skip
    client_for(pooled_shop.tenant).get("/account/tokens", status=302)
    assert len(tokens_of(store, pooled_shop.tenant)) == 3


def test_others_tokens_are_not_found_unless_admin(pooled_shop, client_for, store):
    tenant = pooled_shop.tenant
    cashier_name, _ = pooled_shop.users["Cashiers"]
    token = tokens_of(store, tenant, cashier_name)[0]
    manager = browser(client_for, pooled_shop, "Managers")
    csrf = form_with(manager.get("/account/tokens"), "name")["csrf_token"].value
    manager.post(f"/account/tokens/{token.id}/revoke", {"csrf_token": csrf}, status=404)
    assert cashier_name not in manager.get("/account/tokens").text
    pooled_shop.cashier.get("/api/products")

    admin = browser(client_for, pooled_shop, "Admin")
    page = admin.get("/account/tokens")
    row = page.html.select_one(f'tr[data-token="{token.prefix}"]')
    assert cashier_name in row.text
    form = next(f for f in page.forms.values() if f.action == row.select_one("form")["action"])
    form.submit(status=303)
    pooled_shop.cashier.get("/api/products", status=401)


def test_a_user_with_a_one_time_password_is_sent_to_change_it(pooled_shop, make_user, client_for):
    from tests.conftest import sign_in

    username, password = make_user(pooled_shop.tenant, ("Managers",), must_change_password=True)
    web = client_for(pooled_shop.tenant)
    sign_in(web, username, password)
    assert "API tokens" not in web.get("/account/password").text
    res = web.get("/account/tokens", status=302)
    assert res.location.endswith("/account/password")


# -- the operator's command ----------------------------------------------------------
def test_an_operator_makes_a_token_shown_once_and_logged_without_it(
    pooled_shop, cli, catalog, api_client, store
):
    slug = pooled_shop.tenant.slug
    username, _ = pooled_shop.users["Managers"]
    result = cli("tenant", "token", slug, username.upper(), "--name", "stock sync")
    match = re.search(r"^  (sa_\S+)$", result.output, re.M)
    assert match, result.output
    plaintext = match.group(1)
    assert "Shown once" in result.output
    api_client(pooled_shop.tenant, plaintext).post(
        "/api/products", {"sku": "OP", "name": "By operator", "unit_price": "1"}
    )
    assert [t.name for t in tokens_of(store, pooled_shop.tenant, username)] == [
        "tests",
        "stock sync",
    ]
    with catalog.session() as session:
        logged = session.scalars(
            select(Operation).where(
                Operation.tenant_slug == slug, Operation.action == "tenant.token"
            )
        ).all()
    assert logged[-1].detail["username"] == username
    assert logged[-1].detail["token_name"] == "stock sync"
    assert all(plaintext not in str(op.detail) for op in logged)


def test_the_default_name_says_an_operator_made_it(pooled_shop, cli, store):
    username, _ = pooled_shop.users["Cashiers"]
    cli("tenant", "token", pooled_shop.tenant.slug, username)
    names = [t.name for t in tokens_of(store, pooled_shop.tenant, username)]
    assert names[-1] == f"issued by an operator on {dt.date.today().isoformat()}"


def assert_refused(result, message):
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert "sa_" not in result.output


def test_the_command_refuses_unknown_tenants_users_and_deactivated_users(pooled_shop, cli, store):
    slug = pooled_shop.tenant.slug
    assert_refused(cli("tenant", "token", "no-such-shop", "admin", expect=1), "no tenant")
    assert_refused(cli("tenant", "token", slug, "nobody", expect=1), "no user 'nobody'")
    assert_refused(
        cli("tenant", "token", slug, "admin", "--name", "n" * 61, expect=1), "at most 60"
    )
    username, _ = pooled_shop.users["Cashiers"]
    with store(pooled_shop.tenant) as db:
        db.execute(update(User).where(User.username == username).values(is_active=False))
    assert_refused(cli("tenant", "token", slug, username, expect=1), "deactivated")
    assert len(tokens_of(store, pooled_shop.tenant)) == 3


def test_the_command_warns_about_a_one_time_password(pooled_shop, cli, make_user):
    username, _ = make_user(pooled_shop.tenant, ("Cashiers",), must_change_password=True)
    result = cli("tenant", "token", pooled_shop.tenant.slug, username)
    assert "one-time password" in result.output
