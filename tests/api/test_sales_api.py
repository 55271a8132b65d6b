"""Sales and stock through the API: a sale by API writes exactly what the point of sale
writes (in a pooled and in a dedicated tenant); refusals are 422 with the fields;
Cashiers see their own sales only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from salesapp.inventory.models import StockMovement
from salesapp.sales.models import InvoiceCounter, Payment, Sale, SaleLine
from tests.api.conftest import browser, new_product, receive
from tests.sales.test_pos_pages import cart_form, scan, submit_complete

CART = {
    "lines": [
        {"sku": "A", "quantity": "3", "discount": "0.50"},
        {"sku": "B", "quantity": "1"},
    ],
    "payments": [  # in the till's order: cash, card, mobile money
        {"method": "cash", "amount": "10.00"},
        {"method": "card", "amount": "10.00", "reference": "auth-77"},
    ],
}


def sale_rows(db, number):
    """What one sale wrote, without what must differ (ids, number, times)."""
    sale = db.scalars(select(Sale).where(Sale.number == number)).one()
    skip_sale = {"id", "number", "created_at", "tenant_id"}
    sale_values = {
        c.key: getattr(sale, c.key) for c in Sale.__table__.columns if c.key not in skip_sale
    }
    lines = [
        {c.key: getattr(line, c.key) for c in SaleLine.__table__.columns}
        for line in db.scalars(select(SaleLine).where(SaleLine.sale_id == sale.id))
    ]
    payments = [
        {c.key: getattr(p, c.key) for c in Payment.__table__.columns}
        for p in db.scalars(select(Payment).where(Payment.sale_id == sale.id))
    ]
    movements = [
        {c.key: getattr(m, c.key) for c in StockMovement.__table__.columns}
        for m in db.scalars(select(StockMovement).where(StockMovement.reference == sale.id))
    ]
    for row in lines + payments + movements:
        for key in ("id", "sale_id", "reference", "created_at"):
            row.pop(key, None)
    key = lambda row: sorted((k, str(v)) for k, v in row.items())  # noqa: E731
    return (
        sale_values,
        sorted(map(key, lines)),
        sorted(map(key, payments)),
        sorted(map(key, movements)),
    )


def test_a_sale_by_api_writes_what_the_point_of_sale_writes(
    stocked_per_placement, client_for, store
):
    api_staff, _products = stocked_per_placement
    till = browser(client_for, api_staff, "Cashiers")
    scan(till, "4006381333931").follow()
    scan(till, "B").follow()
    form = cart_form(till)
    form["qty_0"], form["discount_0"] = "3", "0.50"
    form.submit(status=303)
    form = cart_form(till)
    form["pay_card"], form["ref_card"], form["pay_cash"] = "10.00", "auth-77", "10.00"
    submit_complete(form)

    res = api_staff.cashier.post("/api/sales", CART)
    sale = res.json
    assert res.headers["Location"].endswith(f"/api/sales/{sale['id']}")
    assert sale["number"] == 2  # the next invoice number after the till's
    assert (sale["total"], sale["paid_total"], sale["change_due"]) == ("18.12", "20.00", "1.88")
    assert [(line["sku"], line["quantity"], line["line_total"]) for line in sale["lines"]] == [
        ("A", "3.000", "8.12"),
        ("B", "1.000", "10.00"),
    ]
    assert [(p["method"], p["amount"], p["reference"]) for p in sale["payments"]] == [
        ("cash", "10.00", ""),
        ("card", "10.00", "auth-77"),
    ]
    with store(api_staff.tenant) as db:
        assert sale_rows(db, 1) == sale_rows(db, 2)
        assert len(sale_rows(db, 2)[3]) == 2  # a stock movement per line
        assert db.get(InvoiceCounter, api_staff.tenant.id).last_number == 2
    stock = api_staff.manager.get("/api/stock").json["items"]
    assert {(s["sku"], s["on_hand"]) for s in stock} == {("A", "4.000"), ("B", "3.000")}
    assert api_staff.cashier.get(f"/api/sales/{sale['id']}").json == sale


def test_a_sale_by_product_id_at_a_location_for_a_customer(stocked):
    api_staff, products = stocked
    customer = api_staff.manager.post("/api/customers", {"name": "Ada"}).json
    location_id = api_staff.manager.get("/api/stock").json["items"][0]["location_id"]
    sale = api_staff.manager.post(
        "/api/sales",
        {
            "lines": [{"product_id": products["B"]["id"], "quantity": "2"}],
            "payments": [{"method": "mobile_money", "amount": "20", "reference": "m-1"}],
            "customer_id": customer["id"],
            "location_id": location_id,
        },
    ).json
    assert (sale["customer_id"], sale["location_id"]) == (customer["id"], location_id)
    assert sale["total"] == "20.00" and sale["change_due"] == "0.00"


def count_sales(store, tenant):
    with store(tenant) as db:
        return (
            db.scalar(select(func.count()).select_from(Sale)),
            db.scalar(select(func.count()).select_from(StockMovement)),
        )


def test_short_stock_is_422_with_the_line_and_writes_nothing(stocked, store):
    api_staff, _ = stocked
    before = count_sales(store, api_staff.tenant)
    res = api_staff.cashier.post(
        "/api/sales",
        {
            "lines": [{"sku": "B", "quantity": "6"}],
            "payments": [{"method": "cash", "amount": "60"}],
        },
        status=422,
    )
    assert res.json["errors"] == {"lines[0].quantity": "only 5 of Item B (B) on hand, 6 wanted"}
    assert res.json["message"].startswith("The sale was refused")
    assert count_sales(store, api_staff.tenant) == before
    # the refused sale gave its invoice number back
    assert api_staff.cashier.post("/api/sales", {**CART}).json["number"] == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"lines": [{"sku": "B", "quantity": "1"}], "payments": [{"method": "cash", "amount": "5"}]},
            {"payments": "5.00 is still due: payments total 5.00, the sale is 10.00"},
        ),
        (
            {"lines": [{"sku": "B", "quantity": "1"}]},
            {"payments": "10.00 is still due: payments total 0, the sale is 10.00"},
        ),
        (
            {"lines": [{"sku": "B", "quantity": "1"}], "payments": [{"method": "card", "amount": "11"}]},
            {"payments": "card and mobile money payments may not exceed the amount due; only cash gives change"},
        ),
        (
            {"lines": [{"sku": "NOPE", "quantity": "1"}]},
            {"lines[0].sku": "no product has SKU 'NOPE'"},
        ),
        (
            {"lines": [{"product_id": "01a2092b-1ec6-7387-93bc-6e2beebd8b5f", "quantity": "1"}]},
            {"lines[0].product_id": "this product is not for sale any more; remove the line"},
        ),
        (
            {"lines": [{"sku": "B", "quantity": "1", "discount": "10.01"}], "payments": []},
            {"lines[0].discount": "discount on Item B must be between 0 and the line's 10.00"},
        ),
        (
            {"lines": [{"sku": "B", "quantity": "1"}], "customer_id": "01a2092b-1ec6-7387-93bc-6e2beebd8b5f"},
            {"customer_id": "no such customer; choose one from the list"},
        ),
        (
            {"lines": [{"sku": "B", "quantity": "1"}], "location_id": "01a2092b-1ec6-7387-93bc-6e2beebd8b5f"},
            {"location_id": "choose an active location to sell from"},
        ),
    ],
)  # fmt: skip
def test_refused_sales_are_422_with_the_fields(stocked, store, body, errors):
    api_staff, _ = stocked
    before = count_sales(store, api_staff.tenant)
    res = api_staff.cashier.post("/api/sales", body, status=422)
    assert res.json["errors"] == errors
    assert count_sales(store, api_staff.tenant) == before


def test_an_inactive_product_cannot_be_sold(stocked):
    api_staff, products = stocked
    api_staff.manager.patch(f"/api/products/{products['B']['id']}", {"is_active": False})
    res = api_staff.cashier.post(
        "/api/sales", {"lines": [{"sku": "B", "quantity": "1"}]}, status=422
    )
    assert res.json["errors"] == {
        "lines[0].sku": "this product is not for sale any more; remove the line"
    }


def test_cashiers_see_their_own_sales_only(stocked, make_user, catalog, api_client):
    from salesapp.operations.tokens import issue_token

    api_staff, _ = stocked
    mine = api_staff.cashier.post("/api/sales", CART).json
    theirs = api_staff.manager.post("/api/sales", CART).json
    username, _ = make_user(api_staff.tenant, ("Cashiers",))
    other = api_client(
        api_staff.tenant, issue_token(catalog, api_staff.tenant.slug, username).plaintext
    )

    other.get(f"/api/sales/{mine['id']}", status=404)
    assert other.get("/api/sales").json["items"] == []
    api_staff.cashier.get(f"/api/sales/{theirs['id']}", status=404)
    assert [s["number"] for s in api_staff.cashier.get("/api/sales").json["items"]] == [1]
    # Managers see every sale, newest first
    assert [s["number"] for s in api_staff.manager.get("/api/sales").json["items"]] == [2, 1]
    assert api_staff.manager.get(f"/api/sales/{mine['id']}").json == mine


def test_sales_list_pages_and_filters_by_day(stocked):
    api_staff, _ = stocked
    for _ in range(3):
        api_staff.manager.post("/api/sales", {"lines": [{"sku": "A", "quantity": "1"}],
                                         "payments": [{"method": "cash", "amount": "5"}]})  # fmt: skip
    page = api_staff.manager.get("/api/sales", params={"limit": "2"}).json
    assert [s["number"] for s in page["items"]] == [3, 2] and page["has_more"]
    rest = api_staff.manager.get("/api/sales", params={"limit": "2", "offset": "2"}).json
    assert [s["number"] for s in rest["items"]] == [1] and not rest["has_more"]
    today = dt.datetime.now(dt.UTC).date()
    day = lambda d: d.isoformat()  # noqa: E731
    assert len(api_staff.manager.get("/api/sales", params={"from": day(today)}).json["items"]) == 3
    tomorrow = today + dt.timedelta(days=1)
    assert api_staff.manager.get("/api/sales", params={"from": day(tomorrow)}).json["items"] == []
    yesterday = today - dt.timedelta(days=1)
    assert api_staff.manager.get("/api/sales", params={"to": day(yesterday)}).json["items"] == []
    both = {"from": day(yesterday), "to": day(today)}
    assert len(api_staff.manager.get("/api/sales", params=both).json["items"]) == 3


def test_stock_levels_per_product_and_location(stocked, store):
    api_staff, products = stocked
    levels = api_staff.manager.get("/api/stock").json
    assert [(s["sku"], s["location"], s["on_hand"], s["low"]) for s in levels["items"]] == [
        ("A", "Main", "10.000", False),
        ("B", "Main", "5.000", False),
    ]
    one = api_staff.admin.get("/api/stock", params={"product_id": products["B"]["id"]}).json
    assert [(s["sku"], s["on_hand"]) for s in one["items"]] == [("B", "5.000")]
    location_id = one["items"][0]["location_id"]
    both = api_staff.admin.get(
        "/api/stock", params={"product_id": products["A"]["id"], "location_id": location_id}
    ).json
    assert [(s["sku"], s["on_hand"]) for s in both["items"]] == [("A", "10.000")]
    page = api_staff.admin.get("/api/stock", params={"limit": "1"}).json
    assert [s["sku"] for s in page["items"]] == ["A"] and page["has_more"]
    unknown = "01a2092b-1ec6-7387-93bc-6e2beebd8b5f"
    res = api_staff.admin.get("/api/stock", params={"product_id": unknown}, status=404)
    assert res.json["errors"] == {"product_id": "no such product"}
    res = api_staff.admin.get("/api/stock", params={"location_id": unknown}, status=404)
    assert res.json["errors"] == {"location_id": "no such location"}
    api_staff.cashier.get("/api/stock", status=403)


def test_stock_in_a_multi_location_tenant(make_api_staff, store):
    from salesapp.locations.models import Location

    api_staff = make_api_staff("dedicated", multi_location=True)
    product = new_product(api_staff.manager, "A", "1.00")
    with store(api_staff.tenant) as db:
        db.add(Location(tenant_id=api_staff.tenant.id, name="Warehouse"))
        db.flush()
        warehouse = db.scalars(select(Location).where(Location.name == "Warehouse")).one().id
    receive(store, api_staff.tenant, product["id"], "4", warehouse)
    levels = api_staff.manager.get("/api/stock", params={"product_id": product["id"]}).json["items"]
    assert sorted((s["location"], s["on_hand"]) for s in levels) == [
        ("Main", "0.000"),
        ("Warehouse", "4.000"),
    ]
    # selling from the warehouse takes its stock, not the default location's
    api_staff.cashier.post(
        "/api/sales",
        {
            "lines": [{"sku": "A", "quantity": "3"}],
            "payments": [{"method": "cash", "amount": "3"}],
            "location_id": str(warehouse),
        },
    )
    at = api_staff.manager.get("/api/stock", params={"location_id": str(warehouse)}).json["items"]
    assert [(s["location"], s["on_hand"]) for s in at] == [("Warehouse", "1.000")]
    api_staff.cashier.post("/api/sales", {"lines": [{"sku": "A", "quantity": "1"}]}, status=422)


# -- idempotent completion (issue 17) ---------------------------------------------------
def test_a_retry_with_the_same_idempotency_key_returns_the_first_sale(stocked, store):
    api_staff, _ = stocked
    key = {"Idempotency-Key": "3f6c1c3e-1d5b-4f61-9a43-0d6f3c3d5a10"}
    first = api_staff.cashier.post("/api/sales", CART, headers=key)
    assert first.status_int == 201
    again = api_staff.cashier.post("/api/sales", CART, headers=key, status=200)
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_sales(store, api_staff.tenant)[0] == 1
    # a new key is a new sale
    other = api_staff.cashier.post("/api/sales", CART, headers={"Idempotency-Key": "k-2"})
    assert other.json["number"] == first.json["number"] + 1


def test_another_body_with_a_used_key_is_409_and_sells_nothing(stocked, store):
    api_staff, _ = stocked
    key = {"Idempotency-Key": "key-409"}
    api_staff.cashier.post("/api/sales", CART, headers=key)
    changed = {**CART, "lines": [{"sku": "B", "quantity": "2"}]}
    res = api_staff.cashier.post("/api/sales", changed, headers=key, status=409)
    assert "already used to complete a different sale" in res.json["message"]
    assert "idempotency_key" in res.json["errors"]
    assert count_sales(store, api_staff.tenant)[0] == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 101, "é-key"])
def test_a_bad_idempotency_key_is_400(stocked, store, key):
    api_staff, _ = stocked
    res = api_staff.cashier.post("/api/sales", CART, headers={"Idempotency-Key": key}, status=400)
    assert "Idempotency-Key" in res.json["errors"]
    assert count_sales(store, api_staff.tenant)[0] == 0


def test_a_refused_sale_does_not_use_up_its_key(stocked, store):
    api_staff, _ = stocked
    key = {"Idempotency-Key": "key-after-422"}
    short = {"lines": [{"sku": "B", "quantity": "1"}], "payments": []}
    api_staff.cashier.post("/api/sales", short, headers=key, status=422)
    paid = {**short, "payments": [{"method": "cash", "amount": "10"}]}
    assert api_staff.cashier.post("/api/sales", paid, headers=key).status_int == 201


def test_sales_by_api_have_no_register(stocked, store):
    api_staff, _ = stocked
    sale = api_staff.cashier.post("/api/sales", CART).json
    with store(api_staff.tenant) as db:
        row = db.scalars(select(Sale).where(Sale.number == sale["number"])).one()
        assert (row.register_id, row.shift_id) == (None, None)
