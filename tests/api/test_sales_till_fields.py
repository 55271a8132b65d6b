"""What POST /api/sales takes beyond lines and payments: a line's discount as a
percentage and an open-price product's typed price, a discount on the whole sale, and
the register the sale is rung on (with its open shift, by the till's rule in
salesapp.sales.till); and what the sale answers about them."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from salesapp.accounts.models import User
from salesapp.accounts.places import set_ties
from salesapp.inventory.services import InventoryService
from salesapp.locations.models import Location
from salesapp.preferences.services import SettingsService
from salesapp.registers.services import RegisterService
from salesapp.sales.models import InvoiceCounter, Sale, SaleLine
from tests.api.conftest import new_product, receive
from tests.api.test_sales_api import count_sales

CASH = [{"method": "cash", "amount": "100"}]
UNKNOWN = "01a2092b-1ec6-7387-93bc-6e2beebd8b5f"


def sale_row(store, tenant, number) -> tuple[Sale, list[SaleLine]]:
    with store(tenant) as db:
        sale = db.scalars(select(Sale).where(Sale.number == number)).one()
        lines = db.scalars(
            select(SaleLine).where(SaleLine.sale_id == sale.id).order_by(SaleLine.position)
        ).all()
        db.expunge_all()
        return sale, lines


def add_register(store, tenant, name="Till 1", location_id=None, shift=True):
    """A register (at the default location unless given) and its open shift's id (None
    with ``shift=False``)."""
    with store(tenant) as db:
        registers = RegisterService(db, tenant.id)
        where = location_id or InventoryService(db, tenant.id).default_location().id
        register = registers.create(where, name)
        opened = None
        if shift:
            admin = db.scalars(select(User).where(User.username == "admin")).one()
            opened = registers.open_shift(register, "50.00", admin).id
        return register.id, opened


#: (sales, stock movements) of ``stocked`` before any sale: the two deliveries
NOTHING_SOLD = (0, 2)


def ref(product: dict, by: str) -> str:
    """The product as a line names it: by its id or its SKU."""
    return product["id"] if by == "product_id" else product["sku"]


def amounts(sale: dict, *names) -> tuple:
    return tuple(sale[name] for name in names)


# -- discounts -------------------------------------------------------------------------
def test_a_percent_line_discount_is_priced_as_its_amount(stocked_per_placement, store):
    api_staff, _ = stocked_per_placement
    body = {
        "lines": [
            {"sku": "A", "quantity": "3", "discount_percent": "10"},  # 10% of 7.50
            {"sku": "B", "quantity": "1", "discount": "1.00"},
        ],
        "payments": CASH,
    }
    sale = api_staff.manager.post("/api/sales", body).json
    a, b = sale["lines"]
    # A: 7.50 - 0.75 = 6.75, + 16% tax 1.08; B: 10.00 - 1.00, no tax
    assert amounts(a, "unit_price", "discount", "tax_amount", "line_total") == (
        "2.50", "0.75", "1.08", "7.83",
    )  # fmt: skip
    assert amounts(b, "discount", "line_total") == ("1.00", "9.00")
    assert amounts(sale, "discount_total", "cart_discount", "total") == ("1.75", "0.00", "16.83")
    assert (sale["register_id"], sale["shift_id"], sale["discount_approved_by"]) == (None,) * 3
    row, lines = sale_row(store, api_staff.tenant, sale["number"])
    assert [line.discount for line in lines] == [Decimal("0.75"), Decimal("1.00")]
    assert (row.total, row.cart_discount) == (Decimal("16.83"), Decimal("0"))
    assert api_staff.manager.get(f"/api/sales/{sale['id']}").json == sale


@pytest.mark.parametrize(
    ("lines", "cart", "expected"),
    [
        # 1.75 over nets 7.50 and 10.00: 0.75 and 1.00
        ([{}, {}], {"cart_discount": "1.75"}, ("1.75", "1.75", ["0.75", "1.00"], "16.83")),
        ([{}, {}], {"cart_discount_percent": "10"}, ("1.75", "1.75", ["0.75", "1.00"], "16.83")),
        # 1.00 over 7.50 and 10.00 is 0.4286 and 0.5714: the odd cent to the larger rest
        ([{}, {}], {"cart_discount": "1.00"}, ("1.00", "1.00", ["0.43", "0.57"], "17.63")),
        # after the lines' own: 10% of 7.00 + 10.00 is 1.70 (0.70 and 1.00), A also 0.50
        (
            [{"discount": "0.50"}, {}],
            {"cart_discount_percent": "10"},
            ("1.70", "2.20", ["1.20", "1.00"], "16.31"),
        ),
    ],
)
def test_a_cart_discount_is_shared_out_over_the_lines(stocked, store, lines, cart, expected):
    api_staff, _ = stocked
    body = {
        "lines": [
            {"sku": "A", "quantity": "3", **lines[0]},
            {"sku": "B", "quantity": "1", **lines[1]},
        ],
        "payments": CASH,
        **cart,
    }
    sale = api_staff.manager.post("/api/sales", body).json
    cart_discount, discount_total, line_discounts, total = expected
    assert amounts(sale, "cart_discount", "discount_total", "total") == (
        cart_discount, discount_total, total,
    )  # fmt: skip
    assert [line["discount"] for line in sale["lines"]] == line_discounts
    assert sum(Decimal(line["discount"]) for line in sale["lines"]) == Decimal(discount_total)
    assert sum(Decimal(line["line_total"]) for line in sale["lines"]) == Decimal(total)
    row, rows = sale_row(store, api_staff.tenant, sale["number"])
    assert row.cart_discount == Decimal(cart_discount)
    assert sum(line.discount for line in rows) == row.discount_total == Decimal(discount_total)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"lines": [{"sku": "A", "quantity": "1", "discount": "0.10", "discount_percent": "5"}]},
            "lines[0].discount_percent",
        ),
        (
            {"lines": [{"sku": "A", "quantity": "1"}], "cart_discount": "1", "cart_discount_percent": "5"},
            "cart_discount_percent",
        ),
    ],
)  # fmt: skip
def test_a_discount_given_both_ways_is_400_naming_it(stocked, store, body, field):
    api_staff, _ = stocked
    res = api_staff.manager.post("/api/sales", {**body, "payments": CASH}, status=400)
    assert res.json["errors"] == {field: res.json["errors"][field]}
    assert "not both" in res.json["errors"][field]
    assert count_sales(store, api_staff.tenant)[0] == 0


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"lines": [{"sku": "A", "quantity": "1", "discount_percent": "100.01"}]},
            {"lines[0].discount_percent": "must be at most 100"},
        ),
        (
            {"lines": [{"sku": "A", "quantity": "1", "price": "-1"}]},
            {"lines[0].price": "must be at least 0"},
        ),
        (
            {"lines": [{"sku": "A", "quantity": "1"}], "cart_discount_percent": "1.001"},
            {"cart_discount_percent": "has more than 2 decimal places"},
        ),
    ],
)  # fmt: skip
def test_the_new_fields_bounds_are_400(module_api_staff, body, errors):
    res = module_api_staff.manager.post("/api/sales", body, status=400)
    assert res.json["errors"] == errors


def test_a_cart_discount_over_the_lines_is_422_naming_it(stocked, store):
    api_staff, _ = stocked
    body = {"lines": [{"sku": "B", "quantity": "1"}], "cart_discount": "10.01", "payments": CASH}
    res = api_staff.manager.post("/api/sales", body, status=422)
    assert res.json["errors"] == {
        "cart_discount": "the cart discount must be between 0 and the lines' 10.00"
    }
    assert count_sales(store, api_staff.tenant)[0] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [{"sku": "B", "quantity": "1", "discount_percent": "20"}]}, "lines[0].discount_percent"),
        ({"lines": [{"sku": "B", "quantity": "1", "discount": "2.00"}]}, "lines[0].discount"),
        ({"lines": [{"sku": "B", "quantity": "1"}], "cart_discount_percent": "20"}, "cart_discount_percent"),
        ({"lines": [{"sku": "B", "quantity": "1"}], "cart_discount": "2.00"}, "cart_discount"),
    ],
)  # fmt: skip
def test_a_cashier_over_the_cap_is_422_and_nothing_is_written(stocked, store, body, field):
    api_staff, _ = stocked
    key = {"Idempotency-Key": f"over-cap-{uuid.uuid4()}"}
    res = api_staff.cashier.post("/api/sales", {**body, "payments": CASH}, headers=key, status=422)
    assert list(res.json["errors"]) == [field]
    assert "over your cap of 10%" in res.json["errors"][field]
    assert count_sales(store, api_staff.tenant) == NOTHING_SOLD
    with store(api_staff.tenant) as db:
        assert db.get(InvoiceCounter, api_staff.tenant.id) is None  # no number used
    # a Manager (no cap by default) sells the same; nobody had to approve it
    sale = api_staff.manager.post("/api/sales", {**body, "payments": CASH}).json
    assert (sale["number"], sale["discount_approved_by"]) == (1, None)
    assert sale["discount_total"] == "2.00"


# -- open prices -----------------------------------------------------------------------
@pytest.mark.parametrize("by", ["product_id", "sku"])
def test_an_open_price_product_sells_at_the_typed_price(stocked, store, by):
    api_staff, _ = stocked
    product = new_product(api_staff.manager, "OPEN", "0", open_price=True, tax_rate="10")
    receive(store, api_staff.tenant, product["id"], "5")
    line = {by: ref(product, by), "quantity": "2", "price": "4.20"}
    sale = api_staff.cashier.post("/api/sales", {"lines": [line], "payments": CASH}).json
    (sold,) = sale["lines"]
    assert amounts(sold, "unit_price", "tax_amount", "line_total") == ("4.20", "0.84", "9.24")
    assert sale["total"] == "9.24"
    _, (row,) = sale_row(store, api_staff.tenant, sale["number"])
    assert row.unit_price == Decimal("4.20")
    # without a price it is refused: the product's stored price is no price to sell at
    del line["price"]
    res = api_staff.cashier.post("/api/sales", {"lines": [line], "payments": CASH}, status=422)
    assert res.json["errors"] == {
        "lines[0].price": "Item OPEN has an open price: give the price it sells at"
    }


@pytest.mark.parametrize("by", ["product_id", "sku"])
def test_a_price_for_a_fixed_price_product_is_422(stocked, store, by):
    api_staff, products = stocked
    line = {by: ref(products["B"], by), "quantity": "1", "price": "1.00"}
    res = api_staff.cashier.post("/api/sales", {"lines": [line], "payments": CASH}, status=422)
    assert res.json["errors"] == {
        "lines[0].price": "Item B has a fixed price (10.00); leave price out (only an "
        "open-price product takes a typed price)"
    }
    assert count_sales(store, api_staff.tenant) == NOTHING_SOLD


# -- registers and shifts --------------------------------------------------------------
def test_a_sale_on_a_register_belongs_to_its_open_shift(stocked_per_placement, store):
    api_staff, _ = stocked_per_placement
    register_id, shift_id = add_register(store, api_staff.tenant)
    body = {"lines": [{"sku": "B", "quantity": "1"}], "payments": CASH}
    sale = api_staff.cashier.post("/api/sales", {**body, "register_id": str(register_id)}).json
    assert (sale["register_id"], sale["shift_id"]) == (str(register_id), str(shift_id))
    row, _ = sale_row(store, api_staff.tenant, sale["number"])
    assert (row.register_id, row.shift_id) == (register_id, shift_id)
    # without register_id: no register, no shift, as before
    plain = api_staff.cashier.post("/api/sales", body).json
    assert (plain["register_id"], plain["shift_id"]) == (None, None)
    # null is no register too
    nulled = api_staff.cashier.post("/api/sales", {**body, "register_id": None}).json
    assert (nulled["register_id"], nulled["shift_id"]) == (None, None)


def test_a_register_without_an_open_shift_sells_only_when_the_setting_is_off(stocked, store):
    api_staff, _ = stocked
    register_id, _ = add_register(store, api_staff.tenant, shift=False)
    body = {
        "lines": [{"sku": "B", "quantity": "1"}],
        "payments": CASH,
        "register_id": str(register_id),
    }
    res = api_staff.cashier.post("/api/sales", body, status=422)
    assert res.json["errors"] == {
        "register_id": "Till 1 has no open shift: open a shift first (count the float on the "
        "register's page), then complete the sale"
    }
    assert count_sales(store, api_staff.tenant) == NOTHING_SOLD

    with store(api_staff.tenant) as db:
        SettingsService(db, api_staff.tenant.id).set_policy("needs_open_shift", False)
    sale = api_staff.cashier.post("/api/sales", body).json
    assert (sale["register_id"], sale["shift_id"]) == (str(register_id), None)
    row, _ = sale_row(store, api_staff.tenant, sale["number"])
    assert (row.register_id, row.shift_id) == (register_id, None)


def test_a_register_that_is_not_the_locations_is_422(make_api_staff, store):
    api_staff = make_api_staff("pooled", multi_location=True)
    product = new_product(api_staff.manager, "A", "1.00")
    receive(store, api_staff.tenant, product["id"], "5")
    with store(api_staff.tenant) as db:
        db.add(Location(tenant_id=api_staff.tenant.id, name="Warehouse"))
        db.flush()
        warehouse = db.scalars(select(Location).where(Location.name == "Warehouse")).one().id
    elsewhere, _ = add_register(store, api_staff.tenant, "Back till", warehouse)
    retired, _ = add_register(store, api_staff.tenant, "Old till", shift=False)
    with store(api_staff.tenant) as db:
        registers = RegisterService(db, api_staff.tenant.id)
        registers.set_active(registers.get(retired), False)
    message = (
        "no active register of Main has this id (it is unknown, retired, or at another "
        "location); give one of Main's registers, or leave register_id out"
    )
    for register_id in (elsewhere, retired, UNKNOWN):
        body = {
            "lines": [{"sku": "A", "quantity": "1"}],
            "payments": CASH,
            "register_id": str(register_id),
        }
        res = api_staff.cashier.post("/api/sales", body, status=422)
        assert res.json["errors"] == {"register_id": message}, register_id
    # the errors of the look-ups come together
    both = {
        "lines": [{"sku": "NOPE", "quantity": "1"}, {"sku": "A", "quantity": "1", "price": "2"}],
        "register_id": UNKNOWN,
    }
    res = api_staff.cashier.post("/api/sales", both, status=422)
    assert set(res.json["errors"]) == {"lines[0].sku", "lines[1].price", "register_id"}
    assert count_sales(store, api_staff.tenant) == (0, 1)  # the one delivery


def test_a_cashier_tied_to_a_register_sells_on_it_only(stocked, store):
    api_staff, _ = stocked
    theirs, _ = add_register(store, api_staff.tenant, "Till 1")
    other, _ = add_register(store, api_staff.tenant, "Till 2")
    username = api_staff.users["Cashiers"][0]
    with store(api_staff.tenant) as db:
        user = db.scalars(select(User).where(User.username == username)).one()
        set_ties(db, api_staff.tenant.id, user, [], [theirs])
    body = {"lines": [{"sku": "B", "quantity": "1"}], "payments": CASH}
    res = api_staff.cashier.post("/api/sales", {**body, "register_id": str(other)}, status=422)
    assert res.json["errors"] == {"location_id": "You are not set up to sell at Main; ask an Admin"}
    assert count_sales(store, api_staff.tenant) == NOTHING_SOLD
    sale = api_staff.cashier.post("/api/sales", {**body, "register_id": str(theirs)}).json
    assert sale["register_id"] == str(theirs)


# -- idempotency -----------------------------------------------------------------------
def test_the_idempotency_key_covers_the_new_fields(stocked, store):
    api_staff, _ = stocked
    register_id, _ = add_register(store, api_staff.tenant)
    key = {"Idempotency-Key": "key-cart-discount"}
    body = {
        "lines": [{"sku": "A", "quantity": "2", "discount_percent": "5"}],
        "payments": CASH,
        "cart_discount": "1.00",
        "register_id": str(register_id),
    }
    first = api_staff.manager.post("/api/sales", body, headers=key)
    again = api_staff.manager.post("/api/sales", body, headers=key, status=200)
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json["cart_discount"] == "1.00"
    for changed in (
        {**body, "cart_discount": "1.01"},
        {**{k: v for k, v in body.items() if k != "cart_discount"}, "cart_discount_percent": "10"},
        {**body, "lines": [{"sku": "A", "quantity": "2", "discount": "0.25"}]},  # 5% of 5.00
        {**body, "register_id": None},
    ):
        res = api_staff.manager.post("/api/sales", changed, headers=key, status=409)
        assert "idempotency_key" in res.json["errors"]
    assert count_sales(store, api_staff.tenant)[0] == 1
