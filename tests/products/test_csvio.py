"""The products CSV format, parsed and written without a database."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from salesapp.products import csvio

HEADER = "sku,barcode,name,category,unit_price,cost,tax_rate,reorder_level,active\n"


def parse(text: str):
    return csvio.parse_products_csv(text.encode("utf-8"))


def test_a_good_file_gives_typed_rows_with_their_lines():
    result = parse(
        HEADER
        + "A-1,4001,Apple,Fruit,1.50,0.80,7.5,10,yes\n"
        + "\n"  # blank lines are skipped but still counted as lines
        + "B-2,,Banana,,0.3,,,,no\n"
    )
    assert result.errors == []
    assert [row.line for row in result.rows] == [2, 4]
    assert result.rows[0].fields == {
        "sku": "A-1",
        "barcode": "4001",
        "name": "Apple",
        "category": "Fruit",
        "unit_price": Decimal("1.50"),
        "cost": Decimal("0.80"),
        "tax_rate": Decimal("7.50"),
        "reorder_level": Decimal("10.000"),
        "is_active": True,
    }
    banana = result.rows[1].fields
    assert banana["barcode"] is None
    assert banana["cost"] == Decimal("0") and banana["tax_rate"] == Decimal("0")
    assert banana["is_active"] is False


def test_optional_columns_may_be_left_out_and_then_set_nothing():
    result = parse("Name,SKU,Unit_Price\r\nApple,A-1,2\r\n")
    assert result.errors == []
    assert result.rows[0].fields == {"sku": "A-1", "name": "Apple", "unit_price": Decimal("2.00")}


def test_every_bad_row_is_reported_by_line():
    result = parse(
        "sku,name,unit_price,tax_rate,active\n"
        "A,Apple,1,0,yes\n"
        ",Nameless,1,0,yes\n"
        "C,Cherry,abc,0,yes\n"
        "D,,-1,101,maybe\n"
        "E,Elder,1.005,0,\n"
    )
    assert result.errors == [
        "line 3: sku is required",
        "line 4: unit_price must be a number, got 'abc'",
        "line 5: name is required",
        "line 5: unit_price must be at least 0",
        "line 5: tax_rate must be at most 100",
        "line 5: active must be yes or no, got 'maybe'",
        "line 6: unit_price has more than 2 decimal places",
    ]
    assert [row.line for row in result.rows] == [2]


def test_a_huge_number_is_an_error_not_a_crash():
    result = parse("sku,name,unit_price,cost\nA,Apple,1e30,99999999999\n")
    assert result.errors == [
        "line 2: unit_price is too large",
        "line 2: cost must be at most 9999999999.99",
    ]


def test_too_long_text_and_nul_characters_are_errors():
    result = parse(f"sku,name,unit_price\n{'S' * 65},Apple,1\nB,Ba\x00na,1\n")
    assert result.errors == [
        "line 2: sku is too long (65 characters; at most 64)",
        "line 3: name must not contain NUL characters",
    ]


def test_line_numbers_count_physical_lines_of_quoted_multi_line_cells():
    result = parse('sku,name,unit_price\nA,"two\nlines",1\nB,Bad,x\n')
    assert result.errors == ["line 4: unit_price must be a number, got 'x'"]


def test_duplicate_skus_and_barcodes_in_the_file_are_errors():
    result = parse(
        "sku,barcode,name,unit_price\n"
        "A,111,Apple,1\n"
        "B,222,Banana,1\n"
        "A,333,Apple again,1\n"
        "C,222,Cherry,1\n"
        "D,444,Bad price,x\n"
        "D,555,Same SKU as a bad row,1\n"
    )
    assert result.errors == [
        "line 4: SKU A appears more than once (first on line 2)",
        "line 5: barcode 222 appears more than once (first on line 3)",
        "line 6: unit_price must be a number, got 'x'",
        "line 7: SKU D appears more than once (first on line 6)",
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("sku,name,active", "line 1: missing required column(s) unit_price"),
        ("barcode,price", "line 1: missing required column(s) sku, name, unit_price"),
        ("sku;name;unit_price", "(columns must be separated by commas)"),
        ("sku,name,unit_price,colour", "line 1: unknown column(s) 'colour'"),
        ("sku,name,unit_price,name", "line 1: column(s) named more than once: name"),
    ],
)
def test_header_problems_refuse_the_file(header, message):
    result = parse(header + "\nA,Apple,1\n")
    assert result.rows == []
    assert any(message in error for error in result.errors), result.errors


def test_a_row_with_more_cells_than_the_header_is_an_error():
    result = parse("sku,name,unit_price\nA,Apple,1,surprise\n")
    assert result.errors == ["line 2: has 4 cells, but the header has 3"]


def test_too_big_a_file_is_refused():
    data = (HEADER + "A,,x,,1,,,,\n").encode() + b" " * csvio.MAX_BYTES
    result = csvio.parse_products_csv(data)
    assert result.rows == []
    assert len(result.errors) == 1
    assert "at most 2 MB" in result.errors[0]


def test_ten_thousand_rows_are_fine_and_one_more_is_refused():
    rows = "".join(f"S{i},Item {i},1\n" for i in range(csvio.MAX_ROWS))
    assert len(parse("sku,name,unit_price\n" + rows).rows) == csvio.MAX_ROWS
    result = parse("sku,name,unit_price\n" + rows + "LAST,One too many,1\n")
    assert result.rows == []
    assert result.errors == [
        "The file has more than 10,000 rows; import at most 10,000 at once. "
        "Split it into smaller files."
    ]


def test_non_utf8_is_refused_and_a_byte_order_mark_is_accepted():
    latin1 = "sku,name,unit_price\nA,Café,1\n".encode("latin-1")
    result = csvio.parse_products_csv(latin1)
    assert result.rows == []
    assert result.errors[0].startswith("The file is not UTF-8 text (line 2: byte 0xe9")
    with_bom = "\ufeffsku,name,unit_price\nA,Café,1\n".encode()
    assert csvio.parse_products_csv(with_bom).rows[0].fields["name"] == "Café"


def test_an_empty_file_and_a_header_alone_are_refused():
    assert parse("").errors[0].startswith("The file is empty")
    assert parse("sku,name,unit_price\n").errors == ["The file has a header but no rows to import."]


def product(**kw):
    values = {
        "sku": "A-1",
        "barcode": None,
        "name": "Apple",
        "category": "",
        "unit_price": Decimal("1.50"),
        "cost": Decimal("0.00"),
        "tax_rate": Decimal("0.00"),
        "reorder_level": Decimal("0.000"),
        "is_active": True,
        "open_price": False,
        "sold_by_weight": False,
    }
    return SimpleNamespace(**{**values, **kw})


def test_written_file_reads_back_the_same_including_formula_like_text():
    products = [
        product(sku="A-1", barcode="0123", name='Apple, "red"', category="Fruit"),
        product(sku="-5", name="=HYPERLINK(1)", category="@cat", is_active=False),
        product(sku="+1", name="Plain", barcode="'quoted", open_price=True, sold_by_weight=True),
    ]
    text = csvio.write_products_csv(products)
    lines = text.split("\r\n")
    assert lines[0] == ",".join(f'"{name}"' for name in csvio.COLUMNS)
    assert lines[1] == (
        '"A-1","0123","Apple, ""red""","Fruit","1.50","0.00","0.00","0.000","yes","no","no"'
    )
    assert lines[3].endswith('"yes","yes","yes"')
    # a spreadsheet must not run these as formulas
    assert lines[2].startswith('"\'-5","","\'=HYPERLINK(1)","\'@cat",')
    result = csvio.parse_products_csv(text.encode())
    assert result.errors == []
    for row, original in zip(result.rows, products, strict=True):
        assert row.fields == vars(original)


