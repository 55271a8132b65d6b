"""Where a user may sell (issue 17): no ties, anywhere; a location tie, any register of
it; a register tie, that register only; the Admin ties users on the user page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from salesapp.accounts.models import User
from salesapp.accounts.places import allowed_location_ids, may_sell_at, set_ties
from salesapp.operations import door
from tests.accounts.support import sql
from tests.accounts.till_support import add_location, add_register, default_location_id


@pytest.fixture(params=["pooled", "dedicated"])
def placement(request):
    return request.param


def test_ties_decide_where_a_user_may_sell(make_tenant, make_user, catalog, placement):
    tenant = make_tenant(placement)
    cashier, _ = make_user(tenant, ("Cashiers",))
    shop, kiosk = default_location_id(catalog, tenant), add_location(catalog, tenant, "Kiosk")
    front, back = add_register(catalog, tenant, "Front"), add_register(catalog, tenant, "Back")
    booth = add_register(catalog, tenant, "Booth", kiosk)
    with door.tenant_session(catalog, tenant) as db:
        user = db.scalars(select(User).where(User.username == cashier)).one()
        assert allowed_location_ids(db, user) is None  # no ties: anywhere
        assert may_sell_at(db, user, kiosk, booth)

        set_ties(db, tenant.id, user, [], [front])
        assert allowed_location_ids(db, user) == {shop}
        assert may_sell_at(db, user, shop, front)
        assert may_sell_at(db, user, shop)  # the location of a tied register
        assert not may_sell_at(db, user, shop, back)  # another register there
        assert not may_sell_at(db, user, kiosk, booth)
        assert not may_sell_at(db, user, kiosk, front)  # a register is not elsewhere

        set_ties(db, tenant.id, user, [kiosk], [front])
        assert allowed_location_ids(db, user) == {shop, kiosk}
        assert may_sell_at(db, user, kiosk, booth) and may_sell_at(db, user, kiosk)  # noqa: PT018
        assert not may_sell_at(db, user, shop, back)

        set_ties(db, tenant.id, user, [], [])
        assert allowed_location_ids(db, user) is None


def test_the_admin_ties_a_user_on_the_user_page(staff, make_user, catalog, owner_engine):
    tenant, clients = staff("pooled", roles=("Admin",))
    cashier, _ = make_user(tenant, ("Cashiers",), full_name="Carl")
    kiosk = add_location(catalog, tenant, "Kiosk")
    front = add_register(catalog, tenant, "Front")
    with door.tenant_session(catalog, tenant) as db:
        cashier_id = db.scalars(select(User.id).where(User.username == cashier)).one()
    admin = clients["Admin"]
    page = admin.get(f"/users/{cashier_id}/edit")
    form = (
        page.forms["user-form"]
        if "user-form" in page.forms
        else next(f for f in page.forms.values() if f.html.form.get("data-testid") == "user-form")
    )
    for box in form.fields["locations"]:
        box.checked = box._value == str(kiosk)
    for box in form.fields["registers"]:
        box.checked = box._value == str(front)
    form.submit(status=303)
    rows = sql(owner_engine, tenant, "select location_id from user_locations")
    assert [r.location_id for r in rows] == [kiosk]
    rows = sql(owner_engine, tenant, "select register_id from user_registers")
    assert [r.register_id for r in rows] == [front]
    page = admin.get(f"/users/{cashier_id}/edit")
    checked = {i["value"] for i in page.html.select("[data-testid=places] input[checked]")}
    assert checked == {str(kiosk), str(front)}

    # an id not offered: 400 naming the field, nothing written
    csrf = form["csrf_token"].value
    res = admin.post(
        f"/users/{cashier_id}/edit",
        {
            "csrf_token": csrf,
            "action": "save",
            "full_name": "Carl",
            "email": "",
            "roles": "Cashiers",
            "active": "1",
            "locations": "0190a000-0000-7000-8000-000000000000",
        },
        status=400,
    )
    assert "choose among the locations listed" in res.html.select_one("#locations-error").text
    assert len(sql(owner_engine, tenant, "select * from user_locations")) == 1
    # ticking nothing: anywhere again
    page = admin.get(f"/users/{cashier_id}/edit")
    form = next(f for f in page.forms.values() if f.html.form.get("data-testid") == "user-form")
    for name in ("locations", "registers"):
        for box in form.fields[name]:
            box.checked = False
    form.submit(status=303)
    assert sql(owner_engine, tenant, "select * from user_locations") == []
    assert sql(owner_engine, tenant, "select * from user_registers") == []


def test_a_sale_at_a_location_the_user_is_not_tied_to_is_refused(
    make_tenant, make_user, catalog, placement
):
    from salesapp.sales.services import SaleError, SaleService

    tenant = make_tenant(placement)
    cashier, _ = make_user(tenant, ("Cashiers",))
    shop, kiosk = default_location_id(catalog, tenant), add_location(catalog, tenant, "Kiosk")
    with door.tenant_session(catalog, tenant) as db:
        user = db.scalars(select(User).where(User.username == cashier)).one()
        set_ties(db, tenant.id, user, [kiosk], [])
        with pytest.raises(SaleError) as refused:
            SaleService(db, tenant.id, user, sees_all=False).complete([], [], location_id=shop)
        assert "not set up to sell at" in refused.value.errors["location_id"]
