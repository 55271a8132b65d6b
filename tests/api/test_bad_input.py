"""Bad input on every field of every endpoint: a 4xx JSON answer that names the field,
and nothing written. (The autouse no_server_error_logged fixture also shows that none
of it reached the catch-all 500 view.)"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from salesapp.api.jsonio import MAX_BODY_BYTES
from salesapp.customers.models import Customer
from salesapp.products.models import Product
from salesapp.sales.models import Sale
from tests.api.conftest import new_product

UNKNOWN_ID = "01a2092b-1ec6-7387-93bc-6e2beebd8b5f"


@pytest.fixture(scope="module")
def product(module_api_staff):
    return new_product(module_api_staff.manager, "KEEP", "2.50", barcode="999")


def counts(store, tenant):
    with store(tenant) as db:
        return tuple(
            db.scalar(select(func.count()).select_from(model))
            for model in (Product, Customer, Sale)
        )


@pytest.fixture
def unchanged(module_api_staff, product, store):
    """Asserts after the test that no product, customer or sale was added, and that
    the module's product is as it was."""
    before = counts(store, module_api_staff.tenant)
    yield
    assert counts(store, module_api_staff.tenant) == before
    assert module_api_staff.admin.get(f"/api/products/{product['id']}").json == product


def check(res, status, field, message=None):
    assert res.status_int == status, res.text
    assert res.content_type == "application/json"
    body = res.json
    assert set(body) == {"message", "errors"} and body["message"]
    assert field in body["errors"], body
    if message is not None:
        assert message in body["errors"][field], body
    assert "Traceback" not in res.text


VALID_PRODUCT = {"sku": "NEW-1", "name": "New", "unit_price": "1.00"}

PRODUCT_CASES = [
    # missing
    ({"name": "x", "unit_price": "1"}, "sku", "is required"),
    ({"sku": "x", "unit_price": "1"}, "name", "is required"),
    ({"sku": "x", "name": "x"}, "unit_price", "is required"),
    ({**VALID_PRODUCT, "sku": "   "}, "sku", "is required"),
    # types
    ({**VALID_PRODUCT, "sku": 12}, "sku", "must be a string, not a number"),
    ({**VALID_PRODUCT, "name": ["x"]}, "name", "must be a string, not an array"),
    ({**VALID_PRODUCT, "name": None}, "name", "must be a string, not null"),
    ({**VALID_PRODUCT, "category": {"a": 1}}, "category", "not an object"),
    ({**VALID_PRODUCT, "barcode": 123}, "barcode", "must be a string"),
    ({**VALID_PRODUCT, "unit_price": 12.5}, "unit_price", "a number in a string"),
    ({**VALID_PRODUCT, "unit_price": True}, "unit_price", "not a boolean"),
    ({**VALID_PRODUCT, "cost": None}, "cost", "not null"),
    ({**VALID_PRODUCT, "is_active": "yes"}, "is_active", "must be true or false"),
    ({**VALID_PRODUCT, "is_active": 1}, "is_active", "must be true or false"),
    # bounds
    ({**VALID_PRODUCT, "sku": "S" * 65}, "sku", "at most 64"),
    ({**VALID_PRODUCT, "barcode": "1" * 65}, "barcode", "at most 64"),
    ({**VALID_PRODUCT, "name": "N" * 201}, "name", "at most 200"),
    ({**VALID_PRODUCT, "category": "C" * 101}, "category", "at most 100"),
    ({**VALID_PRODUCT, "unit_price": "-0.01"}, "unit_price", "at least 0"),
    ({**VALID_PRODUCT, "unit_price": "10000000000"}, "unit_price", "at most 9999999999.99"),
    ({**VALID_PRODUCT, "unit_price": "1" + "0" * 13}, "unit_price", "is too large"),
    ({**VALID_PRODUCT, "unit_price": "1e2"}, "unit_price", 'written like "12.50"'),
    ({**VALID_PRODUCT, "unit_price": "1,5"}, "unit_price", 'written like "12.50"'),
    ({**VALID_PRODUCT, "unit_price": " 1"}, "unit_price", 'written like "12.50"'),
    ({**VALID_PRODUCT, "unit_price": "١"}, "unit_price", 'written like "12.50"'),
    ({**VALID_PRODUCT, "unit_price": "1\n"}, "unit_price", 'written like "12.50"'),
    ({**VALID_PRODUCT, "unit_price": "1.001"}, "unit_price", "more than 2 decimal places"),
    ({**VALID_PRODUCT, "unit_price": "abc"}, "unit_price", "must be a number"),
    ({**VALID_PRODUCT, "cost": "NaN"}, "cost", "must be a number"),
    ({**VALID_PRODUCT, "cost": "Infinity"}, "cost", "must be a number"),
    ({**VALID_PRODUCT, "tax_rate": "100.01"}, "tax_rate", "at most 100"),
    ({**VALID_PRODUCT, "tax_rate": "-1"}, "tax_rate", "at least 0"),
    ({**VALID_PRODUCT, "reorder_level": "1.0001"}, "reorder_level", "decimal places"),
    ({**VALID_PRODUCT, "reorder_level": "1000000000"}, "reorder_level", "at most"),
    # text PostgreSQL cannot store
    ({**VALID_PRODUCT, "name": "a\x00b"}, "name", "NUL"),
    ({**VALID_PRODUCT, "unit_price": "1\x00"}, "unit_price", "NUL"),
    # unknown fields
    ({**VALID_PRODUCT, "colour": "red"}, "colour", "is not a known field"),
    ({**VALID_PRODUCT, "id": UNKNOWN_ID}, "id", "is not a known field"),
]


