"""Reading a report as a person would: its page's table (rows and totals row, by
column) and its CSV file (and that both carry the same figures, the page in the
workspace's locale and zone, the CSV plain); and the figures the reports must show,
computed in Python from the rows the tests wrote (never by the reports' own SQL), in
the workspace's zone."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from salesapp.localization import Local
from salesapp.reports.definitions import REPORTS, shown

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


#: how the CSV writes a number: a plain decimal, a point and no grouping
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def local_day(moment: dt.datetime, zone: str = "UTC") -> dt.date:
    """The day an instant falls on in ``zone`` (the workspace's)."""
    return moment.astimezone(ZoneInfo(zone)).date()


def tax_label(line) -> str:
    """What the tax summary calls a line's rate: its name, else its percentage."""
    return line.tax_name or f"{line.tax_rate.normalize():f}%"


def read_cell(text: str, kind: str):
    """A CSV cell back as the value it was written from."""
    if text == "":
        return None
    if kind == "day":
        return dt.date.fromisoformat(text)
    if kind == "when":
        moment = dt.datetime.fromisoformat(text)
        assert moment.utcoffset() is not None, f"{text} has no offset"
        return moment
    if kind == "count":
        return int(text)
    if kind in ("money", "quantity", "rate"):
        assert PLAIN_NUMBER.fullmatch(text), f"{text!r} is not a plain decimal"
        return Decimal(text)
    return text


def assert_same_figures(name: str, csv_cells: list[list[str]], page: list[list[str]], local):
    """The CSV file has the page's rows and the same figures, cell for cell: each CSV
    cell read back and shown as the page shows it (``local``: the workspace's) is the
    page's cell."""
    report = REPORTS[name]
    assert csv_cells[0] == page[0] == [column.label for column in report.columns]
    assert len(csv_cells) == len(page)
    for written_row, shown_row in zip(csv_cells[1:], page[1:], strict=True):
        for column, text, seen in zip(report.columns, written_row, shown_row, strict=True):
            if text == "Total" and column is report.columns[0]:
                assert seen == "Total"
                continue
            assert shown(read_cell(text, column.kind), column.kind, local) == seen, (
                column.key,
                text,
                seen,
            )


def local_of(zone: str = "UTC", locale: str = "en_US", currency: str = "USD") -> Local:
    return Local(zone, locale, currency)


def page_table(page) -> tuple[list[dict], dict]:
    """The report table's rows ({column key: text}) and its totals row."""
    table = page.html.select_one("[data-testid=report-table]")
    assert table is not None, page.text[:2000]
    rows = [
        {td["data-col"]: td.get_text(strip=True) for td in tr.select("td[data-col]")}
        for tr in table.tbody.select("tr")
    ]
    totals = {c["data-col"]: c.get_text(strip=True) for c in table.tfoot.select("[data-col]")}
    return [row for row in rows if row], totals


def page_cells(page) -> list[list[str]]:
    """Every row of the table as the text of its cells, the header and totals included."""
    table = page.html.select_one("[data-testid=report-table]")
    return [
        [c.get_text(strip=True) for c in tr.select("th, td")]
        for tr in table.select("thead tr, tbody tr, tfoot tr")
    ]


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


def expected(sales, lines, refund_lines, date_from, date_to, location_id=None, zone="UTC") -> dict:
    """What every dated report must show for these rows, computed line by line, the
    days being ``zone``'s."""
    chosen = {
        sale.id: sale
        for sale in sales
        if sale.status != "voided"
        and date_from <= local_day(sale.created_at, zone) <= date_to
        and (location_id is None or sale.location_id == location_id)
    }
    refunded = defaultdict(Decimal)  # sale line id -> amount refunded (stored)
    for refund_line in refund_lines:
        refunded[refund_line.sale_line_id] += refund_line.amount
    out = {
        "sales": len(chosen),
        "gross": sum((s.total for s in chosen.values()), ZERO),
        "refunds": ZERO,
        "revenue": ZERO,
        "cost": ZERO,
        "by_day": defaultdict(lambda: {"sales": 0, "gross": ZERO, "refunds": ZERO}),
        # (name or percentage, rate) -> [net, tax]
        "by_rate": defaultdict(lambda: [ZERO, ZERO]),
        "by_product": defaultdict(lambda: {"gross": ZERO, "refunds": ZERO, "sales": set()}),
        "by_user": defaultdict(lambda: {"sales": 0, "gross": ZERO, "refunds": ZERO}),
        "by_location": defaultdict(lambda: {"sales": 0, "gross": ZERO, "refunds": ZERO}),
    }
    for sale in chosen.values():
        for key, group in (
            (local_day(sale.created_at, zone), "by_day"),
            (sale.user_id, "by_user"),
            (sale.location_id, "by_location"),
        ):
            out[group][key]["sales"] += 1
            out[group][key]["gross"] += sale.total
    for line in lines:
        sale = chosen.get(line.sale_id)
        if sale is None:
            continue
        back = refunded[line.id]
        refund_tax = cents(back * line.tax_amount / line.line_total) if line.line_total else ZERO
        kept_net = line.line_total - line.tax_amount - (back - refund_tax)
        kept_tax = line.tax_amount - refund_tax
        out["refunds"] += back
        out["revenue"] += kept_net
        out["cost"] += cents(line.unit_cost * (line.quantity - line.refunded_quantity))
        out["by_rate"][tax_label(line), line.tax_rate][0] += kept_net
        out["by_rate"][tax_label(line), line.tax_rate][1] += kept_tax
        product = out["by_product"][line.product_id]
        product["gross"] += line.line_total
        product["refunds"] += back
        product["sales"].add(sale.id)
        for key, group in (
            (local_day(sale.created_at, zone), "by_day"),
            (sale.user_id, "by_user"),
            (sale.location_id, "by_location"),
        ):
            out[group][key]["refunds"] += back
    out["net"] = out["gross"] - out["refunds"]
    return out
