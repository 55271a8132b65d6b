"""The products CSV import: plain decimal numbers (``1,234`` refused with its line and
column, never read as 1.234), and opening stock per location received in the same
transaction as the import."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from salesapp.inventory.models import StockMovement
from salesapp.products import csvio
from tests.inventory.conftest import shop  # noqa: F401  (the fixture)
from tests.products.helpers import import_csv

MAIN = SimpleNamespace(id="main-id", name="Main", is_default=True)
ANNEX = SimpleNamespace(id="annex-id", name="North  Annex", is_default=False)


def parse(text, locations=(MAIN, ANNEX)):
    return csvio.parse_products_csv(text.encode(), locations)


def test_stock_columns_name_locations_and_give_each_rows_opening_stock():
    parsed = parse(
        "sku,name,unit_price,stock:main,stock:North Annex\nA,Apple,1,5,\nB,Bun,2,0.5,3\n"
    )
    assert parsed.errors == []
    assert [row.opening_stock for row in parsed.rows] == [
        {"main-id": Decimal("5.000")},
        {"main-id": Decimal("0.500"), "annex-id": Decimal("3.000")},
    ]
    assert csvio.openings(parsed.rows)[1] == (3, "B", parsed.rows[1].opening_stock)
    assert "stock:main" not in parsed.rows[0].fields


def test_opening_stock_is_the_default_locations():
    parsed = parse("sku,name,unit_price,opening_stock\nA,Apple,1,7\n")
    assert parsed.rows[0].opening_stock == {"main-id": Decimal("7.000")}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("stock:Attic", "line 1: column 'stock:attic' names no location of this workspace"),
        ("opening_stock,stock:main", "both give the opening stock of Main"),
    ],
)
def test_a_stock_column_that_names_no_location_or_one_twice_is_refused(header, message):
    parsed = parse(f"sku,name,unit_price,{header}\nA,Apple,1,1\n")
    assert parsed.rows == []
    assert any(message in error for error in parsed.errors)


@pytest.mark.parametrize("column", ["unit_price", "cost", "reorder_level", "stock:main"])
def test_a_grouped_number_is_refused_naming_its_row_and_column(column):
    columns = ["sku", "name", "unit_price", "cost", "reorder_level", "stock:main"]
    values = {
        "sku": "A",
        "name": "Apple",
        "unit_price": "1",
        "cost": "",
        "reorder_level": "",
        "stock:main": "",
    }
    values[column] = '"1,234"'
    parsed = parse(",".join(columns) + "\n" + ",".join(values[c] for c in columns) + "\n")
    assert parsed.rows == []
    assert parsed.errors == [
        f"line 2: {column} must be a number, got '1,234': numbers in a CSV are plain "
        "decimals: a point and no grouping, e.g. 1234.5"
    ]


def test_numbers_are_plain_decimals_whatever_the_locale():
    parsed = parse("sku,name,unit_price,stock:main\nA,Apple,1234.50,2.25\n")
    assert parsed.rows[0].fields["unit_price"] == Decimal("1234.50")
    assert parsed.rows[0].opening_stock == {"main-id": Decimal("2.250")}


def test_a_negative_or_fractional_beyond_three_places_stock_is_refused():
    parsed = parse("sku,name,unit_price,stock:main\nA,Apple,1,-1\nB,Bun,1,0.0001\n")
    assert parsed.errors == [
        "line 2: stock:main must be at least 0",
        "line 3: stock:main has more than 3 decimal places",
    ]


# -- through the import page (products/views.py passes the locations and posts it) -------
def movements(room):
    with room.session() as db, db.begin():
        return sorted(
            db.execute(
                select(StockMovement.kind, StockMovement.quantity, StockMovement.reason)
            ).all()
        )


def test_import_receives_opening_stock_in_the_same_transaction(shop):  # noqa: F811
    room, clients = shop
    annex = room.add_location("Annex")
    result = import_csv(
        clients["Managers"],
        "sku,name,unit_price,stock:Main,stock:Annex\nA,Apple,1,5,\nB,Bun,2,,3\n",
    )
    assert (
        "Imported 2 products (2 created, 0 updated); opening stock: 2 movements"
        in result.follow().text
    )
    assert movements(room) == [
        ("receive", Decimal("3.000"), "opening stock"),
        ("receive", Decimal("5.000"), "opening stock"),
    ]
    with room.session() as db, db.begin():
        skus = dict(db.execute(select(StockMovement.location_id, StockMovement.quantity)).all())
    assert skus[annex] == Decimal("3.000")
    # one product: the singular
    result = import_csv(clients["Managers"], "sku,name,unit_price\nC,Cherry,1\n")
    assert "Imported 1 product (1 created, 0 updated)" in result.follow().text


def test_opening_stock_where_a_product_has_stock_refuses_the_whole_import(shop):  # noqa: F811
    room, clients = shop
    import_csv(clients["Managers"], "sku,name,unit_price,opening_stock\nA,Apple,1,5\n")
    before = movements(room)
    page = import_csv(
        clients["Managers"],
        "sku,name,unit_price,opening_stock\nB,Bun,1,2\nA,Apple,1.10,5\n",
        status=400,
    )
    assert "line 3: A already has stock at Main" in page.text
    assert movements(room) == before
    with room.session() as db, db.begin():
        from salesapp.products.models import Product

        assert db.scalars(select(Product.sku)).all() == ["A"]  # B was not imported either


def test_a_grouped_number_in_the_file_is_refused_by_the_page(shop):  # noqa: F811
    _, clients = shop
    page = import_csv(clients["Managers"], 'sku,name,unit_price\nA,Apple,"1,234"\n', status=400)
    assert "line 2: unit_price must be a number, got &#39;1,234&#39;" in page.text
