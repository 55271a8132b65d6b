"""A JSON body that gives a name twice, at any depth, is refused with 400 naming it
(by its path in the body) and saying to send each field once, and nothing is written:
parsers disagree on which of the two wins (Python's keeps the last, others the first),
so a body a proxy or a client library reads one way must not be applied another."""

from __future__ import annotations

import pytest

from tests.api.conftest import new_product, receive
from tests.api.test_bad_input import check, counts

#: (method, path, body as sent, the field named)
CASES = [
    (
        "POST",
        "/api/products",
        '{"sku": "DUP-1", "name": "Tea", "unit_price": "9.00", "unit_price": "0.01"}',
        "unit_price",
    ),
    ("PATCH", "/api/products/{id}", '{"unit_price": "9.00", "unit_price": "0.01"}', "unit_price"),
    ("POST", "/api/customers", '{"name": "Ann", "email": "a@b.example", "name": "Bob"}', "name"),
    # an escape spells the same name: names are compared as decoded
    ("POST", "/api/customers", '{"name": "Ann", "n\\u0061me": "Bob"}', "name"),
    (
        "POST",
        "/api/sales",
        '{"lines": [{"sku": "DUPS", "quantity": "1", "quantity": "100"}],'
        ' "payments": [{"method": "cash", "amount": "100"}]}',
        "lines[0].quantity",
    ),
    (
        "POST",
        "/api/sales",
        '{"lines": [{"sku": "DUPS", "quantity": "1"}], "payments": ['
        '{"method": "card", "amount": "1"}, {"method": "cash", "amount": "1", "amount": "0"}]}',
        "payments[1].amount",
    ),
    (
        "POST",
        "/api/sales",
        '{"lines": [{"sku": "DUPS", "quantity": "1"}], "lines": [{"sku": "DUPS", "quantity": "9"}]}',
        "lines",
    ),
    # broken after the repeat as well: the repeat is still named, never a 500
    ("POST", "/api/sales", '{"lines": [{"sku": "DUPS", "sku": "X"}], ', "sku"),
]


@pytest.fixture(scope="module")
def product(module_api_staff, owner_engines):
    made = new_product(module_api_staff.manager, "DUPS", "2.50")
    receive(owner_engines.session, module_api_staff.tenant, made["id"], "200")
    return made


@pytest.mark.parametrize(("method", "path", "body", "field"), CASES)
def test_a_name_given_twice_is_refused_and_named(
    module_api_staff, product, store, method, path, body, field
):
    api = module_api_staff.admin
    before = counts(store, module_api_staff.tenant)
    res = api.raw(method, path.format(id=product["id"]), body.encode())
    check(res, 400, field, "is given more than once")
    assert f"gives {field!r} more than once" in res.json["message"]
    assert "send each field once" in res.json["message"]
    assert counts(store, module_api_staff.tenant) == before
    assert api.get(f"/api/products/{product['id']}").json == product


def test_names_differing_in_case_are_not_repeats(module_api_staff, product):
    """Only the same name twice is refused: another spelling is an unknown field."""
    res = module_api_staff.admin.raw(
        "PATCH", f"/api/products/{product['id']}", b'{"name": "Tea", "Name": "Coffee"}'
    )
    check(res, 400, "Name", "is not a known field")


def test_the_same_body_without_the_repeat_is_taken(module_api_staff, product):
    body = b'{"lines": [{"sku": "DUPS", "quantity": "1"}], "payments": [{"method": "cash", "amount": "100"}]}'
    res = module_api_staff.cashier.raw("POST", "/api/sales", body, status=201)
    assert res.status_int == 201, res.text
