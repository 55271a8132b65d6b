"""Ringing at the till (issue 17): an open-price or weighed product is asked about before
it is added (the prompt, its validation, the typed price through pricing and into the
sale); a scan sent by the till's script is answered with the cart alone, the same markup
as the page's cart, in under 5 KB for a cart of 5 lines."""

import re
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from salesapp.ids import uuid7
from salesapp.inventory.services import InventoryService
from salesapp.products.models import Product
from salesapp.sales.models import Sale, SaleLine
from tests.sales.test_pos_pages import open_shopfront, scan, submit_complete

FRAGMENT = {"X-Till-Fragment": "cart"}
#: what the server adds to an answer besides the app's headers: waitress's
#: "Server: waitress" and "Date: Mon, 01 Dec 2026 12:00:00 GMT" lines
SERVER_HEADERS = 60


def add_products(owner_engines, tenant, *specs):
    """Products as (sku, price, open_price, sold_by_weight, category), 100 of each on
    hand; their ids by SKU."""
    ids = {}
    with owner_engines.session(tenant) as db:
        inventory = InventoryService(db, tenant.id)
        location = inventory.default_location().id
        for sku, price, open_price, by_weight, category in specs:
            product = Product(
                tenant_id=tenant.id,
                id=uuid7(),
                sku=sku,
                name=f"Item {sku}",
                unit_price=Decimal(price),
                open_price=open_price,
                sold_by_weight=by_weight,
                category=category,
            )
            db.add(product)
            db.flush()
            inventory.receive(product.id, location, Decimal("100"))
            ids[sku] = product.id
    return ids


class Shop:
    """The shopfront of test_pos_pages (A 2.50 + 16% tax, B 10.00) with FISH (open price,
    default 0), NUTS (2.40/kg) and SPICE (open price and by weight), all in "Deli"; the
    Cashier's client as ``till``."""

    def __init__(self, staff, owner_engines, placement):
        self.tenant, clients = open_shopfront(staff, placement)
        self.till, self.owner_engines = clients["Cashiers"], owner_engines
        self.ids = add_products(
            owner_engines,
            self.tenant,
            ("FISH", "0", True, False, "Deli"),
            ("NUTS", "2.40", False, True, "Deli"),
            ("SPICE", "1.00", True, True, "Deli"),
        )

    def store(self):
        """A session on the tenant's store (as the owner), to read what was written."""
        return self.owner_engines.session(self.tenant)


@pytest.fixture
def shop(staff, owner_engines):
    """A pooled tenant's Shop: for the rules, which the placement cannot change."""
    return Shop(staff, owner_engines, "pooled")


@pytest.fixture(params=["pooled", "dedicated"])
def shop_per_placement(request, staff, owner_engines):
    """A Shop in a pooled and in a dedicated tenant: for what a sale writes."""
    return Shop(staff, owner_engines, request.param)


def cart_rows(page):
    return page.html.select('table[aria-label="Cart"] tbody tr')


def ask_form(page):
    return page.forms["ask-form"]


def pay_exactly(shop, page) -> tuple[str, str, str]:
    """Complete the cart of ``page`` paid exactly in cash; the one line the sale wrote, as
    (unit price, quantity, line total), after checking that the sale's total is its."""
    form = page.forms["cart-form"]
    form["pay_cash"] = page.html.select_one('[data-testid="total"]').text
    submit_complete(form).follow()
    with shop.store() as db:
        line = db.scalars(select(SaleLine)).one()
        assert db.scalars(select(Sale)).one().total == line.line_total
        return (f"{line.unit_price}", f"{line.quantity.normalize():f}", f"{line.line_total}")


def token(till):
    return till.get("/pos").forms["scan-form"]["csrf_token"].value


