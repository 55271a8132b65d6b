"""The point of sale and the sales pages, through the web app, for each role; a sale
end to end in a pooled and in a dedicated tenant, the rest (which the placement cannot
change) in a pooled one."""

import pytest
from sqlalchemy import text

from salesapp.tenancy.binding import bind
from tests.conftest import form_with, sign_in


def open_shopfront(staff, placement):
    """A tenant with two stocked products (A: 2.50 + 16% tax, 10 on hand; B: 10.00, 5),
    and its manager and cashier signed in: (tenant, {"Managers": .., "Cashiers": ..})."""
    tenant, clients = staff(placement, roles=("Managers", "Cashiers"))
    manager = clients["Managers"]
    for sku, barcode, price, tax in (("A", "4006381333931", "2.50", "16"), ("B", "", "10.00", "0")):
        form = form_with(manager.get("/products/new"), "sku")
        form["sku"], form["barcode"], form["name"] = sku, barcode, f"Item {sku}"
        form["unit_price"], form["cost"] = price, "1.00"
        # a percentage rather than a named rate (the form's <select>): linked to the
        # workspace's rate of it, named if it has none
        fields = dict(form.submit_fields())
        del fields["tax_rate_id"]
        manager.post(form.action, {**fields, "tax_rate": tax}, status=303)
    for sku, quantity in (("A", "10"), ("B", "5")):
        form = form_with(manager.get("/stock/receive"), "quantity")
        form.select("product_id", text=f"Item {sku} ({sku})")
        form["quantity"] = quantity
        form.submit(status=303)
    return tenant, clients


@pytest.fixture
def shopfront(staff):
    """A pooled tenant's stocked shopfront (see open_shopfront)."""
    return open_shopfront(staff, "pooled")


@pytest.fixture(params=["pooled", "dedicated"])
def shopfront_per_placement(request, staff):
    """A stocked shopfront in a pooled and in a dedicated tenant."""
    return open_shopfront(staff, request.param)


def scan(client, code, quantity=None):
    form = client.get("/pos").forms["scan-form"]
    form["code"] = code
    return form.submit()


def cart_form(client):
    return client.get("/pos").forms["cart-form"]


def submit_complete(form, status=303):
    # the "Complete sale" button posts the cart form to /pos/complete (formaction)
    form.action = "/pos/complete"
    return form.submit(status=status)


def test_cashier_sells_with_two_payment_methods_and_gets_a_receipt(shopfront_per_placement):
    _tenant, clients = shopfront_per_placement
    till = clients["Cashiers"]
    scan(till, "4006381333931").follow()  # by barcode
    scan(till, "B").follow()  # by SKU
    form = cart_form(till)
    form["qty_0"] = "3"
    form["discount_0"] = "0.50"
    form.submit(status=303)
    page = till.get("/pos")
    assert page.html.select_one('[data-testid="total"]').text == "18.12"
    form = page.forms["cart-form"]
    form["pay_card"], form["ref_card"], form["pay_cash"] = "10.00", "auth-77", "10.00"
    receipt = submit_complete(form).follow()
    assert receipt.html.select_one('[data-testid="receipt-number"]').text == "1"
    assert receipt.html.select_one('[data-testid="receipt-change"]').text == "1.88"
    assert "Item A" in receipt.text and "Card" in receipt.text and "Cash" in receipt.text
    assert "cart is empty" in till.get("/pos").text
    # the stock went down through the ledger
    stock = clients["Managers"].get("/stock")
    assert stock.html.select_one('[data-testid="on-hand-A"]').text == "7"
    assert stock.html.select_one('[data-testid="on-hand-B"]').text == "4"


def test_an_unknown_code_shows_matches_and_adds_nothing(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    res = scan(till, "Item").follow()
    assert "Item A" in res.text and "Item B" in res.text
    assert "cart is empty" in res.text
    form_with(res, "product_id").submit(status=303)  # the first result's Add button
    assert "Item" in till.get("/pos").html.select_one('table[aria-label="Cart"]').text


def test_underpayment_keeps_the_cart_and_writes_nothing(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    form = cart_form(till)
    form["pay_cash"] = "5"
    res = submit_complete(form, status=400)
    assert "5.00 is still due" in res.text
    assert "Item B" in till.get("/pos").text  # the cart is still there
    assert "No sales." in clients["Managers"].get("/sales").text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("qty_0", "abc", "must be a number"),
        ("qty_0", "0", "must be at least 0.001"),
        ("discount_0", "-1", "must be at least 0"),
        ("pay_cash", "1" + "0" * 20, "is too large"),
        ("pay_cash", "1e999", "must be a number"),  # an exponent is no way to write cash
        ("pay_cash", "NaN", "must be a number"),
        ("pay_card", "-5", "must be at least 0"),
    ],
)
def test_bad_input_is_refused_with_the_field(shopfront, field, value, message):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    form = cart_form(till)
    form[field] = value
    res = submit_complete(form, status=400)
    assert message in res.text
    assert "No sales." in clients["Managers"].get("/sales").text


