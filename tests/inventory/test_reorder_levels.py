"""Reorder levels per location: a level per (product, location); without one, the
product's own level applies only where it has stock history, so a new location does not
flood the low-stock list."""

from __future__ import annotations

from decimal import Decimal

from tests.products.helpers import post


def low_rows(client, location=None) -> list[tuple[str, str]]:
    """(SKU, location name) of the low-stock page's rows."""
    url = "/stock/low" + (f"?location={location}" if location else "")
    rows = client.get(url).html.select("table.data tbody tr")
    return [
        (tr.select("td")[1].get_text(), tr.select("td")[2].get_text())
        for tr in rows
        if len(tr.select("td")) > 2
    ]


def test_a_new_location_does_not_flood_the_low_stock_list(shop):
    room, clients = shop
    ids = room.add_products(3, reorder="5")
    main = room.default_location()
    for product_id in ids.values():
        room.receive(product_id, main, "2")  # low at Main: 2 <= 5
    new = room.add_location("New shop")  # no movements there: nothing is low there
    rows = low_rows(clients["Managers"])
    assert [sku for sku, _ in rows] == ["P000", "P001", "P002"]
    assert "New shop" not in {location for _, location in rows}
    assert "Nothing is low." in clients["Managers"].get("/stock/low?location=" + str(new)).text


def test_a_level_per_location_overrides_the_products_own(shop):
    room, clients = shop
    ids = room.add_products(2, reorder="5")
    main, annex = room.default_location(), room.add_location("Annex")
    room.receive(ids["P000"], main, "8")  # not low at Main by the product's level (5)
    client = clients["Managers"]
    page = client.get(f"/stock/reorder-levels?location={main}")
    assert page.html.select_one("table.data tbody tr")
    result = post(
        client,
        "/stock/reorder-levels",
        {"location": str(main), "page": "1", f"level:{ids['P000']}": "10"},
        status=303,
    )
    assert f"location={main}" in result.location
    assert [sku for sku, _ in low_rows(client, main)] == ["P000"]  # 8 <= 10
    # a level at a location with no stock history applies there: 0 <= 1
    post(
        client,
        "/stock/reorder-levels",
        {"location": str(annex), f"level:{ids['P001']}": "1"},
        status=303,
    )
    assert [sku for sku, _ in low_rows(client, annex)] == ["P001"]
    # blank removes it: the product's own level applies again (only with history)
    post(
        client,
        "/stock/reorder-levels",
        {"location": str(annex), f"level:{ids['P001']}": ""},
        status=303,
    )
    assert low_rows(client, annex) == []
    with room.session() as db, db.begin():
        assert room.inventory(db).reorder_levels(main) == {ids["P000"]: Decimal("10.000")}


def test_a_bad_level_is_refused_naming_the_product_and_nothing_is_saved(shop):
    room, clients = shop
    ids = room.add_products(2)
    main = room.default_location()
    page = post(
        clients["Managers"],
        "/stock/reorder-levels",
        {"location": str(main), f"level:{ids['P000']}": "3", f"level:{ids['P001']}": "1,5"},
        status=400,
    )
    assert "Reorder level of Item P001 (P001)" in page.text
    with room.session() as db, db.begin():
        assert room.inventory(db).reorder_levels(main) == {}


def test_levels_are_read_in_the_workspaces_locale(shop):
    room, clients = shop
    ids = room.add_products(1)
    main = room.default_location()
    with room.session() as db, db.begin():
        from salesapp.preferences.services import SettingsService

        SettingsService(db, room.tenant.id).get().locale = "de_DE"
    post(
        clients["Managers"],
        "/stock/reorder-levels",
        {"location": str(main), f"level:{ids['P000']}": "2,5"},
        status=303,
    )
    with room.session() as db, db.begin():
        assert room.inventory(db).reorder_levels(main) == {ids["P000"]: Decimal("2.500")}
    page = clients["Managers"].get(f"/stock/reorder-levels?location={main}")
    assert 'value="2,5"' in page.text
