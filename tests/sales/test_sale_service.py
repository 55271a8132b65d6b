"""Completing sales: prices, payments, stock, invoice numbers; voids and refunds.
As the app role; what a sale writes is checked in a pooled and in a dedicated store,
the rules (which the placement cannot change) in a pooled one."""

import threading
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from salesapp.inventory.models import StockMovement
from salesapp.preferences.models import WorkspaceSettings
from salesapp.sales.models import InvoiceCounter, Payment, Sale, SaleLine
from salesapp.sales.services import CartLine, PaymentInput, SaleError, price_line


def sell(seller, lines, payments, sees_all=True):
    with seller.session() as db, db.begin():
        sale = seller.sales(db, sees_all).complete(
            [CartLine(*line) for line in lines],
            [PaymentInput(*p) for p in payments],
            location_id=seller.location_id(),
        )
        return sale.id, sale.number, sale.total, sale.change_due


def counts(seller):
    with seller.session() as db, db.begin():
        return {
            model.__tablename__: db.scalar(select(func.count()).select_from(model))
            for model in (Sale, SaleLine, Payment, StockMovement)
        }


def test_line_pricing_discount_before_tax_rounded_half_up():
    class P:
        unit_price, tax_rate, open_price = D("2.50"), D("16"), False

    line = price_line(P, D("3"), D("0.50"))
    assert (line.gross, line.net, line.tax, line.total) == (
        D("7.50"),
        D("7.00"),
        D("1.12"),
        D("8.12"),
    )
    P.unit_price, P.tax_rate = D("0.35"), D("7.5")
    line = price_line(P, D("1"), D("0"))
    assert (line.tax, line.total) == (D("0.03"), D("0.38"))  # 0.02625 -> 0.03


def test_a_sale_with_two_payment_methods_writes_everything(seller_per_placement):
    seller = seller_per_placement
    a = seller.add_product("A", "2.50", tax="16", stock="10")
    b = seller.add_product("B", "10.00", stock="5")
    sale_id, number, total, change = sell(
        seller,
        [(a, D("3"), D("0.50")), (b, D("1"))],
        [("card", D("10.00"), "t-1"), ("cash", D("10.00"))],
    )
    assert number == 1 and total == D("18.12") and change == D("1.88")
    assert seller.on_hand(a) == D("7") and seller.on_hand(b) == D("4")
    with seller.session() as db, db.begin():
        sale = db.get(Sale, (seller.tenant.id, sale_id))
        assert [(x.sku, x.quantity, x.line_total) for x in sale.lines] == [
            ("A", D("3"), D("8.12")),
            ("B", D("1"), D("10.00")),
        ]
        assert [(p.method, p.amount, p.reference) for p in sale.payments] == [
            ("card", D("10.00"), "t-1"),
            ("cash", D("10.00"), ""),
        ]
        assert sale.subtotal == D("17.00") and sale.tax_total == D("1.12")
        assert sale.discount_total == D("0.50") and sale.paid_total == D("20.00")
        kinds = db.execute(
            select(StockMovement.kind, StockMovement.quantity).where(
                StockMovement.reference == sale_id
            )
        ).all()
        assert sorted(kinds) == [("sale", D("-3")), ("sale", D("-1"))]


