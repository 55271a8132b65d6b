"""A register's pages in the workspace's locale and zone (issue 18): the float, cash in
and out and the counts at the close are read as the workspace writes numbers (German
"1.234,50"; English "1,234.50"; yen without decimals), ambiguous input is refused with
the field's message and writes nothing, and amounts and times are shown the local way
(the zone's clock, not UTC)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesapp.localization import Local
from salesapp.preferences.services import SettingsService
from tests.accounts.support import fill, form_for, sql
from tests.registers.test_pages import add_register, register_id, shifts


def set_local(owner_engines, tenant, locale, currency, zone):
    """The workspace's locale, currency and zone (the settings page's, set directly)."""
    with owner_engines.session(tenant) as db:
        row = SettingsService(db, tenant.id).get()
        row.locale, row.currency, row.time_zone = locale, currency, zone


@pytest.fixture
def till(staff, owner_engine, owner_engines):
    """make(locale, currency, zone) -> (tenant, the Cashier's client, register "Till 1")."""

    def make(locale, currency, zone):
        tenant, clients = staff("pooled", roles=("Admin", "Cashiers"))
        add_register(clients["Admin"], "Till 1")
        set_local(owner_engines, tenant, locale, currency, zone)
        return tenant, clients["Cashiers"], register_id(owner_engine, tenant, "Till 1")

    return make


def figure(page, name):
    return page.html.select_one(f"[data-figure={name}]").text


def test_a_german_shift_from_float_to_z_report(till, owner_engine):
    tenant, cashier, register = till("de_DE", "EUR", "Europe/Berlin")
    local = Local("Europe/Berlin", "de_DE", "EUR")
    page = cashier.get(f"/registers/{register}")
    assert page.html.select_one("#opening_float")["placeholder"] == "0,00"
    assert page.html.select_one("#opening_float")["type"] == "text"
    fill(form_for(page, "/open"), opening_float="100,00").submit(status=303)
    page = cashier.get(f"/registers/{register}")
    assert "with a float of 100,00." in page.html.select_one(".notice").text
    (shift,) = shifts(owner_engine, tenant)
    opened = page.html.select_one("[data-testid=shift-open] time")
    assert opened.text == local.when(shift.opened_at)  # Berlin's clock, German order
    assert opened["datetime"] == local.iso(shift.opened_at)
    assert opened["datetime"][-6:] in ("+01:00", "+02:00")
    fill(form_for(page, "/cash"), kind="in", amount="1.000,50", reason="bank").submit(status=303)
    page = cashier.get(f"/registers/{register}")
    assert figure(page, "cash_in") == "1.000,50"
    assert figure(page, "expected_cash") == "1.100,50"
    assert local.clock(shift.opened_at)[:2] in page.html.select_one("[data-testid=movements]").text

    close = cashier.get(f"/registers/{register}/close")
    count = form_for(close, "/close", "count-form")
    preview = fill(count, counted_cash="1.100,00", counted_card="0").submit(status=200)
    verdict = preview.html.select_one("[data-testid=over-short-total]").text
    assert "Short by 0,50." in verdict
    over_short = "[data-testid=preview] td[data-method=cash][data-col=over_short]"
    assert preview.html.select_one(over_short).text.strip() == "-0,50"
    z = form_for(preview, "/close", "confirm-close").submit(status=303).follow()
    (row,) = shifts(owner_engine, tenant)
    assert (row.expected_cash, row.counted_cash, row.counted_card) == (
        Decimal("1100.50"),
        Decimal("1100.00"),
        Decimal("0.00"),
    )
    header = z.html.select_one("header").text
    assert f"Opened {local.when(row.opened_at)}" in header
    assert f"Closed {local.when(row.closed_at)}" in header
    assert "SHORT by 0,50" in z.html.select_one("[data-testid=over-short-total]").text
    history = cashier.get(f"/registers/{register}/shifts")
    cells = history.html.select(f"[data-shift='{row.id}'] td")
    assert [cell.text.strip() for cell in cells[:2]] == [
        local.when(row.opened_at),
        local.when(row.closed_at),
    ]
    assert [cell.text for cell in cells[3:7]] == ["100,00", "1.100,50", "1.100,00", "-0,50"]


@pytest.mark.parametrize(
    ("locale", "currency", "typed", "message"),
    [
        # a point groups thousands in German: 1100.50 is neither 1100.5 nor 110050
        ("de_DE", "EUR", "1100.50", "is ambiguous or badly grouped: '1100.50'"),
        ("de_DE", "EUR", "12,345", "EUR amounts have 2 decimal places; got '12,345'"),
        ("en_US", "USD", "1,5", "is ambiguous or badly grouped: '1,5'"),
        ("fr_FR", "EUR", "1.100,00", "which français (France) does not use"),
        ("ja_JP", "JPY", "1100.5", "JPY amounts have no decimal places; got '1100.5'"),
    ],
)
def test_a_count_not_written_the_local_way_is_refused(
    till, owner_engine, locale, currency, typed, message
):
    tenant, cashier, register = till(locale, currency, "UTC")
    page = cashier.get(f"/registers/{register}")
    fill(form_for(page, "/open"), opening_float="0").submit(status=303)
    close = cashier.get(f"/registers/{register}/close")
    refused = fill(form_for(close, "/close", "count-form"), counted_cash=typed).submit(status=400)
    assert message in refused.html.select_one("#counted_cash-error").text
    assert refused.html.select_one("#counted_cash")["value"] == typed  # kept to correct
    assert shifts(owner_engine, tenant)[0].closed_at is None


@pytest.mark.parametrize(
    ("locale", "currency", "typed", "counted", "shown"),
    [
        ("en_US", "USD", "1,234.50", "1234.50", "1,234.50"),
        ("fr_FR", "EUR", "1 234,50", "1234.50", "1\u202f234,50"),
        ("ja_JP", "JPY", "1,234", "1234", "1,234"),
    ],
)
def test_a_count_written_the_local_way_closes(
    till, owner_engine, locale, currency, typed, counted, shown
):
    tenant, cashier, register = till(locale, currency, "UTC")
    page = cashier.get(f"/registers/{register}")
    fill(form_for(page, "/open"), opening_float="0").submit(status=303)
    close = cashier.get(f"/registers/{register}/close")
    preview = fill(form_for(close, "/close", "count-form"), counted_cash=typed).submit(status=200)
    counted_cell = "[data-testid=preview] td[data-method=cash][data-col=counted]"
    assert preview.html.select_one(counted_cell).text == shown
    form_for(preview, "/close", "confirm-close").submit(status=303)
    (row,) = sql(owner_engine, tenant, "select counted_cash from shifts")
    assert row.counted_cash == Decimal(counted)