# -- open price and weight: the prompt ----------------------------------------------------
def test_an_open_price_scan_asks_for_the_price_and_the_sale_takes_it(shop_per_placement):
    shop = shop_per_placement
    till = shop.till
    asked = scan(till, "FISH")
    assert asked.status_int == 303
    assert asked.location.endswith(f"/pos?ask={shop.ids['FISH']}")
    page = asked.follow()
    assert cart_rows(page) == []  # nothing added yet
    form = page.html.select_one("#ask-form")
    assert form.select_one("label[for=ask-price]").text == "Price of Item FISH"
    assert form.select_one("#ask-price").has_attr("autofocus")
    assert not page.html.select_one("#code").has_attr("autofocus")
    assert form.select("button")[0].text == "Add"  # Enter adds
    assert form.select_one("a").text == "Cancel"
    assert form.select_one("a")["href"].endswith("/pos")
    assert form.select_one("#ask-weight") is None
    prompt = page.forms["ask-form"]
    prompt["price"] = "3.50"
    prompt.submit(status=303)
    page = till.get("/pos")
    (row,) = cart_rows(page)
    assert row.select_one("input[name=price_0]")["value"] == "3.50"
    assert page.html.select_one('[data-testid="total"]').text == "3.50"
    assert pay_exactly(shop, page) == ("3.50", "1", "3.50")


def test_a_weighed_tile_asks_for_the_weight_keeping_the_category(shop_per_placement):
    shop = shop_per_placement
    till = shop.till
    page = till.get("/pos?category=Deli")
    asked = page.forms["scan-form"].submit("add_product", value=str(shop.ids["NUTS"]))
    assert asked.status_int == 303
    assert "category=Deli" in asked.location
    assert f"ask={shop.ids['NUTS']}" in asked.location
    page = asked.follow()
    assert cart_rows(page) == []
    form = page.html.select_one("#ask-form")
    assert form.select_one("label[for=ask-weight]").text == "Weight of Item NUTS (kg)"
    assert form.select_one("#ask-weight").has_attr("autofocus")
    assert form.select_one("#ask-price") is None
    assert form.select_one("a")["href"].endswith("/pos?category=Deli")
    prompt = page.forms["ask-form"]
    assert prompt["category"].value == "Deli"
    prompt["quantity"] = "0.425"
    back = prompt.submit(status=303)
    assert back.location.endswith("/pos?category=Deli")
    page = till.get("/pos")
    (row,) = cart_rows(page)
    assert row.select_one("input[name=qty_0]")["value"] == "0.425"
    assert row.select_one("input[name=price_0]") is None  # a fixed price: text
    assert "2.40/kg" in row.text
    assert page.html.select_one('[data-testid="total"]').text == "1.02"  # 0.425 x 2.40
    assert pay_exactly(shop, page) == ("2.40", "0.425", "1.02")


def test_a_product_with_both_flags_asks_for_both(shop):
    till = shop.till
    page = scan(till, "SPICE").follow()
    form = page.html.select_one("#ask-form")
    assert [label.text for label in form.select("label")] == [
        "Price of Item SPICE",
        "Weight of Item SPICE (kg)",
    ]
    assert form.select_one("#ask-price").has_attr("autofocus")
    assert not form.select_one("#ask-weight").has_attr("autofocus")
    prompt = page.forms["ask-form"]
    prompt["price"], prompt["quantity"] = "12.00", "0.250"
    prompt.submit(status=303)
    page = till.get("/pos")
    (row,) = cart_rows(page)
    assert row.select_one("input[name=price_0]")["value"] == "12.00"
    assert row.select_one("input[name=qty_0]")["value"] == "0.25"
    assert page.html.select_one('[data-testid="total"]').text == "3.00"


def test_a_search_results_add_button_asks_too(shop):
    till = shop.till
    results = scan(till, "Item F").follow()
    add = next(f for f in results.forms.values() if "product_id" in f.fields)
    asked = add.submit(status=303)
    assert asked.location.endswith(f"/pos?ask={shop.ids['FISH']}")


def test_cancel_leaves_the_cart_as_it_was(shop):
    till = shop.till
    scan(till, "B")
    page = scan(till, "FISH").follow()
    cancel = page.html.select_one("#ask-form a")["href"]
    page = till.get(cancel)
    assert page.html.select_one("#ask-form") is None
    (row,) = cart_rows(page)
    assert "Item B" in row.text
    assert "FISH" not in row.text


