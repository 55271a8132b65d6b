"""The settings page's issue 18 fields: time zone, locale, currency with its decimals,
prices with or without tax, tax rounding and the business's details. Each saved, each
bad one refused with the field named and nothing saved, a Cashier refused, and the
discount caps read and shown in the workspace's locale."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from salesapp.accounts.models import User
from salesapp.ids import uuid7
from salesapp.inventory.services import InventoryService
from salesapp.operations import door
from salesapp.products.models import Product
from salesapp.sales.services import CartLine, PaymentInput, SaleService
from tests.accounts.support import fill, sql
from tests.preferences.test_settings import settings_form, stored

DETAILS = {
    "legal_name": "Mama Njeri Stores Ltd",
    "address": "Shop 4, Moi Avenue\r\nNairobi",
    "phone": "+254 712 345 678",
    "tax_number": "P051234567Q",
    "receipt_header": "Open 08:00-20:00",
}


def audited(owner_engine, tenant) -> list:
    return sql(
        owner_engine,
        tenant,
        "select target, detail from audit_events where action = 'settings.update' order by at, id",
    )


def test_every_field_is_saved_and_shown_again(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    form = settings_form(admin)
    assert (form["time_zone"].value, form["locale"].value) == ("UTC", "en_US")
    assert form["prices_include_tax"].value == "0"
    assert form["tax_rounding"].value == "line"
    fill(
        form,
        time_zone="Africa/Nairobi",
        locale="en_KE",
        currency="KES",
        prices_include_tax="1",
        tax_rounding="invoice",
        **DETAILS,
    ).submit(status=303)
    row = stored(owner_engine, tenant)
    assert (row.time_zone, row.locale, row.currency) == ("Africa/Nairobi", "en_KE", "KES")
    assert row.prices_include_tax is True
    assert row.tax_rounding == "invoice"
    assert row.address == "Shop 4, Moi Avenue\nNairobi"  # one character per line break
    for name in ("legal_name", "phone", "tax_number", "receipt_header"):
        assert getattr(row, name) == DETAILS[name]

    page = admin.get("/settings")
    form = settings_form(admin)
    assert form["time_zone"].value == "Africa/Nairobi"
    assert form["locale"].value == "en_KE"
    assert form["prices_include_tax"].value == "1"
    assert form["tax_rounding"].value == "invoice"
    assert form["legal_name"].value == DETAILS["legal_name"]
    assert page.html.select_one("[data-testid=currency-decimals]").text.startswith(
        "KES — 2 decimals"
    )
    assert "Africa/Nairobi" in [o["value"] for o in page.html.select("#zone-names option")]

    # the audit trail has the change, old and new
    (target, detail) = audited(owner_engine, tenant)[-1]
    assert target == "workspace settings"
    assert detail["time_zone"] == ["UTC", "Africa/Nairobi"]
    assert detail["locale"] == ["en_US", "en_KE"]
    assert detail["prices_include_tax"] == [False, True]
    assert detail["legal_name"] == ["", DETAILS["legal_name"]]


@pytest.mark.parametrize(
    ("code", "shown"), [("JPY", "JPY — no decimals"), ("BHD", "BHD — 3 decimals")]
)
def test_the_currencys_decimals_are_shown(staff, code, shown):
    _, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    fill(settings_form(admin), currency=code).submit(status=303)
    text = admin.get("/settings").html.select_one("[data-testid=currency-decimals]").text
    assert text.startswith(shown)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"time_zone": "Nairobi"}, "time_zone", "IANA name such as Africa/Nairobi"),
        ({"time_zone": "Africa/Atlantis"}, "time_zone", "IANA name"),
        ({"time_zone": ""}, "time_zone", "is required"),
        ({"time_zone": "x" * 65}, "time_zone", "at most 64"),
        ({"locale": "xx_XX"}, "locale", "must be one of en_US"),
        ({"currency": "XYZ"}, "currency", "ISO 4217"),
        ({"currency": "KSH"}, "currency", "no such ISO 4217 currency"),
        ({"prices_include_tax": "maybe"}, "prices_include_tax", "must be one of 1, 0"),
        ({"tax_rounding": "sometimes"}, "tax_rounding", "must be one of line, invoice"),
        ({"legal_name": "x" * 201}, "legal_name", "at most 200"),
        ({"address": "x" * 501}, "address", "at most 500"),
        ({"phone": "1" * 41}, "phone", "at most 40"),
        ({"tax_number": "P" * 61}, "tax_number", "at most 60"),
        ({"receipt_header": "x" * 501}, "receipt_header", "at most 500"),
    ],
)
def test_a_bad_field_is_refused_by_name_and_nothing_is_saved(
    staff, owner_engine, values, field, message
):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    before = stored(owner_engine, tenant)
    form = settings_form(admin)
    data = dict(form.submit_fields())
    data.update({"locale": "de_DE", "time_zone": "Europe/Berlin", "legal_name": "New", **values})
    res = admin.post("/settings", data, status=400)
    assert message in res.html.select_one(f"#{field}-error").text
    assert "Nothing was saved" in res.text
    assert stored(owner_engine, tenant) == before
    # what was typed is shown again, to be corrected
    shown = res.html.select_one(f"#{field}")
    if shown is not None and shown.name == "textarea":
        assert shown.text == values[field]
    elif shown is not None and shown.name == "input":
        assert shown["value"] == values[field]
    if field != "legal_name":
        assert res.html.select_one("#legal_name")["value"] == "New"


def test_a_cashier_or_a_manager_cannot_change_settings(staff, owner_engine):
    tenant, clients = staff(roles=("Admin", "Managers", "Cashiers"))
    token = settings_form(clients["Admin"])["csrf_token"].value
    before = stored(owner_engine, tenant)
    for role in ("Cashiers", "Managers"):
        client = clients[role]
        client.get("/settings", status=403)
        csrf = client.get("/").forms[0]["csrf_token"].value
        client.post(
            "/settings",
            {
                "csrf_token": csrf,
                "currency": "EUR",
                "time_zone": "Europe/Berlin",
                "locale": "de_DE",
            },
            status=403,
        )
        assert token  # the Admin's form is not theirs to send
    assert stored(owner_engine, tenant) == before


def test_the_discount_caps_are_read_and_shown_in_the_locale(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    fill(settings_form(admin), locale="de_DE", cashier_discount_cap="12.5").submit(status=303)
    # saved in the old locale (en_US: a point); the page now speaks German
    form = settings_form(admin)
    assert form["cashier_discount_cap"].value == "12,5"
    fill(form, cashier_discount_cap="7,25", manager_discount_cap="33,5").submit(status=303)
    (caps,) = sql(
        owner_engine, tenant, "select cashier_discount_cap, manager_discount_cap from sale_policies"
    )
    assert tuple(caps) == (Decimal("7.25"), Decimal("33.5"))
    # a point is not a German decimal sign: refused, never guessed
    res = fill(settings_form(admin), cashier_discount_cap="7.5").submit(status=400)
    assert "ambiguous" in res.html.select_one("#cashier_discount_cap-error").text
    assert sql(owner_engine, tenant, "select cashier_discount_cap from sale_policies")[0][
        0
    ] == Decimal("7.25")


def test_the_page_shows_how_the_saved_settings_look(staff):
    _, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    fill(settings_form(admin), time_zone="Africa/Nairobi", locale="de_DE", currency="EUR").submit(
        status=303
    )
    sample = admin.get("/settings").html.select_one("[data-testid=sample]").text
    assert "1.234,50" in sample
    assert "€" in sample
    nairobi = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=3)))
    assert (
        nairobi.strftime("%H:") in sample
        or (nairobi - dt.timedelta(minutes=1)).strftime("%H:") in sample
    )


def sell_one(catalog, tenant) -> None:
    """One sale of 10.00 through the sale service (as the owner, through the door)."""
    with door.tenant_session(catalog, tenant) as db:
        admin = db.scalars(select(User).where(User.username == "admin")).one()
        product = Product(
            tenant_id=tenant.id,
            id=uuid7(),
            sku="TEA",
            name="Tea",
            unit_price=Decimal("10"),
            cost=Decimal("4"),
            tax_rate=Decimal("0"),
            reorder_level=Decimal("0"),
        )
        db.add(product)
        db.flush()
        inventory = InventoryService(db, tenant.id, admin.id)
        where = inventory.default_location().id
        inventory.receive(product.id, where, Decimal("5"))
        sales = SaleService(db, tenant.id, admin, sees_all=True)
        sales.complete(
            [CartLine(product.id, Decimal("1"))],
            [PaymentInput("cash", Decimal("10"))],
            location_id=where,
        )


def test_changing_the_currency_after_sales_warns_and_converts_nothing(staff, catalog, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    page = admin.get("/settings")
    assert "has sales" not in page.text
    fill(settings_form(admin), currency="EUR").submit(status=303)  # no sales: no warning
    assert "Past sales" not in admin.get("/settings").text
    sell_one(catalog, tenant)
    assert "This workspace has sales" in admin.get("/settings").text
    res = fill(settings_form(admin), currency="KES").submit(status=303).follow()
    assert "The currency is now KES (it was EUR). Past sales keep their amounts" in res.text
    assert stored(owner_engine, tenant).currency == "KES"
    assert sql(owner_engine, tenant, "select total from sales")[0][0] == Decimal("10.00")
