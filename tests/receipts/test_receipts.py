"""Receipts as printed: the business's details, tax per rate worked by hand, the
cashier, register and local time, the original and its copies, an 80 mm roll or A4."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from salesapp.localization import Local
from salesapp.sales.models import Sale
from tests.receipts.conftest import DETAILS
from tests.sales.test_pos_pages import cart_form, scan, submit_complete


def texts(page, testid):
    return [
        node.get_text(" ", strip=True) for node in page.html.select(f'[data-testid="{testid}"]')
    ]


def one(page, testid):
    found = texts(page, testid)
    assert len(found) == 1, (testid, found)
    return found[0]


def test_the_receipt_shows_the_business_and_tax_per_rate(shop):
    shop.set_details(**DETAILS, time_zone="Africa/Nairobi")
    sale_id, number = shop.sell((shop.standard, "2"), (shop.zero, "1"))
    shop.name_rates({"16": "", "0": ""})  # rates without a name: labelled by percentage
    page = shop.client.get(f"/sales/{sale_id}/receipt")

    assert one(page, "receipt-number") == str(number)
    assert one(page, "legal-name") == "Mama Mboga Traders Ltd"
    assert one(page, "business-address") == "Moi Avenue 12\nNairobi"  # lines kept (pre-line)
    assert one(page, "business-phone") == "Tel. +254 712 345 678"
    assert one(page, "tax-number") == "Tax no. P051234567X"
    assert one(page, "receipt-header") == "Fresh every morning"
    assert one(page, "receipt-footer") == DETAILS["receipt_footer"]
    assert one(page, "receipt-cashier") == "Administrator"  # the admin's full name
    assert "Mama Mboga" in page.html.select_one("h1").text
    # by hand: 2 x 100.00 at 16% = 200.00 + 32.00; 1 x 50.00 at 0% = 50.00
    assert texts(page, "tax-row") == ["16% 200.00 32.00 232.00", "0% 50.00 0.00 50.00"]
    assert one(page, "receipt-tax") == "32.00"
    assert one(page, "receipt-total") == "282.00"
    assert not texts(page, "prices-include-tax")
    # the time as the shop's clock showed it (Nairobi, UTC+3), not the server's UTC
    with shop.owner() as db:
        created = db.get(Sale, (shop.tenant.id, sale_id)).created_at
    assert one(page, "receipt-time") == Local("Africa/Nairobi").when(created)
    assert not page.html.select('[data-testid="receipt-logo"]')  # no logo uploaded


def test_named_rates_a_location_address_and_tax_included_prices(shop):
    shop.set_details(**DETAILS)
    shop.location_address("Kenyatta Market, stall 4")
    sale_id, _ = shop.sell((shop.standard, "1"), (shop.zero, "2"))
    shop.name_rates({"16": "Standard", "0": "Zero"})
    with shop.owner() as db:
        db.execute(update(Sale).where(Sale.id == sale_id).values(prices_include_tax=True))
    page = shop.client.get(f"/sales/{sale_id}/receipt")
    assert one(page, "business-address") == "Kenyatta Market, stall 4"  # over the workspace's
    assert texts(page, "tax-row") == [
        "Standard 16% 100.00 16.00 116.00",
        "Zero 0% 100.00 0.00 100.00",
    ]
    assert one(page, "prices-include-tax") == "Prices include tax"


def test_the_first_showing_is_the_original_and_every_later_one_a_copy(shop):
    sale_id, _ = shop.sell((shop.zero, "1"))
    first = shop.client.get(f"/sales/{sale_id}/receipt")
    assert not texts(first, "copy")
    assert "COPY" not in first.html.title.text
    for _ in range(2):
        again = shop.client.get(f"/sales/{sale_id}/receipt")
        assert one(again, "copy") == "COPY"
        assert again.html.title.text.startswith("COPY")
    a4 = shop.client.get(f"/sales/{sale_id}/receipt?paper=a4")
    assert one(a4, "copy") == "COPY"  # another paper is another print
    with shop.owner() as db:
        assert db.scalar(select(Sale.receipt_prints).where(Sale.id == sale_id)) == 4


def test_the_till_shows_the_original_once(shop):
    till = shop.client
    scan(till, "ZER")
    form = cart_form(till)
    form["pay_cash"] = "50.00"
    receipt = submit_complete(form).follow()
    assert receipt.request.path.endswith("/receipt")
    assert not texts(receipt, "copy")
    assert one(till.get(receipt.request.path), "copy") == "COPY"


def test_80mm_roll_by_default_and_a4_on_request(shop):
    sale_id, _ = shop.sell((shop.zero, "1"))
    roll = shop.client.get(f"/sales/{sale_id}/receipt")
    sheet = shop.client.get(f"/sales/{sale_id}/receipt?paper=a4")
    odd = shop.client.get(f"/sales/{sale_id}/receipt?paper=letter")
    assert "paper-80mm" in roll.html.body["class"]
    assert "paper-a4" in sheet.html.body["class"]
    assert "paper-80mm" in odd.html.body["class"]
    sheets = {
        page: [link["href"] for link in page.html.select('link[rel="stylesheet"]')]
        for page in (roll, sheet)
    }
    assert any(href.endswith("receipt-80mm.css") for href in sheets[roll])
    assert any(href.endswith("receipt-a4.css") for href in sheets[sheet])
    roll_css = shop.client.get(next(h for h in sheets[roll] if "80mm" in h)).text
    a4_css = shop.client.get(next(h for h in sheets[sheet] if "a4" in h)).text
    assert "@page { size: 80mm 297mm; margin: 0; }" in roll_css  # margin 0: no browser header
    assert "@page { size: A4;" in a4_css
    # dark enough for thermal paper: text is black (or #222 for hints); the only other
    # colours are the screen's buttons and errors, which never print (.no-print)
    shared = shop.client.get(next(h for h in sheets[roll] if h.endswith("/receipt.css"))).text
    text_colours = set(re.findall(r"(?<![-\w])color: (#\w+)", shared))
    assert text_colours <= {"#000", "#222", "#fff", "#1d2430", "#b00020"}, text_colours


def test_a_cashier_sees_only_their_own_receipts(shop, make_user, client_for):
    from tests.conftest import sign_in

    sale_id, _ = shop.sell((shop.zero, "1"))
    username, password = make_user(shop.tenant, ("Cashiers",))
    cashier = client_for(shop.tenant)
    sign_in(cashier, username, password)
    cashier.get(f"/sales/{sale_id}/receipt", status=404)
    with shop.owner() as db:  # a refused look is not a print
        assert db.scalar(select(Sale.receipt_prints).where(Sale.id == sale_id)) == 0
