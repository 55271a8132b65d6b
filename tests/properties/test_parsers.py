"""Properties of the input parsers, on arbitrary input: they answer with their own
validation error or a value within bounds, never with anything else; and amounts
written the way the app writes them read back unchanged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webob.multidict import MultiDict

from salesapp.api.jsonio import ApiError, ApiForm
from salesapp.api.views import _num, _qty, read_sale
from salesapp.customers.services import read_customer_fields
from salesapp.expenses.forms import read_expense_fields
from salesapp.forms import EARLIEST, LATEST, Form, FormError, money
from salesapp.locations.forms import parse_location
from salesapp.products.services import MAX_MONEY, MAX_QUANTITY, read_product_fields

PRODUCT_NAMES = ("sku", "barcode", "name", "category", "unit_price", "cost", "tax_rate")
PRODUCT_NAMES += ("reorder_level",)
FIELD_NAMES = (*PRODUCT_NAMES, "phone", "email", "notes", "amount", "spent_on", "note")
FIELD_NAMES += ("location_id", "address", "active")

#: what a browser can send: any text (webob replaces undecodable bytes)
form_text = st.text(max_size=300) | st.sampled_from(["", " ", "\x00", "1e999", "NaN", "-0"])
form_data = st.dictionaries(st.sampled_from(FIELD_NAMES), form_text, max_size=len(FIELD_NAMES))
#: what a JSON body can hold
json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


def _no_nul(fields: dict) -> None:
    for value in fields.values():
        if isinstance(value, str):
            assert "\x00" not in value


def _bounded_product(fields: dict) -> None:
    for name, limit in (("unit_price", MAX_MONEY), ("cost", MAX_MONEY)):
        assert Decimal("0") <= fields[name] <= limit
    assert Decimal("0") <= fields["tax_rate"] <= Decimal("100")
    assert Decimal("0") <= fields["reorder_level"] <= MAX_QUANTITY
    assert len(fields["sku"]) <= 64 and len(fields["name"]) <= 200


@settings(max_examples=300, deadline=None)
@given(form_data)
def test_web_form_parsers_refuse_or_bound_any_text(data):
    for read, check in (
        (read_product_fields, _bounded_product),
        (read_customer_fields, None),
        (
            lambda form: (
                read_expense_fields(form, with_location=True, today=dt.date(2026, 12, 1)).__dict__
            ),
            None,
        ),
    ):
        form = Form(MultiDict(data))
        fields = read(form)
        if form.errors:
            continue  # refused, with a message per field
        _no_nul(fields)
        if check:
            check(fields)
    try:
        location = parse_location(MultiDict(data), with_active=True)
    except FormError as exc:
        assert exc.errors
    else:
        assert "\x00" not in location.name + location.address


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from((*PRODUCT_NAMES, "x")), json_value, max_size=9))
def test_api_product_parser_refuses_or_bounds_any_json(data):
    form = ApiForm(data, known=PRODUCT_NAMES, nullable={"barcode"})
    fields = read_product_fields(form)
    try:
        form.check()
    except ApiError as exc:
        assert exc.status == 400 and exc.errors and exc.message
        return
    _no_nul(fields)
    _bounded_product(fields)


sale_line = st.fixed_dictionaries(
    {},
    optional={
        "product_id": st.uuids().map(str) | json_value,
        "sku": st.text(max_size=70) | json_value,
        "quantity": st.decimals(places=3, allow_nan=False, allow_infinity=False).map(str)
        | json_value,
        "discount": st.decimals(places=2, allow_nan=False, allow_infinity=False).map(str)
        | json_value,
        "discount_percent": st.decimals(places=2, allow_nan=False, allow_infinity=False).map(str)
        | json_value,
        "price": st.decimals(places=2, allow_nan=False, allow_infinity=False).map(str) | json_value,
    },
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "lines": st.lists(sale_line | json_value, max_size=4) | json_value,
            "payments": st.lists(json_value, max_size=3) | json_value,
            "customer_id": st.uuids().map(str) | json_value,
            "register_id": st.uuids().map(str) | json_value,
            "cart_discount": st.decimals(places=2, allow_nan=False, allow_infinity=False).map(str)
            | json_value,
            "cart_discount_percent": st.decimals(
                places=2, allow_nan=False, allow_infinity=False
            ).map(str)
            | json_value,
        },
    )
)
def test_api_sale_parser_refuses_or_bounds_any_json(data):
    try:
        sale = read_sale(data)
    except ApiError as exc:
        assert exc.status == 400 and exc.errors
        return
    assert sale.lines
    hundred = Decimal("100")
    for line in sale.lines:
        assert Decimal("0") < line["quantity"] <= Decimal("100000")
        assert line["discount"] is None or Decimal("0") <= line["discount"] <= MAX_MONEY
        assert line["percent"] is None or Decimal("0") <= line["percent"] <= hundred
        assert line["discount"] is None or line["percent"] is None
        assert line["price"] is None or Decimal("0") <= line["price"] <= MAX_MONEY
    for payment in sale.payments:
        assert Decimal("0") <= payment.amount <= Decimal("10000000")
    most = hundred if sale.cart_discount.percent else MAX_MONEY
    assert Decimal("0") <= sale.cart_discount.value <= most


amounts = st.decimals(min_value=0, max_value=MAX_MONEY, places=2)
quantities = st.decimals(min_value=0, max_value=MAX_QUANTITY, places=3)


@given(amounts)
def test_money_written_by_the_api_reads_back_unchanged(value):
    written = _num(value)
    form = ApiForm({"amount": written})
    assert form.decimal("amount", places=2, maximum=MAX_MONEY) == value
    assert not form.errors
    assert Form({"amount": written}).decimal("amount", places=2) == value
    assert money(written) == value and _num(written) == written


@given(quantities)
def test_quantities_written_by_the_api_read_back_unchanged(value):
    written = _qty(value)
    form = ApiForm({"quantity": written})
    assert form.decimal("quantity", places=3) == value
    assert not form.errors


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12))
def test_money_rounds_to_cents_half_up_within_half_a_cent(value):
    rounded = money(value)
    assert rounded == rounded.quantize(Decimal("0.01"))
    assert abs(rounded - value) <= Decimal("0.005")
    assert money(rounded) == rounded


@given(st.dates())
def test_dates_read_back_or_are_refused_outside_the_range(day):
    form = Form({"day": day.isoformat()})
    value = form.date("day")
    if EARLIEST <= day <= LATEST and len(day.isoformat()) == 10:
        assert value == day and not form.errors
    else:
        assert value is None and "day" in form.errors


@pytest.mark.parametrize("places", [0, 2, 3])
@settings(max_examples=100)
@given(raw=st.text(max_size=40))
def test_decimal_fields_never_raise(places, raw):
    form = Form({"n": raw})
    value = form.decimal("n", places=places, required=False)
    if value is not None and not form.errors:
        assert value.as_tuple().exponent == -places or value == 0
        assert value.adjusted() <= 12
