"""The till's cart lives in the tenant's store, not in the session cookie (issue 16: a
cart near its 50-line maximum overflowed the 4 KB cookie and the till answered 500)."""

from decimal import Decimal

from salesapp.ids import uuid7
from salesapp.inventory.services import InventoryService
from salesapp.products.models import Product
from salesapp.sales.services import MAX_LINES
from tests.accounts.support import sql
from tests.sales.test_pos_pages import cart_form, scan, submit_complete

#: what a browser keeps of one cookie
COOKIE_LIMIT = 4096


def stock_products(owner_engines, tenant, count):
    """``count`` products of 1.00 with a long name, 10 of each on hand; their SKUs."""
    skus = [f"LONG-SKU-{i:03d}-{uuid7().hex[:12]}" for i in range(count)]
    with owner_engines.session(tenant) as db:
        inventory = InventoryService(db, tenant.id)
        location = inventory.default_location().id
        for sku in skus:
            product = Product(
                tenant_id=tenant.id,
                id=uuid7(),
                sku=sku,
                name=f"A product with a long descriptive name {sku}",
                unit_price=Decimal("1.00"),
            )
            db.add(product)
            db.flush()
            inventory.receive(product.id, location, Decimal("10"))
    return skus


def cookie_sizes(response) -> list[int]:
    return [len(value) for name, value in response.headerlist if name.lower() == "set-cookie"]


def test_a_cart_of_50_lines_sells_end_to_end(staff, owner_engines, owner_engine):
    tenant, clients = staff(roles=("Cashiers",))
    till = clients["Cashiers"]
    for sku in stock_products(owner_engines, tenant, MAX_LINES):
        added = scan(till, sku)
        assert added.status_int == 303
        assert all(size < COOKIE_LIMIT for size in cookie_sizes(added))
    page = till.get("/pos")
    assert len(page.html.select('table[aria-label="Cart"] tbody tr')) == MAX_LINES
    assert page.html.select_one('[data-testid="total"]').text == "50.00"
    # the 51st line is refused, saying why; the cart keeps its 50
    (extra,) = stock_products(owner_engines, tenant, 1)
    form = till.get("/pos").forms["scan-form"]
    form["code"] = extra
    assert "the cart is full" in form.submit(status=400).text
    form = cart_form(till)
    form["pay_cash"] = "50.00"
    receipt = submit_complete(form).follow()
    assert receipt.html.select_one('[data-testid="receipt-number"]').text == "1"
    assert sql(owner_engine, tenant, "select count(*) from sale_lines")[0][0] == MAX_LINES
    assert "cart is empty" in till.get("/pos").text
    assert sql(owner_engine, tenant, "select count(*) from pos_carts") == [(0,)]


def test_each_user_has_a_cart_of_their_own(staff, owner_engines):
    tenant, clients = staff(roles=("Managers", "Cashiers"))
    first, second = stock_products(owner_engines, tenant, 2)
    scan(clients["Cashiers"], first)
    scan(clients["Managers"], second)
    assert first in clients["Cashiers"].get("/pos").text
    assert second not in clients["Cashiers"].get("/pos").text
    assert second in clients["Managers"].get("/pos").text
