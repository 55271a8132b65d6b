"""Customers through the API: created and listed in a pooled and in a dedicated tenant;
the refusals in a pooled one."""

from __future__ import annotations


def test_create_and_list_customers(api_staff_per_placement):
    manager = api_staff_per_placement.manager
    created = manager.post(
        "/api/customers",
        {"name": "Ada Lovelace", "phone": "555-0101", "email": "ada@example.org", "notes": "VIP"},
    ).json
    assert {k: created[k] for k in ("name", "phone", "email", "notes")} == {
        "name": "Ada Lovelace",
        "phone": "555-0101",
        "email": "ada@example.org",
        "notes": "VIP",
    }
    manager.post("/api/customers", {"name": "Bob"})
    manager.post("/api/customers", {"name": "Carol", "email": ""})

    everyone = api_staff_per_placement.cashier.get("/api/customers").json
    assert [c["name"] for c in everyone["items"]] == ["Ada Lovelace", "Bob", "Carol"]
    assert everyone["total"] == 3 and not everyone["has_more"]
    assert everyone["items"][0] == created

    by_digits = api_staff_per_placement.cashier.get("/api/customers", params={"q": "5550101"}).json
    assert [c["name"] for c in by_digits["items"]] == ["Ada Lovelace"]
    page = manager.get("/api/customers", params={"limit": "1", "offset": "1"}).json
    assert [c["name"] for c in page["items"]] == ["Bob"]
    assert (page["total"], page["has_more"]) == (3, True)


def test_a_cashier_cannot_create_customers(api_staff):
    res = api_staff.cashier.post("/api/customers", {"name": "Mallory"}, status=403)
    assert res.json["errors"] == {}
    assert api_staff.admin.get("/api/customers").json["total"] == 0


def test_a_bad_email_is_refused_with_the_field(api_staff):
    res = api_staff.manager.post(
        "/api/customers", {"name": "X", "email": "not-an-address"}, status=400
    )
    assert res.json["errors"] == {"email": "is not a valid e-mail address: 'not-an-address'"}