def test_selling_more_than_on_hand_is_refused(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    form = cart_form(till)
    form["qty_0"], form["pay_cash"] = "6", "60"
    res = submit_complete(form, status=400)
    assert "only 5 of Item B (B) on hand, 6 wanted" in res.text


def test_cashiers_see_their_own_sales_only_and_cannot_void_or_refund(
    shopfront, make_user, client_for
):
    tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    form = cart_form(till)
    form["pay_cash"] = "10"
    sale_url = submit_complete(form).location.replace("/receipt", "")
    other_name, other_password = make_user(tenant, ("Cashiers",))
    other = client_for(tenant)
    sign_in(other, other_name, other_password)
    other.get(sale_url, status=404)
    assert "No sales." in other.get("/sales").text
    page = till.get(sale_url)
    assert "Void this sale" not in page.text and "Refund" not in page.text
    token = page.forms[0]["csrf_token"].value  # the sign-out form's: a valid token
    till.post(sale_url + "/void", {"reason": "x", "csrf_token": token}, status=403)
    till.get(sale_url + "/refund", status=403)
    assert (
        clients["Managers"].get(sale_url).html.select_one('[data-testid="status"]').text
        == "completed"
    )


def test_manager_voids_a_sale_and_its_goods_return(shopfront):
    _tenant, clients = shopfront
    till, manager = clients["Cashiers"], clients["Managers"]
    scan(till, "B")
    form = cart_form(till)
    form["qty_0"], form["pay_cash"] = "2", "20"
    sale_url = submit_complete(form).location.replace("/receipt", "")
    page = manager.get(sale_url)
    void = form_with(page, "reason")
    void["reason"] = ""
    assert "say why" in void.submit(status=400).text
    void = form_with(manager.get(sale_url), "reason")
    void["reason"] = "customer changed mind at the till"
    void.submit(status=303)
    page = manager.get(sale_url)
    assert page.html.select_one('[data-testid="status"]').text == "voided"
    assert manager.get("/stock").html.select_one('[data-testid="on-hand-B"]').text == "5"


def test_manager_refunds_part_of_a_sale(shopfront):
    _tenant, clients = shopfront
    till, manager = clients["Cashiers"], clients["Managers"]
    scan(till, "B")
    form = cart_form(till)
    form["qty_0"], form["pay_cash"] = "3", "30"
    sale_url = submit_complete(form).location.replace("/receipt", "")
    form = form_with(manager.get(sale_url + "/refund"), "method")
    qty_field = next(name for name in form.fields if name.startswith("qty_"))
    form[qty_field] = "4"
    assert "refund between 0 and 3" in form.submit(status=400).text
    form = form_with(manager.get(sale_url + "/refund"), "method")
    form[qty_field], form["reason"] = "1", "damaged"
    form.submit(status=303)
    page = manager.get(sale_url)
    assert page.html.select_one('[data-testid="status"]').text == "partly refunded"
    assert manager.get("/stock").html.select_one('[data-testid="on-hand-B"]').text == "3"


def test_single_location_tenants_see_no_location_choice(shopfront):
    _tenant, clients = shopfront
    page = clients["Cashiers"].get("/pos")
    assert 'name="location_id"' not in page.text
    clients["Managers"].get("/stock/transfer", status=404)
    assert 'name="location_id"' not in clients["Managers"].get("/stock/receive").text


def test_multi_location_tenant_sells_from_the_chosen_location(staff, owner_engine):
    tenant, clients = staff("dedicated", roles=("Managers", "Cashiers"), multi_location=True)
    manager, till = clients["Managers"], clients["Cashiers"]
    with owner_engine(tenant.store_name).begin() as conn:
        bind(conn, tenant.id)
        conn.execute(
            text(
                "insert into locations (tenant_id, id, name) values "
                "(:t, gen_random_uuid(), 'Kiosk')"
            ),
            {"t": tenant.id},
        )
    form = form_with(manager.get("/products/new"), "sku")
    form["sku"], form["name"], form["unit_price"] = "K1", "Kiosk item", "4.00"
    form.submit(status=303)
    form = form_with(manager.get("/stock/receive"), "quantity")
    form.select("product_id", text="Kiosk item (K1)")
    form.select("location_id", text="Kiosk")
    form["quantity"] = "3"
    form.submit(status=303)
    form = form_with(manager.get("/stock/transfer"), "quantity")
    form.select("product_id", text="Kiosk item (K1)")
    form.select("location_id", text="Kiosk")
    form.select("to_location_id", text="Main")
    form["quantity"] = "1"
    form.submit(status=303)
    # at Main (the default) there is 1; the till switches to the kiosk to sell 2
    pos = till.get("/pos")
    switch = form_with(pos, "location_id")
    switch.select("location_id", text="Kiosk")
    switch.submit(status=303)
    scan(till, "K1")
    form = cart_form(till)
    form["qty_0"], form["pay_cash"] = "2", "8"
    submit_complete(form)
    levels = manager.get("/stock").text
    assert "Kiosk" in levels
    rows = {
        tuple(td.text.strip() for td in tr.select("td")[2:4])
        for tr in manager.get("/stock").html.select("tbody tr")
    }
    assert ("Kiosk", "0") in rows and ("Main", "1") in rows


def test_dashboard_shows_todays_sales_and_is_for_managers(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    form = cart_form(till)
    form["pay_cash"] = "10"
    submit_complete(form)
    page = clients["Managers"].get("/dashboard")
    assert page.html.select_one('[data-testid="today-total"]').text == "10.00"
    assert page.html.select_one('[data-testid="today-count"]').text == "1"
    top = page.html.select_one('table[aria-label="Top products"]').text
    assert "Item B" in top and "Item A" not in top  # only B was sold
    till.get("/dashboard", status=403)


def test_stock_pages_are_for_managers_and_refuse_bad_input(shopfront):
    _tenant, clients = shopfront
    till, manager = clients["Cashiers"], clients["Managers"]
    for path in ("/stock", "/stock/low", "/stock/movements", "/stock/receive", "/stock/adjust"):
        till.get(path, status=403)
    form = form_with(manager.get("/stock/adjust"), "quantity")
    form.select("product_id", text="Item B (B)")
    form["quantity"] = "-2"
    form["reason"] = ""
    assert "is required" in form.submit(status=400).text
    form = form_with(manager.get("/stock/adjust"), "quantity")
    form.select("product_id", text="Item B (B)")
    form["quantity"], form["reason"] = "-9", "count"
    assert "only 5 of Item B (B) on hand, 9 wanted" in form.submit(status=400).text
    form = form_with(manager.get("/stock/adjust"), "quantity")
    form.select("product_id", text="Item B (B)")
    form["quantity"], form["reason"] = "-2", "stock count"
    form.submit(status=303)
    movements = manager.get("/stock/movements").text
    assert "stock count" in movements and "receive" in movements
    assert manager.get("/stock").html.select_one('[data-testid="on-hand-B"]').text == "3"


def test_dashboard_revenue_is_net_of_the_refunded_amounts(shopfront):
    _tenant, clients = shopfront
    till, manager = clients["Cashiers"], clients["Managers"]
    scan(till, "A")
    form = cart_form(till)
    form["qty_0"], form["pay_cash"] = "3", "10"  # 3 x 2.90 = 8.70
    sale_url = submit_complete(form).location.replace("/receipt", "")
    refund = form_with(manager.get(sale_url + "/refund"), "method")
    refund[next(f for f in refund.fields if f.startswith("qty_"))] = "1"
    refund.submit(status=303)  # refunds 2.90
    top = manager.get("/dashboard").html.select_one('table[aria-label="Top products"]')
    cells = [td.text for td in top.select("tr")[0].select("td")]
    assert cells == ["Item A", "2", "5.80"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "yesterday"}, "From must be a date written YYYY-MM-DD"),
        ({"to": "2026-02-30"}, "To must be a date written YYYY-MM-DD"),
        ({"page": "0"}, "Page must be at least 1"),
        # str.isdigit() is true of these, int() refuses them: they were a 500
        ({"number": "²"}, "Number must be a number"),
        ({"number": "①"}, "Number must be a number"),
        ({"number": "12x"}, "Number must be a number"),
        ({"number": "0"}, "Number must be at least 1"),
    ],
)
@pytest.mark.parametrize("role", ["Managers", "Cashiers"])
def test_sales_list_refuses_bad_filters(shopfront, params, message, role):
    _tenant, clients = shopfront
    res = clients[role].get("/sales", params=params, status=400)
    assert message in res.text


def test_sales_list_finds_a_sale_by_its_number(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B").follow()
    form = cart_form(till)
    form["pay_cash"] = "10.00"
    submit_complete(form)
    found = till.get("/sales", params={"number": " 1 "})
    assert [a.text for a in found.html.select("table.data tbody a")] == ["1"]
    assert "No sales." in till.get("/sales", params={"number": "2"}).text