@pytest.mark.parametrize(
    ("payments", "message"),
    [
        ([("cash", D("5"))], "still due"),
        ([("card", D("25"))], "only cash gives change"),
        ([("card", D("5")), ("mobile_money", D("20"))], "only cash gives change"),
        ([("cheque", D("20"))], "payment method must be one of"),
        ([("cash", D("-1")), ("cash", D("30"))], "must not be negative"),
        ([], "still due"),
    ],
)
def test_bad_payments_are_refused_and_nothing_is_written(seller, payments, message):
    a = seller.add_product("A", "20.00", stock="5")
    before = counts(seller)
    with pytest.raises(SaleError, match=message):
        sell(seller, [(a, D("1"))], payments)
    assert counts(seller) == before and seller.on_hand(a) == D("5")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "the cart is empty"),
        ([("A", D("0"))], "must be more than 0"),
        ([("A", D("-2"))], "must be more than 0"),
        ([("A", D("1"), D("21"))], "discount on Item A must be between 0"),
        ([("A", D("1"), D("-1"))], "discount on Item A must be between 0"),
        ([("GONE", D("1"))], "not for sale"),
    ],
)
def test_bad_lines_are_refused(seller, lines, message):
    a = seller.add_product("A", "20.00", stock="5")
    ids = {"A": a, "GONE": __import__("uuid").uuid4()}
    with pytest.raises(SaleError, match=message):
        sell(seller, [(ids[x[0]], *x[1:]) for x in lines], [("cash", D("100"))])
    assert counts(seller)["sales"] == 0


def test_more_than_on_hand_is_refused_unless_the_tenant_allows_negative_stock(seller):
    a = seller.add_product("A", "1.00", stock="2")
    with pytest.raises(SaleError, match=r"only 2 of Item A \(A\) on hand, 3 wanted"):
        sell(seller, [(a, D("3"))], [("cash", D("3"))])
    # the refused sale consumed no invoice number
    assert sell(seller, [(a, D("1"))], [("cash", D("1"))])[1] == 1
    with seller.session() as db, db.begin():
        db.get(WorkspaceSettings, seller.tenant.id).allow_negative_stock = True
    sell(seller, [(a, D("3"))], [("cash", D("3"))])
    assert seller.on_hand(a) == D("-2")


def test_invoice_numbers_are_per_tenant_and_gapless(seller, make_tenant, app_engine):
    a = seller.add_product("A", "1.00", stock="100")
    numbers = [sell(seller, [(a, D("1"))], [("cash", D("1"))])[1] for _ in range(3)]
    assert numbers == [1, 2, 3]
    from tests.sales.conftest import Seller

    other_tenant = make_tenant("pooled")  # in the same pooled store, numbering of its own
    other = Seller(other_tenant, app_engine(other_tenant.store_name))
    b = other.add_product("B", "1.00", stock="5")
    assert sell(other, [(b, D("1"))], [("cash", D("1"))])[1] == 1


def test_a_failure_mid_sale_writes_nothing_and_keeps_the_number(seller, monkeypatch):
    """The sale is written by one statement (salesapp.sales.writing): a failure in its
    last part (the audit row, after the sale, its lines, payments and movements) leaves
    none of them, and the invoice number is not taken."""
    from salesapp.sales import services as sale_services

    a = seller.add_product("A", "1.00", stock="10")
    b = seller.add_product("B", "1.00", stock="10")
    original = sale_services.audit_rows

    def broken_audit(session, row):
        rows = original(session, row)
        assert rows, "a sale is audited"
        return [{**rows[0], "detail": "not json"}]

    monkeypatch.setattr(sale_services, "audit_rows", broken_audit)
    with pytest.raises(Exception, match="json"):
        sell(seller, [(a, D("1")), (b, D("1"))], [("cash", D("2"))])
    monkeypatch.undo()
    assert counts(seller) == {"sales": 0, "sale_lines": 0, "payments": 0, "stock_movements": 2}
    assert seller.on_hand(a) == D("10") and seller.on_hand(b) == D("10")
    assert sell(seller, [(a, D("1"))], [("cash", D("1"))])[1] == 1


