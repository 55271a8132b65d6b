"""Staff PINs (issue 17): set on one's own PIN page, refused when trivially weak, stored
as an Argon2 hash with the passwords' parameters and never shown; checked with one
Argon2 run whoever is asked about, throttled per address and user like sign-in (five
free wrong PINs, then 1, 2, 4 ... minutes), never locking the user out; and a Manager's
or Admin's approval by PIN."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select, text

from salesapp.accounts.models import User, UserPin
from salesapp.accounts.pins import PinService, PinThrottled, check_pin
from salesapp.accounts.services import AccountError, make_password_hasher
from salesapp.accounts.throttle import FREE_FAILURES, MAX_DELAY
from salesapp.operations import door
from salesapp.security import sign_in_throttle
from tests.accounts.support import sql
from tests.accounts.test_throttling import age_failures
from tests.conftest import form_with


@pytest.fixture(params=["pooled", "dedicated"])
def placement(request):
    return request.param


@pytest.fixture(scope="module")
def throttle(settings):
    made = sign_in_throttle(settings)
    yield made
    made.close()


@contextlib.contextmanager
def pins(catalog, tenant, throttle=None):
    """(PinService, users by name) on the tenant's store, committed at the end."""
    with door.tenant_session(catalog, tenant) as db:
        hasher = make_password_hasher(catalog.settings)
        users = {u.username: u for u in db.scalars(select(User))}
        yield PinService(db, tenant.id, hasher, throttle=throttle), users


@pytest.mark.parametrize(
    "weak", ["1111", "00000000", "1234", "4321", "7890", "0987", "12345678", "1212", "454545"]
)
def test_trivially_weak_pins_are_refused(weak):
    with pytest.raises(AccountError, match="among the first anyone would try") as refused:
        check_pin(weak)
    assert refused.value.field == "pin"


@pytest.mark.parametrize(
    ("bad", "message"),
    [("123", "4 to 8 digits"), ("123456789", "4 to 8 digits"), ("12a4", "digits 0-9 only"),
     ("١٢٣٤", "digits 0-9 only"), ("", "digits 0-9 only"), (" 2580", "digits 0-9 only")],
)  # fmt: skip
def test_a_pin_is_4_to_8_ascii_digits(bad, message):
    with pytest.raises(AccountError, match=message):
        check_pin(bad)


@pytest.mark.parametrize("good", ["2580", "1357", "90210", "31415926", "1123"])
def test_other_pins_are_taken(good):
    assert check_pin(good) == good


def test_a_pin_is_stored_hashed_and_verified(
    make_tenant, make_user, catalog, owner_engine, placement
):
    tenant = make_tenant(placement)
    cashier, _ = make_user(tenant, ("Cashiers",))
    with pins(catalog, tenant) as (service, users):
        assert not service.has_pin(users[cashier])
        service.set_pin(users[cashier], "2580")
        assert service.has_pin(users[cashier])
    (row,) = sql(owner_engine, tenant, "select * from user_pins")
    assert row.pin_hash.startswith("$argon2id$")
    assert "2580" not in row.pin_hash
    assert f"m={catalog.settings.argon2_memory_cost},t={catalog.settings.argon2_time_cost}" in (
        row.pin_hash
    )  # the deployment's parameters, as passwords'
    with pins(catalog, tenant) as (service, users):
        assert service.verify(users[cashier], "2580")
        assert not service.verify(users[cashier], "2581")
        assert not service.verify(users["admin"], "2580")  # no PIN: never right
        assert service.clear_pin(users[cashier])
        assert not service.verify(users[cashier], "2580")
        assert not service.clear_pin(users[cashier])
    actions = [r.action for r in sql(owner_engine, tenant, "select action from audit_events")]
    assert {"user.pin.set", "user.pin.clear", "auth.pin_failed"} <= set(actions)


def test_an_inactive_user_s_pin_is_never_right(make_tenant, make_user, catalog):
    tenant = make_tenant("pooled")
    cashier, _ = make_user(tenant, ("Cashiers",))
    with pins(catalog, tenant) as (service, users):
        service.set_pin(users[cashier], "2580")
        users[cashier].is_active = False
        assert not service.verify(users[cashier], "2580")


def test_wrong_pins_wait_longer_and_longer_but_lock_nobody_out(
    make_tenant, make_user, catalog, throttle
):
    tenant = make_tenant("pooled")
    cashier, _ = make_user(tenant, ("Cashiers",))
    address = "198.51.100.71"
    with pins(catalog, tenant, throttle) as (service, users):
        service.set_pin(users[cashier], "2580")
    with pins(catalog, tenant, throttle) as (service, users):
        for _ in range(FREE_FAILURES):
            assert not service.verify(users[cashier], "9999", address)
        waits = []
        for _ in range(5):
            with pytest.raises(PinThrottled, match="Too many wrong PINs") as refused:
                service.verify(users[cashier], "2580", address)  # even the right one waits
            waits.append(refused.value.retry_after)
            age_failures(catalog, address, MAX_DELAY)  # waited it out
            assert not service.verify(users[cashier], "9999", address)
        assert waits == [60, 120, 240, 480, 900]
        # from another address (the owner at another till) the right PIN works at once
        assert service.verify(users[cashier], "2580", "198.51.100.72")
        # and another user's PIN from the same address is counted apart
        service.set_pin(users["admin"], "1357")
        assert service.verify(users["admin"], "1357", address)