def test_a_huge_cell_names_its_line_and_the_other_rows_are_not_enough():
    data = b"sku,name,unit_price\nA,Apple,1\nB," + b"x" * 200_000 + b",1\nC,Cherry,1\n"
    parsed = csvio.parse_products_csv(data)
    assert parsed.errors == [
        "line 3: a cell is longer than 131,072 characters, far more than any product "
        "field holds; check that its quotes are closed"
    ]


def test_bad_encoding_names_the_line():
    parsed = csvio.parse_products_csv(b"sku,name,unit_price\nA,Apple,1\nB,Caf\xe9,1\n")
    assert parsed.rows == []
    assert parsed.errors[0].startswith("The file is not UTF-8 text (line 3: byte 0xe9")


# -- the till's flags (issue 17) -----------------------------------------------------
def test_a_file_without_the_till_columns_sets_no_flags():
    """Files written before open_price and sold_by_weight import as before: the rows
    leave the flags alone (a new product gets the model's default, false)."""
    result = parse(HEADER + "A-1,,Apple,,1.50,,,,yes\n")
    assert result.errors == []
    assert "open_price" not in result.rows[0].fields
    assert "sold_by_weight" not in result.rows[0].fields


def test_till_flags_are_yes_or_no_and_blank_is_no():
    result = parse(
        "sku,name,unit_price,open_price,sold_by_weight\n"
        "A,Apple,1.50,yes,no\n"
        "B,Bulk rice,2.10,,Y\n"
        "C,Cake,3,0,\n"
    )
    assert result.errors == []
    flags = [(r.fields["open_price"], r.fields["sold_by_weight"]) for r in result.rows]
    assert flags == [(True, False), (False, True), (False, False)]


def test_an_open_price_product_may_leave_its_price_blank_but_others_may_not():
    result = parse("sku,name,unit_price,open_price\nA,Flowers,,yes\nB,Bread,,no\n")
    assert [row.line for row in result.rows] == [2]
    assert result.rows[0].fields["unit_price"] == Decimal("0")
    assert result.errors == ["line 3: unit_price is required"]


def test_a_bad_till_flag_is_reported_after_the_rows_other_problems():
    result = parse("sku,name,unit_price,sold_by_weight\nA,,x,kg\n")
    assert result.rows == []
    assert result.errors == [
        "line 2: name is required",
        "line 2: unit_price must be a number, got 'x'",
        "line 2: sold_by_weight must be yes or no, got 'kg'",
    ]
