"""The dashboard's "today" is the workspace's local day: a sale a minute after local
midnight is today's, one a minute before is not, in a workspace east of UTC
(Africa/Nairobi, UTC+3) and one west of it (America/New_York); on the days New York's
clocks change, "today" has 23 or 25 hours. Figures are shown in the workspace's locale.

Sales are written as rows at chosen instants (tests/reports/conftest.py's Ledger)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from salesapp.dashboard.services import DashboardService
from salesapp.db import tenant_session
from tests.reports.test_local_days import BERLIN, NAIROBI, NEW_YORK, shop, utc

__all__ = ["shop"]  # the fixture: a workspace in a zone, with its Ledger and a manager


def zero_rated(amount: str):
    return [("Zero-rated", "0", amount, "0.00")]


@pytest.mark.parametrize("local", [NAIROBI, NEW_YORK], ids=["Nairobi", "New York"])
def test_todays_sales_are_the_local_days(shop, local):
    ledger, manager = shop(local)
    today = local.today()
    start, end = local.day_range(today)
    ledger.sale(start - dt.timedelta(minutes=1), zero_rated("1.00"))  # yesterday, 23:59
    ledger.sale(start + dt.timedelta(minutes=1), zero_rated("20.00"))  # today, 00:01
    ledger.sale(end - dt.timedelta(minutes=1), zero_rated("300.00"))  # today, 23:59 (ahead)
    ledger.sale(end, zero_rated("4000.00"))  # tomorrow, 00:00
    page = manager.get("/dashboard").html
    assert page.select_one("[data-testid=today-count]").get_text() == "2"
    assert page.select_one("[data-testid=today-total]").get_text() == "320.00"
    assert page.select_one("[data-testid=today-day]").get_text() == local.day(today)


def test_today_on_the_days_new_yorks_clocks_change(shop):
    """Spring forward (Mar 8, 23 hours: 05:00 to 04:00 UTC) and fall back (Nov 1, 25
    hours: 04:00 to 05:00 UTC), each with a sale at either end of the day and one
    in the hour that is skipped or repeated; one a minute outside each end."""
    ledger, _ = shop(NEW_YORK)
    for at, amount in (
        ("2026-03-08 04:59", "1000.00"),  # Mar 7, 23:59 EST
        ("2026-03-08 05:00", "1.00"),  # Mar 8, 00:00 EST
        ("2026-03-08 07:00", "2.00"),  # Mar 8, 03:00 EDT: 02:00-02:59 never was
        ("2026-03-09 03:59", "4.00"),  # Mar 8, 23:59 EDT
        ("2026-03-09 04:00", "2000.00"),  # Mar 9, 00:00 EDT
        ("2026-11-01 03:59", "3000.00"),  # Oct 31, 23:59 EDT
        ("2026-11-01 04:00", "10.00"),  # Nov 1, 00:00 EDT
        ("2026-11-01 05:30", "20.00"),  # Nov 1, 01:30 EDT
        ("2026-11-01 06:30", "40.00"),  # Nov 1, 01:30 EST: the same hour again
        ("2026-11-02 04:59", "80.00"),  # Nov 1, 23:59 EST
        ("2026-11-02 05:00", "4000.00"),  # Nov 2, 00:00 EST
    ):
        ledger.sale(utc(at), zero_rated(amount))
    with tenant_session(ledger.engine, ledger.tenant.id) as db, db.begin():
        figures = DashboardService(db, ledger.tenant.id, NEW_YORK)
        spring = figures.today(dt.date(2026, 3, 8))
        fall = figures.today(dt.date(2026, 11, 1))
    assert (spring["count"], spring["net"]) == (3, D("7.00"))  # 1 + 2 + 4
    assert (fall["count"], fall["net"]) == (4, D("150.00"))  # 10 + 20 + 40 + 80


def test_the_dashboards_figures_are_in_the_workspaces_locale(shop):
    ledger, manager = shop(BERLIN)
    start, _ = BERLIN.day_range(BERLIN.today())
    sale = ledger.sale(start + dt.timedelta(minutes=1), [("Standard", "19", "1050.00", "199.50")])
    ledger.refund(sale, 0, "249.50")
    page = manager.get("/dashboard").html
    assert page.select_one("[data-testid=today-total]").get_text() == "1.000,00"
    assert "249,50 refunded" in page.get_text()
    top = page.select_one('table[aria-label="Top products"]')
    assert [td.get_text() for td in top.select("td")] == ["Item TEA", "0", "1.000,00"]
