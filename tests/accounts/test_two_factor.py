"""Two-factor sign-in (TOTP, RFC 6238): enrolment from the account page, the code step
after the password, reuse and guessing refused, turning it off, and the workspace
setting that requires it of Admins."""

import time

import pytest

from salesapp.accounts import totp
from salesapp.accounts.services import MAX_FAILED_CODES
from salesapp.operations.tokens import issue_token
from tests.accounts.support import fill, form_for, sql, user_row
from tests.api.conftest import ApiClient
from tests.audit.test_audit_trail import events
from tests.conftest import form_with, host_of, sign_in


class Clock:
    """The time the app's TOTP checks see (the codes' 30-second steps, under control)."""

    def __init__(self):
        self.now = time.time()

    def time(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(totp, "time", clock)
    return clock


def test_rfc_6238_test_vectors():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # b"12345678901234567890"
    # RFC 6238 appendix B (SHA-1), the last six of its eight digits
    assert totp.code_at(secret, 59) == "287082"
    assert totp.code_at(secret, 1111111109) == "081804"
    assert totp.code_at(secret, 1234567890) == "005924"
    assert totp.code_at(secret, 2000000000) == "279037"


def test_a_code_matches_within_one_step_either_side_and_never_twice():
    secret = totp.new_secret()
    now = 1_700_000_000
    step = totp.current_step(now)
    for drift in (-1, 0, 1):
        code = totp.code_at(secret, now + 30 * drift)
        assert totp.matching_step(secret, code, now=now) == step + drift
    assert totp.matching_step(secret, totp.code_at(secret, now - 60), now=now) is None
    assert totp.matching_step(secret, totp.code_at(secret, now + 60), now=now) is None
    assert totp.matching_step(secret, totp.code_at(secret, now), after=step, now=now) is None
    assert totp.matching_step(secret, "12345", now=now) is None
    assert totp.matching_step(secret, "abcdef", now=now) is None


def wrong_code(secret, now) -> str:
    """A well-formed code that is not the one of ``now``."""
    return "000000" if totp.code_at(secret, now) != "000000" else "111111"


def enrol(client, clock, with_codes=False):
    """Set up two-factor sign-in from the account page; returns the secret (and, with
    ``with_codes``, the recovery codes the answer shows)."""
    page = client.get("/account/two-factor")
    assert page.html.select_one('[data-testid="two-factor-status"]').text == "off"
    page = form_with(page, "action").submit(status=303).follow()
    secret = page.html.select_one('[data-testid="two-factor-secret"]').text
    uri = page.html.select_one('[data-testid="two-factor-uri"]').text
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    form = form_for(page, "/account/two-factor", testid="confirm-form")
    done = fill(form, code=totp.code_at(secret, clock.now)).submit(status=200)
    codes = [c.text for c in done.html.select('[data-testid="recovery-code"]')]
    assert len(codes) == 10
    return (secret, codes) if with_codes else secret


def sign_in_with_code(client, username, password, code, status=303):
    """Password, then the code; the answer to the code."""
    res = sign_in(client, username, password)
    assert res.location.endswith("/login/code")
    form = form_for(client.get("/login/code"), "/login/code")
    form["code"] = code
    return form.submit(status=status)


@pytest.fixture
def enrolled(make_tenant, make_user, client_for, clock):
    """A Managers user with two-factor sign-in on: (tenant, username, password, secret)."""
    tenant = make_tenant("pooled")
    username, password = make_user(tenant, ("Managers",))
    client = client_for(tenant)
    sign_in(client, username, password)
    secret = enrol(client, clock)
    return tenant, username, password, secret


def test_enrolment_shows_the_secret_until_confirmed_and_stores_it_encrypted(
    make_tenant, make_user, client_for, owner_engine, clock
):
    tenant = make_tenant("pooled")
    username, password = make_user(tenant, ("Cashiers",))
    client = client_for(tenant)
    sign_in(client, username, password)
    page = form_with(client.get("/account/two-factor"), "action").submit().follow()
    secret = page.html.select_one('[data-testid="two-factor-secret"]').text
    # a wrong code does not turn it on
    form = form_for(page, "/account/two-factor", testid="confirm-form")
    res = fill(form, code=wrong_code(secret, clock.now)).submit(status=400)
    assert "That code is not right" in res.text
    assert (
        client.get("/account/two-factor").html.select_one('[data-testid="two-factor-secret"]').text
        == secret
    )  # the same key until set-up is done

    form = form_for(client.get("/account/two-factor"), "/account/two-factor", "confirm-form")
    fill(form, code=totp.code_at(secret, clock.now)).submit(status=200)
    page = client.get("/account/two-factor")
    assert page.html.select_one('[data-testid="two-factor-status"]').text == "on"
    assert secret not in page.text
    [(stored,)] = sql(owner_engine, tenant, "select secret from user_two_factor")
    assert secret not in stored and stored.startswith("gAAAA")  # Fernet


def test_sign_in_asks_for_the_code_and_is_not_signed_in_before_it(enrolled, client_for, clock):
    tenant, username, password, secret = enrolled
    client = client_for(tenant)
    res = sign_in(client, username, password)
    assert res.location.endswith("/login/code")
    assert client.get("/", status=302).location.endswith("/login")  # not yet signed in
    assert client.get("/products", status=302).location.endswith("/login")

    clock.now += 30
    wrong = wrong_code(secret, clock.now)
    res = sign_in_with_code(client, username, password, wrong, status=400)
    assert "That code is not right" in res.text
    assert client.get("/", status=302).location.endswith("/login")

    res = sign_in_with_code(client, username, password, totp.code_at(secret, clock.now))
    assert res.location.endswith("/")
    assert client.get("/").status_int == 200


@pytest.mark.parametrize(
    "code", ["²²²²²²", "٣٣٣٣٣٣", "\uff11\uff12\uff13\uff14\uff15\uff16", "①②③④⑤⑥"]
)
def test_a_code_in_other_digits_is_just_wrong(enrolled, client_for, clock, code):
    """Digits of other scripts are isdigit() too; they are a wrong code, never a 500."""
    tenant, username, password, secret = enrolled
    assert totp.matching_step(secret, code) is None
    res = sign_in_with_code(client_for(tenant), username, password, code, status=400)
    assert "That code is not right" in res.text


def test_a_code_is_taken_once(enrolled, client_for, clock):
    tenant, username, password, secret = enrolled
    clock.now += 30
    code = totp.code_at(secret, clock.now)
    sign_in_with_code(client_for(tenant), username, password, code)
    res = sign_in_with_code(client_for(tenant), username, password, code, status=400)
    assert "That code is not right" in res.text
    # the next step's code is fine (a phone a little ahead counts too)
    sign_in_with_code(client_for(tenant), username, password, totp.code_at(secret, clock.now + 30))


def test_the_code_step_without_a_password_first_goes_back_to_sign_in(client_for, tenant_a):
    client = client_for(tenant_a)
    assert client.get("/login/code", status=303).location.endswith("/login")


def test_wrong_codes_lock_the_accounts_code_step_from_any_address(
    enrolled, client_for, owner_engine, clock
):
    """Six-digit codes stay bounded per account (whoever asks has the password): five
    wrong codes in a row stop the code step for 15 minutes, from every address."""
    tenant, username, password, secret = enrolled
    client = client_for(tenant, REMOTE_ADDR="198.51.100.70")
    clock.now += 30
    wrong = wrong_code(secret, clock.now)
    for _ in range(MAX_FAILED_CODES - 1):
        sign_in_with_code(client, username, password, wrong, status=400)
    # a right password in between does not start a new count
    assert user_row(owner_engine, tenant, username).failed_logins == MAX_FAILED_CODES - 1
    res = sign_in_with_code(client, username, password, wrong, status=429)
    assert "Too many wrong codes for this account" in res.text and res.headers["Retry-After"]
    # locked: from another address the right password leads to the code step, where
    # even the right code is refused now
    elsewhere = client_for(tenant, REMOTE_ADDR="198.51.100.71")
    res = sign_in_with_code(elsewhere, username, password, totp.code_at(secret, clock.now), 429)
    assert "Too many wrong codes for this account" in res.text


def test_two_factor_events_are_in_the_audit_trail(staff, client_for, clock):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    secret = enrol(admin, clock)
    clock.now += 30
    other = client_for(tenant)
    sign_in_with_code(other, "admin", tenant.admin_password, wrong_code(secret, clock.now), 400)
    page = admin.get("/account/two-factor")
    form = form_for(page, "/account/two-factor", testid="disable-form")
    fill(form, code=totp.code_at(secret, clock.now)).submit(status=303)
    rows, _ = events(admin, action="auth.two_factor")
    assert [action for action, _, _ in rows][:3] == [
        "auth.two_factor_disable",
        "auth.two_factor_failed",
        "auth.two_factor_enable",
    ]


def test_turning_it_off_needs_a_right_code(enrolled, client_for, clock):
    tenant, username, password, secret = enrolled
    client = client_for(tenant)
    clock.now += 30
    sign_in_with_code(client, username, password, totp.code_at(secret, clock.now))
    clock.now += 30
    form = form_for(client.get("/account/two-factor"), "/account/two-factor", "disable-form")
    right = totp.code_at(secret, clock.now)
    res = fill(form, code=wrong_code(secret, clock.now)).submit(status=400)
    assert "nothing was changed" in res.text
    form = form_for(client.get("/account/two-factor"), "/account/two-factor", "disable-form")
    fill(form, code=right).submit(status=303)
    # the password alone signs in again
    assert sign_in(client_for(tenant), username, password).location.endswith("/")


def test_a_one_time_password_from_an_admin_turns_two_factor_off(
    enrolled, staff, client_for, owner_engine
):
    tenant, username, _password, _secret = enrolled
    admin = client_for(tenant)
    sign_in(admin, "admin", tenant.admin_password)
    row = user_row(owner_engine, tenant, username)
    page = admin.get(f"/users/{row.id}/edit")
    fill(form_for(page, "/edit", testid="password-form"), password="lost my phone 42").submit(
        status=303
    )
    res = sign_in(client_for(tenant), username, "lost my phone 42")
    assert res.location.endswith("/account/password")  # no code asked
    assert sql(owner_engine, tenant, "select * from user_two_factor") == []


def test_a_workspace_can_require_two_factor_of_admins(
    staff, make_user, client_for, clock, app, catalog
):
    tenant, clients = staff(roles=("Admin", "Managers"))
    admin = clients["Admin"]
    api = ApiClient(app, host_of(tenant), issue_token(catalog, tenant.slug, "admin", "t").plaintext)
    assert api.get("/api/products").status_int == 200
    form = form_with(admin.get("/settings"), "currency")
    form["admins_need_two_factor"] = True
    form.submit(status=303)

    # the Admin's API token waits for it too, and says so
    refused = api.get("/api/products", status=403).json
    assert "requires two-factor sign-in of Admins" in refused["message"]

    # the Admin is sent to set it up and can do nothing else
    for path in ("/", "/users", "/settings", "/audit", "/account/tokens"):
        assert admin.get(path, status=302).location.endswith("/account/two-factor"), path
    page = admin.get("/account/two-factor")
    assert "requires Admins" in page.text
    # other roles are not affected
    assert clients["Managers"].get("/products").status_int == 200

    secret = enrol(admin, clock)
    assert admin.get("/users").status_int == 200
    assert api.get("/api/products").status_int == 200
    rows, _ = events(admin, action="settings.update")
    assert ("settings.update", "admin", "sign-in policy") in rows
    # the next sign-in asks for the code
    clock.now += 30
    other = client_for(tenant)
    sign_in_with_code(other, "admin", tenant.admin_password, totp.code_at(secret, clock.now))
    assert other.get("/settings").status_int == 200
