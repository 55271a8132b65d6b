"""Products through the API: list with search and paging, get, create, update (in a
pooled and in a dedicated tenant), and SKU/barcode conflicts."""

from __future__ import annotations

from tests.api.conftest import new_product


def test_create_get_and_update_a_product(api_staff_per_placement):
    manager = api_staff_per_placement.manager
    res = manager.post(
        "/api/products",
        {
            "sku": "TEA-1",
            "barcode": "4006381333931",
            "name": "Green tea",
            "category": "Drinks",
            "unit_price": "12.5",
            "cost": "7.25",
            "tax_rate": "16",
            "reorder_level": "2.5",
        },
    )
    product = res.json
    assert res.headers["Location"].endswith(f"/api/products/{product['id']}")
    assert {k: product[k] for k in ("sku", "barcode", "name", "category", "is_active")} == {
        "sku": "TEA-1",
        "barcode": "4006381333931",
        "name": "Green tea",
        "category": "Drinks",
        "is_active": True,
    }
    # money as exact strings with the column's scale, before and after a round trip
    expected = {"unit_price": "12.50", "cost": "7.25", "tax_rate": "16.00"}
    assert {k: product[k] for k in expected} == expected
    assert product["reorder_level"] == "2.500"
    fetched = api_staff_per_placement.cashier.get(f"/api/products/{product['id']}").json
    # a Cashier sees the product without its cost (issue 17: never cost prices)
    assert fetched == {k: v for k, v in product.items() if k != "cost"}

    changed = manager.patch(
        f"/api/products/{product['id']}",
        {"unit_price": "13.00", "barcode": None, "is_active": False},
    ).json
    assert changed["unit_price"] == "13.00" and changed["barcode"] is None
    assert changed["is_active"] is False
    assert changed["name"] == "Green tea" and changed["cost"] == "7.25"  # untouched
    assert api_staff_per_placement.admin.get(f"/api/products/{product['id']}").json == changed


def test_an_empty_patch_changes_nothing(api_staff):
    product = new_product(api_staff.manager, "A", "2.50")
    same = api_staff.manager.patch(f"/api/products/{product['id']}", {}).json
    assert same["unit_price"] == "2.50" and same["sku"] == "A"


def test_list_searches_filters_and_pages(api_staff):
    manager = api_staff.manager
    for i in range(5):
        new_product(manager, f"TEA-{i}", "1.00", name=f"Tea {i}")
    new_product(manager, "COF-1", "3.00", name="Coffee", barcode="555000111", is_active=False)

    page = api_staff.cashier.get("/api/products", params={"limit": "2", "offset": "1"}).json
    assert (page["total"], page["limit"], page["offset"], page["has_more"]) == (6, 2, 1, True)
    assert [p["name"] for p in page["items"]] == ["Tea 0", "Tea 1"]  # by name: Coffee first
    last = api_staff.cashier.get("/api/products", params={"limit": "2", "offset": "4"}).json
    assert [p["name"] for p in last["items"]] == ["Tea 3", "Tea 4"] and not last["has_more"]
    # the total rides on the rows; a page past the end has none and still counts them
    beyond = api_staff.cashier.get("/api/products", params={"limit": "2", "offset": "9"}).json
    assert (beyond["items"], beyond["total"], beyond["has_more"]) == ([], 6, False)
    nothing = manager.get("/api/products", params={"q": "no such thing"}).json
    assert (nothing["items"], nothing["total"]) == ([], 0)

    found = manager.get("/api/products", params={"q": "tea"}).json
    assert found["total"] == 5 and {p["sku"] for p in found["items"]} == {
        f"TEA-{i}" for i in range(5)
    }
    assert manager.get("/api/products", params={"q": "555000"}).json["items"][0]["sku"] == "COF-1"
    assert manager.get("/api/products", params={"active": "no"}).json["total"] == 1
    assert manager.get("/api/products", params={"active": "yes"}).json["total"] == 5
    assert manager.get("/api/products").json["limit"] == 20  # the default
    # % and _ match themselves
    assert manager.get("/api/products", params={"q": "%"}).json["total"] == 0


def test_sku_and_barcode_conflicts_are_409_and_change_nothing(api_staff):
    manager = api_staff.manager
    first = new_product(manager, "A", "1.00", barcode="111")
    second = new_product(manager, "B", "2.00", barcode="222")
    res = manager.post(
        "/api/products", {"sku": "A", "name": "Again", "unit_price": "1"}, status=409
    )
    assert res.json["errors"] == {"sku": "SKU A is already used by Item A"}
    assert "SKU A is already used" in res.json["message"]
    res = manager.patch(f"/api/products/{second['id']}", {"sku": "A", "barcode": "111"}, status=409)
    assert set(res.json["errors"]) == {"sku", "barcode"}
    assert manager.get(f"/api/products/{second['id']}").json == second
    assert manager.get("/api/products").json["total"] == 2
    # a product keeps its own SKU and barcode without conflict
    manager.patch(f"/api/products/{first['id']}", {"sku": "A", "barcode": "111"})


def test_an_unknown_product_is_404(api_staff):
    res = api_staff.admin.get("/api/products/01a2092b-1ec6-7387-93bc-6e2beebd8b5f", status=404)
    assert res.json["message"] == "No such product in this workspace"
    api_staff.admin.patch(
        "/api/products/01a2092b-1ec6-7387-93bc-6e2beebd8b5f", {"name": "x"}, status=404
    )


def test_another_tenants_product_is_404(make_api_staff):
    a, b = make_api_staff("pooled"), make_api_staff("dedicated")
    product = new_product(a.manager, "A", "1.00")
    b.admin.get(f"/api/products/{product['id']}", status=404)
    b.admin.patch(f"/api/products/{product['id']}", {"name": "stolen"}, status=404)
    assert a.admin.get(f"/api/products/{product['id']}").json["name"] == "Item A"
