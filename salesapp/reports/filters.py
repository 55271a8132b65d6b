"""The reports' filters: a date range of the workspace's local days (both ends
inclusive, at most 366 days, the last 30 days up to its today by default), typed as
ISO dates (what ``<input type=date>`` sends, whatever the locale shows), and an
optional location."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..forms import Form, FormError
from ..locations.models import Location
from ..locations.services import LocationService
from ..pages import labelled

MAX_DAYS = 366
DEFAULT_DAYS = 30
LABELS = {"from": "From", "to": "To", "location": "Location"}


@dataclass(frozen=True)
class ReportFilters:
    date_from: dt.date
    date_to: dt.date
    location: Location | None = None

    @property
    def location_id(self):
        return self.location.id if self.location is not None else None

    def query(self, *, dated: bool = True) -> dict:
        """The filters as URL query parameters (the CSV link repeats the page's)."""
        query = {}
        if dated:
            query = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        if self.location is not None:
            query["location"] = str(self.location.id)
        return query


def read_filters(request, *, dated: bool = True) -> ReportFilters:
    """The filters from the query string; FormError with a sentence per bad field.
    Without ``dated`` (stock valuation: as of now) only the location is read."""
    form = Form(request.GET, local=request.local)
    today = request.local.today()
    date_from = date_to = today
    if dated:
        date_to = form.date("to", default=today)
        date_from = form.date(
            "from", default=(date_to or today) - dt.timedelta(days=DEFAULT_DAYS - 1)
        )
        if not form.errors:
            if date_from > date_to:
                form.error(
                    "to", f"({date_to.isoformat()}) is before From ({date_from.isoformat()})"
                )
            elif (date_to - date_from).days + 1 > MAX_DAYS:
                form.error(
                    "to",
                    f"makes a range of {(date_to - date_from).days + 1} days; "
                    f"a report covers at most {MAX_DAYS} days",
                )
    location = None
    location_id = form.uuid("location", required=False)
    if location_id is not None:
        location = request.find_service(LocationService).get(location_id)
        if location is None:
            form.error("location", "is not one of this workspace's locations")
    if form.errors:
        raise FormError(labelled(form.errors, LABELS))
    return ReportFilters(date_from, date_to, location)
