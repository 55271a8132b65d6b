"""Reports in the workspace's own days and figures: sales rung at chosen instants around
local midnight in a workspace east of UTC (Africa/Nairobi, UTC+3 all year) and one west
of it (America/New_York, UTC-5 in winter, UTC-4 in summer) land on their local day in
sales by day, the date filter and the other reports; the days clocks change (New York's
2026-03-08 has 23 hours, 2026-11-01 has 25); the tax summary per rate with hand-worked
books in a tax-exclusive and a tax-inclusive workspace; sales by cashier telling two
people of one name apart; and the CSV file (times with their offset, plain decimals)
against the page (the workspace's locale).

The sales are written as rows (tests/reports/conftest.py's Ledger) with the figures
worked by hand below, so these books do not depend on how the till prices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from salesapp.localization import Local
from tests.reports.conftest import Ledger
from tests.reports.support import assert_same_figures, csv_rows, page_cells, page_table
from tests.reports.test_reports import download, report

NAIROBI = Local("Africa/Nairobi", "en_KE", "KES")
NEW_YORK = Local("America/New_York", "en_US", "USD")
BERLIN = Local("Europe/Berlin", "de_DE", "EUR")


def utc(text: str) -> dt.datetime:
    """An instant written in UTC: "2026-06-09 20:59"."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def span(first: str, last: str | None = None) -> dict:
    return {"from": first, "to": last or first}


@pytest.fixture
def shop(staff, app_engine, owner_engine):
    """shop(local, include_tax=False) -> (Ledger, manager's client) of a new workspace
    in that zone, locale and currency."""

    def make(local: Local, include_tax: bool = False):
        tenant, clients = staff("pooled", roles=("Managers",))
        ledger = Ledger(tenant, app_engine(tenant.store_name, pool_size=2), owner_engine)
        ledger.settle(
            local.zone_name,
            locale=local.locale_id,
            currency=local.currency,
            include_tax=include_tax,
        )
        return ledger, clients["Managers"]

    return make


def assert_csv_is_the_page(client, name, local, **query):
    """The CSV file has the page's figures (the page in ``local``'s way); the page."""
    page = report(client, name, **query)
    assert_same_figures(name, csv_rows(download(client, name, **query)), page_cells(page), local)
    return page


def by_day(client, local, first, last):
    """{ISO day: (sales, gross, net)} of sales by day, read from the CSV file (days
    written YYYY-MM-DD), after checking it against the page."""
    assert_csv_is_the_page(client, "sales-by-day", local, **span(first, last))
    rows = csv_rows(download(client, "sales-by-day", **span(first, last)))
    return {row[0]: (row[1], row[2], row[4]) for row in rows[1:]}


def standard(net: str, tax: str):
    return [("Standard", "16", net, tax)]


def test_nairobi_sales_fall_on_nairobi_days(shop):
    ledger, manager = shop(NAIROBI)
    # Nairobi is UTC+3: its June 10 runs from 2026-06-09 21:00 to 2026-06-10 21:00 UTC
    assert NAIROBI.day_range(dt.date(2026, 6, 10)) == (
        utc("2026-06-09 21:00"),
        utc("2026-06-10 21:00"),
    )
    ledger.sale(utc("2026-06-09 20:59"), standard("10.00", "1.60"))  # Jun 9, 23:59: 11.60
    ledger.sale(utc("2026-06-09 21:01"), standard("20.00", "3.20"))  # Jun 10, 00:01: 23.20
    ledger.sale(utc("2026-06-10 20:59"), standard("30.00", "4.80"))  # Jun 10, 23:59: 34.80
    ledger.sale(utc("2026-06-10 21:00"), standard("40.00", "6.40"))  # Jun 11, 00:00: 46.40

    # In UTC days it would be Jun 9: 34.80 and Jun 10: 81.20; in Nairobi's:
    assert by_day(manager, NAIROBI, "2026-06-09", "2026-06-11") == {
        "2026-06-09": ("1", "11.60", "11.60"),
        "2026-06-10": ("2", "58.00", "58.00"),  # 23.20 + 34.80
        "2026-06-11": ("1", "46.40", "46.40"),
        "Total": ("4", "116.00", "116.00"),
    }
    table, _ = page_table(report(manager, "sales-by-day", **span("2026-06-09", "2026-06-11")))
    assert [row["day"] for row in table] == ["9 Jun 2026", "10 Jun 2026", "11 Jun 2026"]

    # the date filter: June 10 is Nairobi's June 10
    page = report(manager, "sales-by-day", **span("2026-06-10"))
    table, totals = page_table(page)
    assert (totals["sales"], totals["gross"]) == ("2", "58.00")
    assert page.html.select_one("[data-testid=range]").get_text() == "10 Jun 2026 to 10 Jun 2026"
    assert page.html.select_one("[data-testid=zone]").get_text() == "Africa/Nairobi time"
    assert page.html.select_one("input#from")["value"] == "2026-06-10"  # ISO: type=date
    _, totals = page_table(report(manager, "profit-and-loss", **span("2026-06-10")))
    assert totals["revenue"] == "50.00"  # 20.00 + 30.00, before tax
    table, totals = page_table(report(manager, "tax-summary", **span("2026-06-10")))
    assert [(r["tax_name"], r["net"], r["tax"], r["gross"]) for r in table] == [
        ("Standard", "50.00", "8.00", "58.00")
    ]
    _, totals = page_table(report(manager, "sales-by-product", **span("2026-06-11")))
    assert (totals["sales"], totals["net"]) == ("1", "46.40")


