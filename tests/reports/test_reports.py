"""Reports against the books: every report's rows and totals, to the cent, against
figures worked out by hand for the sales and expenses the test writes (and computed
again in Python from the stored rows), the CSV files against the pages, date ranges
and locations, refused filters, and who may see reports. The reports against the books
in a pooled and in a dedicated tenant (a pooled store holds other tenants' rows too);
the rest, which the placement cannot change, in one placement.

These books are kept in a workspace whose zone is UTC (set explicitly by open_books), in
en_US: its days are UTC days and the page shows days as "Dec 1, 2026". Other zones, a
day's edges and DST are tests/reports/test_local_days.py's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from salesapp.localization import Local
from salesapp.reports.definitions import REPORTS
from tests.reports.conftest import Books
from tests.reports.support import (
    assert_same_figures,
    csv_rows,
    expected,
    page_cells,
    page_table,
)

#: the books' workspace: UTC, en_US, dollars (open_books sets the zone)
UTC = Local("UTC", "en_US", "USD")
TODAY = UTC.today()
LONG_AGO = TODAY - dt.timedelta(days=40)
LAST_30 = {"from": (TODAY - dt.timedelta(days=29)).isoformat(), "to": TODAY.isoformat()}


@pytest.fixture(scope="module", autouse=True)
def today():
    """The day as it is when this module's books are made, not when the suite was
    collected: a suite running across midnight would date the sales a day after
    TODAY. (Autouse and module-scoped: it runs before the module's other fixtures.)"""
    global TODAY, LONG_AGO, LAST_30
    TODAY = UTC.today()
    LONG_AGO = TODAY - dt.timedelta(days=40)
    LAST_30 = {"from": (TODAY - dt.timedelta(days=29)).isoformat(), "to": TODAY.isoformat()}
    return TODAY


def report(client, name, status=200, **query):
    return client.get(f"/reports/{name}", params=query, status=status)


def download(client, name, status=200, **query):
    return client.get(f"/reports/{name}.csv", params=query, status=status)


def write_books(books, make_user):
    """Five products, five sales today (a line discount, a partial refund, a full
    refund in two steps, a voided sale, a fractional quantity), one sale 40 days ago,
    and three expenses (one 40 days ago)."""
    make_user(books.tenant, ("Cashiers",), username="carol", full_name="Carol Till")
    p = {
        "A": books.add_product("A", "2.50", tax="16", cost="1.20", stock="100"),
        "B": books.add_product("B", "10.00", tax="0", cost="6.35", stock="100"),
        "C": books.add_product("C", "0.35", tax="7.5", cost="0.10", stock="100"),
        "D": books.add_product("D", "19.99", tax="16", cost="12.00", stock="50"),
        "E": books.add_product("E", "3.99", tax="0", cost="1.33", stock="20"),
    }
    books.sell([(p["A"], "3", "0.50"), (p["B"], "1")])  # 8.12 + 10.00
    s2 = books.sell([(p["C"], "7"), (p["D"], "2")], by="carol")  # 2.63 + 46.38
    assert books.refund(s2, {0: "3", 1: "1"}) == D("24.32")  # 1.13 + 23.19
    s3 = books.sell([(p["A"], "1"), (p["D"], "1")], by="carol")  # 2.90 + 23.19
    assert books.refund(s3, {0: "1"}) == D("2.90")
    assert books.refund(s3, {1: "1"}) == D("23.19")
    books.void(books.sell([(p["B"], "2")]))
    books.sell([(p["A"], "5"), (p["C"], "1", "0.05"), (p["E"], "1.5")])  # 14.50+0.32+5.99
    old = books.sell([(p["B"], "1")])
    books.backdate(old, dt.datetime.combine(LONG_AGO, dt.time(12), dt.UTC))
    books.expense("Rent", "100.00", TODAY)
    books.expense("Supplies", "12.34", TODAY - dt.timedelta(days=1))
    books.expense("Rent", "50.00", LONG_AGO)
    return p


def open_books(staff, app_engine, owner_engine, make_user, placement):
    """(Books with write_books' sales and expenses, the manager's client, products)."""
    tenant, clients = staff(placement, roles=("Managers",))
    books = Books(tenant, app_engine(tenant.store_name, pool_size=2), owner_engine)
    books.set_zone("UTC")
    products = write_books(books, make_user)
    return books, clients["Managers"], products


@pytest.fixture
def books_and_manager(staff, app_engine, owner_engine, make_user):
    """A pooled tenant's books (see write_books)."""
    return open_books(staff, app_engine, owner_engine, make_user, "pooled")


@pytest.fixture(params=["pooled", "dedicated"])
def books_and_manager_per_placement(request, staff, app_engine, owner_engine, make_user):
    """The same books in a pooled and in a dedicated tenant."""
    return open_books(staff, app_engine, owner_engine, make_user, request.param)


def assert_csv_matches_page(client, name, local=UTC, **query):
    """The CSV has the page's header, rows and totals row, cell for cell: the same
    figures, the page's as ``local`` (the workspace's) shows them, the CSV's plain."""
    page = report(client, name, **query)
    response = download(client, name, **query)
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert_same_figures(name, csv_rows(response), page_cells(page), local)
    return page


def test_every_report_agrees_with_the_books_to_the_cent(books_and_manager_per_placement):
    books, manager, products = books_and_manager_per_placement
    rows = books.rows()
    books_now = expected(*rows, TODAY - dt.timedelta(days=29), TODAY)
    # worked out by hand (see write_books); the Python computation must agree
    assert (books_now["sales"], books_now["gross"], books_now["refunds"]) == (
        4,
        D("114.03"),
        D("50.41"),
    )
    assert (books_now["revenue"], books_now["cost"]) == (D("57.18"), D("30.45"))

    # sales by day: every day of the range, the totals row, the CSV
    page = assert_csv_matches_page(manager, "sales-by-day", **LAST_30)
    table, totals = page_table(page)
    assert totals == {
        "day": "Total",
        "sales": "4",
        "gross": "114.03",
        "refunds": "50.41",
        "net": "63.62",
    }
    assert len(table) == 30 and table[-1]["day"] == UTC.day(TODAY)
    assert table[-1] == {**totals, "day": UTC.day(TODAY)}
    assert all(row["sales"] == "0" and row["net"] == "0.00" for row in table[:-1])

    # sales by product
    table, totals = page_table(assert_csv_matches_page(manager, "sales-by-product", **LAST_30))
    by_sku = {row["sku"]: row for row in table}
    assert {
        sku: (r["sales"], r["quantity"], r["gross"], r["refunds"], r["net"])
        for sku, r in by_sku.items()
    } == {
        "A": ("3", "8", "25.52", "2.90", "22.62"),
        "B": ("1", "1", "10.00", "0.00", "10.00"),
        "C": ("2", "5", "2.95", "1.13", "1.82"),
        "D": ("2", "1", "69.57", "46.38", "23.19"),
        "E": ("1", "1.5", "5.99", "0.00", "5.99"),
    }
    for sku, product_id in products.items():
        figures = books_now["by_product"][product_id]
        assert by_sku[sku]["gross"] == str(figures["gross"])
        assert by_sku[sku]["refunds"] == str(figures["refunds"])
        assert by_sku[sku]["sales"] == str(len(figures["sales"]))
    assert [row["sku"] for row in table] == ["D", "A", "B", "E", "C"]  # best net first
    assert totals == {
        "sku": "Total",
        "product": "",
        "sales": "4",
        "quantity": "16.5",
        "gross": "114.03",
        "refunds": "50.41",
        "net": "63.62",
    }

    # sales by cashier: named with their username (two people may share a name)
    table, totals = page_table(assert_csv_matches_page(manager, "sales-by-cashier", **LAST_30))
    assert {
        row["cashier"]: (row["sales"], row["gross"], row["refunds"], row["net"]) for row in table
    } == {
        "Carol Till (carol)": ("2", "75.10", "50.41", "24.69"),
        "Administrator (admin)": ("2", "38.93", "0.00", "38.93"),
    }
    assert totals["net"] == "63.62" and totals["sales"] == "4"

    # sales by location: one location, all of it
    table, totals = page_table(assert_csv_matches_page(manager, "sales-by-location", **LAST_30))
    assert table == [{**totals, "location": "Main"}]
    assert (totals["sales"], totals["gross"], totals["refunds"]) == ("4", "114.03", "50.41")

    # profit and loss
    table, totals = page_table(assert_csv_matches_page(manager, "profit-and-loss", **LAST_30))
    assert totals == {
        "day": "Total",
        "revenue": "57.18",
        "cost": "30.45",
        "gross_profit": "26.73",
        "expenses": "112.34",
        "net_profit": "-85.61",
    }
    assert table[-1] == {
        "day": UTC.day(TODAY),
        "revenue": "57.18",
        "cost": "30.45",
        "gross_profit": "26.73",
        "expenses": "100.00",
        "net_profit": "-73.27",
    }
    assert table[-2]["expenses"] == "12.34" and table[-2]["net_profit"] == "-12.34"
    assert D(totals["revenue"]) == books_now["revenue"]
    assert D(totals["cost"]) == books_now["cost"]

    # tax summary: net + tax = gross per rate; revenue + tax collected = net sales, to
    # the cent. The products were made with percentages only: the first sale named them
    # (salesapp.taxes: the highest is Standard, the next Reduced, 0% Zero-rated)
    table, totals = page_table(assert_csv_matches_page(manager, "tax-summary", **LAST_30))
    assert [(r["tax_name"], r["rate"], r["net"], r["tax"], r["gross"]) for r in table] == [
        ("Zero-rated", "0", "15.99", "0.00", "15.99"),
        ("Reduced", "7.5", "1.70", "0.12", "1.82"),
        ("Standard", "16", "39.49", "6.32", "45.81"),
    ]
    for (label, _rate), (net, tax) in books_now["by_rate"].items():
        row = next(r for r in table if r["tax_name"] == label)
        assert (row["net"], row["tax"]) == (str(net), str(tax))
    assert totals == {
        "tax_name": "Total",
        "rate": "",
        "net": "57.18",
        "tax": "6.44",
        "gross": "63.62",
    }
    assert D(totals["net"]) + D(totals["tax"]) == books_now["net"]

    # stock valuation, as of now
    table, totals = page_table(assert_csv_matches_page(manager, "stock-valuation"))
    assert {row["sku"]: (row["on_hand"], row["cost"], row["value"]) for row in table} == {
        "A": ("92", "1.20", "110.40"),
        "B": ("98", "6.35", "622.30"),
        "C": ("95", "0.10", "9.50"),
        "D": ("49", "12.00", "588.00"),
        "E": ("18.5", "1.33", "24.61"),  # 24.605 rounds half up
    }
    for sku, product_id in products.items():
        assert D(by_row(table, sku)["on_hand"]) == books.on_hand(product_id)
    assert totals["value"] == "1,354.81"  # en_US groups thousands (the CSV: 1354.81)


def by_row(table, sku):
    return next(row for row in table if row["sku"] == sku)


def test_date_ranges_leave_out_what_is_outside_them(books_and_manager):
    books, manager, _ = books_and_manager
    # the default range is the last 30 days: the sale and the expense of 40 days ago
    # are not in it
    _, totals = page_table(report(manager, "sales-by-day"))
    assert (totals["sales"], totals["gross"]) == ("4", "114.03")
    _, totals = page_table(report(manager, "profit-and-loss"))
    assert totals["expenses"] == "112.34"

    # a range over that day takes them in
    wide = {"from": LONG_AGO.isoformat(), "to": TODAY.isoformat()}
    table, totals = page_table(report(manager, "sales-by-day", **wide))
    assert len(table) == 41
    assert table[0] == {
        "day": UTC.day(LONG_AGO),
        "sales": "1",
        "gross": "10.00",
        "refunds": "0.00",
        "net": "10.00",
    }
    assert (totals["sales"], totals["gross"], totals["net"]) == ("5", "124.03", "73.62")
    all_rows = expected(*books.rows(), LONG_AGO, TODAY)
    assert D(totals["gross"]) == all_rows["gross"] and D(totals["refunds"]) == all_rows["refunds"]
    _, totals = page_table(report(manager, "profit-and-loss", **wide))
    assert (totals["revenue"], totals["cost"], totals["expenses"]) == (
        "67.18",
        "36.80",
        "162.34",
    )

    # that one day alone: only the old sale and the old expense
    day = {"from": LONG_AGO.isoformat(), "to": LONG_AGO.isoformat()}
    table, totals = page_table(report(manager, "sales-by-product", **day))
    assert [(row["sku"], row["net"]) for row in table] == [("B", "10.00")]
    _, totals = page_table(report(manager, "profit-and-loss", **day))
    assert (totals["revenue"], totals["expenses"], totals["net_profit"]) == (
        "10.00",
        "50.00",
        "-46.35",
    )
    # yesterday: no sales at all, one expense
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    table, totals = page_table(
        report(manager, "tax-summary", **{"from": yesterday, "to": yesterday})
    )
    assert table == [] and totals["tax"] == "0.00"
    _, totals = page_table(
        report(manager, "profit-and-loss", **{"from": yesterday, "to": yesterday})
    )
    assert totals["expenses"] == "12.34"


def test_the_sales_by_day_chart_has_a_bar_per_day(books_and_manager):
    _, manager, _ = books_and_manager
    page = report(manager, "sales-by-day", **LAST_30)
    svg = page.html.select_one('svg[aria-label="Sales by day chart"]')
    assert svg is not None and svg["role"] == "img"
    bars = svg.select("rect.bar")
    assert len(bars) == 30
    assert bars[-1]["data-value"] == "63.62"
    assert bars[-1]["data-label"] == UTC.day(TODAY)
    assert bars[-1].title.get_text() == f"{UTC.day(TODAY)}: 63.62"
    assert float(bars[-1]["height"]) > 0
    assert {bar["data-value"] for bar in bars[:-1]} == {"0.00"}
    # the profit and loss chart: the statement's five figures, the loss below zero
    svg = report(manager, "profit-and-loss", **LAST_30).html.select_one("svg.chart")
    values = {bar["data-label"]: bar["data-value"] for bar in svg.select("rect.bar")}
    assert values == {
        "Revenue": "57.18",
        "Cost of goods sold": "30.45",
        "Gross profit": "26.73",
        "Expenses": "112.34",
        "Net profit": "-85.61",
    }
    assert svg.select("rect.bar.neg")[0]["data-label"] == "Net profit"


@pytest.fixture
def two_locations_books(staff, app_engine, owner_engine):
    """A multi-location tenant: Main and Harbour, each with its sales and expenses."""
    tenant, clients = staff("pooled", roles=("Managers",), multi_location=True)
    books = Books(tenant, app_engine(tenant.store_name, pool_size=2), owner_engine)
    books.set_zone("UTC")
    main = books.location_id()
    harbour = books.add_location("Harbour")
    tea = books.add_product("TEA", "4.00", tax="10", cost="2.00", stock="10")
    books.receive(tea, "30", harbour)
    books.sell([(tea, "2")], location_id=main)  # 8.80
    books.sell([(tea, "5")], location_id=harbour)  # 22.00
    partly = books.sell([(tea, "3")], location_id=harbour)  # 13.20
    assert books.refund(partly, {0: "1"}) == D("4.40")
    books.expense("Rent", "300.00", TODAY, location_id=harbour)
    books.expense("Rent", "200.00", TODAY, location_id=main)
    return books, clients, main, harbour


def test_the_location_filter_in_a_multi_location_tenant(two_locations_books):
    books, clients, main, harbour = two_locations_books
    manager = clients["Managers"]
    page = report(manager, "sales-by-location", **LAST_30)
    table, totals = page_table(page)
    assert {
        row["location"]: (row["sales"], row["gross"], row["refunds"], row["net"]) for row in table
    } == {
        "Harbour": ("2", "35.20", "4.40", "30.80"),
        "Main": ("1", "8.80", "0.00", "8.80"),
    }
    assert totals["net"] == "39.60"
    options = [o.get_text(strip=True) for o in page.html.select("select#location option")]
    assert options == ["All locations", "Harbour", "Main"]

    at_harbour = {**LAST_30, "location": str(harbour)}
    page = assert_csv_matches_page(manager, "sales-by-day", **at_harbour)
    assert page.html.select_one("select#location option[selected]")["value"] == str(harbour)
    _, totals = page_table(page)
    assert (totals["sales"], totals["net"]) == ("2", "30.80")
    harbour_rows = expected(*books.rows(), TODAY - dt.timedelta(days=29), TODAY, harbour)
    assert D(totals["gross"]) == harbour_rows["gross"]
    disposition = download(manager, "sales-by-day", **at_harbour).headers["Content-Disposition"]
    assert f'filename="sales-by-day-{LAST_30["from"]}-to-{TODAY.isoformat()}-Harbour.csv"' in (
        disposition
    )

    _, totals = page_table(report(manager, "profit-and-loss", **at_harbour))
    # revenue: 20.00 + 12.00 - 4.00 refunded (its tax part 0.40); cost: 7 kept x 2.00
    assert (totals["revenue"], totals["cost"], totals["expenses"], totals["net_profit"]) == (
        "28.00",
        "14.00",
        "300.00",
        "-286.00",
    )
    _, totals = page_table(report(manager, "profit-and-loss", **LAST_30, location=str(main)))
    assert (totals["revenue"], totals["expenses"]) == ("8.00", "200.00")

    table, totals = page_table(report(manager, "stock-valuation", location=str(harbour)))
    assert table == [
        {"sku": "TEA", "product": "Item TEA", "on_hand": "23", "cost": "2.00", "value": "46.00"}
    ]
    _, totals = page_table(report(manager, "stock-valuation"))
    assert totals["value"] == "62.00"  # 30 - 5 - 3 + 1 at Harbour, 10 - 2 at Main: 31 x 2.00


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-13-01"}, "From must be a date written YYYY-MM-DD"),
        ({"from": "yesterday"}, "got 'yesterday'"),
        ({"to": "20260101"}, "To must be a date written YYYY-MM-DD"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "To (2026-03-01) is before From (2026-03-02)"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "a report covers at most 366 days"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "From must not be before 1900-01-01"),
        ({"to": "9999-12-31"}, "To must not be after 2999-12-31"),
        ({"location": "not-an-id"}, "Location is not a valid id"),
        (
            {"location": "0190f0f0-0000-7000-8000-000000000000"},
            "Location is not one of this workspace's locations",
        ),
    ],
)
def test_bad_filters_are_a_400_with_the_reason(staff, query, message):
    _, clients = staff("pooled", roles=("Managers",))
    manager = clients["Managers"]
    page = report(manager, "sales-by-day", status=400, **query)
    assert message in page.html.select_one("[role=alert]").get_text()
    assert page.html.select_one("[data-testid=report-table]") is None
    response = download(manager, "sales-by-day", status=400, **query)
    assert response.content_type == "text/plain" and message in response.text


