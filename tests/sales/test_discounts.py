"""Discounts (issue 17): per line and on the whole sale, as an amount or a percentage;
a cap per role (Cashiers 10% by default, Managers none unless an Admin sets one, Admins
never); above it a sale needs the approval of someone whose cap covers it, recorded with
the sale and in the audit trail. Service level, as the app role."""

from dataclasses import dataclass
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from salesapp.audit.models import AuditEvent
from salesapp.preferences.services import SettingsService
from salesapp.sales.models import Sale
from salesapp.sales.services import (
    CartDiscount,
    CartLine,
    DiscountOverCap,
    PaymentInput,
    SaleError,
    SaleService,
    share_out,
)


@dataclass
class Staff:
    """The tenant's admin row acting with other roles (the service reads ``id`` and
    ``role_names``)."""

    id: object
    username: str
    role_names: frozenset


def service(seller, db, *roles):
    admin = seller.admin(db)
    user = Staff(admin.id, admin.username, frozenset(roles)) if roles else admin
    return SaleService(db, seller.tenant.id, user, sees_all=True)


def quote(seller, lines, *roles, cart=CartDiscount(), approver=None):
    with seller.session() as db, db.begin():
        return service(seller, db, *roles).quote(lines, cart_discount=cart, approver=approver)


def test_a_percentage_off_a_line(seller):
    a = seller.add_product("A", "19.99", tax="16")
    q = quote(seller, [CartLine(a, D("1"), percent=D("10"))])
    assert (q.lines[0].discount, q.subtotal, q.tax_total, q.total) == (
        D("2.00"),
        D("17.99"),
        D("2.88"),
        D("20.87"),
    )


def test_a_cart_discount_is_shared_out_and_taxed_after(seller_per_placement):
    seller = seller_per_placement
    a = seller.add_product("A", "10.00", tax="16", stock="5")
    b = seller.add_product("B", "5.00", stock="5")
    lines = [CartLine(a, D("1")), CartLine(b, D("1"))]
    q = quote(seller, lines, cart=CartDiscount(D("1.00")))
    assert [x.cart_share for x in q.lines] == [D("0.67"), D("0.33")]
    assert (q.cart_discount, q.discount_total, q.subtotal) == (D("1.00"), D("1.00"), D("14.00"))
    assert q.tax_total == D("1.49")  # 16% of 9.33, not of 10.00
    q = quote(seller, lines, cart=CartDiscount(D("10"), percent=True))
    assert (q.cart_discount, q.total) == (D("1.50"), D("14.94"))  # 9.00 + 1.44 + 4.50
    with seller.session() as db, db.begin():
        sale = service(seller, db).complete(
            lines,
            [PaymentInput("cash", D("20"))],
            location_id=seller.location_id(),
            cart_discount=CartDiscount(D("10"), percent=True),
        )
        assert (sale.cart_discount, sale.discount_total, sale.total) == (
            D("1.50"),
            D("1.50"),
            D("14.94"),
        )
        assert [x.discount for x in sale.lines] == [D("1.00"), D("0.50")]
        assert sale.discount_approved_by is None


@pytest.mark.parametrize(
    ("cart", "message"),
    [
        (CartDiscount(D("15.01")), "between 0 and the lines' 15.00"),
        (CartDiscount(D("-1")), "between 0 and the lines'"),
        (CartDiscount(D("100.01"), percent=True), "between 0% and 100%"),
    ],
)
def test_a_cart_discount_out_of_bounds_is_refused(seller, cart, message):
    a = seller.add_product("A", "15.00")
    with pytest.raises(SaleError, match=message) as refused:
        quote(seller, [CartLine(a, D("1"))], cart=cart)
    assert "cart_discount" in refused.value.errors


def test_a_cashier_is_held_to_ten_percent_by_default(seller):
    a = seller.add_product("A", "10.00")
    assert quote(seller, [CartLine(a, D("1"), percent=D("10"))], "Cashiers").total == D("9.00")
    with pytest.raises(DiscountOverCap) as refused:
        quote(seller, [CartLine(a, D("1"), D("1.01"))], "Cashiers")
    assert (refused.value.needed, refused.value.cap) == (D("10.10"), D("10"))
    assert "cap of 10%" in refused.value.errors["discount:0"]
    # the whole sale's discount counts too, line and cart together
    with pytest.raises(DiscountOverCap) as refused:
        quote(seller, [CartLine(a, D("1"), D("0.60"))], "Cashiers", cart=CartDiscount(D("0.50")))
    assert "over your cap of 10%" in refused.value.errors["cart_discount"]