def test_a_shift_closed_after_local_midnight_and_its_time_in_the_csv(shop):
    ledger, manager = shop(NAIROBI)
    # closed at 00:30 on June 10 in Nairobi, which is 21:30 on June 9 in UTC
    ledger.shift("Till 1", utc("2026-06-09 15:00"), utc("2026-06-09 21:30"))
    ledger.shift("Till 2", utc("2026-06-10 05:00"), utc("2026-06-10 20:59"))  # Jun 10, 23:59
    ledger.shift("Till 3", utc("2026-06-10 18:00"), utc("2026-06-10 21:00"))  # Jun 11, 00:00
    page = assert_csv_is_the_page(manager, "shifts", NAIROBI, **span("2026-06-10"))
    table, _ = page_table(page)
    assert [(r["register"], r["closed"]) for r in table] == [
        ("Till 1", "10/06/2026, 00:30"),
        ("Till 2", "10/06/2026, 23:59"),
    ]
    rows = csv_rows(download(manager, "shifts", **span("2026-06-10")))
    assert rows[0][0] == "Closed"
    assert [row[0] for row in rows[1:]] == [
        "2026-06-10T00:30:00+03:00",
        "2026-06-10T23:59:00+03:00",
        "Total",
    ]
    _, by_register = page_table(report(manager, "shifts-by-register", **span("2026-06-11")))
    assert by_register["shifts"] == "1"  # Till 3, closed at midnight: June 11's


def test_new_york_midnight_and_the_days_the_clocks_change(shop):
    ledger, manager = shop(NEW_YORK)
    zero = "Zero-rated", "0"
    for at, amount in (
        # winter, UTC-5
        ("2026-01-16 04:59", "10.00"),  # Jan 15, 23:59 EST
        ("2026-01-16 05:00", "20.00"),  # Jan 16, 00:00 EST
        # spring forward: Mar 8 runs from 05:00 UTC to 04:00 UTC on Mar 9 (23 hours);
        # 02:00-02:59 never happens that night
        ("2026-03-08 05:00", "1.00"),  # Mar 8, 00:00 EST
        ("2026-03-08 06:59", "2.00"),  # Mar 8, 01:59 EST, the minute before the jump
        ("2026-03-08 07:00", "4.00"),  # Mar 8, 03:00 EDT, the minute after it
        ("2026-03-09 03:59", "8.00"),  # Mar 8, 23:59 EDT
        ("2026-03-09 04:00", "16.00"),  # Mar 9, 00:00 EDT (with UTC-5: Mar 8, 23:00)
        # fall back: Nov 1 runs from 04:00 UTC to 05:00 UTC on Nov 2 (25 hours);
        # 01:00-01:59 happens twice
        ("2026-11-01 03:59", "32.00"),  # Oct 31, 23:59 EDT
        ("2026-11-01 04:00", "1.00"),  # Nov 1, 00:00 EDT
        ("2026-11-01 05:30", "2.00"),  # Nov 1, 01:30 EDT, the first time
        ("2026-11-01 06:30", "4.00"),  # Nov 1, 01:30 EST, the second time
        ("2026-11-02 04:30", "8.00"),  # Nov 1, 23:30 EST (with UTC-4: Nov 2, 00:30)
        ("2026-11-02 05:00", "16.00"),  # Nov 2, 00:00 EST
    ):
        ledger.sale(utc(at), [(*zero, amount, "0.00")])
    start, end = NEW_YORK.day_range(dt.date(2026, 3, 8))
    assert end - start == dt.timedelta(hours=23)
    start, end = NEW_YORK.day_range(dt.date(2026, 11, 1))
    assert end - start == dt.timedelta(hours=25)

    assert by_day(manager, NEW_YORK, "2026-01-15", "2026-01-16") == {
        "2026-01-15": ("1", "10.00", "10.00"),
        "2026-01-16": ("1", "20.00", "20.00"),
        "Total": ("2", "30.00", "30.00"),
    }
    assert by_day(manager, NEW_YORK, "2026-03-07", "2026-03-09") == {
        "2026-03-07": ("0", "0.00", "0.00"),
        "2026-03-08": ("4", "15.00", "15.00"),  # 1 + 2 + 4 + 8
        "2026-03-09": ("1", "16.00", "16.00"),
        "Total": ("5", "31.00", "31.00"),
    }
    assert by_day(manager, NEW_YORK, "2026-10-31", "2026-11-02") == {
        "2026-10-31": ("1", "32.00", "32.00"),
        "2026-11-01": ("4", "15.00", "15.00"),  # 1 + 2 + 4 + 8: both 01:30s
        "2026-11-02": ("1", "16.00", "16.00"),
        "Total": ("6", "63.00", "63.00"),
    }
    # the filter of one day takes in its 23 or 25 hours, no more
    for day, sales, gross in (("2026-03-08", "4", "15.00"), ("2026-11-01", "4", "15.00")):
        _, totals = page_table(report(manager, "sales-by-payment-method", **span(day)))
        assert (totals["sales"], totals["gross"]) == (sales, gross)
    table, _ = page_table(report(manager, "sales-by-day", **span("2026-11-01")))
    assert table[0]["day"] == "Nov 1, 2026"