def test_the_longest_range_is_366_days_and_another_tenants_location_is_unknown(staff):
    _, clients = staff("pooled", roles=("Managers",))
    manager = clients["Managers"]
    table, _ = page_table(
        report(manager, "sales-by-day", **{"from": "2024-01-01", "to": "2024-12-31"})
    )
    assert len(table) == 366
    _other, other_clients = staff("dedicated", roles=("Admin",), multi_location=True)
    other_page = report(other_clients["Admin"], "sales-by-location", **LAST_30)
    main_id = other_page.html.select_one("select#location option[value!='']")["value"]
    report(manager, "tax-summary", status=400, location=main_id)


def test_an_unknown_report_is_a_404(staff):
    _, clients = staff("dedicated", roles=("Admin",))
    for path in ("/reports/sales-by-weather", "/reports/sales-by-weather.csv", "/reports/x.csv"):
        clients["Admin"].get(path, status=404)


def test_the_index_lists_every_report_for_managers_and_admin(staff):
    _, clients = staff("pooled", roles=("Managers", "Admin"))
    for role in ("Managers", "Admin"):
        page = clients[role].get("/reports")
        links = {li["data-report"]: li.a["href"] for li in page.html.select("li[data-report]")}
        assert set(links) == set(REPORTS) and len(links) == 11
        assert "Reports" in page.html.select_one("nav.menu").get_text()
        for name, href in links.items():
            assert href.endswith(f"/reports/{name}")
            shown = clients[role].get(href)
            assert shown.html.select_one("svg.chart") is not None
            csv_link = shown.html.select_one("[data-testid=csv]")["href"]
            assert f"/reports/{name}.csv" in csv_link
            assert clients[role].get(csv_link).content_type == "text/csv"


def test_cashiers_get_403_and_visitors_must_sign_in_on_every_report(staff, client_for):
    tenant, clients = staff("pooled", roles=("Cashiers",))
    anonymous = client_for(tenant)
    for path in ("/reports", "/reports/sales-by-day", "/reports/sales-by-day.csv"):
        assert anonymous.get(path, status=302).location.endswith("/login")
    cashier = clients["Cashiers"]
    assert "Reports" not in cashier.get("/").html.select_one("nav.menu").get_text()
    cashier.get("/reports", status=403)
    for name in REPORTS:
        cashier.get(f"/reports/{name}", status=403)
        cashier.get(f"/reports/{name}.csv", status=403)
        cashier.get(f"/reports/{name}.csv", params={"from": "bad"}, status=403)