def test_managers_have_no_cap_until_an_admin_sets_one_and_admins_never(seller):
    a = seller.add_product("A", "10.00")
    half = [CartLine(a, D("1"), percent=D("50"))]
    assert quote(seller, half, "Managers").total == D("5.00")
    with seller.session() as db, db.begin():
        SettingsService(db, seller.tenant.id).set_policy("manager_discount_cap", D("20"))
    with pytest.raises(DiscountOverCap, match="cap of 20%"):
        quote(seller, half, "Managers")
    assert quote(seller, half, "Admin").total == D("5.00")
    assert quote(seller, half).total == D("5.00")  # the admin row itself


def test_an_approval_covers_a_cashiers_discount_and_is_recorded(seller_per_placement):
    seller = seller_per_placement
    a = seller.add_product("A", "10.00", stock="5")
    lines = [CartLine(a, D("1"), percent=D("30"))]
    with seller.session() as db, db.begin():
        manager = service(seller, db, "Managers").user
        sale = service(seller, db, "Cashiers").complete(
            lines,
            [PaymentInput("cash", D("7"))],
            location_id=seller.location_id(),
            approver=manager,
        )
        assert (sale.discount_approved_by, sale.discount_percent) == (manager.id, D("30.00"))
        sale_id = sale.id
    with seller.session() as db, db.begin():
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "sale.discount_approved")
        ).all()
        assert [e.detail["discount_percent"] for e in events] == ["30.00"]
        assert events[0].detail["approved_by"] == str(manager.id)
        assert db.get(Sale, (seller.tenant.id, sale_id)).total == D("7.00")


def test_an_approval_by_someone_whose_cap_is_too_small_does_not_count(seller):
    a = seller.add_product("A", "10.00", stock="5")
    lines = [CartLine(a, D("1"), percent=D("30"))]
    with seller.session() as db, db.begin():
        other_cashier = service(seller, db, "Cashiers").user
    with pytest.raises(DiscountOverCap):
        quote(seller, lines, "Cashiers", approver=other_cashier)
    with seller.session() as db, db.begin():
        SettingsService(db, seller.tenant.id).set_policy("manager_discount_cap", D("25"))
        manager = service(seller, db, "Managers").user
    with pytest.raises(DiscountOverCap):
        quote(seller, lines, "Cashiers", approver=manager)
    # within the seller's own cap, an approval is not needed and not recorded
    assert quote(seller, [CartLine(a, D("1"))], "Cashiers", approver=manager).approved_by is None


def test_an_open_price_line_sells_at_the_typed_price(seller):
    a = seller.add_product("A", "0.00", stock="5")
    with seller.session() as db, db.begin():
        from salesapp.products.models import Product

        db.get(Product, (seller.tenant.id, a)).open_price = True
    q = quote(seller, [CartLine(a, D("2"), price=D("3.50"))])
    assert (q.lines[0].unit_price, q.total) == (D("3.50"), D("7.00"))
    with pytest.raises(SaleError, match="the price of Item A must be between 0"):
        quote(seller, [CartLine(a, D("1"), price=D("-1"))])
    b = seller.add_product("B", "4.00")
    assert quote(seller, [CartLine(b, D("1"), price=D("1.00"))]).total == D("4.00")


@given(
    st.decimals(min_value=0, max_value=1000, places=2),
    st.lists(st.decimals(min_value=0, max_value=500, places=2), min_size=1, max_size=8),
)
def test_shares_sum_exactly_and_never_exceed_their_line(amount, weights):
    total = sum(weights, D("0"))
    amount = min(amount, total)
    shares = share_out(amount, weights)
    assert sum(shares, D("0")) == (amount if total else D("0"))
    assert all(D("0") <= s <= w for s, w in zip(shares, weights, strict=True))


def test_a_cashier_may_take_the_cap_itself_however_the_cents_round(seller):
    """10% of 11.16 is 1.116, rounded to 1.12: still the Cashiers' 10%, typed either way,
    and the same on every line of a sale."""
    a = seller.add_product("A", "11.16")
    assert quote(seller, [CartLine(a, D("1"), percent=D("10"))], "Cashiers").total == D("10.04")
    assert quote(seller, [CartLine(a, D("1"), D("1.12"))], "Cashiers").total == D("10.04")
    with pytest.raises(DiscountOverCap):
        quote(seller, [CartLine(a, D("1"), D("1.13"))], "Cashiers")
    b = seller.add_product("B", "0.05")  # 10% of each is half a cent, rounded up
    lines = [CartLine(b, D("1"), percent=D("10")) for _ in range(3)]
    assert quote(seller, lines, "Cashiers").discount_total == D("0.03")
