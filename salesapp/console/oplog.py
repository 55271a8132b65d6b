"""The operations log in the console (``/operator/operations``): every operation the
``salesapp`` command, the console, the API and the job worker ran, newest first, with
filters (action prefix, tenant, store, actor, outcome, dates) and keyset pages.

Keyset, not OFFSET: a page is "the N entries older than entry #id" (``before``) or
"newer than #id" (``after``), so a page stays put while new entries arrive and costs the
same deep in the log as at its top (the primary key is the order).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from sqlalchemy import select

from ..operations.catalog import Catalog
from ..operations.models import Operation, OperationOutcome
from .auth import require

#: entries on a page
PAGE_SIZE = 50


class FilterError(ValueError):
    """A filter the log cannot apply; the message says which and how to write it."""


@dataclass(frozen=True)
class LogFilters:
    """What the page was asked to show; empty strings are no filter."""

    action: str = ""  # a prefix: "tenant." is every tenant operation
    tenant: str = ""
    store: str = ""
    actor: str = ""
    outcome: str = ""
    date_from: dt.date | None = None  # whole days in UTC, both ends included
    date_to: dt.date | None = None

    @classmethod
    def from_params(cls, params) -> LogFilters:
        """From a query string; FilterError for an unknown outcome or a bad date."""
        outcome = params.get("outcome", "").strip()
        if outcome and outcome not in {o.value for o in OperationOutcome}:
            raise FilterError(
                f"outcome {outcome!r} is none of " + ", ".join(o.value for o in OperationOutcome)
            )
        return cls(
            action=params.get("action", "").strip(),
            tenant=params.get("tenant", "").strip().lower(),
            store=params.get("store", "").strip().lower(),
            actor=params.get("actor", "").strip(),
            outcome=outcome,
            date_from=_date(params, "from"),
            date_to=_date(params, "to"),
        )

    def query(self) -> dict:
        """The filters as query parameters (for the pager's links)."""
        found = {
            "action": self.action,
            "tenant": self.tenant,
            "store": self.store,
            "actor": self.actor,
            "outcome": self.outcome,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in found.items() if value}

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def _date(params, name: str) -> dt.date | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name} date {value!r} is not a date like 2025-01-31") from None


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@dataclass
class LogPage:
    entries: list[dict]
    newer: int | None  # the id to ask for entries after (None: this is the newest page)
    older: int | None  # the id to ask for entries before (None: nothing older)


def operations_page(
    catalog: Catalog,
    filters: LogFilters,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> LogPage:
    """One page of the operations log, newest first: the ``limit`` entries matching
    ``filters`` older than entry ``before`` (or newer than ``after``; else the newest)."""
    query = select(Operation)
    if filters.action:
        query = query.where(Operation.action.like(_like_prefix(filters.action), escape="\\"))
    if filters.tenant:
        query = query.where(Operation.tenant_slug == filters.tenant)
    if filters.store:
        query = query.where(Operation.store_name == filters.store)
    if filters.actor:
        query = query.where(Operation.actor == filters.actor)
    if filters.outcome:
        query = query.where(Operation.outcome == filters.outcome)
    if filters.date_from:
        query = query.where(Operation.at >= _day_start(filters.date_from))
    if filters.date_to:
        query = query.where(Operation.at < _day_start(filters.date_to + dt.timedelta(days=1)))
    if after is not None:
        query = query.where(Operation.id > after).order_by(Operation.id.asc())
    else:
        if before is not None:
            query = query.where(Operation.id < before)
        query = query.order_by(Operation.id.desc())
    with catalog.session() as session:
        rows = session.scalars(query.limit(limit + 1)).all()
        entries = [_entry(row) for row in rows]
    more = len(entries) > limit
    entries = entries[:limit]
    if after is not None:
        entries.reverse()
        newer = entries[0]["id"] if more and entries else None
        older = entries[-1]["id"] if entries else None
    else:
        newer = entries[0]["id"] if before is not None and entries else None
        older = entries[-1]["id"] if more else None
    return LogPage(entries, newer, older)


def _entry(row: Operation) -> dict:
    return {
        "id": row.id,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "tenant_slug": row.tenant_slug,
        "store_name": row.store_name,
        "outcome": row.outcome,
        "detail": row.detail or {},
        "finished_at": row.finished_at,
    }


def when_utc(value: dt.datetime | None) -> str:
    """A moment for an operator, in UTC (the console serves every zone at once)."""
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- the view --------------------------------------------------------------------------


def _id_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def operations_view(request):
    require(request)
    try:
        filters = LogFilters.from_params(request.GET)
    except FilterError as exc:
        request.response.status_int = 400
        return {
            "filters": LogFilters(),
            "params": request.GET,
            "error": f"{exc}; nothing is shown until it is corrected.",
            "page": LogPage([], None, None),
            "outcomes": list(OperationOutcome),
            "when": when_utc,
            "newer_url": None,
            "older_url": None,
        }
    page = operations_page(
        request.catalog,
        filters,
        before=_id_param(request, "before"),
        after=_id_param(request, "after"),
        limit=PAGE_SIZE,
    )
    route = "console.operations"
    query = filters.query()
    return {
        "filters": filters,
        "params": request.GET,
        "error": None,
        "page": page,
        "outcomes": list(OperationOutcome),
        "when": when_utc,
        "newer_url": request.route_url(route, _query={**query, "after": page.newer})
        if page.newer
        else None,
        "older_url": request.route_url(route, _query={**query, "before": page.older})
        if page.older
        else None,
    }


def includeme(config):
    config.add_route("console.operations", "/operator/operations", site="public")
    config.add_view(
        operations_view,
        route_name="console.operations",
        renderer="console/operations.jinja2",
        request_method="GET",
    )
