"""Two-factor set-up's QR code (drawn by the app, inline SVG) and recovery codes: ten
single-use codes shown once at enrolment, stored hashed, each good for one sign-in in
place of the app's code, made anew (the old ones void) with a current code."""

import hashlib

import pytest

from salesapp.accounts import recovery, totp
from tests.accounts.support import fill, form_for, sql
from tests.accounts.test_two_factor import (  # noqa: F401  (the clock fixture)
    clock,
    enrol,
    sign_in_with_code,
)
from tests.audit.test_audit_trail import events
from tests.conftest import form_with, sign_in


@pytest.fixture
def enrolled_with_codes(make_tenant, make_user, client_for, clock):  # noqa: F811
    """A Managers user with two-factor sign-in on:
    (tenant, username, password, secret, recovery codes, their client)."""
    tenant = make_tenant("pooled")
    username, password = make_user(tenant, ("Managers",))
    client = client_for(tenant)
    sign_in(client, username, password)
    secret, codes = enrol(client, clock, with_codes=True)
    return tenant, username, password, secret, codes, client


def test_set_up_shows_a_qr_code_drawn_by_the_app_and_the_key(staff, clock):  # noqa: F811
    _tenant, clients = staff(roles=("Cashiers",))
    client = clients["Cashiers"]
    page = form_with(client.get("/account/two-factor"), "action").submit(status=303).follow()
    svg = page.html.select_one('[data-testid="two-factor-qr"] svg')
    assert svg is not None
    assert svg.get("viewbox")  # (the HTML parser lowers attribute names)
    assert svg.select_one("path") is not None
    assert page.html.select_one('[data-testid="two-factor-qr"] img') is None
    assert "data:" not in str(page.html.select_one('[data-testid="two-factor-qr"]'))
    assert page.html.select_one('[data-testid="two-factor-secret"]').text
    assert "img-src 'self'" in page.headers["Content-Security-Policy"]


def test_recovery_codes_are_shown_once_and_stored_hashed(enrolled_with_codes, owner_engine):
    tenant, _username, _password, _secret, codes, client = enrolled_with_codes
    assert len(set(codes)) == 10
    assert all(recovery.looks_like_code(code) for code in codes)
    stored = [
        r.code_hash for r in sql(owner_engine, tenant, "select code_hash from user_recovery_codes")
    ]
    assert len(stored) == 10
    for code in codes:
        assert code not in str(stored)
    page = client.get("/account/two-factor")
    assert not any(code in page.text for code in codes)  # never shown again
    assert "10 unused recovery codes" in page.html.select_one('[data-testid="codes-left"]').text
    [(user_id,)] = sql(owner_engine, tenant, "select distinct user_id from user_recovery_codes")
    expected = hashlib.sha256(f"{user_id}:{codes[0].replace('-', '')}".encode()).hexdigest()
    assert expected in stored


def test_a_recovery_code_signs_in_once_in_place_of_the_app_s_code(
    enrolled_with_codes, client_for, owner_engine
):
    tenant, username, password, _secret, codes, _client = enrolled_with_codes
    browser = client_for(tenant)
    res = sign_in_with_code(browser, username, password, codes[3].upper().replace("-", " "))
    assert res.location.endswith("/")
    assert browser.get("/products").status_int == 200  # signed in
    # the same code again is refused, and counts as a wrong code
    other = client_for(tenant)
    res = sign_in_with_code(other, username, password, codes[3], status=400)
    assert "That code is not right" in res.text
    assert other.get("/products", status=302).location.endswith("/login")
    # another one works
    sign_in_with_code(client_for(tenant), username, password, codes[4])
    page = browser.get("/account/two-factor")
    assert "8 unused recovery codes" in page.html.select_one('[data-testid="codes-left"]').text
    [(used,)] = sql(
        owner_engine, tenant, "select count(*) from user_recovery_codes where used_at is not null"
    )
    assert used == 2


def test_new_codes_need_a_current_code_and_void_the_old_ones(
    enrolled_with_codes,
    client_for,
    clock,  # noqa: F811
):
    tenant, username, password, secret, codes, client = enrolled_with_codes
    clock.now += 30
    form = form_for(client.get("/account/two-factor"), "/account/two-factor", "recovery-form")
    page = fill(form, code="000000" if totp.code_at(secret, clock.now) != "000000" else "111111")
    page = page.submit(status=400)
    assert "your recovery codes were not changed" in page.text
    sign_in_with_code(client_for(tenant), username, password, codes[0])  # still good

    form = form_for(client.get("/account/two-factor"), "/account/two-factor", "recovery-form")
    page = fill(form, code=totp.code_at(secret, clock.now)).submit(status=200)
    new = [c.text for c in page.html.select('[data-testid="recovery-code"]')]
    assert len(new) == 10
    assert not set(new) & set(codes)
    assert "any older recovery codes no longer work" in page.text
    sign_in_with_code(client_for(tenant), username, password, codes[1], status=400)
    sign_in_with_code(client_for(tenant), username, password, new[0])


def test_recovery_events_are_in_the_audit_trail(staff, client_for, clock):  # noqa: F811
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    _secret, codes = enrol(admin, clock, with_codes=True)
    sign_in_with_code(client_for(tenant), "admin", tenant.admin_password, codes[0])
    rows, page = events(admin, action="auth.recovery_code_used")
    assert rows == [("auth.recovery_code_used", "admin", "user admin")]
    assert "left: 9" in page.text


def test_turning_two_factor_off_voids_the_codes(enrolled_with_codes, owner_engine, clock):  # noqa: F811
    tenant, _username, _password, secret, _codes, client = enrolled_with_codes
    clock.now += 30
    form = form_for(client.get("/account/two-factor"), "/account/two-factor", "disable-form")
    fill(form, code=totp.code_at(secret, clock.now)).submit(status=303)
    assert sql(owner_engine, tenant, "select * from user_recovery_codes") == []
