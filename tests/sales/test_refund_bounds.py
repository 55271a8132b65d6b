"""Refunds never pay back more than was paid, nor a negative amount (issue 16): the
sale service allocates each refund by cumulative quantity, and the store refuses rows
that break the bounds whoever writes them (as the app role)."""

from decimal import Decimal as D

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from salesapp.ids import uuid7
from salesapp.sales.models import Refund, RefundLine, Sale, SaleLine
from salesapp.sales.services import CartLine, PaymentInput


def sell_one(seller, price="1.00", quantity="1", tax="0"):
    """A sale of one line; returns (sale id, line id)."""
    product = seller.add_product(f"P{uuid7().hex[:8]}", price, tax=tax, stock="1000")
    with seller.session() as db, db.begin():
        sale = seller.sales(db).complete(
            [CartLine(product, D(quantity))],
            [PaymentInput("cash", D("100000"))],
            location_id=seller.location_id(),
        )
        return sale.id, sale.lines[0].id


def refund(seller, sale_id, line_id, quantity):
    with seller.session() as db, db.begin():
        service = seller.sales(db)
        return service.refund(service.get(sale_id), {line_id: D(quantity)}, method="cash").amount


def test_101_refunds_of_half_a_cent_never_pay_back_more_than_the_sale(seller):
    """The pen test's case: 101 refunds of 0.005 units of a 1.00 line paid back 1.01,
    and refunding the rest then recorded -0.01."""
    sale_id, line_id = sell_one(seller)
    amounts = [refund(seller, sale_id, line_id, "0.005") for _ in range(101)]
    assert sum(amounts) <= D("0.51")  # what 0.505 of the line is worth, rounded half up
    assert min(amounts) >= 0
    last = refund(seller, sale_id, line_id, "0.495")
    assert last >= 0
    assert sum(amounts) + last == D("1.00")
    with seller.session() as db, db.begin():
        sale = db.get(Sale, (seller.tenant.id, sale_id))
        assert sale.refunded_total == D("1.00")
        assert sale.status == "refunded"
        assert sale.lines[0].refunded_amount == D("1.00")


def test_each_refund_is_what_the_quantity_so_far_is_worth_minus_what_was_paid_back(seller):
    sale_id, line_id = sell_one(seller, price="1.00", quantity="3", tax="7.5")  # 3.23
    assert [refund(seller, sale_id, line_id, "1") for _ in range(3)] == [
        D("1.08"),  # 1 of 3 is worth 1.0767
        D("1.07"),  # 2 of 3 are worth 2.1533, of which 1.08 was paid back
        D("1.08"),  # the rest
    ]


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (SaleLine, {"refunded_amount": SaleLine.line_total + D("0.01")}),
        (SaleLine, {"refunded_amount": D("-0.01")}),
        (SaleLine, {"refunded_quantity": SaleLine.quantity + D("0.001")}),
        (Sale, {"refunded_total": Sale.total + D("0.01")}),
        (Refund, {"amount": D("-0.01")}),
        (RefundLine, {"amount": D("-0.01")}),
    ],
    ids=[
        "line-over-total",
        "line-negative",
        "line-over-quantity",
        "sale-over-total",
        "refund-negative",
        "refund-line-negative",
    ],
)
def test_the_store_refuses_refunds_out_of_bounds(seller, model, values):
    """Whatever writes them (here the app role, directly), the store's CHECK
    constraints refuse amounts out of bounds."""
    sale_id, line_id = sell_one(seller, price="2.00", quantity="2")
    refund(seller, sale_id, line_id, "1")
    with seller.session() as db, db.begin(), pytest.raises(IntegrityError, match="ck_"):
        db.execute(update(model).values(**values))
    with seller.session() as db, db.begin():  # nothing was changed
        line = db.get(SaleLine, (seller.tenant.id, line_id))
        assert (line.refunded_amount, line.refunded_quantity) == (D("2.00"), D("1"))
        assert db.scalar(select(Refund.amount).where(Refund.sale_id == sale_id)) == D("2.00")
