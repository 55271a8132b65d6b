"""Numbers, dates and ids are read with the ASCII digits 0-9 only, in every form and
filter (salesapp.forms): other scripts' digits, which Python's Decimal and int take,
and "²" or "①", which str.isdigit() takes and int() refuses, are a field's error that
says so, never a value nor a server error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesapp.forms import Form, parse_date, parse_decimal, parse_integer, parse_uuid

#: digits Python's int() and Decimal() read, and digits str.isdigit() alone admits
UNICODE_DIGITS = ["\u0663", "\uff11", "\u0969", "\u00b2", "\u2460", "\U0001d7d9"]


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_numbers_and_dates_of_other_digits_are_refused_with_a_message(digit):
    form = Form({"n": f"1{digit}", "i": digit, "d": f"2024-01-0{digit}", "u": digit * 32})
    assert form.decimal("n") is None
    assert form.integer("i") is None
    assert form.date("d") is None
    assert form.uuid("u") is None
    assert "written with the digits 0-9" in form.errors["n"]
    assert "written with the digits 0-9" in form.errors["i"]
    assert "with the digits 0-9" in form.errors["d"]
    assert form.errors["u"] == "is not a valid id"


def test_ascii_numbers_are_read_as_before():
    form = Form({"a": "12.50", "b": "-3", "d": "1e3", "e": "2024-02-29"})
    assert form.decimal("a") == Decimal("12.50")
    assert form.integer("b") == -3
    assert form.decimal("d", maximum=Decimal("5000")) == Decimal("1000.00")
    assert form.date("e") == dt.date(2024, 2, 29)
    assert form.errors == {}


def test_a_comma_is_never_turned_into_a_point():
    """Without a locale (the API's way) a comma is refused, not read as a decimal point
    (``1,234`` was once stored as 1.234); with one, it means what the locale says."""
    from salesapp.localization import Local

    plain = Form({"c": "1,5", "g": "1,234"})
    assert plain.decimal("c") is None
    assert plain.decimal("g") is None
    assert set(plain.errors) == {"c", "g"}
    english = Form({"g": "1,234", "c": "1,5"}, local=Local(locale_id="en_US"))
    assert english.decimal("g") == Decimal("1234.00")
    assert english.decimal("c") is None
    assert "ambiguous" in english.errors["c"]
    german = Form({"g": "1,234", "c": "1,5"}, local=Local(locale_id="de_DE"))
    assert german.decimal("g", places=3) == Decimal("1.234")
    assert german.decimal("c") == Decimal("1.50")


def outcome(parse, text):
    """(value, None) or (None, the ValueError's message): nothing else may come out."""
    try:
        return parse(text), None
    except ValueError as exc:
        return None, str(exc)


@given(st.text(max_size=60))
def test_any_text_is_a_number_of_ascii_digits_or_a_value_error(text):
    value, error = outcome(parse_decimal, text)
    if error is None:
        assert text.isascii()
        assert value.is_finite()
    else:
        assert error.startswith("must be a number")


@given(st.text(max_size=40))
def test_any_text_is_a_date_an_integer_or_a_value_error(text):
    for parse in (parse_date, parse_integer):
        _value, error = outcome(parse, text)
        assert text.isascii() if error is None else error.startswith("must be")


@given(st.text(max_size=60))
def test_a_form_field_of_any_text_is_a_bounded_value_or_its_error(text):
    form = Form({"n": text, "d": text, "i": text, "u": text})
    number = form.decimal("n", places=2, maximum=Decimal("9999999999.99"))
    day = form.date("d")
    whole = form.integer("i", minimum=1, maximum=1_000_000, required=False, default=1)
    # out of its bounds, a value comes with its field's error (the form is refused)
    assert number is None or abs(number) < Decimal("1e13")
    assert number is None or number <= Decimal("9999999999.99") or "n" in form.errors
    assert day is None or dt.date(1900, 1, 1) <= day <= dt.date(2999, 12, 31)
    assert whole is None or 1 <= whole <= 1_000_000 or "i" in form.errors
    assert parse_uuid(text) is None or text.isascii()


@pytest.mark.parametrize(
    ("path", "params", "shown"),
    [
        ("/customers", {"page": "\u0663"}, "Page must be a number written with the digits 0-9"),
        ("/products", {"page": "\uff12"}, "must be a number written with the digits 0-9"),
        ("/expenses", {"from": "\uff12\uff10\uff12\uff14-01-01"}, "with the digits 0-9"),
        ("/reports/sales-by-day", {"to": "2024-01-0\u0661"}, "with the digits 0-9"),
        ("/audit", {"page": "\u00b2"}, "must be a number written with the digits 0-9"),
    ],
)
def test_a_filter_of_other_digits_is_a_400_that_says_which_digits(
    filled_workspace, path, params, shown
):
    res = filled_workspace.client.get(path, params=params, status=400)
    assert shown in res.text


def test_a_form_number_of_other_digits_is_refused_and_nothing_is_written(filled_workspace):
    before = filled_workspace.counts()
    res = filled_workspace.post(
        "/expenses/new",
        {
            "category": "Rent",
            "amount": "\u0661\u0662",  # Arabic-Indic 12: Decimal() reads it as 12
            "spent_on": "2024-01-02",
            "location_id": str(filled_workspace.location_id),
            "note": "",
        },
    )
    assert res.status_int == 400
    assert "Amount must be a number written with the digits 0-9" in res.text
    assert filled_workspace.counts() == before
