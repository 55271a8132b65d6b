"""Goods in: lines scanned into a list kept in the form (no JavaScript), posted as one
goods receipt with one "receive" movement per line, all or nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from salesapp.inventory.models import StockMovement
from salesapp.purchasing.models import GoodsReceipt, GoodsReceiptLine
from tests.conftest import form_with


def scan(page, code, quantity=None):
    """Type ``code`` into the scan field and press Enter (the form's first button, Add)."""
    form = form_with(page, "code")
    form["code"] = code
    if quantity is not None:
        form["scan_quantity"] = quantity
    return form.submit("action", index=0, status="*")


def lines_of(page) -> list[tuple[str, str]]:
    """(SKU, quantity) of the list's lines."""
    return [
        (
            tr.select_one("[data-testid=sku]").get_text(),
            tr.select_one("input[name=line_quantity]")["value"],
        )
        for tr in page.html.select("tr[data-testid^=line-]")
    ]


def counts(room):
    with room.session() as db, db.begin():
        return (
            db.scalar(select(func.count(GoodsReceipt.id))),
            db.scalar(select(func.count(GoodsReceiptLine.id))),
            db.scalar(select(func.count(StockMovement.id))),
        )


def test_scanning_builds_the_list_and_posting_receives_it_in_one_receipt(small_shop):
    room, clients = small_shop
    ids = room.add_products(3, barcode=True, cost="1.50")
    client = clients["Managers"]
    page = client.get("/stock/goods-in")
    for code in ("P-000-BC", "P-001-BC", "P-000-BC", "P002"):  # a repeat adds to its line
        page = scan(page, code)
        assert page.status_int == 200
    assert lines_of(page) == [("P000", "2"), ("P001", "1"), ("P002", "1")]
    form = form_with(page, "code")
    form.fields["line_quantity"][1].value = "12"
    form.fields["line_cost"][1].value = "0.75"
    form["reference"] = "DN-5521"
    result = form.submit("action", value="post", status=303)
    receipt_page = result.follow()
    assert "Goods receipt 1 posted: 3 lines received." in receipt_page.text
    main = room.default_location()
    assert [room.on_hand(ids[sku], main) for sku in ("P000", "P001", "P002")] == [
        Decimal(2),
        Decimal(12),
        Decimal(1),
    ]
    with room.session() as db, db.begin():
        receipt = db.scalars(select(GoodsReceipt)).one()
        lines = db.execute(
            select(
                GoodsReceiptLine.line_number,
                GoodsReceiptLine.quantity,
                GoodsReceiptLine.unit_cost,
                StockMovement.reference,
                StockMovement.kind,
            )
            .join(StockMovement, StockMovement.id == GoodsReceiptLine.movement_id)
            .order_by(GoodsReceiptLine.line_number)
        ).all()
    assert receipt.reference == "DN-5521"
    assert lines == [
        (1, Decimal("2.000"), Decimal("1.50"), receipt.id, "receive"),
        (2, Decimal("12.000"), Decimal("0.75"), receipt.id, "receive"),
        (3, Decimal("1.000"), Decimal("1.50"), receipt.id, "receive"),
    ]


def test_a_bad_line_names_its_number_and_nothing_is_saved(small_shop):
    room, clients = small_shop
    room.add_products(3, barcode=True)
    client = clients["Managers"]
    page = client.get("/stock/goods-in")
    for code in ("P000", "P001", "P002"):
        page = scan(page, code)
    before = counts(room)
    form = form_with(page, "code")
    form.fields["line_quantity"][1].value = "0"
    form.fields["line_cost"][2].value = "abc"
    page = form.submit("action", value="post", status=400)
    alerts = page.html.select_one("div.error").get_text()
    assert "Nothing was received." in alerts
    assert "line 2 (Item P001): quantity must be at least 0.001" in alerts
    assert "line 3 (Item P002): unit cost must be a number" in alerts
    assert counts(room) == before
    # the list is kept as it was typed, to correct and post again
    assert lines_of(page) == [("P000", "1"), ("P001", "0"), ("P002", "1")]


def test_an_unknown_code_is_refused_beside_the_scan_field(small_shop):
    room, clients = small_shop
    room.add_products(1)
    page = scan(clients["Managers"].get("/stock/goods-in"), "NOPE")
    assert page.status_int == 400
    assert (
        "No active product has the barcode or SKU 'NOPE'"
        in page.html.select_one("#code-error").text
    )
    assert lines_of(page) == []


def test_a_line_can_be_removed(small_shop):
    room, clients = small_shop
    room.add_products(2)
    page = clients["Managers"].get("/stock/goods-in")
    page = scan(scan(page, "P000"), "P001")
    page = form_with(page, "code").submit("remove", index=0)
    assert lines_of(page) == [("P001", "1")]


def test_quantities_are_read_in_the_workspaces_locale(small_shop):
    from salesapp.preferences.services import SettingsService

    room, clients = small_shop
    ids = room.add_products(1)
    with room.session() as db, db.begin():
        SettingsService(db, room.tenant.id).get().locale = "de_DE"
    page = scan(clients["Managers"].get("/stock/goods-in"), "P000", "1,5")
    assert lines_of(page) == [("P000", "1,5")]
    form_with(page, "code").submit("action", value="post", status=303)
    assert room.on_hand(ids["P000"], room.default_location()) == Decimal("1.5")


def test_an_empty_list_is_refused(small_shop):
    _, clients = small_shop
    page = clients["Managers"].get("/stock/goods-in")
    page = form_with(page, "code").submit("action", value="post", status=400)
    assert "add at least one line" in page.text


def test_cashiers_cannot_receive_goods(shop):
    _, clients = shop
    clients["Cashiers"].get("/stock/goods-in", status=403)
