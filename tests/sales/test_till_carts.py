"""The till of issue 17: carts parked and resumed, payments kept through updates, quick
tender, idempotent completion (the form's key; two concurrent completions), registers
and shifts on every sale and refund, the open-shift rule, a customer added at the till."""

import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from salesapp.accounts.models import User
from salesapp.inventory.services import InventoryService
from salesapp.preferences.services import SettingsService
from salesapp.products.models import Product
from salesapp.registers.services import RegisterService
from salesapp.sales.models import PosCart, Refund, Sale
from salesapp.sales.services import CartLine, KeyReused, PaymentInput, fingerprint
from salesapp.sales.till_views import age, quick_tenders
from tests.accounts.support import sql
from tests.conftest import form_with, sign_in
from tests.sales.test_pos_pages import cart_form, open_shopfront, scan, submit_complete


@pytest.fixture
def shopfront(staff):
    """A pooled tenant's stocked shopfront, its Manager and Cashier signed in
    (tests.sales.test_pos_pages.open_shopfront)."""
    return open_shopfront(staff, "pooled")


def test_quick_tenders_are_the_next_round_amounts():
    assert quick_tenders(Decimal("13.40")) == [Decimal(x) for x in ("14", "15", "20", "50")]
    assert quick_tenders(Decimal("20.00")) == [Decimal("50.00"), Decimal("100.00")]
    assert quick_tenders(Decimal("0.10"))[:2] == [Decimal("1.00"), Decimal("5.00")]


def test_age_reads_as_a_person_says_it():
    import datetime as dt

    now = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    assert age(now - dt.timedelta(minutes=3), now) == "3 min"
    assert age(now - dt.timedelta(hours=2, minutes=5), now) == "2 h 5 min"
    assert age(now - dt.timedelta(days=1, hours=4), now) == "1 d 4 h"


# -- the cart form: Enter, payments kept, quick tender --------------------------------
def test_the_cart_forms_default_button_updates_and_removes_nothing(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "A")
    scan(till, "B")
    page = till.get("/pos")
    form = page.html.select_one("#cart-form")
    first = form.select("button")[0]
    assert first.get("name") is None
    assert first["data-testid"] == "default-update"
    assert form.get("action").endswith("/pos/update")
    # Enter in a field submits with the first button: no "remove", no completion
    cart = page.forms["cart-form"]
    cart["pay_cash"] = "30.00"
    cart.submit(status=303)  # webtest sends no submit button's name, like Enter
    page = till.get("/pos")
    assert len(page.html.select('table[aria-label="Cart"] tbody tr')) == 2
    assert page.forms["cart-form"]["pay_cash"].value == "30.00"
    assert "No sales." in clients["Managers"].get("/sales").text


def test_typed_payments_survive_an_update_and_a_scan(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    form = cart_form(till)
    form["pay_card"], form["ref_card"], form["qty_0"] = "5.00", "auth-1", "2"
    form.submit(status=303)
    scan(till, "A")
    form = cart_form(till)
    assert (form["pay_card"].value, form["ref_card"].value) == ("5.00", "auth-1")
    assert form["qty_0"].value == "2"


def test_quick_tender_fills_the_amount_and_exact_fills_what_is_due(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "A")  # 2.50 + 16% = 2.90
    page = till.get("/pos")
    labels = [b.text for b in page.html.select(".till-tenders button")]
    assert labels[:5] == ["Exact cash", "3", "5", "10", "20"]
    page.forms["cart-form"].submit("tender", value="cash:5.00", status=303)
    assert cart_form(till)["pay_cash"].value == "5.00"
    form = cart_form(till)
    form["pay_cash"] = "1.00"
    form.submit("tender", value="card:exact", status=303)
    form = cart_form(till)
    assert (form["pay_cash"].value, form["pay_card"].value) == ("1.00", "1.90")
    receipt = submit_complete(form).follow()
    assert receipt.html.select_one('[data-testid="receipt-change"]').text == "0.00"


def test_a_bad_tender_is_400_with_the_field(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "A")
    form = cart_form(till)
    fields = {"csrf_token": form["csrf_token"].value, "tender": "cheque:5"}
    res = till.post("/pos/update", fields, status=400)
    assert "must name one of cash, card, mobile_money" in res.text


# -- idempotent completion through the form ---------------------------------------------
def test_completing_the_same_form_twice_makes_one_sale(shopfront, owner_engine):
    tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    form = cart_form(till)
    form["pay_cash"] = "10"
    first = submit_complete(form)
    again = submit_complete(form)  # a retry after a network blip: the same body
    assert again.location == first.location
    # the flash shows on the receipt (or, where the receipt shows none, at the till)
    shown = again.follow().text + till.get("/pos").text
    assert "already completed by this form" in shown
    assert sql(owner_engine, tenant, "select count(*) from sales") == [(1,)]


def test_a_used_key_with_another_sale_is_refused_with_a_message(shopfront, owner_engine):
    tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    form = cart_form(till)
    form["pay_cash"] = "10"
    submit_complete(form)
    scan(till, "A")
    fresh = cart_form(till)
    fresh["sale_key"] = form["sale_key"].value
    fresh["pay_cash"] = "3"
    res = submit_complete(fresh, status=400)
    assert "already used to complete a different sale" in res.text
    assert sql(owner_engine, tenant, "select count(*) from sales") == [(1,)]


def test_two_concurrent_completions_with_one_key_make_one_sale(seller):
    product = seller.add_product("C1", "4.00", stock="10")
    location = seller.location_id()
    lines = [CartLine(product, Decimal("1"))]
    payments = [PaymentInput("cash", Decimal("5"))]
    asked = fingerprint({"lines": "C1 x1", "pay": "5"})
    results = {}
    first_db = seller.session()
    first_db.begin()
    first, new = seller.sales(first_db).complete_once(
        "same-key", asked, lines, payments, location_id=location
    )
    assert new

    def second():
        with seller.session() as db, db.begin():
            sale, was_new = seller.sales(db).complete_once(
                "same-key", asked, lines, payments, location_id=location
            )
            results["second"] = (sale.id, was_new)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1)
    assert thread.is_alive()  # it waits on the key the first holds
    first_db.commit()
    first_db.close()
    thread.join(timeout=30)
    assert results["second"] == (first.id, False)
    with seller.session() as db, db.begin():
        assert len(db.scalars(select(Sale)).all()) == 1
        with pytest.raises(KeyReused):
            seller.sales(db).completed_with("same-key", fingerprint("another"))
    assert seller.on_hand(product) == Decimal("9")


