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
def test_a_token_is_stored_as_its_hash_and_a_short_prefix(api_staff, store):
    with store(api_staff.tenant) as db:
        admin = db.scalars(select(User).where(User.username == "admin")).one()
        service = ApiTokenService(db, api_staff.tenant.id)
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


def test_only_the_owner_or_an_admin_may_revoke(api_staff, store):
    tenant = api_staff.tenant
    cashier_name, _ = api_staff.users["Cashiers"]
    manager_name, _ = api_staff.users["Managers"]
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
    api_staff.cashier.get("/api/products", status=401)


def tokens_of_user(db, user):
    return db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()


def test_last_use_is_recorded_at_most_once_a_minute(api_staff, store):
    tenant = api_staff.tenant
    username, _ = api_staff.users["Managers"]
    assert tokens_of(store, tenant, username)[0].last_used_at is None
    api_staff.manager.get("/api/products")
    first = tokens_of(store, tenant, username)[0].last_used_at
    assert first is not None
    api_staff.manager.get("/api/products")
    assert tokens_of(store, tenant, username)[0].last_used_at == first  # within the minute
    earlier = first - dt.timedelta(minutes=2)
    with store(tenant) as db:
        db.execute(update(ApiToken).where(ApiToken.last_used_at == first).values(
            last_used_at=earlier))  # fmt: skip
    api_staff.manager.get("/api/products")
    assert tokens_of(store, tenant, username)[0].last_used_at > first


# -- the page ------------------------------------------------------------------------
def create_on_page(web, name, status=200):
    form = form_with(web.get("/account/tokens"), "name")
    form["name"] = name
    return form.submit(status=status)


@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
def test_a_user_makes_a_token_on_the_page_sees_it_once_and_revokes_it(
    make_api_staff, client_for, api_client, store, placement
):
    api_staff = make_api_staff(placement)
    web = browser(client_for, api_staff, "Managers")  # Cashiers make no tokens (issue 17)
    link = web.get("/").html.find("a", string="API tokens")
    assert link["href"].endswith("/account/tokens")
    page = web.get("/account/tokens")
    assert "tests" in page.text  # the fixture's token, listed
    assert not page.html.select('[data-testid="token-value"]')

    res = create_on_page(web, "till script")
    assert res.headers["Cache-Control"] == "no-store"
    plaintext = res.html.select_one('[data-testid="token-value"]').text
    client = api_client(api_staff.tenant, plaintext)
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
    username, _ = api_staff.users["Managers"]
    assert len(tokens_of(store, api_staff.tenant, username)) == 2


@pytest.mark.parametrize(
    ("name", "message"), [("", "Give the token a name"), ("n" * 61, "at most 60 characters")]
)
def test_a_bad_name_is_refused(api_staff, client_for, store, name, message):
    web = browser(client_for, api_staff, "Managers")
    form = form_with(web.get("/account/tokens"), "name")
    form["name"] = name
    res = form.submit(status=400)
    assert message in res.html.select_one("#name-error").text
    assert not res.html.select('[data-testid="token-value"]')
    assert len(tokens_of(store, api_staff.tenant)) == 3  # the fixture's only


def test_the_page_needs_a_csrf_token_and_a_session(api_staff, client_for, store):
    web = browser(client_for, api_staff, "Managers")
    web.post("/account/tokens", {"name": "x"}, status=400)
    manager = api_staff.tokens["Managers"]
    # a bearer token cannot make tokens: the page needs the session's CSRF token
    web.post("/account/tokens", {"name": "x"}, headers={"Authorization": f"Bearer {manager}"},
             status=400)  # fmt: skip
    client_for(api_staff.tenant).get("/account/tokens", status=302)
    assert len(tokens_of(store, api_staff.tenant)) == 3


def test_others_tokens_are_not_found_unless_admin(api_staff, client_for, store):
    tenant = api_staff.tenant
    cashier_name, _ = api_staff.users["Cashiers"]
    token = tokens_of(store, tenant, cashier_name)[0]
    manager = browser(client_for, api_staff, "Managers")
    csrf = form_with(manager.get("/account/tokens"), "name")["csrf_token"].value
    manager.post(f"/account/tokens/{token.id}/revoke", {"csrf_token": csrf}, status=404)
    assert cashier_name not in manager.get("/account/tokens").text
    api_staff.cashier.get("/api/products")

    admin = browser(client_for, api_staff, "Admin")
    page = admin.get("/account/tokens")
    row = page.html.select_one(f'tr[data-token="{token.prefix}"]')
    assert cashier_name in row.text
    form = next(f for f in page.forms.values() if f.action == row.select_one("form")["action"])
    form.submit(status=303)
    api_staff.cashier.get("/api/products", status=401)


def test_a_user_with_a_one_time_password_is_sent_to_change_it(api_staff, make_user, client_for):
    from tests.conftest import sign_in

    username, password = make_user(api_staff.tenant, ("Managers",), must_change_password=True)
    web = client_for(api_staff.tenant)
    sign_in(web, username, password)
    assert "API tokens" not in web.get("/account/password").text
    res = web.get("/account/tokens", status=302)
    assert res.location.endswith("/account/password")


# -- the operator's command ----------------------------------------------------------
def test_an_operator_makes_a_token_shown_once_and_logged_without_it(
    api_staff, cli, catalog, api_client, store
):
    slug = api_staff.tenant.slug
    username, _ = api_staff.users["Managers"]
    result = cli(
        "tenant", "token", slug, username.upper(), "--name", "stock sync", "--scope", "full"
    )
    match = re.search(r"^  (sa_\S+)$", result.output, re.M)
    assert match, result.output
    plaintext = match.group(1)
    assert "Shown once" in result.output
    assert "(scope full, expires " in result.output
    api_client(api_staff.tenant, plaintext).post(
        "/api/products", {"sku": "OP", "name": "By operator", "unit_price": "1"}
    )
    assert [t.name for t in tokens_of(store, api_staff.tenant, username)] == [
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
    assert logged[-1].detail["token_scope"] == "full"
    assert all(plaintext not in str(op.detail) for op in logged)


def test_the_default_name_says_an_operator_made_it(api_staff, cli, store):
    username, _ = api_staff.users["Cashiers"]
    cli("tenant", "token", api_staff.tenant.slug, username)
    names = [t.name for t in tokens_of(store, api_staff.tenant, username)]
    assert names[-1] == f"issued by an operator on {dt.date.today().isoformat()}"


def assert_refused(result, message):
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert "sa_" not in result.output


def test_the_command_refuses_unknown_tenants_users_and_deactivated_users(api_staff, cli, store):
    slug = api_staff.tenant.slug
    assert_refused(cli("tenant", "token", "no-such-shop", "admin", expect=1), "no tenant")
    assert_refused(cli("tenant", "token", slug, "nobody", expect=1), "no user 'nobody'")
    assert_refused(
        cli("tenant", "token", slug, "admin", "--name", "n" * 61, expect=1), "at most 60"
    )
    username, _ = api_staff.users["Cashiers"]
    with store(api_staff.tenant) as db:
        db.execute(update(User).where(User.username == username).values(is_active=False))
    assert_refused(cli("tenant", "token", slug, username, expect=1), "deactivated")
    assert len(tokens_of(store, api_staff.tenant)) == 3


def test_the_command_warns_about_a_one_time_password(api_staff, cli, make_user):
    username, _ = make_user(api_staff.tenant, ("Cashiers",), must_change_password=True)
    result = cli("tenant", "token", api_staff.tenant.slug, username)
    assert "one-time password" in result.output
