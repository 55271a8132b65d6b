"""Workspace settings (Admin): negative stock, currency, receipt footer."""

import pytest

from salesapp.db import tenant_session
from salesapp.preferences.services import SettingsService
from tests.accounts.support import fill, form_for, sql


def stored(owner_engine, tenant):
    rows = sql(owner_engine, tenant, "select * from workspace_settings")
    assert len(rows) <= 1
    return rows[0] if rows else None


def settings_form(admin):
    page = admin.get("/settings")
    assert page.status_int == 200
    return form_for(page, "/settings")


@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
def test_admin_changes_the_settings(staff, owner_engine, placement):
    tenant, clients = staff(placement, roles=("Admin",))
    admin = clients["Admin"]
    form = settings_form(admin)
    assert form["currency"].value == "USD"
    assert form["allow_negative_stock"].checked is False
    res = fill(
        form,
        allow_negative_stock=True,
        currency=" kes ",
        receipt_footer="Thank you!\r\nGoods once sold are not returned.",
    ).submit(status=303)
    assert "Settings saved." in res.follow().text
    row = stored(owner_engine, tenant)
    assert row.allow_negative_stock is True
    assert row.currency == "KES"
    assert row.receipt_footer == "Thank you!\nGoods once sold are not returned."

    form = settings_form(admin)
    assert form["allow_negative_stock"].checked is True and form["currency"].value == "KES"
    fill(form, allow_negative_stock=False, receipt_footer="").submit(status=303)
    row = stored(owner_engine, tenant)
    assert row.allow_negative_stock is False and row.receipt_footer == "" and row.currency == "KES"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"currency": ""}, "currency", "is required"),
        ({"currency": "US"}, "currency", "three letters"),
        ({"currency": "U5D"}, "currency", "three letters"),
        ({"currency": "DOLLAR"}, "currency", "at most 3"),
        ({"currency": "€€€"}, "currency", "three letters"),
        ({"receipt_footer": "x" * 501}, "receipt_footer", "at most 500"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(staff, owner_engine, values, field, message):
    tenant, clients = staff(roles=("Admin",))
    before = stored(owner_engine, tenant)
    form = fill(settings_form(clients["Admin"]), allow_negative_stock=True, **values)
    res = form.submit(status=400)
    assert message in res.html.select_one(f"#{field}-error").text
    assert stored(owner_engine, tenant) == before


def test_a_footer_of_500_characters_with_line_breaks_fits(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    footer = "\r\n".join(["x" * 99] * 5)  # 495 characters plus 4 line breaks
    fill(settings_form(clients["Admin"]), receipt_footer=footer).submit(status=303)
    assert len(stored(owner_engine, tenant).receipt_footer) == 499


def test_a_missing_settings_row_is_created_with_defaults(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    sql(owner_engine, tenant, "delete from workspace_settings")
    assert stored(owner_engine, tenant) is None
    assert settings_form(clients["Admin"])["currency"].value == "USD"
    row = stored(owner_engine, tenant)
    assert row.currency == "USD" and row.allow_negative_stock is False


def test_the_service_get_is_what_the_point_of_sale_reads(make_tenant, owner_engine):
    tenant = make_tenant("pooled")
    engine = owner_engine(tenant.store_name)
    with tenant_session(engine, tenant.id) as db, db.begin():
        settings = SettingsService(db, tenant.id)
        assert settings.get().currency == "USD"
        settings.update(allow_negative_stock=True, currency="EUR", receipt_footer="Bye")
    with tenant_session(engine, tenant.id) as db, db.begin():
        row = SettingsService(db, tenant.id).get()
        assert (row.allow_negative_stock, row.currency, row.receipt_footer) == (True, "EUR", "Bye")
    sql(owner_engine, tenant, "delete from workspace_settings")
    with tenant_session(engine, tenant.id) as db, db.begin():
        assert SettingsService(db, tenant.id).get().currency == "USD"
    assert stored(owner_engine, tenant).tenant_id == tenant.id
