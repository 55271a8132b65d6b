"""RegisterService: a shift from its float to its close, the expected cash worked out
from sales (change given), refunds, voids and cash movements, over/short per method,
the refusals, and one open shift per register when two tills race. What a shift writes
and reads in a pooled and in a dedicated store; the rules in one placement.

Sales and refunds are made with SaleService and then placed in the shift by the test
(tests/registers/conftest.py), until the till sets their shift itself."""

from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from salesapp.locations.services import LocationService
from salesapp.registers.models import Shift
from salesapp.registers.services import RegisterService, ShiftError


def a_busy_shift(drawer):
    """A float of 100.00; cash with change, a card sale, a split cash/mobile sale, a
    sale voided in the shift, a cash and a card refund, cash in and out."""
    product = drawer.add_product("TEA", "10.00", stock="100")
    register = drawer.add_register()
    shift = drawer.open(register, "100.00")
    first = drawer.sell(shift.id, product, "2", payments=(("cash", "50.00"),))  # change 30
    card = drawer.sell(shift.id, product, payments=(("card", None),))
    drawer.sell(shift.id, product, payments=(("cash", "5.00"), ("mobile_money", "5.00")))
    drawer.void(drawer.sell(shift.id, product).id)
    drawer.refund(shift.id, first.id, "1", method="cash")
    drawer.refund(shift.id, card.id, "1", method="card")
    drawer.move(shift.id, "in", "20.00", "change from the bank")
    drawer.move(shift.id, "out", "15.00", "window cleaner")
    return register, shift, first


def test_expected_cash_counts_change_refunds_voids_and_movements(drawer_per_placement):
    drawer = drawer_per_placement
    _register, shift, first = a_busy_shift(drawer)
    assert first.change_due == D("30.00")

    x = drawer.summary(shift.id)
    assert x.is_open
    # 100 float + (50 - 30 change + 5) cash sales - 10 refunded + 20 in - 15 out
    assert (x.opening_float, x.cash_sales, x.cash_refunds) == (D("100.00"), D("25.00"), D("10.00"))
    assert (x.cash_in, x.cash_out, x.expected_cash) == (D("20.00"), D("15.00"), D("120.00"))
    card, mobile = x.tenders["card"], x.tenders["mobile_money"]
    assert (card.taken, card.refunded, card.expected) == (D("10.00"), D("10.00"), D("0.00"))
    assert (mobile.taken, mobile.refunded, mobile.expected) == (D("5.00"), D("0.00"), D("5.00"))
    assert (x.sales, x.sales_total, x.refunds, x.refunds_total, x.voids) == (
        3,
        D("40.00"),
        2,
        D("20.00"),
        1,
    )
    assert [(row.name, row.sales, row.total) for row in x.by_cashier] == [
        ("Administrator", 3, D("40.00"))
    ]
    assert [(m.kind, m.amount, m.reason) for m, _who in x.movements] == [
        ("in", D("20.00"), "change from the bank"),
        ("out", D("15.00"), "window cleaner"),
    ]
    assert x.over_short_total is None  # nothing counted while open

    z = drawer.close(shift.id, D("118.50"), D("0.00"), D("6.00"), note="a coin rolled away")
    assert not z.is_open
    assert z.expected_cash == D("120.00")
    assert z.cash.over_short == D("-1.50")  # short
    assert z.tenders["card"].over_short == D("0.00")
    assert z.tenders["mobile_money"].over_short == D("1.00")  # over
    assert z.over_short_total == D("-0.50")
    row = drawer.shift_row(shift.id)
    assert (row.expected_cash, row.counted_cash, row.counted_card, row.counted_mobile_money) == (
        D("120.00"),
        D("118.50"),
        D("0.00"),
        D("6.00"),
    )
    assert row.closed_at is not None
    assert row.closed_by is not None
    assert row.close_note == "a coin rolled away"


