"""The server-drawn bar chart and the CSV writer, without a database."""

import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from bs4 import BeautifulSoup

from salesapp.localization import Local
from salesapp.reports.charts import bar_chart
from salesapp.reports.definitions import REPORTS
from salesapp.reports.services import ReportResult
from salesapp.reports.views import report_csv


def svg(markup):
    return BeautifulSoup(str(markup), "html.parser").svg


def test_one_bar_per_value_with_its_label_value_and_title():
    chart = svg(bar_chart(["Mon", "Tue", "Wed"], [D("10.00"), D("0.00"), D("25.50")], title="T"))
    assert chart["role"] == "img" and chart["aria-label"] == "T"
    bars = chart.select("rect.bar")
    assert [(b["data-label"], b["data-value"]) for b in bars] == [
        ("Mon", "10.00"),
        ("Tue", "0.00"),
        ("Wed", "25.50"),
    ]
    assert [b.title.get_text() for b in bars] == ["Mon: 10.00", "Tue: 0.00", "Wed: 25.50"]
    heights = [float(b["height"]) for b in bars]
    assert heights[1] == 0 and heights[2] > heights[0] > 0
    assert abs(heights[2] / heights[0] - 2.55) < 0.01  # bars are to scale
    assert [t.get_text() for t in chart.select("text.label")] == ["Mon", "Tue", "Wed"]
    assert chart.select("text.tick")  # a y axis with figures


def test_text_is_escaped():
    markup = str(bar_chart(['<script>alert("x")</script>'], [D("1")], title='a "quoted" <title>'))
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    chart = svg(markup)
    assert chart["aria-label"] == 'a "quoted" <title>'
    assert chart.select_one("rect.bar")["data-label"] == '<script>alert("x")</script>'


def test_negative_values_hang_below_the_zero_line():
    chart = svg(bar_chart(["profit", "loss"], [D("50"), D("-20")], title="P&L"))
    profit, loss = chart.select("rect.bar")
    assert "neg" in loss["class"] and "neg" not in profit["class"]
    zero = float(profit["y"]) + float(profit["height"])
    assert float(loss["y"]) == pytest.approx(zero, abs=0.1)
    assert float(loss["height"]) == pytest.approx(float(profit["height"]) * 0.4, abs=0.2)


def test_no_values_and_many_values():
    empty = svg(bar_chart([], [], title="Empty"))
    assert empty.select("rect") == [] and "Nothing to chart" in empty.get_text()
    labels = [f"2026-01-{n:02d}" for n in range(1, 32)]
    many = svg(bar_chart(labels, [D(n) for n in range(31)], title="Month"))
    assert len(many.select("rect.bar")) == 31
    assert 8 <= len(many.select("text.label")) <= 16  # every other label, readable
    with pytest.raises(ValueError):
        bar_chart(["a"], [], title="x")


def test_the_csv_has_a_header_the_rows_and_a_totals_row_and_no_formulas():
    report = REPORTS["sales-by-product"]
    result = ReportResult(
        rows=[
            {
                "sku": "=1+1",
                "product": "@SUM(A1)",
                "sales": 2,
                "quantity": D("1.500"),
                "gross": D("3.00"),
                "refunds": D("0.00"),
                "net": D("3.00"),
            }
        ],
        totals={
            "sales": 2,
            "quantity": D("1.500"),
            "gross": D("3.00"),
            "refunds": D("0.00"),
            "net": D("3.00"),
        },
    )
    assert list(csv.reader(io.StringIO(report_csv(report, result)))) == [
        ["SKU", "Product", "Sales", "Quantity", "Gross", "Refunds", "Net"],
        ["'=1+1", "'@SUM(A1)", "2", "1.5", "3.00", "0.00", "3.00"],
        ["Total", "", "2", "1.5", "3.00", "0.00", "3.00"],
    ]


def test_a_chart_writes_its_ticks_and_titles_as_the_locale_does():
    german = Local("Europe/Berlin", "de_DE", "EUR")
    chart = svg(
        bar_chart(
            ["Mo", "Di"],
            [D("0.50"), D("1234.50")],
            title="T",
            number=german.number,
            value_text=german.money,
        )
    )
    bars = chart.select("rect.bar")
    assert [b["data-value"] for b in bars] == ["0.50", "1234.50"]  # plain, for machines
    assert [b.title.get_text() for b in bars] == ["Mo: 0,50", "Di: 1.234,50"]
    ticks = [t.get_text() for t in chart.select("text.tick")]
    assert "1.000" in ticks and "0" in ticks  # 1.000 is a thousand in German
    small = svg(bar_chart(["a"], [D("0.5")], title="S", number=german.number))
    assert "0,2" in [t.get_text() for t in small.select("text.tick")]


def test_the_csv_writes_times_with_their_offset_and_plain_numbers_in_every_locale():
    """A shift closed at 21:30 UTC on June 9 is 00:30 on June 10 in Nairobi: the CSV
    writes the instant with Nairobi's offset; amounts are plain decimals whatever the
    locale (German here), with the currency's decimals (yen have none)."""
    report = REPORTS["shifts"]
    closed = dt.datetime(2026, 6, 9, 21, 30, tzinfo=dt.UTC)
    row = {
        "closed": closed,
        "register": "Till 1",
        "cashier": "Carl Cashier (carl)",
        "expected": D("1234.50"),
        "counted": D("1234.00"),
        "cash_over_short": D("-0.50"),
        "card_over_short": None,
        "mobile_over_short": None,
        "over_short": D("-0.50"),
    }
    totals = {key: row[key] for key in ("expected", "counted", "cash_over_short", "over_short")}
    result = ReportResult(rows=[row], totals=totals)
    nairobi_de = Local("Africa/Nairobi", "de_DE", "KES")
    assert list(csv.reader(io.StringIO(report_csv(report, result, nairobi_de))))[1:] == [
        [
            "2026-06-10T00:30:00+03:00",
            "Till 1",
            "Carl Cashier (carl)",
            "1234.50",
            "1234.00",
            "-0.50",
            "",
            "",
            "-0.50",
        ],
        ["Total", "", "", "1234.50", "1234.00", "-0.50", "", "", "-0.50"],
    ]
    new_york_yen = Local("America/New_York", "ja_JP", "JPY")
    written = list(csv.reader(io.StringIO(report_csv(report, result, new_york_yen))))
    assert written[1][0] == "2026-06-09T17:30:00-04:00"
    assert written[1][4] == "1234"  # counted: yen have no decimals