def test_the_csv_tells_the_two_one_thirties_of_a_fall_back_night_apart(shop):
    ledger, manager = shop(NEW_YORK)
    ledger.shift("Till 1", utc("2026-11-01 04:00"), utc("2026-11-01 05:30"))  # 01:30 EDT
    ledger.shift("Till 2", utc("2026-11-01 04:00"), utc("2026-11-01 06:30"))  # 01:30 EST
    page = assert_csv_is_the_page(manager, "shifts", NEW_YORK, **span("2026-11-01"))
    table, _ = page_table(page)
    # the page shows the wall clock, which reads the same twice that night...
    assert [r["closed"] for r in table] == ["11/1/26, 1:30\u202fAM"] * 2  # CLDR's narrow space
    # ...and the CSV the instant, with its offset
    rows = csv_rows(download(manager, "shifts", **span("2026-11-01")))
    assert [row[0] for row in rows[1:-1]] == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00",
    ]
    assert [dt.datetime.fromisoformat(row[0]) for row in rows[1:-1]] == [
        utc("2026-11-01 05:30"),
        utc("2026-11-01 06:30"),
    ]


def test_the_tax_summary_of_a_tax_exclusive_workspace(shop):
    """Prices before tax (Nairobi, shillings). One sale of June 10 with five lines at
    four named rates, a June 10 sale from before rates had names (16%, tax_name ''),
    one the till named by its percentage ("16%"), and a refund of half of the first
    line; a sale after Nairobi's midnight (June 10 in UTC) is left out.

        line                       net      tax     gross
        Standard 16%            100.00    16.00    116.00   refunded 58.00:
                                                             tax 58.00 x 16/116 = 8.00
                                                             net 50.00
        Standard 16%             12.50     2.00     14.50
        Reduced 8%               25.00     2.00     27.00
        Zero-rated 0%            40.00     0.00     40.00
        Exempt 0%                10.00     0.00     10.00
        '' 16% (older sale)      50.00     8.00     58.00
        "16%" 16% (till's name)   5.00     0.80      5.80

        row           net                    tax                     gross
        Exempt        10.00                  0.00                    10.00
        Zero-rated    40.00                  0.00                    40.00
        Reduced       25.00                  2.00                    27.00
        16%           50.00 + 5.00 = 55.00   8.00 + 0.80 = 8.80      63.80
        Standard      100 + 12.50 - 50       16 + 2 - 8 = 10.00      72.50
                      = 62.50
        total         192.50                 20.80                   213.30

    and the sales' net: 207.50 + 58.00 + 5.80 - 58.00 refunded = 213.30."""
    ledger, manager = shop(NAIROBI)
    first = ledger.sale(
        utc("2026-06-10 06:00"),  # 09:00 in Nairobi
        [
            ("Standard", "16", "100.00", "16.00"),
            ("Standard", "16", "12.50", "2.00"),
            ("Reduced", "8", "25.00", "2.00"),
            ("Zero-rated", "0", "40.00", "0.00"),
            ("Exempt", "0", "10.00", "0.00"),
        ],
    )
    ledger.refund(first, 0, "58.00")
    ledger.sale(utc("2026-06-10 07:00"), [("", "16", "50.00", "8.00")])
    ledger.sale(utc("2026-06-10 08:00"), [("16%", "16", "5.00", "0.80")])
    ledger.sale(utc("2026-06-10 21:30"), standard("1000.00", "160.00"))  # Jun 11, 00:30

    page = assert_csv_is_the_page(manager, "tax-summary", NAIROBI, **span("2026-06-10"))
    table, totals = page_table(page)
    assert [(r["tax_name"], r["rate"], r["net"], r["tax"], r["gross"]) for r in table] == [
        ("Exempt", "0", "10.00", "0.00", "10.00"),
        ("Zero-rated", "0", "40.00", "0.00", "40.00"),
        ("Reduced", "8", "25.00", "2.00", "27.00"),
        ("16%", "16", "55.00", "8.80", "63.80"),
        ("Standard", "16", "62.50", "10.00", "72.50"),
    ]
    assert (totals["net"], totals["tax"], totals["gross"]) == ("192.50", "20.80", "213.30")
    _, sales = page_table(report(manager, "sales-by-day", **span("2026-06-10")))
    assert sales["net"] == totals["gross"]
    _, pnl = page_table(report(manager, "profit-and-loss", **span("2026-06-10")))
    assert pnl["revenue"] == totals["net"]
    assert csv_rows(download(manager, "tax-summary", **span("2026-06-10"))) == [
        ["Tax", "Rate (%)", "Net", "Tax", "Gross"],
        ["Exempt", "0", "10.00", "0.00", "10.00"],
        ["Zero-rated", "0", "40.00", "0.00", "40.00"],
        ["Reduced", "8", "25.00", "2.00", "27.00"],
        ["16%", "16", "55.00", "8.80", "63.80"],
        ["Standard", "16", "62.50", "10.00", "72.50"],
        ["Total", "", "192.50", "20.80", "213.30"],
    ]
    bars = page.html.select("svg.chart rect.bar")
    assert {bar["data-label"]: bar["data-value"] for bar in bars}["Standard"] == "10.00"


