"""Properties of the products CSV: an export re-imports to the same products, whatever
their text (formula-like cells, quotes, commas, line breaks, any script), and no file,
however broken, makes the parser raise."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesapp.products import csvio
from salesapp.products.services import MAX_MONEY, MAX_QUANTITY

#: text a product may hold: no NUL, no surrounding spaces (the forms strip them), and no
#: lone CR (csv turns it into a line break)
text_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r")
cell_text = st.text(text_chars, min_size=1, max_size=40).map(str.strip).filter(bool)


@dataclass
class P:
    sku: str
    barcode: str | None
    name: str
    category: str
    unit_price: Decimal
    cost: Decimal
    tax_rate: Decimal
    reorder_level: Decimal
    is_active: bool
    open_price: bool = False
    sold_by_weight: bool = False


products = st.lists(
    st.builds(
        P,
        sku=cell_text,
        barcode=st.none() | cell_text,
        name=cell_text,
        category=st.just("") | cell_text,
        unit_price=st.decimals(min_value=0, max_value=MAX_MONEY, places=2),
        cost=st.decimals(min_value=0, max_value=MAX_MONEY, places=2),
        tax_rate=st.decimals(min_value=0, max_value=100, places=2),
        reorder_level=st.decimals(min_value=0, max_value=MAX_QUANTITY, places=3),
        is_active=st.booleans(),
        open_price=st.booleans(),
        sold_by_weight=st.booleans(),
    ),
    min_size=1,
    max_size=8,
    unique_by=(lambda p: p.sku, lambda p: p.barcode or object()),
)


@settings(max_examples=200, deadline=None)
@given(products)
def test_an_export_imports_back_to_the_same_products(items):
    parsed = csvio.parse_products_csv(csvio.write_products_csv(items).encode("utf-8"))
    assert parsed.errors == []
    assert [row.line for row in parsed.rows] == sorted(row.line for row in parsed.rows)
    for product, row in zip(items, parsed.rows, strict=True):
        assert row.fields == {
            "sku": product.sku,
            "barcode": product.barcode,
            "name": product.name,
            "category": product.category,
            "unit_price": product.unit_price,
            "cost": product.cost,
            "tax_rate": product.tax_rate,
            "reorder_level": product.reorder_level,
            "is_active": product.is_active,
            "open_price": product.open_price,
            "sold_by_weight": product.sold_by_weight,
        }


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8")))
def test_any_file_is_parsed_or_refused_with_line_numbers(data):
    parsed = csvio.parse_products_csv(b"sku,name,unit_price\n" + data)
    # every problem names its line, or is about the whole file
    assert all(e.startswith(("line ", "The file")) for e in parsed.errors), parsed.errors
    for row in parsed.rows:
        assert "\x00" not in "".join(v for v in row.fields.values() if isinstance(v, str))


@pytest.mark.parametrize("cell", ["=", "'=", "''=1+1", "'-2", "'a", "'", "@x", "a=1"])
def test_a_text_cell_comes_back_as_exported(cell):
    """A name starting with an apostrophe before a formula character ("'=") used to come
    back without the apostrophe: the export left it alone, the import took one off."""
    item = P("s1", None, cell, "", Decimal(1), Decimal(0), Decimal(0), Decimal(0), True)
    parsed = csvio.parse_products_csv(csvio.write_products_csv([item]).encode("utf-8"))
    assert parsed.errors == []
    assert parsed.rows[0].fields["name"] == cell
