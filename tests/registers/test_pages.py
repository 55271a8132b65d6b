"""Register and shift pages for each role: an Admin adds, renames and retires registers;
a Cashier opens a shift, moves cash, prints the X report, counts and closes (expected
and over/short shown before the close is confirmed) and gets the Z report, but manages
no register; bad input is a 400 with the field's message and writes nothing; another
tenant's register is a 404."""

from __future__ import annotations

import re

import pytest

from tests.accounts.support import csrf_token, fill, form_for, sql


def add_register(admin, name, status=303):
    page = admin.get("/registers")
    return fill(form_for(page, "/registers", "add-register"), name=name).submit(status=status)


def register_id(owner_engine, tenant, name):
    (row,) = sql(owner_engine, tenant, "select id from registers where name = :name", name=name)
    return row.id


def shifts(owner_engine, tenant):
    return sql(owner_engine, tenant, "select * from shifts order by opened_at")


@pytest.fixture(params=["pooled", "dedicated"])
def shop(request, staff, owner_engine):
    """(tenant, clients by role, the id of register "Till 1") in each placement."""
    tenant, clients = staff(request.param)
    add_register(clients["Admin"], "Till 1")
    return tenant, clients, register_id(owner_engine, tenant, "Till 1")


def test_a_cashier_runs_a_shift_from_float_to_z_report(shop, owner_engine):
    tenant, clients, till = shop
    cashier = clients["Cashiers"]
    listing = cashier.get("/registers")
    assert listing.html.select_one("[data-register='Till 1'] a")["href"].endswith(f"/{till}")
    assert listing.html.select_one("[data-testid=add-register]") is None

    page = cashier.get(f"/registers/{till}")
    fill(form_for(page, "/open"), opening_float="100.00").submit(status=303)
    page = cashier.get(f"/registers/{till}")
    assert "Shift open since" in page.html.select_one("[data-testid=shift-open]").text
    for kind, amount, reason in (("in", "20.00", "change from the bank"), ("out", "7.50", "milk")):
        fill(form_for(page, "/cash"), kind=kind, amount=amount, reason=reason).submit(status=303)
    page = cashier.get(f"/registers/{till}")
    assert page.html.select_one("[data-figure=expected_cash]").text == "112.50"

    (shift,) = shifts(owner_engine, tenant)
    x = cashier.get(f"/shifts/{shift.id}/report")
    assert x.html.select_one("[data-testid=x-report]") is not None
    assert x.html.select_one("link[rel=stylesheet]")["href"].endswith("receipt80.css")
    assert x.html.select_one("nav.menu") is None  # nothing but the report

    close = cashier.get(f"/registers/{till}/close")
    preview = fill(
        form_for(close, "/close", "count-form"), counted_cash="110.00", counted_card="0"
    ).submit(status=200)
    assert "Short by 2.50" in preview.html.select_one("[data-testid=over-short-total]").text
    cash = "[data-testid=preview] td[data-method=cash][data-col=over_short]"
    assert preview.html.select_one(cash).text.strip() == "-2.50"
    assert shifts(owner_engine, tenant)[0].closed_at is None  # a preview writes nothing

    z = form_for(preview, "/close", "confirm-close").submit(status=303)
    assert z.location.endswith(f"/shifts/{shift.id}/report")
    z = z.follow()
    assert z.html.select_one("[data-testid=z-report]") is not None
    assert "SHORT by 2.50" in z.html.select_one("[data-testid=over-short-total]").text
    (row,) = shifts(owner_engine, tenant)
    assert (str(row.expected_cash), str(row.counted_cash), str(row.counted_card)) == (
        "112.50",
        "110.00",
        "0.00",
    )
    assert row.counted_mobile_money is None
    assert row.closed_at is not None
    # a second confirm (back button, double click) closes nothing more
    again = form_for(preview, "/close", "confirm-close").submit(status=400)
    assert "closed already" in again.html.select_one("[role=alert]").text
    history = cashier.get(f"/registers/{till}/shifts")
    assert history.html.select_one(f"[data-shift='{shift.id}'] [data-col=over_short]").text == (
        "-2.50"
    )


@pytest.mark.parametrize(
    ("path", "fields", "field", "message"),
    [
        ("/open", {"opening_float": "ten"}, "opening_float", "The float must be a number"),
        ("/open", {"opening_float": "-1"}, "opening_float", "The float must be at least 0"),
        ("/cash", {"kind": "in", "amount": "0", "reason": "x"}, "amount", "at least 0.01"),
        ("/cash", {"kind": "in", "amount": "5", "reason": ""}, "reason", "Reason is required"),
        ("/cash", {"kind": "in", "amount": "5", "reason": "r" * 201}, "reason", "too long"),
        ("/cash", {"kind": "x", "amount": "5", "reason": "r"}, "kind", "must be one of"),
        ("/cash", {"kind": "in", "amount": "1" + "0" * 13, "reason": "r"}, "amount", "too large"),
        ("/cash", {"kind": "in", "amount": "1e13", "reason": "r"}, "amount", "must be a number"),
    ],
)
def test_bad_input_is_a_400_with_the_fields_message_and_writes_nothing(
    staff, owner_engine, path, fields, field, message
):
    tenant, clients = staff("pooled", roles=("Admin", "Cashiers"))
    add_register(clients["Admin"], "Till 1")
    till = register_id(owner_engine, tenant, "Till 1")
    cashier = clients["Cashiers"]
    if path == "/cash":
        fill(form_for(cashier.get(f"/registers/{till}"), "/open"), opening_float="0").submit()
    before = sql(owner_engine, tenant, "select count(*) from cash_movements")
    page = cashier.get(f"/registers/{till}")
    form = form_for(page, path)
    token = form["csrf_token"].value
    answer = cashier.post(f"/registers/{till}{path}", {"csrf_token": token, **fields}, status=400)
    errors = answer.html.select(f"#{field}-error, [role=alert]")
    assert any(message in e.text for e in errors), answer.text[:3000]
    assert sql(owner_engine, tenant, "select count(*) from cash_movements") == before
    assert len(shifts(owner_engine, tenant)) == (1 if path == "/cash" else 0)


