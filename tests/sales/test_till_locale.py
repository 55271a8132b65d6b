"""The till in the workspace's locale (issue 18): every number the till reads —
weights, quantities, open prices, discounts, payments, quick tenders — is read as the
workspace writes numbers, ambiguous input is refused with a message (never guessed), and
amounts have the currency's decimals (JPY none). What the till shows back parses again:
German "1,5" kg, French "1 234,50", English "1,234", yen without decimals."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from salesapp.localization import Local
from salesapp.preferences.services import SettingsService
from salesapp.sales.models import Payment, PosCart, Sale, SaleLine
from tests.sales.test_pos_pages import cart_form, scan, submit_complete
from tests.sales.test_till_entry import Shop, add_products, ask_form, cart_rows

NNBSP = "\u202f"  # fr_FR's group sign, which Babel writes and no keyboard has


@pytest.fixture
def shop(staff, owner_engines):
    """test_till_entry's Shop (A 2.50 + 16% tax, B 10.00, FISH open price, NUTS 2.40/kg)
    in a pooled tenant; the workspace is given its locale by each test."""
    return Shop(staff, owner_engines, "pooled")


def set_local(shop, locale, currency, zone="UTC", **more):
    """Give the shop's workspace a locale, a currency and a zone (as the settings page
    would; that page is another part of issue 18)."""
    with shop.store() as db:
        row = SettingsService(db, shop.tenant.id).get()
        row.locale, row.currency, row.time_zone = locale, currency, zone
        for name, value in more.items():
            setattr(row, name, value)


def weigh(shop, sku, weight):
    """Scan a weighed product and answer the prompt with ``weight`` as typed."""
    prompt = ask_form(scan(shop.till, sku).follow())
    prompt["quantity"] = weight
    return prompt.submit(status="*")


def total(page) -> str:
    return page.html.select_one('[data-testid="total"]').text


def update(shop, status=303, **fields):
    """The cart form with ``fields`` typed, sent with Enter (Update cart)."""
    form = cart_form(shop.till)
    for name, value in fields.items():
        form[name] = value
    return form.submit(status=status)


def error_of(page, name):
    """The message shown for the cart field ``name``."""
    field = page.html.select_one(f"[name={name}]")
    return field.find_parent("div").select_one(".field-error").text


def the_sale(shop):
    with shop.store() as db:
        sale = db.scalars(select(Sale)).one()
        lines = db.scalars(select(SaleLine).order_by(SaleLine.position)).all()
        payments = {p.method: p.amount for p in db.scalars(select(Payment))}
        return sale, lines, payments


# -- German: a comma for decimals, points between thousands ------------------------------
@pytest.fixture
def german(shop):
    set_local(shop, "de_DE", "EUR", "Europe/Berlin")
    return shop


def test_german_weight_price_payment_and_change(german):
    shop = german
    weigh(shop, "NUTS", "1,5").follow()  # 1.5 kg at 2.40/kg
    page = shop.till.get("/pos")
    (row,) = cart_rows(page)
    assert row.select_one("input[name=qty_0]")["value"] == "1,5"  # shown as typed back
    assert "2,40/kg" in row.text
    assert total(page) == "3,60"
    prompt = ask_form(scan(shop.till, "FISH").follow())
    assert prompt.html.select_one("#ask-price")["placeholder"] == "0,00"
    prompt["price"] = "1.234,50"  # an open price over a thousand, grouped
    prompt.submit(status=303)
    page = shop.till.get("/pos")
    assert page.html.select_one("input[name=price_1]")["value"] == "1234,50"
    assert total(page) == "1.238,10"
    page = update(shop, pay_cash="1.250,00").follow()  # Enter: the change is worked out
    assert page.html.select_one("[name=pay_cash]")["value"] == "1.250,00"  # as typed
    change = page.html.select_one(".till-change")
    assert (change.span.text, change.output.text) == ("Change", "11,90")
    submit_complete(cart_form(shop.till))
    sale, lines, payments = the_sale(shop)
    assert [line.quantity for line in lines] == [Decimal("1.5"), Decimal("1")]
    assert lines[1].unit_price == Decimal("1234.50")
    assert (sale.total, payments["cash"], sale.change_due) == (
        Decimal("1238.10"),
        Decimal("1250.00"),
        Decimal("11.90"),
    )
    notice = shop.till.get("/pos").html.select_one(".notice").text  # the flash
    assert notice == f"Sale {sale.number} completed. Change due: 11,90\xa0€"


@pytest.mark.parametrize(
    ("name", "typed", "message"),
    [
        # a point is the group sign in German: 12.50 is not twelve and a half (nor 1250)
        ("pay_cash", "12.50", "is ambiguous or badly grouped: '12.50'"),
        ("pay_cash", "1,234", "EUR amounts have 2 decimal places; got '1,234'"),
        ("pay_card", "5e2", "must be a number such as 1.234,5"),
    ],
)
def test_german_payments_refuse_what_is_not_german(german, name, typed, message):
    shop = german
    scan(shop.till, "B")
    page = update(shop, status=400, **{name: typed})
    assert message in error_of(page, name)
    assert page.html.select_one(f"[name={name}]")["value"] == typed  # kept to correct


def test_german_weight_written_the_english_way_is_refused(german):
    shop = german
    answer = weigh(german, "NUTS", "1.5")
    assert answer.status_int == 400
    message = answer.html.select_one("#ask-form .field-error").text
    assert "is ambiguous or badly grouped: '1.5'" in message
    assert message.endswith("type the kg the scale shows, e.g. 0,425")
    assert cart_rows(shop.till.get("/pos")) == []  # nothing was guessed


def test_german_quantities_and_discounts(german):
    shop = german
    scan(shop.till, "B")  # 10.00
    update(shop, qty_0="2,5", discount_0="0,50", cart_discount="5%")
    page = shop.till.get("/pos")
    assert page.html.select_one("[name=qty_0]")["value"] == "2,5"
    assert page.html.select_one("[name=discount_0]")["value"] == "0,50"
    assert page.html.select_one("[name=cart_discount]")["value"] == "5%"
    assert total(page) == "23,27"  # 25.00 - 0.50 = 24.50, less 5% (1.225 -> 1.23)
    update(shop, discount_0="7,5%", cart_discount="")
    page = shop.till.get("/pos")
    assert page.html.select_one("[name=discount_0]")["value"] == "7,5%"
    assert total(page) == "23,12"  # 25.00 less 7.5% (1.875 -> 1.88)
    page = update(shop, status=400, discount_0="1.5")
    assert "type an amount (1,50) or a percentage (10%)" in page.text


def test_german_quick_tenders_fill_german_amounts(german):
    shop = german
    scan(shop.till, "A")  # 2.50 + 16% tax = 2.90
    page = shop.till.get("/pos")
    buttons = page.html.select(".till-tenders button")
    assert [b["value"] for b in buttons[:3]] == ["cash:exact", "cash:3.00", "cash:5.00"]
    page.forms["cart-form"].submit("tender", value="cash:5.00", status=303)
    assert cart_form(shop.till)["pay_cash"].value == "5,00"
    cart_form(shop.till).submit("tender", value="card:exact", status=303)
    form = cart_form(shop.till)
    assert form["pay_card"].value == "0,00"  # the cash covers it already
    form["pay_cash"] = "1,00"
    form.submit("tender", value="card:exact", status=303)
    assert cart_form(shop.till)["pay_card"].value == "1,90"
    submit_complete(cart_form(shop.till)).follow()
    _sale, _lines, payments = the_sale(shop)
    assert payments == {"cash": Decimal("1.00"), "card": Decimal("1.90")}


# -- English: a point for decimals, commas between thousands -----------------------------
def test_english_reads_a_comma_as_thousands_and_refuses_a_decimal_comma(shop):
    set_local(shop, "en_US", "USD")
    scan(shop.till, "B")
    update(shop, pay_cash="1,234")
    page = shop.till.get("/pos")
    change = page.html.select_one(".till-change")
    assert change.output.text == "1,224.00"
    page = update(shop, status=400, pay_cash="1,5")
    assert "is ambiguous or badly grouped: '1,5'" in error_of(page, "pay_cash")
    page = update(shop, status=400, qty_0="1,5")
    assert "'1,5'" in page.html.select_one("table[aria-label=Cart] .field-error").text
    assert weigh(shop, "NUTS", "1,5").status_int == 400
    submit_complete(cart_form(shop.till), status=303)
    _sale, lines, payments = the_sale(shop)
    assert payments["cash"] == Decimal("1234.00")
    assert lines[0].quantity == 1


# -- French: a comma for decimals, a (narrow) space between thousands --------------------
def test_french_amounts_with_a_space_between_thousands(shop):
    set_local(shop, "fr_FR", "EUR", "Europe/Paris")
    add_products(shop.owner_engines, shop.tenant, ("TV", "600.00", False, False, ""))
    scan(shop.till, "TV")
    update(shop, qty_0="2")
    page = shop.till.get("/pos")
    assert total(page) == f"1{NNBSP}200,00"
    # what a French cashier types: an ordinary space, a no-break space, or none
    for typed in ("1 234,50", "1\xa0234,50", f"1{NNBSP}234,50", "1234,50"):
        page = update(shop, pay_cash=typed).follow()
        assert page.html.select_one(".till-change output").text == "34,50"
    page = update(shop, status=400, pay_cash="1.234,50")
    assert "'.'" in error_of(page, "pay_cash")  # French does not use a point in numbers
    update(shop, pay_cash="1 234,50")
    submit_complete(cart_form(shop.till))
    sale, _lines, payments = the_sale(shop)
    assert (payments["cash"], sale.change_due) == (Decimal("1234.50"), Decimal("34.50"))


# -- Japanese yen: no decimals ------------------------------------------------------------
def test_yen_have_no_decimals(shop):
    set_local(shop, "ja_JP", "JPY", "Asia/Tokyo")
    add_products(shop.owner_engines, shop.tenant, ("TEA", "480", False, False, ""))
    prompt = ask_form(scan(shop.till, "FISH").follow())
    assert prompt.html.select_one("#ask-price")["placeholder"] == "0"
    prompt["price"] = "100.5"
    refused = prompt.submit(status=400)
    message = refused.html.select_one("#ask-form .field-error").text
    assert "JPY amounts have no decimal places; got '100.5'" in message
    assert message.endswith("type the price, e.g. 4")  # 3.5 yen rounds to 4: no decimals
    prompt = ask_form(scan(shop.till, "FISH").follow())
    prompt["price"] = "1,200"
    prompt.submit(status=303)
    scan(shop.till, "TEA")
    page = shop.till.get("/pos")
    assert page.html.select_one("[name=price_0]")["value"] == "1200"
    assert total(page) == "1,680"
    labels = [b.text for b in page.html.select(".till-tenders button")]
    values = [b["value"] for b in page.html.select(".till-tenders button")]
    assert (labels[1], values[1]) == ("1,700", "cash:1700")  # the next round amount
    page = update(shop, status=400, pay_cash="2000.5")
    assert "JPY amounts have no decimal places" in error_of(page, "pay_cash")
    page = update(shop, status=400, discount_0="0.5")
    assert "JPY amounts have no decimal places" in page.text
    update(shop, pay_cash="2,000")
    page = shop.till.get("/pos")
    assert page.html.select_one(".till-change output").text == "320"
    submit_complete(cart_form(shop.till))
    sale, _lines, payments = the_sale(shop)
    assert (sale.total, payments["cash"], sale.change_due) == (
        Decimal("1680"),
        Decimal("2000"),
        Decimal("320"),
    )


# -- prices as the customer pays them ----------------------------------------------------
def test_tax_inclusive_prices_show_the_total_with_its_tax_part(shop):
    """With prices entered with tax the cart shows no subtotal before tax: the total and
    the tax in it ("incl. tax"); without, the subtotal and the tax on top, as before.
    (How the quote works the tax out of an inclusive price is the sale service's.)"""
    set_local(shop, "en_US", "USD")
    scan(shop.till, "A")
    page = shop.till.get("/pos")
    terms = [dt.text for dt in page.html.select(".till-pay .totals dt")]
    assert terms == ["Subtotal", "Tax", "Total USD"]
    set_local(shop, "en_US", "USD", prices_include_tax=True)
    page = shop.till.get("/pos")
    terms = [dt.text for dt in page.html.select(".till-pay .totals dt")]
    assert terms == ["Total USD", "incl. tax"]
    (row,) = cart_rows(page)
    line_total = row.select("td")[4].text
    assert line_total == total(page)  # the line's price is what the customer pays
    tax = page.html.select_one('.totals [data-testid="tax"]').text
    assert Decimal(tax) > 0


def test_parked_sales_show_local_times_and_amounts(german):
    """The parked list: when each cart was parked, on the workspace's clock (Berlin, not
    UTC), and its total the German way."""
    shop = german
    scan(shop.till, "B")
    update(shop, qty_0="1234")  # 12,340.00: grouped when shown
    park = shop.till.get("/pos").forms["park-form"]
    park["label"] = "Frau Müller"
    park.submit(status=303)
    page = shop.till.get("/pos/carts")
    row = page.html.select_one("[data-testid='parked-Frau Müller']")
    with shop.store() as db:
        parked = db.scalars(select(PosCart)).one()
        local = Local("Europe/Berlin", "de_DE", "EUR")
        assert row.select_one("time").text == local.when(parked.updated_at)
        assert row.select_one("time")["datetime"] == local.iso(parked.updated_at)
    assert row.select("td")[3].text == "12.340,00"
    discard = shop.till.get(f"/pos/carts/{parked.id}/discard")
    assert "1 line, 12.340,00\xa0€." in discard.html.select_one("main p").text