def test_cards_not_counted_have_no_over_short_and_a_later_void_leaves_the_z_alone(drawer):
    product = drawer.add_product("TEA", "10.00", stock="10")
    shift = drawer.open(drawer.add_register(), "0.00")
    sale = drawer.sell(shift.id, product, payments=(("cash", None),))
    z = drawer.close(shift.id, D("10.00"))
    assert z.tenders["card"].counted is None
    assert z.tenders["card"].over_short is None
    assert z.cash.over_short == D("0.00")
    assert z.over_short_total == D("0.00")
    drawer.void(sale.id)  # the next day, by a Manager: the money was in this drawer
    again = drawer.summary(shift.id)
    assert (again.sales, again.voids, again.cash_sales, again.expected_cash) == (
        1,
        0,
        D("10.00"),
        D("10.00"),
    )


def test_preview_close_shows_over_short_and_writes_nothing(drawer):
    shift = drawer.open(drawer.add_register(), "50.00")
    with drawer.session() as db, db.begin():
        registers = RegisterService(db, drawer.tenant.id)
        preview = registers.preview_close(registers.shift(shift.id), D("45.00"), "", None)
    assert preview.cash.over_short == D("-5.00")
    assert preview.is_open
    assert drawer.shift_row(shift.id).closed_at is None


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "must be more than 0"),
        ("-5", "must be more than 0"),
        ("10000000000.00", "must be at most 9999999999.99"),
        ("1.001", "must be an amount in cents"),
        ("NaN", "must be an amount in cents"),
        ("ten", "must be an amount"),
    ],
)
def test_a_cash_movement_needs_a_positive_amount_a_numeric_12_2_holds(drawer, amount, message):
    shift = drawer.open(drawer.add_register())
    with drawer.session() as db, db.begin():
        registers = RegisterService(db, drawer.tenant.id)
        with pytest.raises(ShiftError, match=message) as refused:
            registers.move_cash(registers.shift(shift.id), "in", amount, "x", drawer.admin(db))
    assert refused.value.field == "amount"


def test_refusals_name_their_field(drawer):
    register_id = drawer.add_register()
    shift = drawer.open(register_id)
    with drawer.session() as db, db.begin():
        registers, admin = RegisterService(db, drawer.tenant.id), drawer.admin(db)
        open_shift = registers.shift(shift.id)
        cases = [
            (lambda: registers.move_cash(open_shift, "in", "1", "", admin), "reason", "required"),
            (lambda: registers.move_cash(open_shift, "in", "1", "r" * 201, admin), "reason", "201"),
            (
                lambda: registers.move_cash(open_shift, "sideways", "1", "x", admin),
                "kind",
                "one of",
            ),
            (
                lambda: registers.open_shift(registers.get(register_id), "-1", admin),
                "opening_float",
                "negative",
            ),
            (
                lambda: registers.close_shift(open_shift, "-0.01", None, None, "", admin),
                "counted_cash",
                "negative",
            ),
            (
                lambda: registers.close_shift(open_shift, "1", "1e20", None, "", admin),
                "counted_card",
                "at most",
            ),
            (
                lambda: registers.create(registers.get(register_id).location_id, "TILL 1"),
                "name",
                "already has",
            ),
            (
                lambda: registers.create(registers.get(register_id).location_id, " "),
                "name",
                "required",
            ),
            (lambda: registers.create(None, "Till 2"), "location_id", "active location"),
        ]
        for call, field, message in cases:
            with pytest.raises(ShiftError, match=message) as refused:
                call()
            assert refused.value.field == field, (field, str(refused.value))


def test_a_closed_shift_moves_no_cash_and_closes_once(drawer):
    register_id = drawer.add_register()
    shift = drawer.open(register_id)
    drawer.close(shift.id, "100.00")
    with pytest.raises(ShiftError, match="this shift is closed"):
        drawer.move(shift.id, "in", "5.00")
    with pytest.raises(ShiftError, match="this shift is closed"):
        drawer.close(shift.id, "100.00")
    assert drawer.shift_row(shift.id).counted_cash == D("100.00")
    # a new shift may open once the last one closed
    assert drawer.open(register_id).id != shift.id


