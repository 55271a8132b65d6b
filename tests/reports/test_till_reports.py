"""The till's reports: sales by payment method (cash net of change, refunds under the
method they were paid back by; the totals agree with sales by day) and the shift
reports (each shift, by register, by cashier: expected, counted, over/short per method),
page and CSV cell for cell, in a pooled and in a dedicated tenant.

Sales and refunds are placed in their shift by the test (tests/registers/conftest.py)
until the till sets their shift itself. The workspace's zone is the default, UTC: its
days are UTC days (zones are tests/reports/test_local_days.py's)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from tests.registers.conftest import Drawer
from tests.reports.support import page_table
from tests.reports.test_reports import LAST_30, assert_csv_matches_page, report

TODAY = dt.datetime.now(dt.UTC).date()  # the workspace's zone is UTC


@pytest.fixture(scope="module", autouse=True)
def today():
    """The day as it is when this module's sales are made, not when the suite was
    collected (a suite running across midnight)."""
    global TODAY
    TODAY = dt.datetime.now(dt.UTC).date()
    return TODAY


def write_shifts(drawer, make_user):
    """Two registers. Till 1 (float 50): cash 20 paid with 50, card 10, mobile 5 + cash
    5, a cash refund of 10, cash out 5; counted cash 58.00 (expected 60.00: 2.00 short),
    card 10.00, mobile not counted. Till 2, opened by Carol (float 0): card 10 refunded by
    card; counted cash 1.00 (1.00 over), card 0.00, mobile 0.00."""
    make_user(drawer.tenant, ("Cashiers",), username="carol", full_name="Carol Till")
    tea = drawer.add_product("TEA", "10.00", stock="100")
    cup = drawer.add_product("CUP", "5.00", stock="100")
    one, two = drawer.add_register("Till 1"), drawer.add_register("Till 2")
    shift = drawer.open(one, "50.00")
    first = drawer.sell(shift.id, tea, "2", payments=(("cash", "50.00"),))
    drawer.sell(shift.id, tea, payments=(("card", None),))
    drawer.sell(shift.id, tea, payments=(("mobile_money", "5.00"), ("cash", "5.00")))
    drawer.refund(shift.id, first.id, "1", method="cash")
    drawer.move(shift.id, "out", "5.00", "milk")
    drawer.close(shift.id, D("58.00"), D("10.00"), None)
    with drawer.session() as db, db.begin():
        from sqlalchemy import select

        from salesapp.accounts.models import User
        from salesapp.registers.services import RegisterService

        carol = db.scalars(select(User).where(User.username == "carol")).one()
        registers = RegisterService(db, drawer.tenant.id)
        second = registers.open_shift(registers.get(two), D("0"), carol).id
    sale = drawer.sell(second, cup, "2", payments=(("card", None),))
    drawer.refund(second, sale.id, "2", method="card")
    drawer.close(second, D("1.00"), D("0.00"), D("0.00"))


@pytest.fixture(params=["pooled", "dedicated"])
def till_books(request, staff, app_engine, make_user):
    tenant, clients = staff(request.param, roles=("Managers",))
    drawer = Drawer(tenant, app_engine(tenant.store_name, pool_size=2))
    write_shifts(drawer, make_user)
    return drawer, clients["Managers"]


def test_sales_by_payment_method_and_the_shift_reports(till_books):
    _drawer, manager = till_books
    table, totals = page_table(
        assert_csv_matches_page(manager, "sales-by-payment-method", **LAST_30)
    )
    assert {
        row["method"]: (row["sales"], row["gross"], row["refunds"], row["net"]) for row in table
    } == {
        "Cash": ("2", "25.00", "10.00", "15.00"),
        "Card": ("2", "20.00", "10.00", "10.00"),
        "Mobile money": ("1", "5.00", "0.00", "5.00"),
    }
    assert totals == {
        "method": "Total",
        "sales": "4",
        "gross": "50.00",
        "refunds": "20.00",
        "net": "30.00",
    }
    _, by_day = page_table(report(manager, "sales-by-day", **LAST_30))
    assert (by_day["gross"], by_day["refunds"]) == (totals["gross"], totals["refunds"])

    table, totals = page_table(assert_csv_matches_page(manager, "shifts", **LAST_30))
    assert [
        (
            r["register"],
            r["cashier"],
            r["expected"],
            r["counted"],
            r["cash_over_short"],
            r["card_over_short"],
            r["mobile_over_short"],
            r["over_short"],
        )
        for r in table
    ] == [
        ("Till 1", "Administrator (admin)", "60.00", "58.00", "-2.00", "0.00", "", "-2.00"),
        ("Till 2", "Carol Till (carol)", "0.00", "1.00", "1.00", "0.00", "0.00", "1.00"),
    ]
    assert totals["over_short"] == "-1.00"
    assert totals["expected"] == "60.00"

    table, totals = page_table(assert_csv_matches_page(manager, "shifts-by-register", **LAST_30))
    assert [(r["register"], r["shifts"], r["over_short"]) for r in table] == [
        ("Till 1", "1", "-2.00"),
        ("Till 2", "1", "1.00"),
    ]
    assert (totals["shifts"], totals["over_short"]) == ("2", "-1.00")
    table, _ = page_table(assert_csv_matches_page(manager, "shifts-by-cashier", **LAST_30))
    assert [(r["cashier"], r["over_short"]) for r in table] == [
        ("Administrator (admin)", "-2.00"),
        ("Carol Till (carol)", "1.00"),
    ]
    page = report(manager, "shifts", **LAST_30)
    bars = {
        bar["data-label"].split(" ")[1]: bar["data-value"] for bar in page.html.select("rect.bar")
    }
    assert bars == {"1": "-2.00", "2": "1.00"}
    assert len(page.html.select("rect.bar.neg")) == 1


def test_shifts_closed_outside_the_range_are_left_out(till_books):
    _drawer, manager = till_books
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    table, totals = page_table(report(manager, "shifts", **{"from": yesterday, "to": yesterday}))
    assert table == []
    assert totals["over_short"] == "0.00"
