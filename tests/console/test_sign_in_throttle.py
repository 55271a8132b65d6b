"""The console's sign-in page under a guessing attack: after 5 failures of one name from
one address, the page answers 429 with how long to wait (Retry-After), and even the
right password and code wait; another address is not held up, and the failed attempts
are in the operations log."""

from __future__ import annotations

from sqlalchemy import select

from salesapp.operations.models import Operation

from .conftest import code_for, submit_sign_in


def test_guessing_one_operators_password_is_made_to_wait(catalog, console_anonymous, make_operator):
    made = make_operator()
    guesser = console_anonymous()
    for attempt in range(5):
        submit_sign_in(guesser, made.name, f"guess {attempt}", code_for(made.secret), status=400)
    held = submit_sign_in(guesser, made.name, made.password, code_for(made.secret), status=429)
    wait = int(held.headers["Retry-After"])
    assert 1 <= wait <= 15 * 60
    message = held.html.select_one("[data-testid=sign-in-error]").get_text(" ", strip=True)
    assert "wait" in message.lower() or "try again" in message.lower()
    assert "salesapp_operator" not in guesser.cookies
    # the operator, from their own address, signs in at once
    elsewhere = console_anonymous()
    submit_sign_in(elsewhere, made.name, made.password, code_for(made.secret))
    with catalog.session() as session:
        refused = session.scalars(
            select(Operation).where(
                Operation.action == "operator.sign_in",
                Operation.actor == made.name,
                Operation.outcome == "refused",
            )
        ).all()
    assert len(refused) >= 5