def test_a_second_shift_a_retired_register_and_a_deactivated_location_are_refused(
    make_tenant, app_engine
):
    from tests.registers.conftest import Drawer

    tenant = make_tenant("pooled", multi_location=True)
    drawer = Drawer(tenant, app_engine(tenant.store_name, pool_size=2))
    register_id = drawer.add_register()
    drawer.open(register_id)
    with pytest.raises(ShiftError, match="already has an open shift"):
        drawer.open(register_id)
    with drawer.session() as db, db.begin():
        registers = RegisterService(db, tenant.id)
        with pytest.raises(ShiftError, match="close it before retiring") as refused:
            registers.set_active(registers.get(register_id), False)
        assert refused.value.field == "active"
        location = LocationService(db, tenant.id).create(name="Harbour")
        harbour_till = registers.create(location.id, "Till 1")  # a name per location
        spare = registers.create(registers.get(register_id).location_id, "Spare")
        registers.set_active(spare, False)
        with pytest.raises(ShiftError, match="is retired"):
            registers.open_shift(spare, "0", drawer.admin(db))
        LocationService(db, tenant.id).update(location, name="Harbour", address="", active=False)
        with pytest.raises(ShiftError, match="deactivated location"):
            registers.open_shift(harbour_till, "0", drawer.admin(db))
        with pytest.raises(ShiftError, match="active location") as refused:
            registers.create(location.id, "Till 2")
        assert refused.value.field == "location_id"
        assert [r.name for r in registers.registers()] == ["Till 1", "Till 1"]
        assert {r.name for r in registers.registers(active_only=False)} == {"Till 1", "Spare"}
        assert [r.name for r in registers.registers(location_id=location.id)] == ["Till 1"]


def test_the_unique_index_refuses_a_second_open_shift_past_the_check(drawer, monkeypatch):
    """Two tills pass the check before either commits: the partial unique index refuses
    the second insert, with the same message, and its transaction goes on."""
    register_id = drawer.add_register()
    drawer.open(register_id)
    monkeypatch.setattr(RegisterService, "current_shift", lambda self, register_id: None)
    with drawer.session() as db, db.begin():
        registers = RegisterService(db, drawer.tenant.id)
        with pytest.raises(ShiftError, match="already has an open shift"):
            registers.open_shift(registers.get(register_id), "10.00", drawer.admin(db))
        assert db.scalar(select(func.count()).select_from(Shift)) == 1  # still usable


def test_two_tills_racing_open_one_shift(drawer):
    register_id = drawer.add_register()
    start = threading.Barrier(2)
    outcomes = []

    def open_shift():
        try:
            with drawer.session() as db, db.begin():
                registers = RegisterService(db, drawer.tenant.id)
                register = registers.get(register_id)
                admin = drawer.admin(db)
                start.wait()
                registers.open_shift(register, "10.00", admin)
            outcomes.append("opened")
        except ShiftError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=open_shift) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [
        "Till 1 already has an open shift; use it, or close it first",
        "opened",
    ]
    with drawer.session() as db, db.begin():
        assert db.scalar(select(func.count()).select_from(Shift)) == 1


def test_another_tenants_register_and_shift_are_unknown(drawer, make_tenant, app_engine):
    from tests.registers.conftest import Drawer

    register_id = drawer.add_register()
    shift = drawer.open(register_id)
    other = make_tenant("pooled")
    assert other.store_name == drawer.tenant.store_name  # the same pooled store
    stranger = Drawer(other, app_engine(other.store_name, pool_size=1))
    with stranger.session() as db, db.begin():
        registers = RegisterService(db, other.id)
        assert registers.get(register_id) is None
        assert registers.shift(shift.id) is None
        assert registers.current_shift(register_id) is None
        assert registers.registers() == []
