"""Credit notes: every refund numbered without gaps per workspace (a refund rolled back
gives its number back), a printable note that names the sale it pays back, and the
sale page saying who refunded and how."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from salesapp.sales.models import Refund
from tests.receipts.conftest import Shop
from tests.receipts.test_receipts import one, texts


def refund(shop: Shop, sale_id, quantities: dict, *, method="cash", reason="", keep=True):
    """Refund {line position: quantity} of the sale as the admin; its credit number.
    ``keep=False``: roll the refund back instead of committing it."""
    with shop.seller.session() as db:
        db.begin()
        sales = shop.seller.sales(db)
        sale = sales.get(sale_id)
        chosen = {
            line.id: Decimal(quantities[line.position])
            for line in sale.lines
            if line.position in quantities
        }
        made = sales.refund(sale, chosen, method=method, reason=reason)
        number = made.credit_number
        if keep:
            db.commit()
        else:
            db.rollback()
        return number


def positions(shop, sale_id):
    with shop.seller.session() as db, db.begin():
        return {
            line.description: line.position for line in shop.seller.sales(db).get(sale_id).lines
        }


def test_credit_notes_are_numbered_without_gaps_per_workspace(shop, make_tenant, app_engine):
    sale_id, _ = shop.sell((shop.standard, "2"), (shop.zero, "3"))
    at = positions(shop, sale_id)
    assert refund(shop, sale_id, {at["Item STD"]: "1"}) == 1
    assert refund(shop, sale_id, {at["Item ZER"]: "1"}, keep=False) == 2  # rolled back...
    assert refund(shop, sale_id, {at["Item ZER"]: "1"}) == 2  # ...so its number is given again
    other_id, _ = shop.sell((shop.zero, "1"))
    assert refund(shop, other_id, {positions(shop, other_id)["Item ZER"]: "1"}) == 3
    with shop.owner() as db:
        assert sorted(db.scalars(select(Refund.credit_number))) == [1, 2, 3]

    # another workspace counts its own from 1
    from tests.sales.conftest import Seller

    tenant = make_tenant("pooled")
    seller = Seller(tenant, app_engine(tenant.store_name))
    other = Shop(
        tenant, seller, None, shop.owner_engines, seller.add_product("X", "5.00", stock="9"), None
    )
    their_sale, _ = other.sell((other.standard, "1"))
    assert refund(other, their_sale, {positions(other, their_sale)["Item X"]: "1"}) == 1


def test_the_credit_note_names_the_sale_the_lines_and_the_tax_paid_back(shop):
    shop.set_details(legal_name="Mama Mboga Traders Ltd", tax_number="P051234567X")
    sale_id, number = shop.sell((shop.standard, "2"), (shop.zero, "1"))
    shop.name_rates({"16": "Standard", "0": ""})
    at = positions(shop, sale_id)
    refund(shop, sale_id, {at["Item STD"]: "1"}, method="mobile_money", reason="bruised")

    detail = shop.client.get(f"/sales/{sale_id}")
    assert one(detail, "refund-by") == "Administrator"  # who, not how (it said "Mobile money")
    assert one(detail, "refund-method") == "Mobile money"
    link = detail.html.select_one('[data-testid="credit-note-link"]')
    assert link.text == "1"

    note = shop.client.get(link["href"])
    assert one(note, "credit-number") == "1"
    assert one(note, "original-sale").startswith(f"{number} of ")
    assert one(note, "refunded-by") == "Administrator"
    assert one(note, "refund-method") == "Mobile money"
    assert one(note, "refund-reason") == "bruised"
    assert one(note, "tax-number") == "Tax no. P051234567X"
    # by hand: 1 of 2 x 100.00 + 16% = 116.00, of which 16.00 tax
    assert one(note, "credit-total") == "116.00"
    assert one(note, "credit-tax") == "16.00"
    assert texts(note, "tax-row") == ["Standard 16% 100.00 16.00 116.00"]
    assert "Item STD" in note.text
    assert "Item ZER" not in note.text
    a4 = shop.client.get(link["href"] + "?paper=a4")
    assert "paper-a4" in a4.html.body["class"]


def test_a_refund_through_the_page_says_its_credit_note(shop):
    sale_id, _ = shop.sell((shop.zero, "2"))
    page = shop.client.get(f"/sales/{sale_id}/refund")
    form = next(f for f in page.forms.values() if "method" in f.fields)
    form[next(name for name in form.fields if name.startswith("qty_"))] = "1"
    form["method"] = "card"
    done = form.submit(status=303).follow()
    assert "Refunded 50.00 by Card" in done.text
    assert "Credit note 1." in done.text
    assert one(done, "refund-method") == "Card"


def test_a_credit_note_of_another_sale_is_not_found(shop):
    sale_id, _ = shop.sell((shop.zero, "2"))
    other_id, _ = shop.sell((shop.zero, "1"))
    refund(shop, sale_id, {positions(shop, sale_id)["Item ZER"]: "1"})
    with shop.owner() as db:
        refund_id = db.scalars(select(Refund.id)).one()
    shop.client.get(f"/sales/{sale_id}/refunds/{refund_id}", status=200)
    shop.client.get(f"/sales/{other_id}/refunds/{refund_id}", status=404)
    shop.client.get(f"/sales/{sale_id}/refunds/not-an-id", status=404)
