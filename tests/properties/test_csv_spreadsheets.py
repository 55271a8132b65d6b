"""What a spreadsheet does with our CSV files: opened in a comma locale or a semicolon
one, honouring our quotes or not, no field of a products export or a report starts with
a formula character; and the products export still re-imports to exactly what it was.

"a;=1+1" used to be exported as it is: harmless in a comma locale, a formula in a
semicolon one (Excel splits a ``.csv`` on the locale's list separator)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesapp.csvcells import FORMULA_STARTS, escape_cell, unescape_cell
from salesapp.products import csvio
from salesapp.reports.definitions import REPORTS
from salesapp.reports.services import ReportResult
from salesapp.reports.views import report_csv
from tests.properties.test_csv import P

#: text dense in what matters here: separators, formula characters, quotes, apostrophes
risky_text = st.text(
    st.sampled_from([",", ";", "\n", "=", "+", "-", "@", "\t", "'", '"', " ", "a", "1", "é"]),
    min_size=1,
    max_size=16,
)
#: what a product's text may be (no surrounding spaces, no lone CR: see test_csv.py)
product_text = risky_text.map(str.strip).filter(bool)


def spreadsheet_fields(text: str) -> list[str]:
    """Every field some spreadsheet could make of ``text``: split on the comma or the
    semicolon, honouring double quotes (csv) or not (a naive split of each line), with
    any surrounding double quotes taken off."""
    fields = []
    for delimiter in (",", ";"):
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            fields += row
        for line in re.split(r"\r\n|\n", text):
            fields += line.split(delimiter)
    return [field.strip('"') for field in fields]


def runnable(text: str) -> list[str]:
    """The fields of ``text`` a spreadsheet would run as formulas."""
    return [field for field in spreadsheet_fields(text) if field.startswith(FORMULA_STARTS)]


def one_product(name: str, category: str = "") -> P:
    return P("s1", None, name, category, Decimal(1), Decimal(0), Decimal(0), Decimal(0), True)


@pytest.mark.parametrize(
    "cell",
    ["a;=1+1", "a,=1+1", "a;+1", "a; -1;@x", "x\n=cmd", 'a;"=1+1"', "a;'=1", "=a;=b,=c"],
)
def test_a_formula_after_a_separator_is_escaped_and_comes_back(cell):
    text = csvio.write_products_csv([one_product(cell, category=cell)])
    assert runnable(text) == []
    parsed = csvio.parse_products_csv(text.encode("utf-8"))
    assert parsed.errors == []
    assert parsed.rows[0].fields["name"] == cell
    assert parsed.rows[0].fields["category"] == cell


def test_text_without_a_formula_is_written_as_it_is():
    assert escape_cell("Tea; green, loose") == "Tea; green, loose"
    assert escape_cell("a=1") == "a=1"
    assert escape_cell("a;=1") == "a;'=1"


@settings(max_examples=300, deadline=None)
@given(risky_text)
def test_unescape_inverts_escape(value):
    assert unescape_cell(escape_cell(value)) == value


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(product_text, st.just("") | product_text), min_size=1, max_size=5))
def test_an_export_runs_nothing_and_imports_back_unchanged(texts):
    items = [
        replace(one_product(name, category), sku=f"s{i}")
        for i, (name, category) in enumerate(texts)
    ]
    text = csvio.write_products_csv(items)
    assert runnable(text) == []
    parsed = csvio.parse_products_csv(text.encode("utf-8"))
    assert parsed.errors == []
    assert [(r.fields["name"], r.fields["category"]) for r in parsed.rows] == texts


@settings(max_examples=100, deadline=None)
@given(risky_text, risky_text)
def test_a_report_runs_nothing(sku, name):
    report = REPORTS["sales-by-product"]
    amounts = {"sales": 1, "quantity": Decimal(1), "gross": Decimal(1)}
    amounts |= {"refunds": Decimal(0), "net": Decimal(1)}
    result = ReportResult(rows=[{"sku": sku, "product": name, **amounts}], totals=amounts)
    assert runnable(report_csv(report, result)) == []