@pytest.mark.parametrize(("body", "field", "message"), PRODUCT_CASES)
def test_bad_product_fields_on_create(module_api_staff, unchanged, body, field, message):
    res = module_api_staff.manager.post("/api/products", body, status=400)
    check(res, 400, field, message)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [(body, field, message) for body, field, message in PRODUCT_CASES if field in body]
    + [
        ({"sku": None}, "sku", "must be a string, not null"),
        ({"sku": ""}, "sku", "is required"),
        ({"unit_price": ""}, "unit_price", "is required"),
    ],
)
def test_bad_product_fields_on_update(module_api_staff, product, unchanged, body, field, message):
    body = {k: v for k, v in body.items() if k not in VALID_PRODUCT or k == field}
    res = module_api_staff.manager.patch(f"/api/products/{product['id']}", body, status=400)
    check(res, 400, field, message)


def test_every_error_is_reported_at_once(module_api_staff, unchanged):
    res = module_api_staff.manager.post(
        "/api/products", {"sku": 1, "name": "", "unit_price": "x", "tax_rate": "101"}, status=400
    )
    assert set(res.json["errors"]) == {"sku", "name", "unit_price", "tax_rate"}


def test_a_lone_surrogate_is_refused(module_api_staff, unchanged):
    body = b'{"sku": "S\\ud800", "name": "x", "unit_price": "1"}'
    res = module_api_staff.manager.raw("POST", "/api/products", body, status=400)
    check(res, 400, "sku", "valid Unicode")


# -- the body itself -----------------------------------------------------------------
BAD_BODIES = [
    (b"", "body", "not valid JSON"),
    (b"{", "body", "not valid JSON"),
    (b"{'sku': 'x'}", "body", "not valid JSON"),
    (b'{"sku": "x",}', "body", "not valid JSON"),
    (b'{"unit_price": NaN}', "body", "not a number JSON allows"),
    (b'{"unit_price": Infinity}', "body", "not a number JSON allows"),
    (b'{"unit_price": 1' + b"1" * 5000 + b"}", "body", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "body", "not valid JSON"),
    (b'{"sku": "\xff"}', "body", "not valid UTF-8"),
    (b"[]", "body", "must be a JSON object"),
    (b'"text"', "body", "must be a JSON object"),
    (b"12", "body", "must be a JSON object"),
    (b"null", "body", "must be a JSON object"),
    (b"true", "body", "must be a JSON object"),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD_BODIES)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/products"), ("POST", "/api/customers"), ("POST", "/api/sales")],
)
def test_bad_json_bodies_are_400(module_api_staff, unchanged, method, path, body, field, message):
    res = module_api_staff.admin.raw(method, path, body, status=400)
    check(res, 400, field)
    assert message in res.json["message"]


def test_a_bad_body_on_update_is_400(module_api_staff, product, unchanged):
    res = module_api_staff.admin.raw("PATCH", f"/api/products/{product['id']}", b"[1]", status=400)
    check(res, 400, "body", "must be an object")


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/json; charset=latin-1",
        "",
    ],
)
@pytest.mark.parametrize("path", ["/api/products", "/api/customers", "/api/sales"])
def test_other_content_types_are_415(module_api_staff, unchanged, path, content_type):
    body = json.dumps({"name": "x"}).encode()
    res = module_api_staff.admin.raw("POST", path, body, content_type=content_type, status=415)
    check(res, 415, "body")


