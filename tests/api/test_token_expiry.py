"""API token expiry (issue 16, item 1): a token is made to work for 30 days, 90 days (the
default), a year or for ever; once expired it is refused with 401
``error="invalid_token"`` and a message naming the day it expired and saying to make a
new one. The tokens page shows each token's expiry and marks expired ones; the
operator's console offers the same choices."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from salesapp.accounts.models import User
from salesapp.api.models import ApiToken
from salesapp.api.services import ApiTokenService, token_hash
from salesapp.localization import PLAIN
from salesapp.operations.tokens import issue_token, rekey_tokens
from tests.api.conftest import browser
from tests.api.test_tokens import tokens_of
from tests.conftest import form_with

DAY = dt.timedelta(days=1)


def expire(store, tenant, prefix: str, when: dt.datetime) -> None:
    """Set the expiry of the token starting with ``prefix`` (as time passing would)."""
    with store(tenant) as db:
        db.execute(update(ApiToken).where(ApiToken.prefix == prefix).values(expires_at=when))


def token_row(store, tenant, prefix: str) -> ApiToken:
    with store(tenant) as db:
        return db.scalars(select(ApiToken).where(ApiToken.prefix == prefix)).one()


def assert_expired(res, when: dt.datetime) -> None:
    assert res.status_int == 401
    assert res.content_type == "application/json"
    assert res.headers["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="The token expired"'
    )
    stamp = when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    assert f"This API token expired on {stamp} UTC" in res.json["message"]
    assert "make a new one under API tokens" in res.json["message"]
    assert res.json["errors"] == {}


def test_an_expired_token_is_401_and_names_the_day(api_staff, catalog, api_client, store):
    tenant = api_staff.tenant
    token = issue_token(catalog, tenant.slug, "admin", "nightly", lifetime="30d").plaintext
    client = api_client(tenant, token)
    client.get("/api/products")  # works until it expires
    when = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.UTC)
    expire(store, tenant, token[:8], when)
    assert_expired(client.get("/api/products", status=401), when)
    res = client.post("/api/products", {"sku": "X", "name": "X", "unit_price": "1"}, status=401)
    assert_expired(res, when)
    assert api_staff.admin.get("/api/products").json["total"] == 0


def test_a_token_works_until_the_moment_it_expires(api_staff, store):
    with store(api_staff.tenant) as db:
        admin = db.scalars(select(User).where(User.username == "admin")).one()
        service = ApiTokenService(db, api_staff.tenant.id)
        row, plaintext = service.create(admin, "short", "read", "30d")
        now = dt.datetime.now(dt.UTC)
        assert now + 29 * DAY < row.expires_at <= now + 30 * DAY
        assert service.user_for_token(plaintext) is admin
        assert service.last_check().scope == "read"
        row.expires_at = now - dt.timedelta(seconds=1)
        db.flush()
        assert service.user_for_token(plaintext) is None
        assert service.last_check().expired_at == row.expires_at
        assert service.last_check().scope is None
        row.expires_at = None  # a token that never expires
        db.flush()
        assert service.user_for_token(plaintext) is admin


def test_a_revoked_token_that_also_expired_is_just_not_valid(api_staff, catalog, api_client, store):
    tenant = api_staff.tenant
    token = issue_token(catalog, tenant.slug, "admin", "old", lifetime="30d").plaintext
    with store(tenant) as db:
        db.execute(
            update(ApiToken)
            .where(ApiToken.prefix == token[:8])
            .values(
                expires_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                revoked_at=dt.datetime.now(dt.UTC),
            )
        )
    res = api_client(tenant, token).get("/api/products", status=401)
    assert res.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert "expired" not in res.json["message"]


# -- the tokens page ---------------------------------------------------------------
def listed(page, prefix: str) -> dict[str, str]:
    """The tokens page's row of the token starting with ``prefix``: header -> text."""
    row = page.html.select_one(f'tr[data-token="{prefix}"]')
    headers = [th.get_text(strip=True) for th in row.find_parent("table").select("thead th")]
    return dict(
        zip(headers, (td.get_text(" ", strip=True) for td in row.select("td")), strict=True)
    )


@pytest.mark.parametrize(
    ("choice", "days"), [("30d", 30), ("90d", 90), ("1y", 365), ("never", None)]
)
def test_the_page_offers_lifetimes_and_shows_the_expiry(api_staff, client_for, store, choice, days):
    web = browser(client_for, api_staff, "Managers")  # Cashiers make no tokens (issue 17)
    form = form_with(web.get("/account/tokens"), "name")
    assert form["expires_in"].value == "90d"  # the default
    assert [value for value, *_ in form["expires_in"].options] == ["30d", "90d", "1y", "never"]
    form["name"] = f"for {choice}"
    form["expires_in"] = choice
    res = form.submit()
    plaintext = res.html.select_one('[data-testid="token-value"]').text
    row = token_row(store, api_staff.tenant, plaintext[:8])
    cells = listed(web.get("/account/tokens"), plaintext[:8])
    if days is None:
        assert row.expires_at is None
        assert "never expiring" in res.text
        assert cells["Expires"] == "never"
    else:
        assert row.expires_at - row.created_at == pytest.approx(
            days * DAY, abs=dt.timedelta(minutes=1)
        )
        assert cells["Expires"] == PLAIN.day(row.expires_at)
    assert cells["Status"] == "active"
    assert cells["Scope"] == "read"


