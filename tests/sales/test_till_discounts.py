"""Discounts at the till (issue 17): per line and on the whole sale, as an amount or a
percentage ("10%"); a Cashier over the cap gets the approval form, a Manager types their
PIN on the till, and the sale records who approved, as does the audit trail. A wrong PIN
is refused and counted; an approval covers the discount approved, not a larger one."""

import pytest

from tests.accounts.support import sql, user_row_for_role
from tests.accounts.till_support import set_pin
from tests.sales.test_pos_pages import cart_form, open_shopfront, scan, submit_complete


@pytest.fixture(params=["pooled", "dedicated"])
def shop(request, staff, catalog, owner_engine):
    """A stocked shopfront (B: 10.00, no tax, 5 on hand) whose Manager has PIN 2580."""
    tenant, clients = open_shopfront(staff, request.param)
    manager = user_row_for_role(owner_engine, tenant, "Managers")
    set_pin(catalog, tenant, manager, "2580")
    return tenant, clients, manager


def audit_actions(owner_engine, tenant):
    return [row[0] for row in sql(owner_engine, tenant, "select action from audit_events")]


def recalc(till, **fields):
    form = cart_form(till)
    for name, value in fields.items():
        form[name] = value
    return form.submit(expect_errors=True)


def total(page):
    return page.html.select_one('[data-testid="total"]').text


def test_percentages_and_a_discount_on_the_whole_sale(shop):
    _tenant, clients, _ = shop
    till = clients["Cashiers"]
    scan(till, "B").follow()
    scan(till, "B").follow()  # 2 x 10.00
    recalc(till, discount_0="5%").follow()
    page = till.get("/pos")
    assert total(page) == "19.00"
    assert page.forms["cart-form"]["discount_0"].value == "5%"
    recalc(till, cart_discount="0.50").follow()
    page = till.get("/pos")
    assert total(page) == "18.50"  # 6.50% off in all: within the Cashiers' 10%
    form = page.forms["cart-form"]
    form["pay_cash"] = "18.50"
    receipt = submit_complete(form).follow()
    assert receipt.html.select_one('[data-testid="receipt-discounts"]').text == "\N{MINUS SIGN}1.50"
    assert "on the whole sale 0.50" in receipt.text


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "type an amount (1.50) or a percentage (10%)"), ("101%", "at most 100")],
)
def test_a_discount_that_is_not_one_is_refused_and_the_cart_kept(shop, value, message):
    _tenant, clients, _ = shop
    till = clients["Cashiers"]
    scan(till, "B").follow()
    page = recalc(till, cart_discount=value)
    assert page.status_int == 400
    assert message in page.text
    assert total(till.get("/pos")) == "10.00"


def test_a_manager_approves_a_cashiers_discount_with_their_pin(shop, owner_engine):
    tenant, clients, manager = shop
    till = clients["Cashiers"]
    scan(till, "B").follow()
    page = recalc(till, discount_0="30%").follow()  # kept, and shown over the cap
    assert "over your cap of 10%" in page.text
    assert "takes 30% off; your cap is 10%" in page.text
    approval = page.forms["approve-form"]
    assert [text for *_, text in approval["approver_id"].options] == [manager]

    approval["pin"] = "1111"
    refused = approval.submit(status=400)
    assert "That PIN is not right" in refused.text
    assert audit_actions(owner_engine, tenant).count("auth.pin_failed") == 1

    approval = till.get("/pos").forms["approve-form"]
    approval["pin"] = "2580"
    approval.submit(status=303)
    page = till.get("/pos")
    assert "approve-form" not in page.forms
    assert total(page) == "7.00"
    form = page.forms["cart-form"]
    form["pay_cash"] = "7.00"
    receipt = submit_complete(form).follow()
    sale_id = receipt.request.path.split("/")[-2]  # /sales/<id>/receipt
    detail = clients["Managers"].get(f"/sales/{sale_id}")
    assert detail.html.select_one('[data-testid="approved-by"]').text == f"{manager} (30%)"
    with_approver = sql(
        owner_engine,
        tenant,
        "select u.username, s.discount_percent from sales s "
        "join users u on u.id = s.discount_approved_by",
    )
    assert [(name, str(p)) for name, p in with_approver] == [(manager, "30.00")]
    assert "sale.discount_approved" in audit_actions(owner_engine, tenant)


def test_an_approval_covers_what_was_approved_not_more(shop):
    _tenant, clients, _ = shop
    till = clients["Cashiers"]
    scan(till, "B").follow()
    recalc(till, discount_0="20%").follow()
    approval = till.get("/pos").forms["approve-form"]
    approval["pin"] = "2580"
    approval.submit(status=303)
    recalc(till, discount_0="15%").follow()  # less: still approved
    assert total(till.get("/pos")) == "8.50"
    page = recalc(till, discount_0="25%").follow()  # more: approve again
    assert "approve-form" in page.forms


def test_a_managers_own_sale_needs_no_approval(shop):
    _tenant, clients, _ = shop
    till = clients["Managers"]
    scan(till, "B").follow()
    recalc(till, discount_0="50%").follow()
    page = till.get("/pos")
    assert total(page) == "5.00"
    assert "approve-form" not in page.forms
