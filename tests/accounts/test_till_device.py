"""A shared till (issue 17): a Manager makes a browser a till device, Lock till ends the
cashier's turn, the next one taps their name and types their PIN, and every sale names
who rang it; a wrong PIN counts; a one-time password cannot take a till; the Manager's
sign-out ends till mode."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.accounts.support import sql
from tests.accounts.till_support import (
    add_location,
    add_register,
    lock,
    make_till,
    open_shift,
    set_pin,
    stocked_product,
    unlock,
    user_id,
    who,
)
from tests.conftest import form_with, sign_in


@pytest.fixture(params=["pooled", "dedicated"])
def placement(request):
    return request.param


@pytest.fixture
def shop(make_tenant, make_user, client_for, catalog):
    """make(placement) -> (tenant, the till's browser signed in as its Manager, names):
    a register, a Manager and a Cashier with PINs (2580, 1357)."""

    def make(placement="pooled"):
        tenant = make_tenant(placement)
        manager, manager_password = make_user(tenant, ("Managers",), full_name="Mona Manager")
        cashier, _ = make_user(tenant, ("Cashiers",), full_name="Carl Cashier")
        set_pin(catalog, tenant, manager, "2580")
        set_pin(catalog, tenant, cashier, "1357")
        register = add_register(catalog, tenant, "Front till")
        open_shift(catalog, tenant, register, manager)
        till = client_for(tenant, REMOTE_ADDR="198.51.100.90")
        sign_in(till, manager, manager_password)
        names = {
            "manager": manager,
            "manager_password": manager_password,
            "cashier": cashier,
            "register": register,
        }
        return tenant, till, names

    return make


def ring_a_sale(client, product_sku="TEA"):
    """One unit by the scan box, paid in cash, through the till form as it is today."""
    form = client.get("/pos").forms["scan-form"]
    form["code"] = product_sku
    form.submit(status=303)
    form = client.get("/pos").forms["cart-form"]
    form["pay_cash"] = "10.00"
    form.action = "/pos/complete"
    return form.submit(status=303)


def test_a_cashier_switches_in_by_pin_and_the_sale_names_them(shop, catalog, placement):
    tenant, till, names = shop(placement)
    stocked_product(catalog, tenant, "TEA")
    page = make_till(till, names["register"]).follow()
    status = page.html.select_one('[data-testid="till-status"]').get_text(" ", strip=True)
    assert "This browser is a till for Front till" in status
    assert who(till) == "Mona Manager"

    locked = lock(till).follow()
    assert locked.request.path == "/till/unlock"
    assert '[data-testid="who"]' not in locked.text  # nobody signed in
    listed = [a.text.strip() for a in locked.html.select('[data-testid="pin-name"]')]
    assert listed == ["Carl Cashier", "Mona Manager"]
    till.get("/pos", status=302)  # locked: the till itself is closed

    cashier_id = user_id(catalog, tenant, names["cashier"])
    res = unlock(till, cashier_id, "1357")
    assert res.location.endswith("/pos")
    assert who(till) == "Carl Cashier"
    ring_a_sale(till)
    (sale,) = sql_rows(catalog, tenant, "select user_id from sales")
    assert sale.user_id == cashier_id
    events = [r.action for r in sql_rows(catalog, tenant, "select action from audit_events")]
    assert {"till.device", "till.lock", "till.switch"} <= set(events)

    # the next cashier, the Manager, again by PIN: the next sale names her
    lock(till)
    unlock(till, user_id(catalog, tenant, names["manager"]), "2580")
    ring_a_sale(till)
    rows = sql_rows(catalog, tenant, "select user_id from sales order by number")
    assert [r.user_id for r in rows] == [cashier_id, user_id(catalog, tenant, names["manager"])]


def sql_rows(catalog, tenant, statement):
    from salesapp.operations import door

    with door.tenant_session(catalog, tenant) as db:
        return db.execute(text(statement)).all()


def test_a_wrong_pin_is_refused_counted_and_the_till_stays_locked(shop, catalog):
    tenant, till, names = shop()
    make_till(till, names["register"])
    lock(till)
    cashier_id = user_id(catalog, tenant, names["cashier"])
    res = unlock(till, cashier_id, "9999", status=400)
    assert "That PIN is not right" in res.html.select_one("[role=alert]").text
    assert res.html.select_one('[data-testid="pin-who"]').text == "Carl Cashier"
    till.get("/pos", status=302)
    for _ in range(4):
        unlock(till, cashier_id, "9999", status=400)
    res = unlock(till, cashier_id, "1357", status=429)  # now even the right one waits
    assert "Too many wrong PINs" in res.text
    assert res.headers["Retry-After"] == "60"
    events = [r.action for r in sql_rows(catalog, tenant, "select action from audit_events")]
    assert events.count("auth.pin_failed") == 5


def test_someone_with_a_one_time_password_must_sign_in_fully_first(
    shop, make_user, catalog, client_for
):
    tenant, till, names = shop()
    newcomer, _ = make_user(tenant, ("Cashiers",), full_name="Nia New", must_change_password=True)
    set_pin(catalog, tenant, newcomer, "8642")
    make_till(till, names["register"])
    lock(till)
    res = unlock(till, user_id(catalog, tenant, newcomer), "8642", status=403)
    assert "must sign in with their password and change their one-time password" in res.text
    till.get("/pos", status=302)


def test_a_pin_session_may_not_touch_credentials_or_administration(shop, catalog):
    tenant, till, names = shop()
    make_till(till, names["register"])
    lock(till)
    unlock(till, user_id(catalog, tenant, names["manager"]), "2580")
    assert who(till) == "Mona Manager"
    for path in ("/account/pin", "/account/password", "/account/two-factor", "/till"):
        till.get(path, status=403)
    page = till.get("/account/tokens")
    assert not page.html.select('[data-testid="create-token-form"]')
    till.get("/products", status=200)  # the Manager's work goes on


def sign_out_form(page):
    """The top bar's Sign out form (on a till device, Lock till comes before it)."""
    [form] = [f for f in page.forms.values() if f.action.endswith("/logout")]
    return form


def test_a_cashier_signing_out_locks_the_till_a_manager_ends_till_mode(shop, catalog):
    tenant, till, names = shop()
    make_till(till, names["register"])
    lock(till)
    unlock(till, user_id(catalog, tenant, names["cashier"]), "1357")
    res = sign_out_form(till.get("/")).submit(status=303)  # the top bar's Sign out
    assert res.location.endswith("/till/unlock")
    assert till.get("/till/unlock").status_int == 200  # still a till

    unlock(till, user_id(catalog, tenant, names["manager"]), "2580")
    res = sign_out_form(till.get("/")).submit(status=303)
    assert res.location.endswith("/login")
    assert till.get("/till/unlock", status=303).location.endswith("/login")  # not a till now


def test_the_manager_signing_out_elsewhere_ends_till_mode_and_its_turns(shop, catalog, client_for):
    tenant, till, names = shop()
    make_till(till, names["register"])
    lock(till)
    unlock(till, user_id(catalog, tenant, names["cashier"]), "1357")
    assert who(till) == "Carl Cashier"
    phone = client_for(tenant)
    sign_in(phone, names["manager"], names["manager_password"])
    form_with(phone.get("/"), "csrf_token").submit(status=303)  # signs out everywhere
    till.get("/pos", status=302)  # the PIN turn ended with the till device
    assert till.get("/till/unlock", status=303).location.endswith("/login")


def test_only_managers_and_admins_make_a_till(staff, catalog):
    tenant, clients = staff("pooled", roles=("Cashiers", "Managers"))
    clients["Cashiers"].get("/till", status=403)
    page = clients["Managers"].get("/till")
    assert "There is no active register yet" in page.text
    register = add_register(catalog, tenant, "Back till")
    csrf = form_with(clients["Managers"].get("/till"), "register_id")["csrf_token"].value
    clients["Cashiers"].post(
        "/till", {"csrf_token": csrf, "action": "make", "register_id": str(register)}, status=403
    )
    for bad in ("", "nope", "0190a000-0000-7000-8000-000000000000"):
        res = clients["Managers"].post(
            "/till", {"csrf_token": csrf, "action": "make", "register_id": bad}, status=400
        )
        assert res.html.select_one("#register_id-error")
    clients["Managers"].post("/till/lock", {"csrf_token": csrf}, status=404)  # not a till


def test_the_pin_pad_lists_only_the_register_s_staff(shop, make_user, catalog):
    tenant, till, names = shop()
    elsewhere = add_location(catalog, tenant, "Airport kiosk")
    away, _ = make_user(tenant, ("Cashiers",), full_name="Ada Away")
    set_pin(catalog, tenant, away, "4826")
    no_pin, _ = make_user(tenant, ("Cashiers",), full_name="Pat Pinless")
    away_id = user_id(catalog, tenant, away)
    from salesapp.operations import door

    with door.tenant_session(catalog, tenant) as db:
        db.execute(
            text(
                "insert into user_locations (tenant_id, user_id, location_id) values (:t, :u, :l)"
            ),
            {"t": tenant.id, "u": away_id, "l": elsewhere},
        )
    make_till(till, names["register"])
    page = lock(till).follow()
    listed = [a.text.strip() for a in page.html.select('[data-testid="pin-name"]')]
    assert listed == ["Carl Cashier", "Mona Manager"]  # not Ada (elsewhere), not Pat (no PIN)
    res = unlock_by_post(till, away_id, "4826", status=400)
    assert "Choose your name first" in res.text
    assert no_pin


def unlock_by_post(till, user, pin, status):
    pad = till.get("/till/unlock")
    chosen = till.get(pad.html.select_one('[data-testid="pin-name"]')["href"])
    csrf = form_with(chosen, "pin")["csrf_token"].value
    return till.post(
        "/till/unlock", {"csrf_token": csrf, "user_id": str(user), "pin": pin}, status=status
    )


def test_a_stranger_without_a_till_is_sent_to_sign_in(client_for, tenant_a):
    stranger = client_for(tenant_a)
    assert stranger.get("/till/unlock", status=303).location.endswith("/login")
    assert sql  # the helpers' module is shared
