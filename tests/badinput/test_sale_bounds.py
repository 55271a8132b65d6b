"""A sale whose amounts would not fit the money columns (NUMERIC(12, 2)) is refused
with a message, through the API as at the till, and nothing is written."""

from __future__ import annotations

from sqlalchemy import func, select

from salesapp.sales.models import Sale
from tests.api.conftest import new_product, receive


def sales(store, tenant):
    with store(tenant) as db:
        return db.scalar(select(func.count()).select_from(Sale))


def test_a_line_past_the_money_column_is_refused(module_api_staff, store):
    product = new_product(module_api_staff.manager, "DEAR", "9999999999.99")
    receive(store, module_api_staff.tenant, product["id"], "10")
    body = {
        "lines": [{"product_id": product["id"], "quantity": "2", "discount": "9999999999.99"}],
        "payments": [{"method": "cash", "amount": "10000000"}],
    }
    res = module_api_staff.admin.post("/api/sales", body, status=422)
    assert "more than a sale can hold (9999999999.99)" in res.json["errors"]["lines[0].quantity"]
    assert "sell them in several sales" in res.json["message"]
    assert sales(store, module_api_staff.tenant) == 0


def test_discounts_past_the_money_column_are_refused(module_api_staff, store):
    a = new_product(module_api_staff.manager, "BIG-A", "6000000000.00")
    b = new_product(module_api_staff.manager, "BIG-B", "6000000000.00")
    for product in (a, b):
        receive(store, module_api_staff.tenant, product["id"], "1")
    body = {
        "lines": [
            {"product_id": p["id"], "quantity": "1", "discount": "6000000000.00"} for p in (a, b)
        ],
    }
    res = module_api_staff.admin.post("/api/sales", body, status=422)
    assert (
        "the sale comes to 12000000000.00, more than a sale can hold" in res.json["errors"]["lines"]
    )
    assert sales(store, module_api_staff.tenant) == 0