def test_the_page_marks_expired_tokens_and_offers_no_revoke(api_staff, client_for, store):
    username, _ = api_staff.users["Managers"]
    (token,) = tokens_of(store, api_staff.tenant, username)
    expire(store, api_staff.tenant, token.prefix, dt.datetime.now(dt.UTC) - DAY)
    web = browser(client_for, api_staff, "Managers")
    row = web.get("/account/tokens").html.select_one(f'tr[data-token="{token.prefix}"]')
    assert "expired" in row.select_one(".badge.bad").text
    assert row.select_one("form") is None
    admin = browser(client_for, api_staff, "Admin")
    row = admin.get("/account/tokens").html.select_one(f'tr[data-token="{token.prefix}"]')
    assert "expired" in row.text  # in the Admin's list of others' tokens too


@pytest.mark.parametrize("bad", ["5d", "", "NEVER", "90"])
def test_an_unknown_expiry_on_the_form_is_refused_and_makes_nothing(
    api_staff, client_for, store, bad
):
    web = browser(client_for, api_staff, "Managers")
    csrf = form_with(web.get("/account/tokens"), "name")["csrf_token"].value
    res = web.post(
        "/account/tokens",
        {"csrf_token": csrf, "name": "x", "scope": "read", "expires_in": bad},
        status=400,
    )
    message = res.html.select_one("#expires_in-error").text
    assert "Choose when the token expires: 30d, 90d, 1y or never" in message
    assert not res.html.select('[data-testid="token-value"]')
    assert len(tokens_of(store, api_staff.tenant)) == 3  # the fixture's only


# -- the console -------------------------------------------------------------------
def issued_prefix(output: str) -> str:
    match = re.search(r"^  (sa_\S+)$", output, re.M)
    assert match, output
    return match.group(1)[:8]


def test_the_console_offers_the_same_lifetimes_with_the_same_default(api_staff, cli, store):
    slug, tenant = api_staff.tenant.slug, api_staff.tenant
    result = cli("tenant", "token", slug, "admin")
    row = token_row(store, tenant, issued_prefix(result.output))
    assert row.expires_at - row.created_at == pytest.approx(90 * DAY, abs=dt.timedelta(minutes=1))
    assert f"expires {row.expires_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" in result.output
    result = cli("tenant", "token", slug, "admin", "--expires-in", "1y")
    row = token_row(store, tenant, issued_prefix(result.output))
    assert row.expires_at - row.created_at == pytest.approx(365 * DAY, abs=dt.timedelta(minutes=1))
    result = cli("tenant", "token", slug, "admin", "--expires-in", "never", "--scope", "full")
    row = token_row(store, tenant, issued_prefix(result.output))
    assert (row.expires_at, row.scope) == (None, "full")
    assert "(scope full, never expires)" in result.output


def test_the_console_refuses_an_unknown_lifetime(api_staff, cli, store):
    result = cli("tenant", "token", api_staff.tenant.slug, "admin", "--expires-in", "5d", expect=2)
    assert "Invalid value for '--expires-in'" in result.output
    assert "'5d' is not one of '30d', '90d', '1y', 'never'" in result.output
    assert "Traceback" not in result.output
    assert "sa_" not in result.output
    assert len(tokens_of(store, api_staff.tenant)) == 3


# -- copies of a workspace ---------------------------------------------------------
def test_a_copys_expired_tokens_get_no_working_key_and_stay_expired(api_staff, catalog, store):
    tenant = api_staff.tenant
    expired = issue_token(catalog, tenant.slug, "admin", "expired", lifetime="30d").plaintext
    expire(store, tenant, expired[:8], dt.datetime.now(dt.UTC) - DAY)
    with store(tenant) as db:
        working, retired = rekey_tokens(db, tenant.id)
    assert "expired" not in [token.name for token in working]
    assert len(working) == 3  # the fixture's, which never expire
    assert retired == 1
    with store(tenant) as db:
        row = db.scalars(select(ApiToken).where(ApiToken.name == "expired")).one()
        assert row.revoked_at is None  # still shown as expired, not revoked
        assert row.token_hash != token_hash(expired)  # and its old key opens nothing