def test_json_with_a_utf8_charset_is_fine(module_api_staff, store):
    res = module_api_staff.manager.raw(
        "POST",
        "/api/customers",
        json.dumps({"name": "Zoë"}).encode(),
        content_type="application/json; charset=UTF-8",
        status=201,
    )
    assert res.json["name"] == "Zoë"


@pytest.mark.parametrize("path", ["/api/products", "/api/customers", "/api/sales"])
def test_a_body_over_one_megabyte_is_413(module_api_staff, unchanged, path):
    body = json.dumps({"name": "x" * MAX_BODY_BYTES}).encode()
    res = module_api_staff.admin.raw("POST", path, body, status=413)
    check(res, 413, "body", "too large")


def test_a_body_of_exactly_one_megabyte_is_read(module_api_staff, unchanged):
    padding = MAX_BODY_BYTES - len(json.dumps({"name": ""}).encode())
    body = json.dumps({"name": "x" * padding}).encode()
    assert len(body) == MAX_BODY_BYTES
    res = module_api_staff.manager.raw("POST", "/api/customers", body, status=400)
    check(res, 400, "name", "at most 200")


# -- customers -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "name", "is required"),
        ({"name": " "}, "name", "is required"),
        ({"name": 7}, "name", "must be a string"),
        ({"name": "N" * 201}, "name", "at most 200"),
        ({"name": "x", "phone": "5" * 51}, "phone", "at most 50"),
        ({"name": "x", "phone": 5550101}, "phone", "must be a string"),
        ({"name": "x", "email": "e" * 250 + "@x.org"}, "email", "at most 254"),
        ({"name": "x", "email": "nobody"}, "email", "not a valid e-mail"),
        ({"name": "x", "notes": "n" * 2001}, "notes", "at most 2000"),
        ({"name": "x", "notes": None}, "notes", "not null"),
        ({"name": "x\x00"}, "name", "NUL"),
        ({"name": "x", "vip": True}, "vip", "is not a known field"),
    ],
)
def test_bad_customer_fields(module_api_staff, unchanged, body, field, message):
    res = module_api_staff.manager.post("/api/customers", body, status=400)
    check(res, 400, field, message)


# -- sales ---------------------------------------------------------------------------
LINE = {"sku": "KEEP", "quantity": "1"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "lines", "is required"),
        ({"lines": None}, "lines", "is required"),
        ({"lines": "KEEP"}, "lines", "must be an array"),
        ({"lines": []}, "lines", "at least one line"),
        ({"lines": [LINE] * 51}, "lines", "at most 50"),
        ({"lines": ["KEEP"]}, "lines[0]", "must be an object"),
        ({"lines": [LINE, {**LINE, "colour": "red"}]}, "lines[1].colour", "not a known field"),
        ({"lines": [{"quantity": "1"}]}, "lines[0].product_id", "exactly one"),
        ({"lines": [{**LINE, "product_id": UNKNOWN_ID}]}, "lines[0].product_id", "exactly one"),
        ({"lines": [{"product_id": "nope", "quantity": "1"}]}, "lines[0].product_id", "valid id"),
        ({"lines": [{"product_id": None, "quantity": "1"}]}, "lines[0].product_id", "not null"),
        ({"lines": [{"sku": "", "quantity": "1"}]}, "lines[0].sku", "is required"),
        ({"lines": [{"sku": 5, "quantity": "1"}]}, "lines[0].sku", "must be a string"),
        ({"lines": [{"sku": "S" * 65, "quantity": "1"}]}, "lines[0].sku", "at most 64"),
        ({"lines": [{"sku": "KEEP"}]}, "lines[0].quantity", "is required"),
        ({"lines": [{**LINE, "quantity": 1}]}, "lines[0].quantity", "a number in a string"),
        ({"lines": [{**LINE, "quantity": "0"}]}, "lines[0].quantity", "at least 0.001"),
        ({"lines": [{**LINE, "quantity": "-1"}]}, "lines[0].quantity", "at least 0.001"),
        ({"lines": [{**LINE, "quantity": "100000.001"}]}, "lines[0].quantity", "at most 100000"),
        ({"lines": [{**LINE, "quantity": "0.0001"}]}, "lines[0].quantity", "decimal places"),
        ({"lines": [{**LINE, "discount": "-1"}]}, "lines[0].discount", "at least 0"),
        ({"lines": [{**LINE, "discount": "x"}]}, "lines[0].discount", "must be a number"),
        ({"lines": [LINE], "payments": "cash"}, "payments", "must be an array"),
        ({"lines": [LINE], "payments": [{"method": "cash", "amount": "1"}] * 11}, "payments",
         "at most 10"),
        ({"lines": [LINE], "payments": [5]}, "payments[0]", "must be an object"),
        ({"lines": [LINE], "payments": [{"amount": "1"}]}, "payments[0].method", "is required"),
        ({"lines": [LINE], "payments": [{"method": "bitcoin", "amount": "1"}]},
         "payments[0].method", "must be one of cash, card, mobile_money"),
        ({"lines": [LINE], "payments": [{"method": "cash"}]}, "payments[0].amount", "is required"),
        ({"lines": [LINE], "payments": [{"method": "cash", "amount": "-5"}]},
         "payments[0].amount", "at least 0"),
        ({"lines": [LINE], "payments": [{"method": "cash", "amount": "10000000.01"}]},
         "payments[0].amount", "at most 10000000"),
        ({"lines": [LINE], "payments": [{"method": "card", "amount": "5", "reference": "r" * 101}]},
         "payments[0].reference", "at most 100"),
        ({"lines": [LINE], "payments": [{"method": "cash", "amount": "5", "tip": "1"}]},
         "payments[0].tip", "not a known field"),
        ({"lines": [LINE], "customer_id": "nope"}, "customer_id", "valid id"),
        ({"lines": [LINE], "customer_id": 5}, "customer_id", "must be an id"),
        ({"lines": [LINE], "location_id": "x" * 100}, "location_id", "valid id"),
        ({"lines": [LINE], "number": 7}, "number", "not a known field"),
    ],
)  # fmt: skip
def test_bad_sale_fields(module_api_staff, unchanged, body, field, message):
    res = module_api_staff.cashier.post("/api/sales", body, status=400)
    check(res, 400, field, message)


