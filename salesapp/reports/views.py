"""Report pages (Managers and Admin): the index, each report as a page (filters, chart,
table with a totals row) and as a CSV file with the same filters and numbers.

The page shows figures in the workspace's locale and times in its zone; the CSV file is
for machines (see :func:`report_csv`). Bad filters answer 400 with what was wrong (the
page shows the form again; the CSV URL answers plain text); an unknown report is a 404.
"""

from __future__ import annotations

import csv
import io
from functools import partial
from urllib.parse import quote

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config

from ..csvcells import QUOTING, escape_cell
from ..forms import FormError
from ..localization import PLAIN, Local
from ..locations.services import LocationService
from ..pages import refuse
from .charts import bar_chart
from .definitions import REPORTS, Report, shown, written
from .filters import read_filters
from .services import ReportResult, ReportService


def load_report(request) -> Report:
    report = REPORTS.get(request.matchdict["name"])
    if report is None:
        raise HTTPNotFound()
    return report


def run(request, report: Report, filters) -> ReportResult:
    method = getattr(request.find_service(ReportService), report.method)
    return method(filters.date_from, filters.date_to, filters.location_id)


@view_config(
    route_name="reports.index",
    renderer="reports/index.jinja2",
    permission="reports.view",
    request_method="GET",
)
def report_index(request):
    return {"reports": list(REPORTS.values())}


@view_config(
    route_name="reports.show",
    renderer="reports/show.jinja2",
    permission="reports.view",
    request_method="GET",
)
def report_page(request):
    report = load_report(request)
    multi = request.tenant.multi_location
    values = {
        "report": report,
        "cell": partial(shown, local=request.local),
        "multi": multi,
        "locations": request.find_service(LocationService).all() if multi else [],
        "result": None,
        "errors": {},
    }
    try:
        filters = read_filters(request, dated=report.dated)
    except FormError as exc:
        typed = {name: request.GET.get(name, "") for name in ("from", "to", "location")}
        return refuse(request, {**values, "filters": typed, "errors": exc.errors})
    result = run(request, report, filters)
    labels, numbers = report.chart(result, request.local)
    query = filters.query(dated=report.dated)
    return {
        **values,
        "filters": {"location": "", **filters.query()},
        "range": filters,
        "location": filters.location,
        "result": result,
        "chart": bar_chart(
            labels,
            numbers,
            title=f"{report.title} chart",
            number=request.local.number,
            value_text=request.local.money,  # every report charts an amount of money
        ),
        "csv_url": request.route_url("reports.csv", name=report.name, _query=query),
    }


def report_csv(report: Report, result: ReportResult, local: Local = PLAIN) -> str:
    """The report as CSV: a header row, a row per table row, and the totals row, the
    same figures as the page but written for machines, the same in every locale:
    numbers as plain decimal strings (a point, no grouping; money with the currency's
    decimals), days as YYYY-MM-DD (the workspace's local days) and times as ISO 8601
    with the zone's offset (``2026-12-01T10:07:00+03:00``). No text cell runs as a
    formula in any spreadsheet (``salesapp.csvcells``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=QUOTING)
    writer.writerow([column.label for column in report.columns])

    def csv_row(row: dict) -> list[str]:
        cells = [written(row.get(column.key), column.kind, local) for column in report.columns]
        return [
            text if column.numeric else escape_cell(text)
            for column, text in zip(report.columns, cells, strict=True)
        ]

    for row in result.rows:
        writer.writerow(csv_row(row))
    totals = csv_row(result.totals)
    totals[0] = "Total"
    writer.writerow(totals)
    return out.getvalue()


@view_config(route_name="reports.csv", permission="reports.view", request_method="GET")
def report_download(request):
    report = load_report(request)
    try:
        filters = read_filters(request, dated=report.dated)
    except FormError as exc:
        return Response(
            status=400,
            content_type="text/plain",
            charset="utf-8",
            body=(
                "The report's filters are wrong:\n" + "\n".join(exc.errors.values()) + "\n"
            ).encode("utf-8"),
        )
    result = run(request, report, filters)
    span = (
        f"{filters.date_from.isoformat()}-to-{filters.date_to.isoformat()}"
        if report.dated
        else filters.date_to.isoformat()
    )
    place = f"-{filters.location.name}" if filters.location is not None else ""
    filename = f"{report.name}-{span}{place}.csv"
    return Response(
        body=report_csv(report, result, request.local).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        content_disposition=_attachment(filename),
    )


def _attachment(filename: str) -> str:
    """A Content-Disposition naming ``filename`` safely (a location's name may hold
    any character): an ASCII fallback and the UTF-8 name, percent-encoded."""
    ascii_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename)
    ascii_name = ascii_name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
