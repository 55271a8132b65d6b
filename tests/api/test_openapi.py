"""The OpenAPI document describes exactly the API: every /api route and method and
nothing else, and the bounds the code enforces (checked by sending values at and just
past each bound)."""

from __future__ import annotations

import pytest
import schemathesis

from salesapp.api.openapi import DOCUMENT, document

SCHEMAS = DOCUMENT["components"]["schemas"]


def api_operations(app) -> set[tuple[str, str]]:
    """(route pattern, method) of every view on a route under /api."""
    introspector = app.registry.introspector
    patterns = {
        item["name"]: item["pattern"]
        for item in (entry["introspectable"] for entry in introspector.get_category("routes"))
    }
    operations = set()
    for entry in introspector.get_category("views"):
        view = entry["introspectable"]
        pattern = patterns.get(view["route_name"])
        if pattern and pattern.startswith("/api/"):
            methods = view["request_methods"] or ("*",)
            for method in (methods,) if isinstance(methods, str) else methods:
                operations.add((pattern, method))
    return operations


def documented_operations() -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, operations in DOCUMENT["paths"].items()
        for method in operations
    }


def test_every_api_route_is_documented_and_nothing_else(app):
    routes = {
        route.pattern
        for route in app.routes_mapper.get_routes()
        if route.pattern.startswith("/api")
    }
    assert routes == set(DOCUMENT["paths"])
    # HEAD comes with GET in Pyramid: the document says GET
    assert {(p, m) for p, m in api_operations(app) if m != "HEAD"} == documented_operations()


def test_the_document_loads_and_every_reference_resolves():
    loaded = schemathesis.openapi.from_dict(document())
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert {(op.path, op.method.upper()) for op in operations} == documented_operations()


def test_the_document_is_served_as_written(api_staff):
    assert api_staff.cashier.get("/api/openapi.json").json == DOCUMENT


def test_every_input_object_refuses_unknown_fields():
    for name, schema in SCHEMAS.items():
        if name.endswith(("Create", "Update")):
            assert schema["additionalProperties"] is False, name


def text_at(field: str, length: int) -> str:
    if field == "email":
        return "e" * (length - len("@x.org")) + "@x.org"
    return "x" * length


def bounded_fields(schema_name):
    """(field, maxLength) of the schema's text fields."""
    for field, spec in SCHEMAS[schema_name]["properties"].items():
        if "maxLength" in spec:
            yield field, spec["maxLength"]


@pytest.mark.parametrize(
    ("schema_name", "path", "base"),
    [
        ("ProductCreate", "/api/products", {"unit_price": "1"}),
        ("CustomerCreate", "/api/customers", {}),
    ],
)
def test_text_bounds_are_the_codes(module_api_staff, schema_name, path, base):
    """At maxLength a field is fine, one past it the field is refused (the rest of
    the body is always refused too, so nothing is created)."""
    required = SCHEMAS[schema_name]["required"]
    for field, limit in bounded_fields(schema_name):
        for length, refused in ((limit, False), (limit + 1, True)):
            body = {**base, field: text_at(field, length), "bad": 1}
            res = module_api_staff.manager.post(path, body, status=400)
            assert (field in res.json["errors"]) is refused, (field, length, res.json)
    errors = module_api_staff.manager.post(path, {}, status=400).json["errors"]
    assert {name for name, message in errors.items() if message == "is required"} == set(required)