def test_the_tax_summary_of_a_tax_inclusive_workspace_in_german(shop):
    """Shelf prices with tax (Berlin, euros, de_DE: 1.234,50). The tax in a price p at
    rate r is p x r / (100 + r), rounded to the cent; the net is the rest. One sale,
    and a refund of the 10,00 line:

        line            price      tax                                net
        Standard 19%   119.00     119.00 x 19/119  = 19.00            100.00
        Standard 19%    10.00      10.00 x 19/119  =  1.596.. = 1.60    8.40  refunded:
                                                                  tax 10 x 1.60/10 = 1.60
        Reduced 7%       5.00       5.00 x 7/107   =  0.327.. = 0.33    4.67
        Reduced 7%    1234.50    1234.50 x 7/107   = 80.761.. = 80.76 1153.74
        Zero-rated 0%    3.00       0.00                                 3.00

        row          net                         tax                  gross
        Zero-rated      3.00                      0.00                   3.00
        Reduced      4.67 + 1153.74 = 1158.41    0.33 + 80.76 = 81.09  1239.50
        Standard     100.00 + 8.40 - 8.40        19.00 + 1.60 - 1.60   119.00
        total        1261.41                     100.09                1361.50

    and the sale: 1371.50 less 10.00 refunded = 1361.50."""
    ledger, manager = shop(BERLIN, include_tax=True)
    sale = ledger.sale(
        utc("2026-06-10 10:00"),
        [
            ("Standard", "19", "100.00", "19.00"),
            ("Standard", "19", "8.40", "1.60"),
            ("Reduced", "7", "4.67", "0.33"),
            ("Reduced", "7", "1153.74", "80.76"),
            ("Zero-rated", "0", "3.00", "0.00"),
        ],
        include_tax=True,
    )
    ledger.refund(sale, 1, "10.00")
    page = assert_csv_is_the_page(manager, "tax-summary", BERLIN, **span("2026-06-10"))
    table, totals = page_table(page)
    assert [(r["tax_name"], r["rate"], r["net"], r["tax"], r["gross"]) for r in table] == [
        ("Zero-rated", "0", "3,00", "0,00", "3,00"),
        ("Reduced", "7", "1.158,41", "81,09", "1.239,50"),
        ("Standard", "19", "100,00", "19,00", "119,00"),
    ]
    assert (totals["net"], totals["tax"], totals["gross"]) == ("1.261,41", "100,09", "1.361,50")
    assert page.html.select_one("[data-testid=range]").get_text() == "10.06.2026 to 10.06.2026"
    # the CSV is the same in every locale: plain decimals
    assert csv_rows(download(manager, "tax-summary", **span("2026-06-10"))) == [
        ["Tax", "Rate (%)", "Net", "Tax", "Gross"],
        ["Zero-rated", "0", "3.00", "0.00", "3.00"],
        ["Reduced", "7", "1158.41", "81.09", "1239.50"],
        ["Standard", "19", "100.00", "19.00", "119.00"],
        ["Total", "", "1261.41", "100.09", "1361.50"],
    ]
    _, sales = page_table(report(manager, "sales-by-day", **span("2026-06-10")))
    assert (sales["gross"], sales["refunds"], sales["net"]) == ("1.371,50", "10,00", "1.361,50")
    bar = page.html.select_one('svg.chart rect.bar[data-label="Reduced"]')
    assert bar["data-value"] == "81.09"  # for machines; people read the title
    assert bar.title.get_text() == "Reduced: 81,09"


