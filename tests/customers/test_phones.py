"""Customers' phones as numbers: stored also in E.164 in the workspace's country, found
however they are written (``0712 345 678`` and ``+254 712 345 678`` are one Kenyan
number), customers saved before normalising found too, and a warning naming the
customer who already has the phone."""

import pytest

from salesapp.customers import phones
from tests.accounts.support import sql
from tests.customers.test_customers_web import add_customers, listed_names
from tests.products.helpers import post, rows


@pytest.mark.parametrize(
    ("typed", "region", "expected"),
    [
        ("0712 345 678", "KE", "+254712345678"),
        ("+254 712 345 678", "KE", "+254712345678"),
        ("254712345678", "KE", "+254712345678"),
        ("+254 712 345 678", "DE", "+254712345678"),  # international: any country
        ("030 1234567", "DE", "+49301234567"),
        ("+44 20 7946 0101", "KE", "+442079460101"),
        ("ext. 12-34", "KE", "1234"),  # not a number: its digits
        ("", "KE", ""),
    ],
)
def test_a_phone_is_normalised_to_e164_or_its_digits(typed, region, expected):
    assert phones.normalised(typed, region) == expected


@pytest.mark.parametrize(
    ("locale", "region"),
    [("en_KE", "KE"), ("sw_KE", "KE"), ("de_DE", "DE"), ("en_US", "US"), ("", "US")],
)
def test_the_country_is_the_workspace_locale_s_territory(locale, region):
    assert phones.region_of(locale) == region


@pytest.fixture
def kenyan(workspace, owner_engine):
    """The customers tests' workspace, in Kenya (en_KE)."""
    tenant, clients = workspace
    sql(
        owner_engine,
        tenant,
        "insert into workspace_settings (tenant_id, locale) values (:tid, 'en_KE')"
        " on conflict (tenant_id) do update set locale = excluded.locale",
    )
    return tenant, clients


def new_customer(client, status=303, **fields):
    data = {"name": "Wanjiru", "phone": "0712 345 678", "email": "", "notes": "", **fields}
    return post(client, "/customers/new", data, status=status)


def stored(owner_engine, tenant):
    return rows(
        owner_engine, tenant, "select name, phone, phone_normalized from customers order by name"
    )


def test_local_and_international_formats_find_the_same_customer(kenyan, owner_engine):
    tenant, clients = kenyan
    manager = clients["Managers"]
    new_customer(manager, name="Wanjiru", phone="0712 345 678")
    new_customer(manager, name="Otieno", phone="+254 733 000 111")
    assert stored(owner_engine, tenant) == [
        ("Otieno", "+254 733 000 111", "+254733000111"),
        ("Wanjiru", "0712 345 678", "+254712345678"),  # as typed, and normalised
    ]
    for q in ("+254 712 345 678", "0712345678", "254712345678", "0712 345 678", "345 678"):
        assert listed_names(manager.get("/customers", {"q": q})) == ["Wanjiru"], q
    for q in ("0733 000 111", "+254733000111", "733000111"):
        assert listed_names(manager.get("/customers", {"q": q})) == ["Otieno"], q


def test_customers_saved_before_normalising_are_found_and_normalised_when_saved(
    kenyan, owner_engine
):
    tenant, clients = kenyan
    add_customers(
        owner_engine,
        tenant,
        ("Old Local", "0722 111 222", ""),
        ("Old International", "+254 733 444 555", ""),
    )
    assert {p for _, _, p in stored(owner_engine, tenant)} == {""}  # none yet
    manager = clients["Managers"]
    assert listed_names(manager.get("/customers", {"q": "+254722111222"})) == ["Old Local"]
    assert listed_names(manager.get("/customers", {"q": "0733 444 555"})) == ["Old International"]
    # editing fills it
    (old_id,) = [
        r.id
        for r in rows(owner_engine, tenant, "select id from customers where name = 'Old Local'")
    ]
    form = manager.get(f"/customers/{old_id}/edit").forms[1]
    form.submit(status=303)
    assert ("Old Local", "0722 111 222", "+254722111222") in stored(owner_engine, tenant)


def test_a_phone_of_another_customer_is_a_warning_naming_them(kenyan, owner_engine):
    tenant, clients = kenyan
    manager = clients["Managers"]
    new_customer(manager, name="Wanjiru", phone="0712 345 678")
    before = stored(owner_engine, tenant)

    page = new_customer(manager, status=409, name="Kamau", phone="+254 712 345 678")
    warning = page.html.select_one('[data-testid="same-phone"]')
    assert "Wanjiru" in warning.text
    assert "0712 345 678" in warning.text
    (wanjiru,) = rows(owner_engine, tenant, "select id from customers")
    assert warning.select_one("a")["href"].endswith(f"/customers/{wanjiru.id}")
    assert stored(owner_engine, tenant) == before  # nothing saved
    # what was typed comes back, with "Save anyway"
    form = page.forms[1]
    assert (form["name"].value, form["phone"].value) == ("Kamau", "+254 712 345 678")
    form.submit("same_phone_ok", status=303)
    assert [name for name, _, _ in stored(owner_engine, tenant)] == ["Kamau", "Wanjiru"]


def test_editing_warns_of_another_customer_s_phone_not_of_its_own(kenyan, owner_engine):
    tenant, clients = kenyan
    manager = clients["Managers"]
    new_customer(manager, name="Wanjiru", phone="0712 345 678")
    new_customer(manager, name="Otieno", phone="0733 000 111")
    ids = dict(rows(owner_engine, tenant, "select name, id from customers"))
    # its own phone, written another way: no warning
    form = manager.get(f"/customers/{ids['Wanjiru']}/edit").forms[1]
    form["phone"] = "+254712345678"
    form.submit(status=303)
    # another customer's: a warning, nothing saved
    form = manager.get(f"/customers/{ids['Otieno']}/edit").forms[1]
    form["phone"] = "712 345 678"
    page = form.submit(status=409)
    assert "Wanjiru" in page.html.select_one('[data-testid="same-phone"]').text
    assert ("Otieno", "0733 000 111", "+254733000111") in stored(owner_engine, tenant)


def test_a_customer_saved_before_normalising_counts_as_a_duplicate(kenyan, owner_engine):
    tenant, clients = kenyan
    add_customers(owner_engine, tenant, ("Old Local", "0722-111-222", ""))
    page = new_customer(clients["Managers"], status=409, name="New", phone="+254 722 111 222")
    assert "Old Local" in page.html.select_one('[data-testid="same-phone"]').text


def test_the_count_is_written_in_the_singular_for_one(kenyan):
    _tenant, clients = kenyan
    new_customer(clients["Managers"])
    assert "1 customer · page 1 of 1" in clients["Managers"].get("/customers").text
