"""Suppliers and purchase orders: draft -> sent -> partly received -> fully received (or
cancelled), goods received against an order moving its status."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import form_with
from tests.products.helpers import post
from tests.purchasing.test_goods_receipts import lines_of, scan


def new_supplier(client, name="Acme Wholesale") -> None:
    post(
        client,
        "/suppliers/new",
        {"name": name, "contact": "Ann", "phone": "0712 345 678", "email": "orders@acme.example"},
        status=303,
    )


def status_of(client, order_url) -> str:
    return client.get(order_url).html.select_one("h1 [data-testid=status]").get_text()


def make_order(client, supplier_name="Acme Wholesale", lines=(("P000", "10"), ("P001", "4"))):
    page = client.get("/purchase-orders/new")
    form = form_with(page, "supplier_id")
    form["supplier_id"] = form["supplier_id"].options[1][0]
    page = form.submit("action", index=0)
    for sku, _ in lines:
        page = scan(page, sku)
    form = form_with(page, "code")
    for index, (_, quantity) in enumerate(lines):
        form.fields["line_quantity"][index].value = quantity
    return form.submit("action", value="save", status=303).location


def test_suppliers_are_listed_created_and_edited(shop):
    _, clients = shop
    client = clients["Managers"]
    new_supplier(client)
    page = client.get("/suppliers")
    assert "Acme Wholesale" in page.text
    assert "orders@acme.example" in page.text
    edit = page.click("Edit")
    form = form_with(edit, "name")
    form["notes"] = "Delivers on Tuesdays"
    form.submit(status=303)
    page = post(client, "/suppliers/new", {"name": "acme wholesale"}, status=400)
    assert "acme wholesale is already a supplier" in page.text
    page = post(client, "/suppliers/new", {"name": "B", "email": "nope"}, status=400)
    assert "E-mail is not a valid e-mail address" in page.text


def test_an_order_moves_from_draft_to_sent_to_partly_and_fully_received(shop):
    room, clients = shop
    ids = room.add_products(2, cost="2.00")
    client = clients["Managers"]
    new_supplier(client)
    order_url = make_order(client)
    assert status_of(client, order_url) == "Draft"
    page = client.get(order_url)
    assert "Receive goods" not in page.text  # a draft is not received against
    post(client, order_url, {"action": "send"}, status=303)
    assert status_of(client, order_url) == "Sent"
    # receive part: the page starts from what is outstanding
    page = client.get(order_url).click("Receive goods")
    assert lines_of(page) == [("P000", "10"), ("P001", "4")]
    form = form_with(page, "code")
    form.fields["line_quantity"][0].value = "6"
    form.submit("action", value="post", status=303)
    assert status_of(client, order_url) == "Partly received"
    page = client.get(order_url)
    outstanding = page.html.select_one("[data-testid=order-line-P000]").select("td")[3].get_text()
    assert outstanding == "4"
    # the rest
    page = client.get(order_url).click("Receive goods")
    assert lines_of(page) == [("P000", "4")]
    form_with(page, "code").submit("action", value="post", status=303)
    assert status_of(client, order_url) == "Fully received"
    main = room.default_location()
    assert room.on_hand(ids["P000"], main) == Decimal(10)
    assert room.on_hand(ids["P001"], main) == Decimal(4)
    # nothing more against a received order, and it cannot be cancelled
    page = post(client, order_url, {"action": "cancel"}, status=400)
    assert "is received and cannot be cancelled" in page.text


def test_a_product_not_on_the_order_is_refused_by_line(shop):
    room, clients = shop
    room.add_products(3)
    client = clients["Managers"]
    new_supplier(client)
    order_url = make_order(client, lines=(("P000", "1"),))
    post(client, order_url, {"action": "send"}, status=303)
    page = client.get(order_url).click("Receive goods")
    page = scan(page, "P002")
    page = form_with(page, "code").submit("action", value="post", status=400)
    assert "line 2: Item P002 is not on order 1" in page.text
    assert status_of(client, order_url) == "Sent"


def test_drafts_are_edited_and_cancelled_sent_orders_are_not_edited(shop):
    room, clients = shop
    room.add_products(2)
    client = clients["Managers"]
    new_supplier(client)
    order_url = make_order(client)
    page = client.get(order_url).click("Edit")
    assert lines_of(page) == [("P000", "10"), ("P001", "4")]
    page = form_with(page, "code").submit("remove", index=0)
    form_with(page, "code").submit("action", value="save", status=303)
    assert (
        client.get(order_url).html.select("[data-testid^=order-line-]")[0]["data-testid"]
        == "order-line-P001"
    )
    post(client, order_url, {"action": "send"}, status=303)
    client.get(order_url + "/edit", status=404)
    post(client, order_url, {"action": "cancel"}, status=303)
    assert status_of(client, order_url) == "Cancelled"
    page = client.get("/purchase-orders?status=cancelled")
    assert len(page.html.select("table.data tbody tr [data-testid=status]")) == 1
    assert "No purchase orders." in client.get("/purchase-orders?status=sent").text


def test_an_order_line_for_the_same_product_twice_is_refused(shop):
    room, clients = shop
    room.add_products(1)
    client = clients["Managers"]
    new_supplier(client)
    page = client.get("/purchase-orders/new")
    form = form_with(page, "supplier_id")
    form["supplier_id"] = form["supplier_id"].options[1][0]
    page = scan(form.submit("action", index=0), "P000")
    # a second line of the same product, as a hand-made form could post
    form = form_with(page, "code")
    data = list(form.submit_fields())
    data += [
        ("line_product", form.fields["line_product"][0].value),
        ("line_quantity", "1"),
        ("line_cost", "1"),
    ]
    data = [item for item in data if item[0] != "action"] + [("action", "save")]
    page = client.post(form.action or "/purchase-orders/new", data, status=400)
    assert "line 2: Item P000 is already on line 1" in page.text
