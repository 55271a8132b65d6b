"""The operations log in the console: each filter keeps exactly the entries it names,
pages are keyset pages newest first, and a filter it cannot read is said, not guessed."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from sqlalchemy import update

from salesapp.console import oplog
from salesapp.console.oplog import LogFilters, operations_page
from salesapp.operations.errors import OperationError
from salesapp.operations.models import Operation


@pytest.fixture
def logged(catalog):
    """Entries made the way every operation is logged (Catalog.record and
    Catalog.operation) by two actors of this test's own; one is dated in January 2020.
    Returns (tag, {name: id})."""
    tag = secrets.token_hex(3)
    alice, bob = catalog.acting_as(f"alice-{tag}"), catalog.acting_as(f"bob-{tag}")
    alice.record(f"t{tag}.create", "ok", tenant_slug=f"shop-{tag}", store_name="pool1")
    alice.record(f"t{tag}.suspend", "ok", tenant_slug=f"shop-{tag}", reason="unpaid")
    bob.record(f"s{tag}.accept", "ok", store_name=f"pool-{tag}")
    with pytest.raises(OperationError), bob.operation(f"t{tag}_x.move", tenant_slug=f"other-{tag}"):
        raise OperationError("refused on purpose")
    alice.record(f"t{tag}xold.thing", "failed", tenant_slug=f"shop-{tag}")
    with catalog.session() as session:
        rows = session.query(Operation).filter(Operation.actor.like(f"%-{tag}")).all()
        ids = {row.action.split(".", 1)[1]: row.id for row in rows}
        session.execute(
            update(Operation)
            .where(Operation.id == ids["thing"])
            .values(at=dt.datetime(2020, 1, 15, 12, tzinfo=dt.UTC))
        )
    return tag, ids


def shown(catalog, **filters) -> set[int]:
    return {e["id"] for e in operations_page(catalog, LogFilters(**filters)).entries}


def test_each_filter_keeps_what_it_names(catalog, logged):
    tag, ids = logged
    assert shown(catalog, actor=f"alice-{tag}") == {ids["create"], ids["suspend"], ids["thing"]}
    assert shown(catalog, action=f"t{tag}.") == {ids["create"], ids["suspend"]}
    # a prefix is a prefix: "_" matches only "_", never any character
    assert shown(catalog, action=f"t{tag}_") == {ids["move"]}
    assert shown(catalog, tenant=f"shop-{tag}") == {ids["create"], ids["suspend"], ids["thing"]}
    assert shown(catalog, store=f"pool-{tag}") == {ids["accept"]}
    assert shown(catalog, actor=f"bob-{tag}", outcome="refused") == {ids["move"]}
    assert shown(catalog, tenant=f"shop-{tag}", outcome="failed") == {ids["thing"]}
    january = {"date_from": dt.date(2020, 1, 15), "date_to": dt.date(2020, 1, 15)}
    assert shown(catalog, actor=f"alice-{tag}", **january) == {ids["thing"]}
    assert shown(catalog, actor=f"alice-{tag}", date_from=dt.date(2020, 1, 16)) == {
        ids["create"],
        ids["suspend"],
    }
    assert shown(catalog, actor=f"alice-{tag}", date_to=dt.date(2020, 1, 14)) == set()


def test_pages_are_keyset_pages_newest_first(catalog, logged):
    tag, ids = logged
    filters = LogFilters(action=f"t{tag}")  # create, suspend, move, thing: four
    newest = sorted((ids["create"], ids["suspend"], ids["move"], ids["thing"]), reverse=True)
    first = operations_page(catalog, filters, limit=3)
    assert [e["id"] for e in first.entries] == newest[:3]
    assert first.newer is None
    assert first.older == newest[2]
    second = operations_page(catalog, filters, before=first.older, limit=3)
    assert [e["id"] for e in second.entries] == newest[3:]
    assert second.older is None
    assert second.newer == newest[3]
    back = operations_page(catalog, filters, after=second.newer, limit=3)
    assert [e["id"] for e in back.entries] == newest[:3]
    # a new entry arriving meanwhile does not move the older page
    catalog.acting_as("x").record(f"t{tag}.later", "ok")
    again = operations_page(catalog, filters, before=first.older, limit=3)
    assert [e["id"] for e in again.entries] == newest[3:]


def test_the_page_filters_and_pages(console_client, logged, monkeypatch):
    tag, ids = logged
    client = console_client("viewer")
    page = client.get("/operator/operations", params={"actor": f"bob-{tag}"})
    rows = page.html.select("tr[data-id]")
    assert {int(tr["data-id"]) for tr in rows} == {ids["accept"], ids["move"]}
    refused = page.html.select_one(f"tr[data-id='{ids['move']}'] [data-outcome]")
    assert refused["data-outcome"] == "refused"
    assert "refused on purpose" in page.html.select_one(f"tr[data-id='{ids['move']}']").text
    # the form carries the filters; a submitted form filters the same
    form = page.forms["log-filters"]
    form["outcome"] = "ok"
    narrowed = form.submit()
    assert {int(tr["data-id"]) for tr in narrowed.html.select("tr[data-id]")} == {ids["accept"]}
    monkeypatch.setattr(oplog, "PAGE_SIZE", 2)
    first = client.get("/operator/operations", params={"tenant": f"shop-{tag}"})
    # by entry, newest first (the entry dated 2020 was made last)
    mine = sorted((ids["create"], ids["suspend"], ids["thing"]), reverse=True)
    assert [int(tr["data-id"]) for tr in first.html.select("tr[data-id]")] == mine[:2]
    older = first.click(href="before=", index=0)
    assert f"tenant=shop-{tag}" in older.request.url  # the filters go along
    assert [int(tr["data-id"]) for tr in older.html.select("tr[data-id]")] == mine[2:]
    newer = older.click(href="after=", index=0)
    assert [int(tr["data-id"]) for tr in newer.html.select("tr[data-id]")] == mine[:2]


def test_a_filter_that_cannot_be_read_is_said(console_client, console_anonymous):
    client = console_client("viewer")
    page = client.get("/operator/operations", params={"from": "31/01/2025"}, status=400)
    said = page.html.select_one("[role=alert]").get_text(" ", strip=True)
    assert "from date '31/01/2025' is not a date like 2025-01-31" in said
    assert not page.html.select("tr[data-id]")
    page = client.get("/operator/operations", params={"outcome": "great"}, status=400)
    said = page.html.select_one("[role=alert]").get_text(" ", strip=True)
    assert "outcome 'great' is none of started, ok, failed, refused" in said
    anonymous = console_anonymous().get("/operator/operations", status=303)
    assert "/operator/login?next=" in anonymous.location