# -- query strings -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "params", "field", "message"),
    [
        ("/api/products", {"limit": "0"}, "limit", "at least 1"),
        ("/api/products", {"limit": "101"}, "limit", "at most 100"),
        ("/api/products", {"limit": "ten"}, "limit", "must be a whole number"),
        ("/api/products", {"limit": "1.5"}, "limit", "must be a whole number"),
        ("/api/products", {"offset": "-1"}, "offset", "at least 0"),
        ("/api/products", {"offset": "1000001"}, "offset", "at most 1000000"),
        ("/api/products", {"offset": "9" * 40}, "offset", "too large"),
        ("/api/products", {"q": "q" * 201}, "q", "at most 200"),
        ("/api/products", {"q": "a\x00"}, "q", "NUL"),
        ("/api/products", {"category": "c" * 101}, "category", "at most 100"),
        ("/api/products", {"active": "maybe"}, "active", "must be one of all, yes, no"),
        ("/api/customers", {"q": "q" * 201}, "q", "at most 200"),
        ("/api/customers", {"q": "\x00"}, "q", "NUL"),
        ("/api/customers", {"limit": "1000"}, "limit", "at most 100"),
        ("/api/sales", {"from": "2024-13-01"}, "from", "must be a date"),
        ("/api/sales", {"from": "yesterday"}, "from", "must be a date"),
        ("/api/sales", {"to": "20240101"}, "to", "must be a date"),
        ("/api/sales", {"to": "9999-12-31"}, "to", "between 1900-01-01 and 9998-12-31"),
        ("/api/sales", {"from": "0001-01-01"}, "from", "between"),
        ("/api/sales", {"to": "2024-01-01x"}, "to", "at most 10"),
        ("/api/sales", {"offset": "x"}, "offset", "must be a whole number"),
        ("/api/stock", {"product_id": "x"}, "product_id", "valid id"),
        ("/api/stock", {"location_id": "\x00"}, "location_id", "NUL"),
        ("/api/stock", {"limit": "-3"}, "limit", "at least 1"),
    ],
)
def test_bad_query_parameters_are_400(module_api_staff, unchanged, path, params, field, message):
    res = module_api_staff.admin.get(path, params=params, status=400)
    check(res, 400, field, message)


@pytest.mark.parametrize("path", ["/api/products", "/api/customers", "/api/sales", "/api/stock"])
def test_a_query_string_that_is_not_utf8_is_400(module_api_staff, path):
    res = module_api_staff.admin.get(path + "?q=%ff&limit=%fe", status=400)
    check(res, 400, "url", "UTF-8")


@pytest.mark.parametrize("value", ["x", "%00", "1" * 300, "01a2092b-1ec6-7387-93bc"])
@pytest.mark.parametrize("collection", ["products", "sales"])
def test_malformed_ids_in_paths_are_404(module_api_staff, collection, value):
    res = module_api_staff.admin.get(f"/api/{collection}/{value}", status=404)
    assert res.content_type == "application/json"