# -- parking ----------------------------------------------------------------------------
def test_park_resume_and_discard(shopfront, owner_engine):
    tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    form = cart_form(till)
    form["pay_cash"] = "3"
    form.submit(status=303)
    park = till.get("/pos").forms["park-form"]
    park["label"] = "Ada"
    park.submit(status=303)
    assert "cart is empty" in till.get("/pos").text
    scan(till, "A")
    listed = till.get("/pos/carts")
    row = listed.html.select_one('[data-testid="parked-Ada"]')
    assert "10.00" in row.text
    assert "min ago" in row.text
    # resuming parks the cart on the screen in its place
    resume = next(f for f in listed.forms.values() if f.action.endswith("/resume"))
    resume.submit(status=303)
    page = till.get("/pos")
    assert "Item B" in page.text
    assert "Item A" not in page.text
    assert page.forms["cart-form"]["pay_cash"].value == "3"
    listed = till.get("/pos/carts")
    assert "set aside to resume another sale" in listed.text
    discard_url = listed.html.select_one("a[href$='/discard']")["href"]
    confirm = form_with(till.get(discard_url), "confirm")
    assert "tick the box" in confirm.submit(status=400).text
    confirm = form_with(till.get(discard_url), "confirm")
    confirm["confirm"] = True
    confirm.submit(status=303)
    assert "No parked sales." in till.get("/pos/carts").text
    assert sql(owner_engine, tenant, "select status, count(*) from pos_carts group by 1") == [
        ("open", 1)
    ]


