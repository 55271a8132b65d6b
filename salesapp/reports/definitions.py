"""What each report is: its URL name, title, columns, chart and the notes that say how
its figures are counted. The page, the CSV file and the index all read from here.

A value is written two ways from the same figure: ``shown`` for people (the page and the
chart: the workspace's locale, dates and times in its zone) and ``written`` for machines
(the CSV: plain decimals, ISO dates, ISO 8601 times with the zone's offset). Both read
the same row, so the page and the CSV always carry the same numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ..formatting import quantity
from ..localization import PLAIN, Local
from .services import ReportResult

CHART_TOP = 20  # bars in a chart of products: the first 20 (the table has them all)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, day, when, count, money, quantity, rate

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "day", "when")


@dataclass(frozen=True)
class Report:
    name: str  # in the URL: /reports/<name>
    title: str
    summary: str
    method: str  # the ReportService method
    columns: tuple[Column, ...]
    #: (result, local) -> (bar labels as shown, bar values)
    chart: Callable[[ReportResult, Local], tuple[list[str], list[Decimal]]]
    chart_caption: str
    notes: tuple[str, ...] = ()
    dated: bool = True  # False: as of now, only the location filter applies


def shown(value, kind: str, local: Local = PLAIN) -> str:
    """A value as the page (and the chart) shows it: numbers in the workspace's
    locale, days and times in its zone."""
    if value is None:
        return ""
    if kind == "day":
        return local.day(value)
    if kind == "when":
        return local.when(value)
    if kind == "money":
        return local.money(value)
    if kind in ("count", "quantity", "rate"):
        return local.number(value)
    return str(value)


def written(value, kind: str, local: Local = PLAIN) -> str:
    """A value as the CSV file writes it, for machines: no locale (plain decimal
    strings, a point, no grouping; money with the currency's decimals), days as
    YYYY-MM-DD and times as ISO 8601 with the zone's offset."""
    if value is None:
        return ""
    if kind == "day":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == "when":
        return local.iso(value)
    if kind == "quantity":
        return quantity(value)
    if kind == "money":
        return format(local.round_money(value), "f")
    if kind == "rate":
        return quantity(value)
    return str(value)


def _by(label_key: str, value_key: str, label_kind: str = "text", top: int | None = None):
    def chart(result: ReportResult, local: Local):
        rows = result.rows
        if top is not None:
            rows = sorted(rows, key=lambda row: -row[value_key])[:top]
        labels = [shown(row[label_key], label_kind, local) for row in rows]
        return labels, [row[value_key] for row in rows]

    return chart


def _statement(result: ReportResult, local: Local):
    totals = result.totals
    names = (
        ("Revenue", "revenue"),
        ("Cost of goods sold", "cost"),
        ("Gross profit", "gross_profit"),
        ("Expenses", "expenses"),
        ("Net profit", "net_profit"),
    )
    return [label for label, _ in names], [totals[key] for _, key in names]


LOCAL_DAYS = (
    "Days are the workspace's days, in its time zone (Settings); both ends of the range "
    "are included. The CSV file writes times in ISO 8601 with the zone's offset and "
    "numbers as plain decimals."
)
SALES_NOTES = (
    LOCAL_DAYS,
    "Voided sales are left out.",
    "Refunds are counted by sale date: a refund counts with the sale it refunds, on the "
    "day of that sale, even when it was made later. Net = gross - refunds.",
)
SALES_COLUMNS = (
    Column("sales", "Sales", "count"),
    Column("gross", "Gross", "money"),
    Column("refunds", "Refunds", "money"),
    Column("net", "Net", "money"),
)


def _shift_bars(result: ReportResult, local: Local):
    """Over/short per shift, each bar named by its register and local close time."""
    labels = [f"{row['register']} {local.when(row['closed'])}" for row in result.rows]
    return labels, [row["over_short"] for row in result.rows]


SHIFT_NOTES = (
    LOCAL_DAYS,
    "A shift counts on the day it was closed; open shifts are left out until closed.",
    "Over/short = counted - expected, per method: above 0 the drawer (or terminal) held "
    "more than expected, below 0 less. A method not counted at the close has no "
    "over/short and adds nothing to the total.",
    "Expected cash is fixed at the close: float + cash sales less change - cash refunds "
    "+ cash in - cash out. Expected card and mobile money are what the shift's sales took "
    "by them less what its refunds paid back by them.",
)
SHIFT_FIGURES = (
    Column("shifts", "Shifts", "count"),
    Column("expected", "Expected cash", "money"),
    Column("counted", "Counted cash", "money"),
    Column("cash_over_short", "Cash over/short", "money"),
    Column("card_over_short", "Card over/short", "money"),
    Column("mobile_over_short", "Mobile money over/short", "money"),
    Column("over_short", "Over/short", "money"),
)

REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report(
            name="sales-by-day",
            title="Sales by day",
            summary="Number of sales, gross, refunds and net for each day.",
            method="sales_by_day",
            columns=(Column("day", "Day", "day"), *SALES_COLUMNS),
            chart=_by("day", "net", "day"),
            chart_caption="Net sales per day.",
            notes=SALES_NOTES,
        ),
        Report(
            name="sales-by-product",
            title="Sales by product",
            summary="What each product sold: quantity, gross, refunds and net.",
            method="sales_by_product",
            columns=(
                Column("sku", "SKU"),
                Column("product", "Product"),
                Column("sales", "Sales", "count"),
                Column("quantity", "Quantity", "quantity"),
                *SALES_COLUMNS[1:],
            ),
            chart=_by("product", "net", top=CHART_TOP),
            chart_caption=f"Net sales of the {CHART_TOP} best-selling products.",
            notes=(
                *SALES_NOTES,
                "Sales counts the sales a product was in; the total counts each sale once. "
                "Quantity is what was sold less what was refunded.",
            ),
        ),
        Report(
            name="sales-by-cashier",
            title="Sales by cashier",
            summary="Number of sales, gross, refunds and net of each person who sold.",
            method="sales_by_cashier",
            columns=(Column("cashier", "Cashier"), *SALES_COLUMNS),
            chart=_by("cashier", "net"),
            chart_caption="Net sales per cashier.",
            notes=(
                *SALES_NOTES,
                "Each person is named with their username, so two people of the same name "
                "are two rows told apart.",
            ),
        ),
        Report(
            name="sales-by-location",
            title="Sales by location",
            summary="Number of sales, gross, refunds and net of each location.",
            method="sales_by_location",
            columns=(Column("location", "Location"), *SALES_COLUMNS),
            chart=_by("location", "net"),
            chart_caption="Net sales per location.",
            notes=SALES_NOTES,
        ),
        Report(
            name="sales-by-payment-method",
            title="Sales by payment method",
            summary="What cash, card and mobile money took in, refunded and kept.",
            method="sales_by_payment_method",
            columns=(
                Column("method", "Payment method"),
                Column("sales", "Sales", "count"),
                Column("gross", "Taken", "money"),
                Column("refunds", "Refunds", "money"),
                Column("net", "Net", "money"),
            ),
            chart=_by("method", "net"),
            chart_caption="Net takings per payment method.",
            notes=(
                *SALES_NOTES[:2],
                "Refunds are counted by sale date, under the method they were paid back "
                "by. Cash taken is the cash paid less the change given.",
                "A sale paid two ways counts once under each method and once in the total; "
                "the Taken column adds up to the sales' totals.",
            ),
        ),
        Report(
            name="shifts",
            title="Shifts",
            summary="Every shift closed: its register, who opened it, and over/short.",
            method="shifts",
            columns=(
                Column("closed", "Closed", "when"),
                Column("register", "Register"),
                Column("cashier", "Opened by"),
                *SHIFT_FIGURES[1:],
            ),
            chart=_shift_bars,
            chart_caption="Over/short of each shift (below the line: short).",
            notes=SHIFT_NOTES,
        ),
        Report(
            name="shifts-by-register",
            title="Shifts by register",
            summary="Shifts closed, cash expected and counted, and over/short per register.",
            method="shifts_by_register",
            columns=(Column("register", "Register"), *SHIFT_FIGURES),
            chart=_by("register", "over_short"),
            chart_caption="Over/short per register (below the line: short).",
            notes=SHIFT_NOTES,
        ),
        Report(
            name="shifts-by-cashier",
            title="Shifts by cashier",
            summary="Shifts closed, cash expected and counted, and over/short per cashier.",
            method="shifts_by_cashier",
            columns=(Column("cashier", "Cashier"), *SHIFT_FIGURES),
            chart=_by("cashier", "over_short"),
            chart_caption="Over/short per cashier (below the line: short).",
            notes=(
                *SHIFT_NOTES,
                "A shift's cashier is the person who opened it, named with their username.",
            ),
        ),
        Report(
            name="profit-and-loss",
            title="Profit and loss",
            summary="Revenue, cost of goods sold, gross profit, expenses and net profit.",
            method="profit_and_loss",
            columns=(
                Column("day", "Day", "day"),
                Column("revenue", "Revenue", "money"),
                Column("cost", "Cost of goods sold", "money"),
                Column("gross_profit", "Gross profit", "money"),
                Column("expenses", "Expenses", "money"),
                Column("net_profit", "Net profit", "money"),
            ),
            chart=_statement,
            chart_caption="The totals of the range: revenue, costs and profit.",
            notes=(
                *SALES_NOTES[:2],
                "Revenue is what the sales brought in excluding tax, less the net part of "
                "their refunds (counted by sale date). The tax part of a refund is the "
                "line's tax in proportion to the amount refunded, rounded to the cent.",
                "Cost of goods sold uses each product's cost at the time of sale, for the "
                "quantity not refunded, rounded to the cent per sale line.",
                "Expenses count on the date they were spent.",
            ),
        ),
        Report(
            name="tax-summary",
            title="Tax summary",
            summary="Net sales, tax and gross per tax rate, net of refunds.",
            method="tax_summary",
            columns=(
                Column("tax_name", "Tax"),
                Column("rate", "Rate (%)", "rate"),
                Column("net", "Net", "money"),
                Column("tax", "Tax", "money"),
                Column("gross", "Gross", "money"),
            ),
            chart=_by("tax_name", "tax"),
            chart_caption="Tax collected per rate.",
            notes=(
                *SALES_NOTES[:2],
                "A row per tax rate as it was when sold: its name and percentage. Sales "
                "from before rates had names are shown by their percentage.",
                "Gross = net + tax, whether the prices included tax or not. Every figure "
                "is net of refunds (counted by sale date); a refund's tax part is the "
                "line's tax in proportion to the amount refunded, rounded to the cent, and "
                "its net part the rest.",
            ),
        ),
        Report(
            name="stock-valuation",
            title="Stock valuation",
            summary="Stock on hand now at each product's current cost.",
            method="stock_valuation",
            columns=(
                Column("sku", "SKU"),
                Column("product", "Product"),
                Column("on_hand", "On hand", "quantity"),
                Column("cost", "Unit cost", "money"),
                Column("value", "Value", "money"),
            ),
            chart=_by("product", "value", top=CHART_TOP),
            chart_caption=f"The {CHART_TOP} products with the most value in stock.",
            notes=(
                "As of now: on hand is the sum of the stock ledger; there is no date range.",
                "Every product with stock is listed, inactive ones too. Value = on hand x "
                "the product's current cost, rounded to the cent; the total is the sum.",
            ),
            dated=False,
        ),
    )
}
