"""The OpenAPI 3.0 document of the API, written by hand, served at /api/openapi.json.

The bounds here are the ones the code enforces (salesapp.products.services,
salesapp.customers.services, salesapp.sales.services, salesapp.api.jsonio): a test
checks that every /api route is described and nothing else is, and schemathesis
(scripts/api_fuzz.py) sends what this document allows, and what it does not, to a
running server. Money and quantities are strings holding decimals ("12.50"), so no
client's float rounding ever reaches a price; the patterns say which strings. Each
operation says the permission it needs and the token scope it needs
(``x-permission``, ``x-token-scope`` and its description), by the rule the API enforces
(salesapp.api.grants.required_scope).
"""

from __future__ import annotations

import copy

from ..products.services import MAX_MONEY, MAX_QUANTITY
from ..sales.models import PAYMENT_METHODS
from ..sales.services import MAX_LINES
from ..sales.services import MAX_QUANTITY as MAX_SALE_QUANTITY
from .grants import LIFETIMES, SCOPE_DESCRIPTIONS, Scope, choices_text, required_scope
from .jsonio import DEFAULT_LIMIT, MAX_BODY_BYTES, MAX_LIMIT, MAX_OFFSET

ERROR = {"$ref": "#/components/responses/Error"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


#: text without NUL characters (PostgreSQL cannot store them); required text also has a
#: character that is not a space (blank text counts as missing)
TEXT = r"^[^\u0000]*$"
REQUIRED_TEXT = r"^[^\u0000]*[^\u0000\s][^\u0000]*$"


def _text(max_length: int, *, required=False, **extra) -> dict:
    schema = {"type": "string", "maxLength": max_length, "pattern": TEXT, **extra}
    if required:
        schema.update(minLength=1, pattern=REQUIRED_TEXT)
    return schema


def _decimal(pattern: str, description: str) -> dict:
    return {"type": "string", "pattern": pattern, "description": description}


MONEY = _decimal(
    r"^\d{1,10}(\.\d{1,2})?$", f"An amount of money, 0 to {MAX_MONEY}, at most 2 decimals"
)
PERCENT = _decimal(
    r"^(100(\.0{1,2})?|\d{1,2}(\.\d{1,2})?)$", "A percentage, 0 to 100, at most 2 decimals"
)
STOCK_QUANTITY = _decimal(
    r"^\d{1,9}(\.\d{1,3})?$", f"A quantity, 0 to {MAX_QUANTITY}, at most 3 decimals"
)
SALE_QUANTITY = _decimal(
    r"^(100000(\.0{1,3})?|\d{1,5}(\.\d{1,3})?)$",
    f"A quantity, 0.001 to {MAX_SALE_QUANTITY}, at most 3 decimals",
)
PAYMENT_AMOUNT = _decimal(
    r"^(10000000(\.0{1,2})?|\d{1,7}(\.\d{1,2})?)$",
    "An amount, 0 to 10000000, at most 2 decimals",
)
UUID = {"type": "string", "format": "uuid"}
#: a day from 1900-01-01 to 9998-12-31 (the year by pattern; month and day by format)
DAY = {
    "type": "string",
    "format": "date",
    "pattern": r"^(19[0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}$",
    "description": "A day, 1900-01-01 to 9998-12-31",
}
NULLABLE_UUID = {**UUID, "nullable": True}
TIME = {"type": "string", "format": "date-time"}
NUMBER_OUT = {"type": "string", "description": "A decimal number, exact"}
#: a sale's and a sale line's amounts of money (salesapp.api.views shows them)
SALE_AMOUNTS = (
    "subtotal",
    "discount_total",
    "cart_discount",
    "tax_total",
    "total",
    "paid_total",
    "change_due",
    "refunded_total",
)
LINE_AMOUNTS = ("unit_price", "discount", "tax_rate", "tax_amount", "line_total")

PRODUCT_INPUT = {
    "sku": _text(64, required=True),
    "barcode": {**_text(64), "nullable": True, "description": "Unique per workspace"},
    "name": _text(200, required=True),
    "category": _text(100),
    "unit_price": {**MONEY, "description": "Price before tax. " + MONEY["description"]},
    "cost": MONEY,
    "tax_rate": PERCENT,
    "reorder_level": STOCK_QUANTITY,
    "open_price": {"type": "boolean", "description": "The price is typed at the till"},
    "sold_by_weight": {"type": "boolean", "description": "Sold in kg, to 3 decimals"},
    "is_active": {"type": "boolean"},
}


def _not_both(first: str, second: str) -> dict:
    """An object may give ``first`` or ``second`` (or neither), not both."""
    return {"not": {"required": [first, second]}}


def _page_of(item: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "limit", "offset", "has_more"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "total": {"type": "integer", "description": "Where counting is cheap"},
            "has_more": {"type": "boolean"},
        },
    }


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PAGING = [
    {"$ref": "#/components/parameters/limit"},
    {"$ref": "#/components/parameters/offset"},
]
ID = [{"$ref": "#/components/parameters/id"}]
#: a client-made key (a UUID) that makes a sale's completion safe to retry
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[ -~]+$"},
    "description": "A key the client makes (a UUID) for this sale: a retry with the same "
    "key and body returns the first sale and never makes a second",
}