def test_an_empty_cart_cannot_be_parked_and_others_carts_are_not_found(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    token = till.get("/pos").forms["scan-form"]["csrf_token"].value
    res = till.post("/pos/park", {"csrf_token": token, "label": "x"}, status=400)
    assert "nothing to park" in res.text
    till.post(f"/pos/carts/{uuid.uuid4()}/resume", {"csrf_token": token}, status=404)
    till.get("/pos/carts/not-an-id/discard", status=404)


def test_the_cart_survives_a_new_sign_in(shopfront, make_user, client_for):
    tenant, _clients = shopfront
    username, password = make_user(tenant, ("Cashiers",))
    first = client_for(tenant)
    sign_in(first, username, password)
    scan(first, "B")
    second = client_for(tenant)  # another browser, or the same after a sign-out
    sign_in(second, username, password)
    assert "Item B" in second.get("/pos").html.select_one("#cart-form").text


# -- registers and shifts ---------------------------------------------------------------
def make_register(owner_engines, tenant, name="Till 1", shift=True):
    """A register at the default location (with an open shift of 50.00 unless not)."""
    with owner_engines.session(tenant) as db:
        registers = RegisterService(db, tenant.id)
        location = InventoryService(db, tenant.id).default_location()
        register = registers.create(location.id, name)
        if shift:
            admin = db.scalars(select(User).where(User.username == "admin")).one()
            registers.open_shift(register, "50.00", admin)
        return register.id


def test_a_sale_and_its_refund_record_the_register_and_shift(shopfront, owner_engines):
    tenant, clients = shopfront
    till, manager = clients["Cashiers"], clients["Managers"]
    register_id = make_register(owner_engines, tenant)
    page = till.get("/pos")
    picker = page.forms["register-form"]
    picker.submit(status=303)
    assert "Register: Till 1" in till.get("/pos").text
    scan(till, "B")
    form = cart_form(till)
    form["pay_cash"] = "10"
    sale_url = submit_complete(form).location.replace("/receipt", "")
    pick = manager.get("/pos").forms["register-form"]
    pick.submit(status=303)
    refund = form_with(manager.get(sale_url + "/refund"), "method")
    refund[next(f for f in refund.fields if f.startswith("qty_"))] = "1"
    refund.submit(status=303)
    with owner_engines.session(tenant) as db:
        sale = db.scalars(select(Sale)).one()
        back = db.scalars(select(Refund)).one()
        shift = RegisterService(db, tenant.id).current_shift(register_id)
        assert (sale.register_id, sale.shift_id) == (register_id, shift.id)
        assert (back.register_id, back.shift_id) == (register_id, shift.id)


def test_without_an_open_shift_the_till_says_so_and_refuses(shopfront, owner_engines):
    tenant, clients = shopfront
    till = clients["Cashiers"]
    register_id = make_register(owner_engines, tenant, shift=False)
    till.get("/pos").forms["register-form"].submit(status=303)
    scan(till, "B")
    page = till.get("/pos")
    notice = page.html.select_one('[data-testid="open-shift"]')
    assert "Open a shift first" in notice.text
    assert notice.select_one("a")["href"].endswith(f"/registers/{register_id}")
    form = page.forms["cart-form"]
    form["pay_cash"] = "10"
    res = submit_complete(form, status=400)
    assert "has no open shift" in res.text
    with owner_engines.session(tenant) as db:
        assert db.scalars(select(Sale)).all() == []
    # the setting off: the sale is rung on the register, without a shift
    with owner_engines.session(tenant) as db:
        SettingsService(db, tenant.id).set_policy("needs_open_shift", False)
    submit_complete(form, status=303)
    with owner_engines.session(tenant) as db:
        sale = db.scalars(select(Sale)).one()
        assert (sale.register_id, sale.shift_id) == (register_id, None)


def test_a_location_with_registers_asks_which_one_before_selling(shopfront, owner_engines):
    tenant, clients = shopfront
    till = clients["Cashiers"]
    make_register(owner_engines, tenant)
    scan(till, "B")
    form = cart_form(till)
    form["pay_cash"] = "10"
    assert "choose the register of Main" in submit_complete(form, status=400).text
    till.post(
        "/pos/register",
        {"csrf_token": form["csrf_token"].value, "register_id": str(uuid.uuid4())},
        status=400,
    )


# -- customers --------------------------------------------------------------------------
def test_a_cashier_adds_a_customer_at_the_till(shopfront):
    _tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    form = till.get("/pos").forms["customer-form"]
    assert "Name is required" in form.submit(status=400).text
    form = till.get("/pos").forms["customer-form"]
    form["new_customer_name"], form["new_customer_phone"] = "Grace", "555 0199"
    form.submit(status=303)
    page = till.get("/pos")
    assert "Grace" in page.html.select_one("#cart-form").text
    form = page.forms["cart-form"]
    form["pay_cash"] = "10"
    assert "Grace" in submit_complete(form).follow().text


def test_pos_carts_rows_go_with_the_sale(shopfront, owner_engine):
    tenant, clients = shopfront
    till = clients["Cashiers"]
    scan(till, "B")
    assert sql(owner_engine, tenant, "select count(*) from pos_carts") == [(1,)]
    form = cart_form(till)
    form["pay_cash"] = "10"
    submit_complete(form)
    assert sql(owner_engine, tenant, "select count(*) from pos_carts") == [(0,)]
    assert PosCart.__tablename__ == "pos_carts"


def test_a_tile_adds_its_product_and_keeps_the_category(shopfront, owner_engines):
    tenant, clients = shopfront
    till = clients["Cashiers"]
    with owner_engines.session(tenant) as db:
        product_id = db.scalars(select(Product.id).where(Product.sku == "B")).one()
    token = till.get("/pos").forms["scan-form"]["csrf_token"].value
    res = till.post(
        "/pos/add",
        {"csrf_token": token, "add_product": str(product_id), "code": "", "category": "Drinks"},
        status=303,
    )
    assert res.location.endswith("/pos?category=Drinks")
    assert "Item B" in till.get("/pos").html.select_one("#cart-form").text
    till.post("/pos/add", {"csrf_token": token, "add_product": "nope"}, status=400)