def test_sale_bounds_are_the_codes(module_api_staff):
    line = SCHEMAS["SaleLineCreate"]["properties"]
    sale = SCHEMAS["SaleCreate"]["properties"]
    payment = SCHEMAS["PaymentCreate"]["properties"]

    def errors(body):
        return module_api_staff.cashier.post("/api/sales", {**body, "bad": 1}, status=400).json[
            "errors"
        ]

    sku = {"sku": "A", "quantity": "1"}
    assert "lines" not in errors({"lines": [sku] * sale["lines"]["maxItems"]})
    assert "lines" in errors({"lines": [sku] * (sale["lines"]["maxItems"] + 1)})
    assert "lines" in errors({"lines": []}) and sale["lines"]["minItems"] == 1
    pay = {"method": "cash", "amount": "1"}
    assert "payments" not in errors({"lines": [sku], "payments": [pay] * 10})
    assert sale["payments"]["maxItems"] == 10
    assert "payments" in errors({"lines": [sku], "payments": [pay] * 11})
    limit = payment["reference"]["maxLength"]
    for length, refused in ((limit, False), (limit + 1, True)):
        body = {"lines": [sku], "payments": [{**pay, "reference": "r" * length}]}
        assert ("payments[0].reference" in errors(body)) is refused
    limit = line["sku"]["maxLength"]
    for length, refused in ((limit, False), (limit + 1, True)):
        body = {"lines": [{"sku": "s" * length, "quantity": "1"}]}
        assert ("lines[0].sku" in errors(body)) is refused
    assert payment["method"]["enum"] == ["cash", "card", "mobile_money"]


@pytest.mark.parametrize(
    ("schema_name", "field", "accepted", "refused"),
    [
        ("ProductCreate", "unit_price", ["0", "9999999999.99", "0.5"], ["-1", "1.001"]),
        ("ProductCreate", "tax_rate", ["0", "100", "100.00", "99.99"], ["100.01", "101"]),
        ("ProductCreate", "reorder_level", ["999999999.999", "0.001"], ["1.0001"]),
        ("SaleLineCreate", "quantity", ["0.001", "100000", "100000.000"], ["100000.001"]),
        ("PaymentCreate", "amount", ["0", "10000000", "9999999.99"], ["10000000.01"]),
        ("SaleLineCreate", "discount_percent", ["0", "100", "12.5"], ["100.01", "-1", "1.001"]),
        ("SaleLineCreate", "price", ["0", "9999999999.99"], ["-1", "1.001", "10000000000"]),
        ("SaleCreate", "cart_discount", ["0", "9999999999.99"], ["-0.01", "1.001"]),
        ("SaleCreate", "cart_discount_percent", ["0", "100.00"], ["100.01", "101"]),
    ],
)
def test_decimal_patterns_agree_with_the_code(schema_name, field, accepted, refused):
    """The document's pattern accepts the bounds the code accepts and refuses values
    past them (a string pattern cannot say everything: 0 quantities are refused by
    the code alone, as the description says)."""
    import re

    pattern = re.compile(SCHEMAS[schema_name]["properties"][field]["pattern"])
    assert all(pattern.search(value) for value in accepted)
    assert not any(pattern.search(value) for value in refused)


@pytest.mark.parametrize(
    ("schema_name", "pair", "body"),
    [
        (
            "SaleLineCreate",
            ("discount", "discount_percent"),
            {"lines": [{"sku": "A", "quantity": "1", "discount": "1", "discount_percent": "1"}]},
        ),
        (
            "SaleCreate",
            ("cart_discount", "cart_discount_percent"),
            {"lines": [{"sku": "A", "quantity": "1"}], "cart_discount": "1", "cart_discount_percent": "1"},
        ),
    ],
)  # fmt: skip
def test_a_discount_as_an_amount_or_a_percentage_not_both(
    module_api_staff, schema_name, pair, body
):
    """The document's "not both" is the code's: both is 400 naming the second."""
    assert SCHEMAS[schema_name]["not"] == {"required": list(pair)}
    errors = module_api_staff.cashier.post("/api/sales", body, status=400).json["errors"]
    assert [name.rpartition(".")[2] for name in errors] == [pair[1]]


def test_paging_bounds_are_the_codes(module_api_staff):
    parameters = DOCUMENT["components"]["parameters"]
    limit, offset = parameters["limit"]["schema"], parameters["offset"]["schema"]
    get = module_api_staff.admin.get
    assert get("/api/customers", params={"limit": str(limit["maximum"])}).json["limit"] == 100
    get("/api/customers", params={"limit": str(limit["maximum"] + 1)}, status=400)
    get("/api/customers", params={"limit": str(limit["minimum"] - 1)}, status=400)
    get("/api/customers", params={"offset": str(offset["maximum"])})
    get("/api/customers", params={"offset": str(offset["maximum"] + 1)}, status=400)
    assert get("/api/customers").json["limit"] == limit["default"]
