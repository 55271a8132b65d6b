"""The stock lists page every row (no silent cap): on hand, low stock and movements, 50
to a page with previous/next links and "n of N"; and their filters."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import update

from salesapp.inventory.models import StockMovement
from salesapp.pages import PAGE_SIZE
from salesapp.preferences.services import SettingsService

ROWS = 120  # more than two pages of 50


def walk(client, url) -> tuple[list[str], list[str]]:
    """Every page from ``url`` by its Next links: (each row's first cell text, each
    page's "n · page p of N" line)."""
    cells, pagers = [], []
    while url:
        page = client.get(url)
        table = page.html.select_one("table.data tbody")
        cells += [tr.select_one("td").get_text(strip=True) for tr in table.select("tr")]
        pagers.append(page.html.select_one("[data-testid=pager]").get_text(strip=True))
        following = page.html.select_one("a[rel=next]")
        url = following["href"] if following else None
    return cells, pagers


def test_on_hand_pages_every_product_once(shop):
    room, clients = shop
    room.add_products(ROWS)
    names, pagers = walk(clients["Managers"], f"/stock?location={room.default_location()}")
    assert len(names) == ROWS
    assert len(set(names)) == ROWS
    assert pagers == [f"{ROWS} rows · page {n} of 3" for n in (1, 2, 3)]


def test_low_stock_pages_every_low_product_once(shop):
    room, clients = shop
    ids = room.add_products(ROWS, reorder="5")
    here = room.default_location()
    for product_id in ids.values():  # history at the location: the product's level applies
        room.receive(product_id, here, "1")
    names, pagers = walk(clients["Managers"], "/stock/low")
    assert len(names) == ROWS
    assert len(set(names)) == ROWS
    assert pagers[-1] == f"{ROWS} rows · page 3 of 3"


def test_movements_page_every_movement_once_newest_first(shop):
    room, clients = shop
    ids = room.add_products(ROWS)
    here = room.default_location()
    for product_id in ids.values():
        room.receive(product_id, here, "2")
    page = clients["Managers"].get("/stock/movements")
    assert len(page.html.select("table.data tbody tr")) == PAGE_SIZE
    products = []
    url = "/stock/movements"
    while url:
        page = clients["Managers"].get(url)
        products += [
            tr.select("td")[1].get_text() for tr in page.html.select("table.data tbody tr")
        ]
        following = page.html.select_one("a[rel=next]")
        url = following["href"] if following else None
    assert len(products) == ROWS
    assert len(set(products)) == ROWS
    assert products[0] == "Item P119"  # newest first
    previous = clients["Managers"].get("/stock/movements?page=2").html.select_one("a[rel=prev]")
    assert "page=1" in previous["href"]


def test_a_page_past_the_end_is_empty_not_an_error(shop):
    room, clients = shop
    room.add_products(3)
    page = clients["Managers"].get("/stock?page=9")
    assert "No products." in page.text


def test_movements_show_who_made_them(shop, make_user):
    room, clients = shop
    ids = room.add_products(1)
    room.receive(ids["P000"], room.default_location(), "3")
    with room.session() as db, db.begin():  # a movement from before users were kept
        inventory = room.inventory(db)
        inventory.user_id = None
        inventory.receive(ids["P000"], room.default_location(), Decimal("1"))
    page = clients["Managers"].get("/stock/movements")
    assert "<th>Who</th>" in page.text
    who = [td.get_text() for td in page.html.select("[data-testid=moved-by]")]
    assert who == ["—", "Administrator"]


def test_movements_filter_by_location_kind_user_and_local_days(shop, make_user, owner_engines):
    room, clients = shop
    ids = room.add_products(2)
    here, there = room.default_location(), room.add_location("Annex")
    make_user(room.tenant, ("Managers",), username="mia", full_name="Mia Manager")
    room.receive(ids["P000"], here, "10")
    room.receive(ids["P001"], there, "4", username="mia")
    with room.session() as db, db.begin():
        room.inventory(db).adjust(ids["P000"], here, Decimal("-1"), "broken")
    client = clients["Managers"]

    def shown(query):
        page = client.get("/stock/movements?" + query)
        return sorted(
            (tr.select("td")[1].get_text(), tr.select("td")[3].get_text(strip=True))
            for tr in page.html.select("table.data tbody tr")
            if len(tr.select("td")) > 1
        )

    assert shown(f"location={there}") == [("Item P001", "receive")]
    assert shown("kind=adjust") == [("Item P000", "adjust")]
    mia = re.search(
        r'<option value="([^"]+)"\s*>Mia Manager \(mia\)', client.get("/stock/movements").text
    )
    assert shown(f"user={mia.group(1)}") == [("Item P001", "receive")]
    # the workspace's local days (Nairobi, UTC+3): 22:30 UTC on 10 March is 01:30 on the
    # 11th there, so it is the 11th's movement, not the 10th's
    with room.session() as db, db.begin():
        SettingsService(db, room.tenant.id).get().time_zone = "Africa/Nairobi"
    with owner_engines.session(room.tenant) as db:
        db.execute(
            update(StockMovement)
            .where(StockMovement.product_id == ids["P001"])
            .values(created_at=dt.datetime(2026, 3, 10, 22, 30, tzinfo=dt.UTC))
        )
    assert shown("from=2026-03-11&to=2026-03-11") == [("Item P001", "receive")]
    assert shown("from=2026-03-10&to=2026-03-10") == []
    assert shown("to=2026-03-10") == []
    assert shown("from=2026-03-11") == sorted(shown(""))
    assert len(shown("from=2026-03-12")) == 2  # the others, made today


def test_bad_filters_are_refused_with_a_message(shop):
    _, clients = shop
    page = clients["Managers"].get("/stock/movements?from=2026-02-01&to=2026-01-01", status=400)
    assert "To must not be before From (2026-02-01)" in page.text
    page = clients["Managers"].get("/stock/movements?kind=stolen", status=400)
    assert "Kind must be one of" in page.text


def test_on_hand_filters_by_location_and_product(shop):
    room, clients = shop
    ids = room.add_products(3)
    here, there = room.default_location(), room.add_location("Annex")
    room.receive(ids["P001"], there, "7")
    page = clients["Managers"].get(f"/stock?location={there}&q=P001")
    rows = page.html.select("table.data tbody tr")
    assert len(rows) == 1
    assert rows[0].select_one("[data-testid=on-hand-P001]").get_text() == "7"
    assert (
        len(clients["Managers"].get(f"/stock?location={here}").html.select("table.data tbody tr"))
        == 3
    )