@pytest.mark.parametrize(
    ("sku", "fields", "message"),
    [
        ("FISH", {"price": ""}, "Price of Item FISH is required: type the price, e.g. 3.50"),
        ("FISH", {"price": "0"}, "Price of Item FISH must be more than 0"),
        ("FISH", {"price": "-2"}, "Price of Item FISH must be more than 0"),
        (
            "FISH",
            {"price": "abc"},
            "Price of Item FISH must be a number such as 1,234.5, got 'abc'",
        ),
        (
            "FISH",
            {"price": "1.234"},
            "Price of Item FISH: USD amounts have 2 decimal places; got '1.234'",
        ),
        ("FISH", {"price": "10000000000"}, "Price of Item FISH must be at most 9999999999.99"),
        ("NUTS", {"quantity": ""}, "Weight of Item NUTS (kg) is required"),
        ("NUTS", {"quantity": "0"}, "Weight of Item NUTS (kg) must be more than 0"),
        ("NUTS", {"quantity": "0.4255"}, "Weight of Item NUTS (kg) has more than 3 decimal"),
        ("NUTS", {"quantity": "100001"}, "Weight of Item NUTS (kg) must be at most 100000"),
        (
            "NUTS",
            {"quantity": "1kg"},
            "Weight of Item NUTS (kg) must be a number such as 1,234.5, got '1kg'",
        ),
        ("SPICE", {"price": "5", "quantity": "-1"}, "Weight of Item SPICE (kg) must be more"),
    ],
)
def test_a_bad_price_or_weight_asks_again_and_adds_nothing(shop, sku, fields, message):
    till = shop.till
    fields = {"csrf_token": token(till), "product_id": str(shop.ids[sku]), **fields}
    res = till.post("/pos/add", fields, status=400)
    prompt = res.html.select_one("#ask-form")
    assert message in prompt.select_one(".field-error").text
    for name, value in fields.items():  # what was typed is shown back
        if name in ("price", "quantity"):
            assert prompt.select_one(f"input[name={name}]")["value"] == value
    assert cart_rows(till.get("/pos")) == []


def test_a_typed_price_is_corrected_by_recalculating_with_the_same_rules(shop):
    till = shop.till
    scan(till, "A")
    prompt = scan(till, "FISH").follow().forms["ask-form"]
    prompt["price"] = "3.50"
    prompt.submit(status=303)
    page = till.get("/pos")
    assert page.html.select_one("input[name=price_0]") is None  # A's price is text
    assert "2.50" in cart_rows(page)[0].text
    form = page.forms["cart-form"]
    form["price_1"] = "4.00"
    form.submit(status=303)
    page = till.get("/pos")
    assert page.forms["cart-form"]["price_1"].value == "4.00"
    assert page.html.select_one('[data-testid="total"]').text == "6.90"  # 2.90 + 4.00
    for bad, message in (("0", "Price must be more than 0"), ("x", "Price must be a number")):
        form = page.forms["cart-form"]
        form["price_1"] = bad
        res = form.submit(status=400)
        assert message in cart_rows(res)[1].text
        assert till.get("/pos").forms["cart-form"]["price_1"].value == "4.00"  # unchanged


def test_a_price_posted_for_a_fixed_price_product_is_not_used(shop):
    till = shop.till
    fields = {"csrf_token": token(till), "add_product": str(shop.ids["NUTS"])}
    till.post("/pos/add", {**fields, "quantity": "1", "price": "0.01"}, status=303)
    page = till.get("/pos")
    assert page.html.select_one('[data-testid="total"]').text == "2.40"


def test_a_bad_quantity_posted_with_a_plain_product_is_refused_with_a_message(shop):
    till = shop.till
    fields = {"csrf_token": token(till), "code": "B", "quantity": "lots"}
    res = till.post("/pos/add", fields, status=400)
    assert (
        "Quantity must be a number such as 1,234.5, got 'lots'"
        in res.html.select_one(".pos-find").text
    )
    assert cart_rows(till.get("/pos")) == []


def test_open_price_lines_at_different_prices_stay_apart(shop):
    till = shop.till
    fields = {"csrf_token": token(till), "product_id": str(shop.ids["FISH"])}
    for price in ("3.50", "4.00", "3.50"):
        till.post("/pos/add", {**fields, "price": price}, status=303)
    page = till.get("/pos")
    form = page.forms["cart-form"]
    assert [(form["qty_0"].value, form["price_0"].value)] == [("2", "3.50")]
    assert (form["qty_1"].value, form["price_1"].value) == ("1", "4.00")
    assert page.html.select_one('[data-testid="total"]').text == "11.00"


