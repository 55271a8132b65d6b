"""Reading a report as a person would: its page's table (rows and totals row, by
column) and its CSV file; and the figures the reports must show, computed in Python
from the rows the tests wrote (never by the reports' own SQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def utc_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


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


def expected(sales, lines, refund_lines, date_from, date_to, location_id=None) -> dict:
    """What every dated report must show for these rows, computed line by line."""
    chosen = {
        sale.id: sale
        for sale in sales
        if sale.status != "voided"
        and date_from <= utc_day(sale.created_at) <= date_to
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
        "by_rate": defaultdict(lambda: [ZERO, ZERO]),  # rate -> [taxable net, tax]
        "by_product": defaultdict(lambda: {"gross": ZERO, "refunds": ZERO, "sales": set()}),
        "by_user": defaultdict(lambda: {"sales": 0, "gross": ZERO, "refunds": ZERO}),
        "by_location": defaultdict(lambda: {"sales": 0, "gross": ZERO, "refunds": ZERO}),
    }
    for sale in chosen.values():
        for key, group in (
            (utc_day(sale.created_at), "by_day"),
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
        out["by_rate"][line.tax_rate][0] += kept_net
        out["by_rate"][line.tax_rate][1] += kept_tax
        product = out["by_product"][line.product_id]
        product["gross"] += line.line_total
        product["refunds"] += back
        product["sales"].add(sale.id)
        for key, group in (
            (utc_day(sale.created_at), "by_day"),
            (sale.user_id, "by_user"),
            (sale.location_id, "by_location"),
        ):
            out[group][key]["refunds"] += back
    out["net"] = out["gross"] - out["refunds"]
    return out
