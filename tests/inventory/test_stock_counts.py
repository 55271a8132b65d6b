"""Stock counts: a sheet per location with what was expected at the start; counted
quantities recorded page by page (blank: not counted); posting writes each difference
as an "adjust" movement "stock count <n>" in one transaction; a posted count is
read-only."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from salesapp.inventory.models import StockMovement
from tests.products.helpers import post


def count_page_inputs(page) -> dict[str, str]:
    """SKU -> name of its counted input on a sheet page."""
    return {
        tr["data-testid"].removeprefix("count-"): tr.select_one("input")["name"]
        for tr in page.html.select("tr[data-testid^=count-]")
        if tr.select_one("input")
    }


def test_posting_a_count_writes_the_differences_as_adjustments(shop):
    room, clients = shop
    ids = room.add_products(4)
    main, annex = room.default_location(), room.add_location("Annex")
    room.receive(ids["P000"], main, "10")
    room.receive(ids["P001"], main, "5")
    room.receive(ids["P002"], main, "3")
    room.receive(ids["P000"], annex, "99")  # another location: not on this sheet
    client = clients["Managers"]
    sheet_url = post(client, "/stock/counts", {"location_id": str(main)}, status=303).location
    page = client.get(sheet_url)
    assert "Stock count 1" in page.text
    expected = {
        tr["data-testid"].removeprefix("count-"): tr.select("td")[1].get_text()
        for tr in page.html.select("tr[data-testid^=count-]")
    }
    assert expected == {"P000": "10", "P001": "5", "P002": "3", "P003": "0"}
    # a sale after the count began does not change what was expected
    with room.session() as db, db.begin():
        room.inventory(db).adjust(ids["P000"], main, Decimal("-1"), "sold meanwhile")
    names = count_page_inputs(page)
    # P000 counted 7 (3 missing), P001 as expected, P002 not counted, P003 found 2
    post(
        client, sheet_url, {names["P000"]: "7", names["P001"]: "5", names["P003"]: "2"}, status=303
    )
    assert "3 of 4 lines counted, 2 different" in client.get(sheet_url).text
    result = post(client, sheet_url, {"action": "post"}, status=303)
    assert "Stock count 1 posted: 2 adjustments written" in result.follow().text
    with room.session() as db, db.begin():
        moves = db.execute(
            select(StockMovement.product_id, StockMovement.quantity, StockMovement.kind)
            .where(StockMovement.reason == "stock count 1")
            .order_by(StockMovement.quantity)
        ).all()
    assert moves == [
        (ids["P000"], Decimal("-3.000"), "adjust"),
        (ids["P003"], Decimal("2.000"), "adjust"),
    ]
    assert room.on_hand(ids["P000"], main) == Decimal("6")  # 10 - 1 sold - 3 missing
    assert room.on_hand(ids["P000"], annex) == Decimal("99")
    # read-only once posted: no inputs, and a post is refused
    page = client.get(sheet_url)
    assert count_page_inputs(page) == {}
    assert "read-only" in page.text
    page = post(client, sheet_url, {"action": "post"}, status=400)
    assert "stock count 1 is posted" in page.text


def test_a_bad_count_is_refused_and_nothing_is_saved(shop):
    room, clients = shop
    room.add_products(2)
    client = clients["Managers"]
    sheet_url = post(
        client, "/stock/counts", {"location_id": str(room.default_location())}, status=303
    ).location
    names = count_page_inputs(client.get(sheet_url))
    page = post(client, sheet_url, {names["P000"]: "4", names["P001"]: "-1"}, status=400)
    assert "Counted Item P001 (P001) must be at least 0" in page.text
    assert "0 of 2 lines counted" in client.get(sheet_url).text


def test_one_open_count_per_location(shop):
    room, clients = shop
    room.add_products(1)
    client = clients["Managers"]
    main = str(room.default_location())
    post(client, "/stock/counts", {"location_id": main}, status=303)
    page = post(client, "/stock/counts", {"location_id": main}, status=400)
    assert "stock count 1 of Main is still open" in page.text


def test_the_sheet_pages_and_filters(shop):
    room, clients = shop
    room.add_products(120)
    client = clients["Managers"]
    sheet_url = post(
        client, "/stock/counts", {"location_id": str(room.default_location())}, status=303
    ).location
    seen, url = [], sheet_url
    while url:
        page = client.get(url)
        seen += list(count_page_inputs(page))
        following = page.html.select_one("a[rel=next]")
        url = following["href"] if following else None
    assert len(seen) == 120
    assert len(set(seen)) == 120
    page = client.get(sheet_url)
    names = count_page_inputs(page)
    post(client, sheet_url, {names["P000"]: "1", "page": "1"}, status=303)
    assert list(count_page_inputs(client.get(sheet_url + "?show=counted"))) == ["P000"]
    assert len(count_page_inputs(client.get(sheet_url + "?show=different"))) == 1
    assert list(count_page_inputs(client.get(sheet_url + "?q=P042"))) == ["P042"]
    uncounted = client.get(sheet_url + "?show=uncounted")
    assert "119 lines · page 1 of 3" in uncounted.text