def test_two_people_of_one_name_are_two_rows(shop, make_user):
    ledger, manager = shop(NAIROBI)
    for username in ("carl", "carl2"):
        make_user(ledger.tenant, ("Cashiers",), username=username, full_name="Carl Cashier")
    ledger.sale(utc("2026-06-10 06:00"), standard("10.00", "1.60"), by="carl")  # 11.60
    ledger.sale(utc("2026-06-10 07:00"), standard("20.00", "3.20"), by="carl2")  # 23.20
    ledger.sale(utc("2026-06-10 08:00"), standard("5.00", "0.80"), by="carl2")  # 5.80
    page = assert_csv_is_the_page(manager, "sales-by-cashier", NAIROBI, **span("2026-06-10"))
    table, totals = page_table(page)
    assert [(r["cashier"], r["sales"], r["net"]) for r in table] == [
        ("Carl Cashier (carl)", "1", "11.60"),
        ("Carl Cashier (carl2)", "2", "29.00"),
    ]
    assert totals["net"] == "40.60"
    ledger.shift("Till 1", utc("2026-06-10 05:00"), utc("2026-06-10 09:00"), by="carl")
    ledger.shift("Till 2", utc("2026-06-10 05:00"), utc("2026-06-10 10:00"), by="carl2")
    ledger.shift("Till 3", utc("2026-06-10 11:00"), utc("2026-06-10 12:00"), by="carl2")
    table, _ = page_table(report(manager, "shifts-by-cashier", **span("2026-06-10")))
    assert [(r["cashier"], r["shifts"]) for r in table] == [
        ("Carl Cashier (carl)", "1"),
        ("Carl Cashier (carl2)", "2"),
    ]
    table, _ = page_table(report(manager, "shifts", **span("2026-06-10")))
    assert [r["cashier"] for r in table] == [
        "Carl Cashier (carl)",
        "Carl Cashier (carl2)",
        "Carl Cashier (carl2)",
    ]


def test_the_default_range_ends_on_the_workspaces_today(shop):
    ledger, manager = shop(NAIROBI)
    today = NAIROBI.today()
    month = (today - dt.timedelta(days=29)).isoformat()
    start, _ = NAIROBI.day_range(today)
    ledger.sale(start + dt.timedelta(minutes=1), standard("10.00", "1.60"))  # today, 00:01
    ledger.sale(start - dt.timedelta(minutes=1), standard("20.00", "3.20"))  # yesterday, 23:59
    page = report(manager, "sales-by-day")
    assert page.html.select_one("input#to")["value"] == today.isoformat()
    assert page.html.select_one("input#from")["value"] == month
    table, totals = page_table(page)
    assert table[-1]["day"] == NAIROBI.day(today)
    assert table[-1]["net"] == "11.60"
    assert table[-2]["day"] == NAIROBI.day(today - dt.timedelta(days=1))
    assert table[-2]["net"] == "23.20"
    disposition = download(manager, "sales-by-day").headers["Content-Disposition"]
    assert f'filename="sales-by-day-{month}-to-{today.isoformat()}.csv"' in disposition
    assert D(totals["net"]) == D("34.80")