def test_a_right_pin_starts_a_fresh_count(make_tenant, make_user, catalog, throttle):
    tenant = make_tenant("pooled")
    cashier, _ = make_user(tenant, ("Cashiers",))
    address = "198.51.100.73"
    with pins(catalog, tenant, throttle) as (service, users):
        service.set_pin(users[cashier], "2580")
        for _ in range(FREE_FAILURES - 1):
            assert not service.verify(users[cashier], "9999", address)
        assert service.verify(users[cashier], "2580", address)
        for _ in range(FREE_FAILURES - 1):
            assert not service.verify(users[cashier], "9999", address)
        assert service.verify(users[cashier], "2580", address)


class CountingHasher:
    """The hasher, counting its verifications (the start of each hash compared)."""

    def __init__(self, hasher):
        self.hasher, self.runs = hasher, []

    def verify(self, pin_hash, pin):
        self.runs.append(pin_hash[:10])
        return self.hasher.verify(pin_hash, pin)

    def __getattr__(self, name):
        return getattr(self.hasher, name)


def test_known_and_unknown_users_are_answered_alike(make_tenant, make_user, catalog, throttle):
    """Someone with a PIN, someone without, and an id that is nobody's: the same answers,
    the same waits, each after one Argon2 run."""
    tenant = make_tenant("pooled")
    cashier, _ = make_user(tenant, ("Managers",))
    other, _ = make_user(tenant, ("Managers",))
    with pins(catalog, tenant, throttle) as (service, users):
        service.set_pin(users[cashier], "2580")
        service.hasher = counting = CountingHasher(service.hasher)
        nobody = "0190a000-0000-7000-8000-000000000000"
        answers = {}
        for name, user_id, address in (
            ("with a PIN", users[cashier].id, "198.51.100.74"),
            ("without one", users[other].id, "198.51.100.75"),
            ("nobody", nobody, "198.51.100.76"),
            ("not an id", "x" * 300, "198.51.100.77"),
        ):
            seen = []
            for _ in range(FREE_FAILURES):
                seen.append(service.approve(user_id, "9999", address))
            with pytest.raises(PinThrottled) as refused:
                service.approve(user_id, "9999", address)
            answers[name] = (seen, str(refused.value), refused.value.retry_after)
    assert len(set(map(repr, answers.values()))) == 1, answers
    assert len(counting.runs) == 4 * FREE_FAILURES
    assert all(run.startswith("$argon2id") for run in counting.runs)


def test_only_managers_and_admins_approve(make_tenant, make_user, catalog):
    tenant = make_tenant("pooled")
    manager, _ = make_user(tenant, ("Managers",))
    cashier, _ = make_user(tenant, ("Cashiers",))
    with pins(catalog, tenant) as (service, users):
        for name, pin in ((manager, "2580"), (cashier, "1357"), ("admin", "8642")):
            service.set_pin(users[name], pin)
        assert service.approve(users[manager].id, "2580") is users[manager]
        assert service.approve(str(users["admin"].id), "8642") is users["admin"]
        assert service.approve(users[cashier].id, "1357") is None  # right PIN, no role
        assert service.approve(users[cashier].id, "1357", roles=frozenset({"Cashiers"}))
        assert service.approve(users[manager].id, "2581") is None
        assert service.approve("not-an-id", "2580") is None
        assert service.approve(None, "2580") is None


# -- the PIN page ------------------------------------------------------------------------
def test_a_user_sets_changes_and_removes_their_pin_on_their_page(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Cashiers",))
    web = clients["Cashiers"]
    page = web.get("/account/pin")
    assert "You have no PIN." in page.text
    form = form_with(page, "pin")
    form["pin"], form["confirm_pin"] = "1234", "1234"
    res = form.submit(status=400)
    assert "among the first anyone would try" in res.html.select_one("#pin-error").text
    form = form_with(res, "pin")
    form["pin"], form["confirm_pin"] = "2580", "2581"
    res = form.submit(status=400)
    assert "The two PINs differ" in res.html.select_one("#confirm_pin-error").text
    assert sql(owner_engine, tenant, "select * from user_pins") == []  # nothing written
    form = form_with(res, "pin")
    form["pin"], form["confirm_pin"] = "2580", "2580"
    page = form.submit(status=303).follow()
    assert "Your PIN is set" in page.text
    assert "2580" not in page.text
    assert "(set " in page.html.select_one('[data-testid="pin-status"]').text
    (row,) = sql(owner_engine, tenant, "select pin_hash from user_pins")
    assert "2580" not in row.pin_hash
    clear = next(
        f for f in page.forms.values() if f.html.form.get("data-testid") == "clear-pin-form"
    )
    assert "Your PIN is removed" in clear.submit(status=303).follow().text
    assert sql(owner_engine, tenant, "select * from user_pins") == []


def test_an_admin_removes_a_user_s_pin(staff, make_user, catalog, owner_engine):
    tenant, clients = staff("pooled", roles=("Admin",))
    cashier, _ = make_user(tenant, ("Cashiers",))
    with pins(catalog, tenant) as (service, users):
        service.set_pin(users[cashier], "2580")
        cashier_id = users[cashier].id
    page = clients["Admin"].get(f"/users/{cashier_id}/edit")
    form = next(f for f in page.forms.values() if f.html.form.get("data-testid") == "pin-form")
    assert "PIN was removed" in form.submit(status=303).follow().text
    assert sql(owner_engine, tenant, "select * from user_pins") == []


def test_no_pin_table_row_of_another_tenant_is_seen(make_tenant, make_user, catalog, app_engine):
    """RLS on user_pins, as the app role."""
    from salesapp.db import tenant_session

    tenant, other = make_tenant("pooled"), make_tenant("pooled")
    with pins(catalog, tenant) as (service, users):
        service.set_pin(users["admin"], "2580")
    with tenant_session(app_engine(other.store_name), other.id) as db, db.begin():
        assert db.scalars(select(UserPin)).all() == []
        assert db.execute(text("select count(*) from user_pins")).scalar() == 0
