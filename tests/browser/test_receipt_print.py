"""A receipt printed by Chromium: on an 80 mm roll it fits the roll's width with nothing
running over the edge, on one page of the roll's size without the browser's header and
footer; the pictures are kept for people to look at (the test's tmp dir, and
/tmp/receipts-shots/)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_selling import sign_in
from tests.receipts.conftest import DETAILS, open_shop
from tests.receipts.test_credit_notes import positions, refund

#: 80 mm at CSS's 96 pixels to the inch
ROLL_PX = round(80 / 25.4 * 96)  # 302
#: 80 mm and 297 mm in PDF points (72 to the inch)
ROLL_PT, LENGTH_PT = 80 / 25.4 * 72, 297 / 25.4 * 72
SHOTS = Path("/tmp/receipts-shots")

#: what runs over: elements whose right edge is past the page's, and the page's width
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const over = [...document.querySelectorAll('.receipt *')]
    .filter(el => el.getBoundingClientRect().right > width + 0.5)
    .map(el => el.tagName + '.' + el.className + ': ' + el.textContent.slice(0, 40));
  return {width, scroll: document.documentElement.scrollWidth, over};
}"""


def keep(path: Path) -> None:
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def test_a_receipt_fits_an_80mm_roll(
    page, url_for, make_tenant, app_engine, owner_engines, tmp_path
):
    shop = open_shop(make_tenant, app_engine, owner_engines)
    shop.set_details(**DETAILS, time_zone="Africa/Nairobi")
    long_name = shop.seller.add_product(
        "LONG", "1234.50", tax="16", stock="20"
    )  # a four-digit price: the widest figures
    with shop.owner() as db:
        from sqlalchemy import update

        from salesapp.products.models import Product

        db.execute(
            update(Product)
            .where(Product.id == long_name)
            .values(name="Organic sukuma wiki, extra-large family bundle (washed, cut, ready)")
        )
    sale_id, number = shop.sell(
        (shop.standard, "2"), (shop.zero, "3"), (long_name, "12"), pay="20000"
    )
    shop.name_rates({"16": "Standard VAT", "0": "Zero-rated"})

    sign_in(page, url_for, shop.tenant, "admin", shop.tenant.admin_password)
    page.set_viewport_size({"width": ROLL_PX, "height": 900})
    page.goto(url_for(shop.tenant, f"/sales/{sale_id}/receipt"))
    expect(page.locator("[data-testid=receipt-number]")).to_have_text(str(number))
    expect(page.locator("[data-testid=copy]")).to_have_count(0)  # the original
    on_screen = page.evaluate(OVERFLOW_JS)  # the screen, at the roll's width, fits too
    assert on_screen["over"] == [], on_screen
    page.emulate_media(media="print")
    measured = page.evaluate(OVERFLOW_JS)
    assert measured["scroll"] <= ROLL_PX, measured
    assert measured["over"] == [], measured

    picture = tmp_path / "receipt-80mm-print.png"
    page.screenshot(path=str(picture), full_page=True)
    keep(picture)
    pdf = tmp_path / "receipt-80mm.pdf"
    page.pdf(path=str(pdf), width="80mm", prefer_css_page_size=True, print_background=True)
    keep(pdf)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
    assert boxes, "no page in the PDF"
    assert len(boxes) == 1  # one page: the whole receipt on one length of roll
    width, length = (float(value) for value in boxes[0])
    assert abs(width - ROLL_PT) < 1, boxes
    assert abs(length - LENGTH_PT) < 1, boxes

    # the reprint says so, and on screen the buttons are there again
    page.emulate_media(media="screen")
    page.reload()
    expect(page.locator("[data-testid=copy]").first).to_have_text("COPY")
    shot(page, "receipt-80mm-copy-screen")
    keep(Path(__file__).parent / "artifacts" / "receipt-80mm-copy-screen.png")

    # an A4 sheet, for the record
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(url_for(shop.tenant, f"/sales/{sale_id}/receipt?paper=a4"))
    page.emulate_media(media="print")
    sheet = tmp_path / "receipt-a4-print.png"
    page.screenshot(path=str(sheet), full_page=True)
    keep(sheet)
    a4 = tmp_path / "receipt-a4.pdf"
    page.pdf(path=str(a4), prefer_css_page_size=True)
    width, length = (
        float(v) for v in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", a4.read_bytes())[0]
    )
    assert abs(width - 595.28) < 1
    assert abs(length - 841.89) < 1

    # the sale page at a phone's width: its refunds say who and how; then the credit note
    refund(shop, sale_id, {positions(shop, sale_id)["Item ZER"]: "1"}, reason="bruised")
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url_for(shop.tenant, f"/sales/{sale_id}"))
    expect(page.locator("[data-testid=refund-by]")).to_have_text("Administrator")
    expect(page.locator("[data-testid=refund-method]")).to_have_text("Cash")
    shot(page, "sale-page-390")
    keep(Path(__file__).parent / "artifacts" / "sale-page-390.png")
    page.click("[data-testid=credit-note-link]")
    expect(page.locator("[data-testid=credit-number]")).to_have_text("1")
    assert page.evaluate(OVERFLOW_JS)["over"] == []
    shot(page, "credit-note-390")
    keep(Path(__file__).parent / "artifacts" / "credit-note-390.png")