def test_a_second_open_is_refused_and_a_closed_register_cannot_move_cash(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Admin", "Managers"))
    add_register(clients["Admin"], "Till 1")
    till = register_id(owner_engine, tenant, "Till 1")
    manager = clients["Managers"]
    page = manager.get(f"/registers/{till}")
    token = form_for(page, "/open")["csrf_token"].value
    manager.post(f"/registers/{till}/open", {"csrf_token": token, "opening_float": "5"}, status=303)
    again = manager.post(
        f"/registers/{till}/open", {"csrf_token": token, "opening_float": "5"}, status=400
    )
    assert "already has an open shift" in again.html.select_one("[role=alert]").text
    (shift,) = shifts(owner_engine, tenant)
    close = manager.get(f"/registers/{till}/close")
    fields = {"csrf_token": token, "shift_id": str(shift.id), "counted_cash": "5"}
    manager.post(f"/registers/{till}/close", {**fields, "action": "confirm"}, status=303)
    refused = manager.post(
        f"/registers/{till}/cash",
        {"csrf_token": token, "kind": "in", "amount": "1", "reason": "x"},
        status=400,
    )
    assert "no open shift" in refused.html.select_one("[role=alert]").text
    assert manager.get(f"/registers/{till}/close", status=303)
    assert close.status_int == 200


def test_an_admin_adds_renames_and_retires_registers_a_cashier_cannot(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Admin", "Cashiers"))
    admin, cashier = clients["Admin"], clients["Cashiers"]
    add_register(admin, "Till 1")
    duplicate = add_register(admin, "till 1", status=400)
    assert "already has a register named 'Till 1'" in duplicate.html.select_one("#name-error").text
    blank = add_register(admin, "", status=400)
    assert "Name is required" in blank.html.select_one("#name-error").text
    till = register_id(owner_engine, tenant, "Till 1")
    edit = admin.get(f"/registers/{till}/edit")
    fill(form_for(edit, "/edit"), name="Front till", active=False).submit(status=303)
    (row,) = sql(owner_engine, tenant, "select name, active from registers")
    assert (row.name, row.active) == ("Front till", False)
    # a retired register is listed for the Admin only, and opens no shift
    assert admin.get("/registers").html.select_one("[data-register='Front till']") is not None
    assert cashier.get("/registers").html.select_one("[data-register='Front till']") is None
    page = cashier.get(f"/registers/{till}")
    assert page.html.select_one("[data-testid=retired]") is not None
    token = csrf_token(cashier)
    cashier.post(f"/registers/{till}/open", {"csrf_token": token, "opening_float": "1"}, status=400)
    # what only an Admin may do
    cashier.post("/registers", {"csrf_token": token, "name": "Till 9"}, status=403)
    cashier.get(f"/registers/{till}/edit", status=403)
    cashier.post(f"/registers/{till}/edit", {"csrf_token": token, "name": "x"}, status=403)
    assert [r.name for r in sql(owner_engine, tenant, "select name from registers")] == [
        "Front till"
    ]


def test_another_tenants_register_and_shift_are_404(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Admin",))
    add_register(clients["Admin"], "Till 1")
    till = register_id(owner_engine, tenant, "Till 1")
    admin = clients["Admin"]
    page = admin.get(f"/registers/{till}")
    fill(form_for(page, "/open"), opening_float="1").submit(status=303)
    (shift,) = shifts(owner_engine, tenant)
    _other, other_clients = staff("pooled", roles=("Admin", "Cashiers"))
    for role, client in other_clients.items():
        for path in (
            f"/registers/{till}",
            f"/registers/{till}/shifts",
            f"/registers/{till}/close",
            f"/shifts/{shift.id}/report",
            "/registers/not-an-id",
            "/shifts/not-an-id/report",
        ):
            client.get(path, status=404)
        if role == "Admin":
            client.get(f"/registers/{till}/edit", status=404)
    token = csrf_token(other_clients["Cashiers"])
    other_clients["Cashiers"].post(
        f"/registers/{till}/cash",
        {"csrf_token": token, "kind": "out", "amount": "1", "reason": "x"},
        status=404,
    )


def test_visitors_sign_in_first(staff, client_for):
    tenant, _ = staff("pooled", roles=())
    visitor = client_for(tenant)
    for path in ("/registers", "/registers/0190f0f0-0000-7000-8000-000000000000"):
        assert re.search(r"/login", visitor.get(path, status=302).location)