def _json_body(schema_name: str) -> dict:
    return {
        "required": True,
        "description": f"JSON (application/json, UTF-8), at most {MAX_BODY_BYTES} bytes",
        "content": {"application/json": {"schema": _ref(schema_name)}},
    }


def _ok(schema_name: str, status: str = "200", description: str = "OK", links=None) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": _ref(schema_name)}},
    }
    if links:  # what a client (or a stateful fuzzer) can do next with the new id
        response["links"] = {
            name: {"operationId": op_id, "parameters": {"id": "$response.body#/id"}}
            for name, op_id in links.items()
        }
    return {status: response}


def _errors(*statuses: int) -> dict:
    """The error responses an operation can give (401 always: a token is needed)."""
    return {str(status): ERROR for status in sorted({401, *statuses})}


def _operation(summary, responses, *, parameters=(), body=None, permission=None, op_id):
    operation = {"operationId": op_id, "summary": summary, "responses": responses}
    if permission:  # and the scope it needs: _with_scopes, which knows the method
        operation["x-permission"] = permission
    if parameters:
        operation["parameters"] = list(parameters)
    if body:
        operation["requestBody"] = body
    return operation


DOCUMENT = {
    "openapi": "3.0.3",
    "info": {
        "title": "salesapp API",
        "version": "1.0.0",
        "description": (
            "The workspace's products, customers, sales and stock, on the workspace's own "
            "host. Authenticate with a personal API token (Authorization: Bearer "
            "sa_...), made under API tokens in the workspace; a token works only on the "
            "host of its workspace and has its user's role, narrowed by its scope: "
            + ", ".join(f"{scope} ({text})" for scope, text in SCOPE_DESCRIPTIONS.items())
            + ". A call beyond the token's scope is refused with 403 (make a new token "
            "with the scope it names). A token expires when its maker chose ("
            + choices_text(label for label, _ in LIFETIMES.values())
            + "); an expired token is refused with 401 "
            '(error="invalid_token"). Errors are JSON: '
            '{"message": "...", "errors": {"field": "message"}}. Money and quantities '
            'are decimal strings ("12.50").'
        ),
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document (no token needed)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/api/products": {
            "get": _operation(
                "List products: search by name, SKU or barcode, filter, page",
                {**_ok("ProductPage"), **_errors(400, 403)},
                parameters=[
                    _query("q", _text(200), "Name contains, or SKU or barcode starts with"),
                    _query("category", _text(100), "Exactly this category"),
                    _query(
                        "active",
                        {"type": "string", "enum": ["all", "yes", "no"], "default": "all"},
                        "Active products only (yes), inactive only (no), or all",
                    ),
                    *PAGING,
                ],
                permission="products.view",
                op_id="listProducts",
            ),
            "post": _operation(
                "Create a product",
                {
                    **_ok(
                        "Product",
                        "201",
                        "Created (Location: the product's address)",
                        links={"GetProduct": "getProduct", "UpdateProduct": "updateProduct"},
                    ),
                    **_errors(400, 403, 409, 413, 415),
                },
                body=_json_body("ProductCreate"),
                permission="products.edit",
                op_id="createProduct",
            ),
        },
        "/api/products/{id}": {
            "get": _operation(
                "One product",
                {**_ok("Product"), **_errors(403, 404)},
                parameters=ID,
                permission="products.view",
                op_id="getProduct",
            ),
            "patch": _operation(
                "Change some of a product's fields (the others stay)",
                {**_ok("Product"), **_errors(400, 403, 404, 409, 413, 415)},
                parameters=ID,
                body=_json_body("ProductUpdate"),
                permission="products.edit",
                op_id="updateProduct",
            ),
        },
        "/api/customers": {
            "get": _operation(
                "List customers: search by name, phone (digits too) or e-mail, page",
                {**_ok("CustomerPage"), **_errors(400, 403)},
                parameters=[_query("q", _text(200), "Name, phone or e-mail contains"), *PAGING],
                permission="customers.view",
                op_id="listCustomers",
            ),
            "post": _operation(
                "Create a customer",
                {**_ok("Customer", "201", "Created"), **_errors(400, 403, 413, 415)},
                body=_json_body("CustomerCreate"),
                permission="customers.edit",
                op_id="createCustomer",
            ),
        },
        "/api/sales": {
            "get": _operation(
                "List sales, newest first (Cashiers: their own)",
                {**_ok("SalePage"), **_errors(400, 403)},
                parameters=[
                    _query("from", DAY, "Made on or after this day (UTC)"),
                    _query("to", DAY, "Made on or before this day (UTC)"),
                    *PAGING,
                ],
                permission="sales.view",
                op_id="listSales",
            ),
            "post": _operation(
                "Complete a sale, as the point of sale does: the sale, its lines, payments "
                "and stock movements in one transaction, with the next invoice number. "
                "422 when stock is short, payments fall short, or a product, customer or "
                "location cannot be used, the register has no open shift (when the "
                "workspace requires one) or is not one of the location's, a price is "
                "given for a product whose price is fixed, or the discounts are over the "
                "token user's cap (the API has no approval by PIN: the token of someone "
                "whose cap covers it sells it). With an Idempotency-Key header the sale is "
                "completed at most once per key: a retry with the same body answers 200 "
                "with the first sale, another body with the same key 409",
                {
                    **_ok(
                        "Sale",
                        "201",
                        "Completed (Location: the sale's address)",
                        links={"GetSale": "getSale"},
                    ),
                    **_ok("Sale", "200", "Completed before with this Idempotency-Key"),
                    **_errors(400, 403, 409, 413, 415, 422),
                },
                parameters=[IDEMPOTENCY_KEY],
                body=_json_body("SaleCreate"),
                permission="sales.create",
                op_id="createSale",
            ),
        },
        "/api/sales/{id}": {
            "get": _operation(
                "One sale (404 if there is none, or a Cashier did not make it)",
                {**_ok("Sale"), **_errors(403, 404)},
                parameters=ID,
                permission="sales.view",
                op_id="getSale",
            ),
        },
        "/api/stock": {
            "get": _operation(
                "On hand per product and location (zero where nothing moved) for active "
                "products at active locations",
                {**_ok("StockPage"), **_errors(400, 403, 404)},
                parameters=[
                    _query("product_id", UUID, "Only this product (404 if unknown)"),
                    _query("location_id", UUID, "Only this location (404 if unknown)"),
                    *PAGING,
                ],
                permission="stock.view",
                op_id="listStock",
            ),
        },
    },
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A personal API token, sa_ and 43 characters, with a "
                "scope (" + ", ".join(Scope) + ") and perhaps an expiry",
            }
        },
        "parameters": {
            "limit": {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_LIMIT,
                    "default": DEFAULT_LIMIT,
                },
                "description": "How many items at most",
            },
            "offset": {
                "name": "offset",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
                "description": "How many items to skip",
            },
            "id": {"name": "id", "in": "path", "required": True, "schema": UUID},
        },
        "responses": {
            "Error": {
                "description": "Refused: the message says why, errors name the fields",
                "content": {"application/json": {"schema": _ref("Error")}},
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["message", "errors"],
                "properties": {
                    "message": {"type": "string"},
                    "errors": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "ProductCreate": {
                "type": "object",
                "additionalProperties": False,
                "required": ["sku", "name", "unit_price"],
                "properties": PRODUCT_INPUT,
            },
            "ProductUpdate": {
                "type": "object",
                "additionalProperties": False,
                "properties": PRODUCT_INPUT,
            },
            "Product": {
                "type": "object",
                "properties": {
                    "id": UUID,
                    "sku": {"type": "string"},
                    "barcode": {"type": "string", "nullable": True},
                    "name": {"type": "string"},
                    "category": {"type": "string"},
                    "unit_price": NUMBER_OUT,
                    "cost": {
                        **NUMBER_OUT,
                        "description": "Only for users who may edit products or see reports "
                        "(never a Cashier's token)",
                    },
                    "tax_rate": NUMBER_OUT,
                    "reorder_level": NUMBER_OUT,
                    "open_price": {"type": "boolean"},
                    "sold_by_weight": {"type": "boolean"},
                    "is_active": {"type": "boolean"},
                    "created_at": TIME,
                    "updated_at": TIME,
                },
            },
            "ProductPage": _page_of("Product"),
            "CustomerCreate": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": _text(200, required=True),
                    "phone": _text(50),
                    "email": _text(
                        254,
                        description="An e-mail address, or empty",
                        pattern=r"^$|^[^@\s\u0000]+@[^@\s\u0000]+\.[^@\s.\u0000]+$",
                    ),
                    "notes": _text(2000),
                },
            },
            "Customer": {
                "type": "object",
                "properties": {
                    "id": UUID,
                    "name": {"type": "string"},
                    "phone": {"type": "string"},
                    "email": {"type": "string"},
                    "notes": {"type": "string"},
                    "created_at": TIME,
                },
            },
            "CustomerPage": _page_of("Customer"),
            "SaleLineCreate": {
                "type": "object",
                "additionalProperties": False,
                "description": "A product by product_id or by sku (exactly one), a quantity, "
                "and perhaps a discount (an amount or a percentage, not both) and a price",
                "required": ["quantity"],
                "oneOf": [{"required": ["product_id"]}, {"required": ["sku"]}],
                **_not_both("discount", "discount_percent"),
                "properties": {
                    "product_id": UUID,
                    "sku": _text(64, required=True),
                    "quantity": SALE_QUANTITY,
                    "discount": {
                        **MONEY,
                        "description": "Amount off the line, before tax, at most the line's "
                        "price (422 past it). " + MONEY["description"],
                    },
                    "discount_percent": {
                        **PERCENT,
                        "description": "Instead of discount: a percentage of the line's price "
                        "off it (the amount in cents, rounded half up). " + PERCENT["description"],
                    },
                    "price": {
                        **MONEY,
                        "description": "The unit price before tax of a product with open_price, "
                        "as typed at a till (without it, the product's own unit_price); 422 "
                        "for a product whose price is fixed. " + MONEY["description"],
                    },
                },
            },
            "PaymentCreate": {
                "type": "object",
                "additionalProperties": False,
                "required": ["method", "amount"],
                "properties": {
                    "method": {"type": "string", "enum": list(PAYMENT_METHODS)},
                    "amount": PAYMENT_AMOUNT,
                    "reference": _text(100),
                },
            },
            "SaleCreate": {
                "type": "object",
                "additionalProperties": False,
                "required": ["lines"],
                **_not_both("cart_discount", "cart_discount_percent"),
                "properties": {
                    "lines": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_LINES,
                        "items": _ref("SaleLineCreate"),
                    },
                    "payments": {
                        "type": "array",
                        "maxItems": 10,
                        "items": _ref("PaymentCreate"),
                        "description": "Only cash may exceed the amount due (change)",
                    },
                    "customer_id": NULLABLE_UUID,
                    "location_id": {
                        **NULLABLE_UUID,
                        "description": "Where the goods leave from; the default location "
                        "when left out",
                    },
                    "register_id": {
                        **NULLABLE_UUID,
                        "description": "The register the sale is rung on: an active register "
                        "of the location (422 otherwise). The sale belongs to its open shift; "
                        "when the workspace requires an open shift to sell and it has none, "
                        "422 (open a shift first). Left out: no register and no shift",
                    },
                    "cart_discount": {
                        **MONEY,
                        "description": "An amount off the whole sale, before tax, after the "
                        "lines' own discounts (at most what the lines come to; 422 past it), "
                        "shared out over the lines in proportion to their price. "
                        + MONEY["description"],
                    },
                    "cart_discount_percent": {
                        **PERCENT,
                        "description": "Instead of cart_discount: a percentage of what the "
                        "lines come to off the whole sale. " + PERCENT["description"],
                    },
                },
            },
            "Sale": {
                "type": "object",
                "properties": {
                    "id": UUID,
                    "number": {"type": "integer", "description": "The invoice number"},
                    "status": {
                        "type": "string",
                        "enum": ["completed", "voided", "refunded", "partly_refunded"],
                    },
                    "created_at": TIME,
                    "location_id": UUID,
                    "user_id": UUID,
                    "customer_id": NULLABLE_UUID,
                    "register_id": {
                        **NULLABLE_UUID,
                        "description": "The register it was rung on (null: none)",
                    },
                    "shift_id": {
                        **NULLABLE_UUID,
                        "description": "The register's shift it belongs to (null: none)",
                    },
                    "discount_approved_by": {
                        **NULLABLE_UUID,
                        "description": "The user who approved, with their PIN at a till, "
                        "discounts over the seller's cap (null: none was needed)",
                    },
                    **dict.fromkeys(SALE_AMOUNTS, NUMBER_OUT),
                    "cart_discount": {
                        **NUMBER_OUT,
                        "description": "Of discount_total, the discount on the whole sale "
                        "(shared out over the lines' discount)",
                    },
                    "lines": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "id": UUID,
                                "product_id": UUID,
                                "sku": {"type": "string"},
                                "description": {"type": "string"},
                                **dict.fromkeys(
                                    ("quantity", "refunded_quantity", *LINE_AMOUNTS), NUMBER_OUT
                                ),
                                "unit_price": {
                                    **NUMBER_OUT,
                                    "description": "What a unit sold at, before tax (the "
                                    "price typed for an open-price product)",
                                },
                                "discount": {
                                    **NUMBER_OUT,
                                    "description": "The line's own discount and its share "
                                    "of the sale's cart_discount",
                                },
                            },
                        },
                    },
                    "payments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "method": {"type": "string"},
                                "amount": NUMBER_OUT,
                                "reference": {"type": "string"},
                            },
                        },
                    },
                },
            },
            "SalePage": _page_of("Sale"),
            "StockLevel": {
                "type": "object",
                "properties": {
                    "product_id": UUID,
                    "sku": {"type": "string"},
                    "name": {"type": "string"},
                    "location_id": UUID,
                    "location": {"type": "string"},
                    "on_hand": NUMBER_OUT,
                    "reorder_level": NUMBER_OUT,
                    "low": {"type": "boolean", "description": "On hand at or below reorder level"},
                },
            },
            "StockPage": _page_of("StockLevel"),
        },
    },
}


def _with_scopes(paths: dict) -> None:
    """Give each operation that needs a permission the token scope it needs too (the
    rule salesapp.api.guard enforces), as ``x-token-scope`` and in its description."""
    for operations in paths.values():
        for method, operation in operations.items():
            permission = operation.get("x-permission")
            if permission is None:
                continue
            scope = required_scope(method, permission)
            wider = "" if scope is Scope.FULL else " or wider"
            operation["x-token-scope"] = scope.value
            operation["description"] = (
                f"Needs the permission {permission} and a token of scope {scope}{wider} "
                "(403 otherwise)."
            )


_with_scopes(DOCUMENT["paths"])


def document() -> dict:
    """The document (a copy: callers may change theirs, never the original)."""
    return copy.deepcopy(DOCUMENT)


def methods_of(path: str) -> list[str]:
    """The HTTP methods the document gives ``path`` (a route pattern), upper case."""
    return sorted(method.upper() for method in DOCUMENT["paths"].get(path, {}))
