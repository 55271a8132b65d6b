"""E-mailed receipts go through a real SMTP server the test starts (tests/smtp.py), and
only once the request's transaction has committed: a refused address, the cap reached
or a transaction that fails at its commit sends nothing."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, text

from salesapp.sales.receipt_models import ReceiptSend
from tests.conftest import form_with
from tests.receipts.test_credit_notes import positions, refund
from tests.receipts.test_receipts import one


def sends(shop) -> list[str]:
    with shop.owner() as db:
        return list(db.scalars(select(ReceiptSend.recipient).order_by(ReceiptSend.created_at)))


def nothing_arrives(smtp_server):
    time.sleep(0.3)  # what was sent would have arrived by now
    assert smtp_server.messages == []


def test_the_receipt_is_emailed_to_the_customer(shop, smtp_server):
    customer = shop.add_customer("Wanjiku", "wanjiku@example.com")
    sale_id, number = shop.sell((shop.standard, "2"), (shop.zero, "1"), customer_id=customer)
    page = shop.client.get(f"/sales/{sale_id}")
    form = form_with(page, "email")
    assert form["email"].value == "wanjiku@example.com"  # prefilled
    done = form.submit(status=303).follow()
    assert "Receipt sent to wanjiku@example.com." in done.text

    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "wanjiku@example.com"
    assert message.recipients == ["wanjiku@example.com"]
    assert message["From"] == "receipts@shop.example.test"
    assert message["Subject"] == f"Your receipt {number} from Mama Mboga"
    body = message.text()
    assert f"Receipt {number}" in body
    assert "Total USD: 282.00" in body
    assert "282.00" in message.html()
    assert "Wanjiku" in message.html()
    assert sends(shop) == ["wanjiku@example.com"]
    assert "wanjiku@example.com" in one(shop.client.get(f"/sales/{sale_id}"), "sends")


def test_a_credit_note_is_emailed_from_its_page(shop, smtp_server):
    sale_id, number = shop.sell((shop.zero, "2"))
    refund(shop, sale_id, {positions(shop, sale_id)["Item ZER"]: "1"}, reason="late")
    note = shop.client.get(
        shop.client.get(f"/sales/{sale_id}").html.select_one('[data-testid="credit-note-link"]')[
            "href"
        ]
    )
    form = form_with(note, "email")
    assert form["email"].value == ""  # no customer: nothing to prefill
    form["email"] = "  walk-in@example.org "
    assert "Credit note 1 sent to walk-in@example.org." in form.submit(status=303).follow().text
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == f"Credit note 1 for receipt {number} from Mama Mboga"
    assert "Refunded USD: 50.00" in message.text()
    assert "Reason: late" in message.text()


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "type the customer's e-mail address"),
        ("wanjiku at example.com", "is not an e-mail address"),
        ("a@b", "is not an e-mail address"),
        ("a@example.com, b@example.com", "is not an e-mail address"),
    ],
)
def test_a_bad_address_is_refused_and_nothing_is_sent(shop, smtp_server, typed, says):
    sale_id, _ = shop.sell((shop.zero, "1"))
    form = form_with(shop.client.get(f"/sales/{sale_id}"), "email")
    form["email"] = typed
    page = form.submit(status=400)
    assert says in one(page, "email-error")
    assert form_with(page, "email")["email"].value == typed  # shown back to correct
    nothing_arrives(smtp_server)
    assert sends(shop) == []


def test_sends_per_sale_are_capped(shop, smtp_server):
    from salesapp.sales.receipts import MAX_SENDS_PER_SALE

    sale_id, _number = shop.sell((shop.zero, "1"))
    for n in range(MAX_SENDS_PER_SALE):
        form = form_with(shop.client.get(f"/sales/{sale_id}"), "email")
        form["email"] = f"c{n}@example.com"
        form.submit(status=303)
    assert len(smtp_server.wait_for(MAX_SENDS_PER_SALE)) == MAX_SENDS_PER_SALE
    smtp_server.clear()
    form = form_with(shop.client.get(f"/sales/{sale_id}"), "email")
    form["email"] = "one-more@example.com"
    page = form.submit(status=400)
    assert f"e-mailed {MAX_SENDS_PER_SALE} times already" in one(page, "email-error")
    nothing_arrives(smtp_server)
    assert len(sends(shop)) == MAX_SENDS_PER_SALE


@pytest.fixture
def commit_fails_for(shop):
    """Sends to abort@example.com fail at COMMIT (a deferred constraint trigger, run by
    the database when the transaction commits, after the view has handed the message
    to the mailer): the transaction aborts at its very end."""
    with shop.owner() as db:
        db.execute(
            text(
                "create function test_fail_at_commit() returns trigger language plpgsql as $$ "
                "begin raise exception 'refused at commit'; end $$"
            )
        )
        db.execute(
            text(
                "create constraint trigger test_fail_at_commit after insert on receipt_sends "
                "deferrable initially deferred for each row "
                "when (new.recipient = 'abort@example.com') "
                "execute function test_fail_at_commit()"
            )
        )
    yield "abort@example.com"
    with shop.owner() as db:
        db.execute(text("drop trigger test_fail_at_commit on receipt_sends"))
        db.execute(text("drop function test_fail_at_commit()"))


def test_nothing_is_sent_when_the_transaction_aborts(shop, smtp_server, commit_fails_for):
    sale_id, _ = shop.sell((shop.zero, "1"))
    form = form_with(shop.client.get(f"/sales/{sale_id}"), "email")
    form["email"] = commit_fails_for
    with pytest.raises(Exception, match="refused at commit"):
        form.submit()
    nothing_arrives(smtp_server)
    assert sends(shop) == []
    # and the same request to another address goes
    form["email"] = "fine@example.com"
    form.submit(status=303)
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["fine@example.com"]


def test_the_count_of_sends_is_per_sale(shop, smtp_server):
    first, _ = shop.sell((shop.zero, "1"))
    second, _ = shop.sell((shop.zero, "1"))
    for sale_id in (first, second):
        form = form_with(shop.client.get(f"/sales/{sale_id}"), "email")
        form["email"] = "same@example.com"
        form.submit(status=303)
    with shop.owner() as db:
        counts = db.execute(
            select(ReceiptSend.sale_id, func.count()).group_by(ReceiptSend.sale_id)
        ).all()
    assert sorted(n for _, n in counts) == [1, 1]
    assert len(smtp_server.wait_for(2)) == 2