def test_an_ask_for_a_product_that_needs_nothing_shows_no_prompt(shop):
    till = shop.till
    for ask in ("not-an-id", str(uuid.uuid4()), str(shop.ids["NUTS"])[:8]):
        assert till.get(f"/pos?ask={ask}").html.select_one("#ask-form") is None
    page = scan(till, "B")  # a plain product is added at once, as before
    assert page.location.endswith("/pos")


# -- scans answered with the cart alone ------------------------------------------------
def scan_fragment(till, code=None, **fields):
    """The scan form sent as pos.js sends it (the fragment header)."""
    data = {"csrf_token": token(till), "code": code or "", **fields}
    return till.post("/pos/add", data, headers=FRAGMENT, status="*")


def section_of(page):
    """The inner markup of the page's cart section."""
    html = page.text
    start = html.index('<section class="pos-cart card">') + len('<section class="pos-cart card">')
    return html[start : html.index("</section>", start)]


def without_key(html):
    return re.sub(r'name="sale_key" value="[^"]+"', 'name="sale_key" value="KEY"', html)


def answer_size(res):
    headers = sum(len(name) + len(value) + 4 for name, value in res.headerlist)
    return len(res.body) + headers + len(f"HTTP/1.1 {res.status}\r\n\r\n") + SERVER_HEADERS


def test_a_fragment_scan_answers_with_the_cart_section_alone(shop):
    till = shop.till
    res = scan_fragment(till, "B")
    assert res.status_int == 200
    assert res.headers["X-Till-Fragment"] == "cart"
    assert "Location" not in res.headers
    assert res.text.lstrip().startswith('<form method="post"')
    assert "<html" not in res.text
    assert "<section" not in res.text
    assert 'id="scan-form"' not in res.text
    assert "Item B" in res.text
    page = till.get("/pos")
    assert without_key(res.text).strip() == without_key(section_of(page)).strip()


def test_a_fragment_of_five_lines_is_under_5_kb_and_completes(shop, owner_engines):
    till = shop.till
    ids = add_products(
        owner_engines,
        shop.tenant,
        *[(f"RICE-1KG-{i:04d}", "1.00", False, False, "") for i in range(3)],
    )
    for code in ("A", "B", *ids):
        res = scan_fragment(till, code)
    assert len(res.html.select('table[aria-label="Cart"] tbody tr')) == 5
    size = answer_size(res)
    headers = {name: len(value) for name, value in res.headerlist}
    assert size < 5000, f"the answer is {size} bytes: {len(res.body)} of body; {headers}"
    # its key is a fresh one each time, and completes the sale
    key = res.html.select_one("input[name=sale_key]")["value"]
    again = scan_fragment(till, "B")
    assert again.html.select_one("input[name=sale_key]")["value"] != key
    data = {i["name"]: i.get("value", "") for i in again.html.select("#cart-form input")}
    data["pay_cash"] = "50"
    receipt = till.post("/pos/complete", data, status=303).follow()
    assert receipt.html.select_one('[data-testid="receipt-number"]').text == "1"
    with shop.store() as db:
        assert len(db.scalars(select(SaleLine)).all()) == 5


def test_in_fragment_mode_what_cannot_be_added_in_place_is_the_usual_answer(shop):
    till = shop.till
    res = scan_fragment(till, "Item")  # not an exact code: the search results
    assert res.status_int == 303
    assert res.location.endswith("/pos?q=Item")
    assert "X-Till-Fragment" not in res.headers
    res = scan_fragment(till, "FISH")  # an open price: the prompt
    assert res.status_int == 303
    assert f"ask={shop.ids['FISH']}" in res.location
    res = scan_fragment(till, add_product=str(uuid.uuid4()))  # no such product: the page
    assert res.status_int == 400
    assert "X-Till-Fragment" not in res.headers
    assert "no such product for sale" in res.html.select_one("main").text
    res = scan_fragment(till, "")  # Enter in an empty scan box
    assert res.status_int == 400
    assert "scan a barcode, or type a SKU" in res.html.select_one("main").text
    assert cart_rows(till.get("/pos")) == []