def test_concurrent_tills_never_share_a_number_nor_lose_a_movement(seller):
    a = seller.add_product("A", "1.00", stock="1000")
    b = seller.add_product("B", "2.00", stock="1000")
    results, errors = [], []

    def till(n):
        try:
            for _ in range(n):
                results.append(sell(seller, [(a, D("1")), (b, D("2"))], [("cash", D("5"))]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=till, args=(15,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r[1] for r in results) == list(range(1, 46))
    assert counts(seller) == {
        "sales": 45,
        "sale_lines": 90,
        "payments": 45,
        "stock_movements": 2 + 90,
    }
    assert seller.on_hand(a) == D("955") and seller.on_hand(b) == D("910")
    with seller.session() as db, db.begin():
        assert db.get(InvoiceCounter, seller.tenant.id).last_number == 45


def test_concurrent_tills_cannot_both_sell_the_last_units(seller):
    a = seller.add_product("A", "1.00", stock="5")
    outcomes = []
    barrier = threading.Barrier(4)

    def till():
        barrier.wait()
        try:
            sell(seller, [(a, D("2"))], [("cash", D("2"))])
            outcomes.append("sold")
        except SaleError:
            outcomes.append("refused")

    threads = [threading.Thread(target=till) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "refused", "sold", "sold"]
    assert seller.on_hand(a) == D("1")


def test_void_restocks_and_happens_once(seller):
    a = seller.add_product("A", "3.00", stock="5")
    sale_id, *_ = sell(seller, [(a, D("2"))], [("cash", D("6"))])
    with seller.session() as db, db.begin():
        service = seller.sales(db)
        with pytest.raises(SaleError, match="say why"):
            service.void(service.get(sale_id), "  ")
    with seller.session() as db, db.begin():
        service = seller.sales(db)
        sale = service.void(service.get(sale_id), "wrong item scanned")
        assert sale.status == "voided" and sale.void_reason == "wrong item scanned"
    assert seller.on_hand(a) == D("5")
    with seller.session() as db, db.begin():
        service = seller.sales(db)
        with pytest.raises(SaleError, match="only a completed sale"):
            service.void(service.get(sale_id), "again")
        with pytest.raises(SaleError, match="nothing left to refund"):
            service.refund(service.get(sale_id), {}, method="cash")
    assert seller.on_hand(a) == D("5")


def test_partial_then_full_refund_returns_exactly_the_line_totals(seller):
    a = seller.add_product("A", "3.33", tax="16", stock="10")
    sale_id, _, total, _ = sell(seller, [(a, D("3"))], [("cash", D("20"))])
    assert total == D("11.59")  # 9.99 + 1.5984 -> 1.60
    with seller.session() as db, db.begin():
        service = seller.sales(db)
        sale = service.get(sale_id)
        line_id = sale.lines[0].id
        with pytest.raises(SaleError, match="refund between 0 and 3"):
            service.refund(sale, {line_id: D("4")}, method="cash")
        first = service.refund(sale, {line_id: D("1")}, method="cash", reason="broken")
        assert first.amount == D("3.86") and sale.status == "partly_refunded"
    with seller.session() as db, db.begin():
        service = seller.sales(db)
        sale = service.get(sale_id)
        second = service.refund(sale, {line_id: D("2")}, method="card")
        assert first.amount + second.amount == total
        assert sale.status == "refunded" and sale.refunded_total == total
    assert seller.on_hand(a) == D("10")


def test_cashiers_see_only_their_own_sales(seller):
    a = seller.add_product("A", "1.00", stock="5")
    sale_id, number, *_ = sell(seller, [(a, D("1"))], [("cash", D("1"))])
    with seller.session() as db, db.begin():
        from salesapp.sales.services import SaleService

        other_user = type("U", (), {"id": __import__("uuid").uuid4()})()
        cashier_view = SaleService(db, seller.tenant.id, other_user, sees_all=False)
        assert cashier_view.get(sale_id) is None and cashier_view.list() == []
        assert cashier_view.by_number(number) is None
        assert seller.sales(db, sees_all=False).get(sale_id) is not None  # the seller's own


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("20"), "20"),
        (D("20.000"), "20"),
        (D("2.500"), "2.5"),
        (D("-0.000"), "0"),
        (D("0.125"), "0.125"),
    ],
)
def test_quantities_print_without_exponents_or_trailing_zeros(value, text):
    from salesapp.formatting import quantity

    assert quantity(value) == text
