"""Per-tenant statistics for operators (`salesapp stats`, the console's store pages):
rows, approximate storage, new rows a day, users, last activity, and the promotion
advice with the figures it rests on.

The advice: a pooled tenant with at least ``salesapp.dedicated_threshold_rows`` rows or
``salesapp.dedicated_threshold_mb`` MB is a candidate for a dedicated store. Those two
thresholds decide; the other figures (new rows a day over the last
:data:`WRITE_WINDOW_DAYS` days, the tenant's share of its store) are given beside them so
that an operator can weigh a move, and are never a verdict of their own: without a
threshold the deployment has chosen, a figure is context, not a rule.

Counting reads every tenant row (one scan of each table per tenant, bound to it as
row-level security requires): it is what an operator asks for, not what a page may do
on every load.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sqlalchemy import select, text

from ..formatting import size
from ..settings import Settings
from ..tenancy.binding import bind
from ..tenancy.directory import StoreKind, TenantStatus
from ..tenancy.errors import first_line
from . import door
from .catalog import Catalog
from .models import Placement, Store, Tenant
from .provisioning import tenant_tables

#: the window over which new rows a day are averaged
WRITE_WINDOW_DAYS = 30
MB = 2**20
#: the columns that say when a row was made (the audit log's is ``at``); a table with
#: neither (a row's lines, settings) adds nothing to the new rows counted
MADE_AT = ("created_at", "at")


class Verdict(enum.StrEnum):
    """What the advice says of one tenant."""

    PROMOTE = "move to a dedicated store"
    STAY = "stay pooled"
    DEDICATED = "dedicated already"


@dataclass(frozen=True)
class Figure:
    """One figure an advice rests on; with a threshold (and the setting it comes from)
    it decides, without one it is context."""

    measure: str  # rows | size_mb | new_rows_per_day | share_of_store
    value: float
    text: str  # the figure and its threshold in words
    threshold: float | None = None
    setting: str | None = None

    @property
    def past(self) -> bool | None:
        """At or past its threshold; None for a figure without one."""
        return None if self.threshold is None else self.value >= self.threshold


def advise(
    settings: Settings,
    *,
    slug: str,
    kind: str,
    store: str,
    total_rows: int,
    approx_bytes: int,
    new_rows: int | None,
    store_rows: int,
    store_bytes: int,
    store_tenants: int,
) -> dict:
    """The promotion advice for one tenant from its figures: ``verdict``, ``candidate``,
    ``summary`` (why, in a line), ``command`` (what to run, for a candidate) and
    ``reasons`` (every :class:`Figure`, as dicts with ``past``)."""
    rows_limit, mb_limit = settings.dedicated_threshold_rows, settings.dedicated_threshold_mb
    size_mb = approx_bytes / MB
    figures = [
        Figure(
            "rows",
            total_rows,
            f"{total_rows:,} rows (threshold {rows_limit:,})",
            rows_limit,
            "salesapp.dedicated_threshold_rows",
        ),
        Figure(
            "size_mb",
            round(size_mb, 3),
            f"{size(approx_bytes)} (threshold {size(mb_limit * MB)})",
            mb_limit,
            "salesapp.dedicated_threshold_mb",
        ),
    ]
    if new_rows is not None:
        per_day = new_rows / WRITE_WINDOW_DAYS
        rate = f"{per_day:,.1f}" if per_day >= 1 else f"{per_day:.2f}"  # 0.13, not 0.1
        figures.append(
            Figure(
                "new_rows_per_day",
                round(per_day, 2),
                f"{rate} new rows a day (last {WRITE_WINDOW_DAYS} days: {new_rows:,})",
            )
        )
    if kind == StoreKind.POOLED:
        share = approx_bytes / store_bytes if store_bytes else 0.0
        row_share = total_rows / store_rows if store_rows else 0.0
        figures.append(
            Figure(
                "share_of_store",
                round(share, 4),
                f"{share:.0%} of the size and {row_share:.0%} of the rows of store {store} "
                f"({store_tenants} tenant{'' if store_tenants == 1 else 's'})",
            )
        )
    past = [f for f in figures if f.past]
    if kind != StoreKind.POOLED:
        verdict, summary, command = Verdict.DEDICATED, f"in {kind} store {store}", None
    elif past:
        verdict = Verdict.PROMOTE
        summary = "past the threshold: " + "; ".join(f.text for f in past)
        command = f"salesapp tenant move {slug} --to dedicated"
    else:
        verdict = Verdict.STAY
        summary = "below both thresholds: " + "; ".join(f.text for f in figures[:2])
        command = None
    return {
        "verdict": verdict.value,
        "candidate": verdict == Verdict.PROMOTE,
        "summary": summary,
        "command": command,
        "reasons": [{**asdict(f), "past": f.past} for f in figures],
    }


def _count_tenant(conn, tenant_id: int, tables: list, has_login: bool) -> dict:
    """One tenant's rows by table, approximate bytes, rows made in the window and last
    sign-in, on ``conn`` (a transaction on its store)."""
    bind(conn, tenant_id)
    counts, approx_bytes, new_rows = {}, 0, 0
    for table in tables:
        made_at = next((name for name in MADE_AT if name in table.c), None)
        recent = (
            f"count(*) filter (where \"{made_at}\" >= now() - interval '{WRITE_WINDOW_DAYS} days')"
            if made_at
            else "0"
        )
        count, width, made = conn.execute(
            text(
                f"select count(*), coalesce(sum(pg_column_size(t.*)), 0), {recent} "
                f'from "{table.name}" t'
            )
        ).one()
        counts[table.name] = count
        approx_bytes += width
        new_rows += made
    last = conn.scalar(text("select max(last_login_at) from users")) if has_login else None
    return {"rows": counts, "approx_bytes": approx_bytes, "new_rows": new_rows, "last": last}


def tenant_stats(
    catalog: Catalog,
    on_store: Callable[[str], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
    *,
    store: str | None = None,
) -> list[dict]:
    """Every tenant (of ``store`` only, if given), by subdomain: its figures and its
    ``advice`` (:func:`advise`); ``dedicated_candidate`` repeats the advice's verdict.
    A store that cannot be read gives its tenants an ``error`` instead of figures."""
    settings = catalog.settings
    query = (
        select(Tenant.id, Tenant.slug, Tenant.status, Store)
        .join(Placement, Placement.tenant_id == Tenant.id)
        .join(Store, Store.id == Placement.store_id)
        .where(Tenant.status != TenantStatus.PROVISIONING)
        .order_by(Store.name, Tenant.slug)
    )
    if store is not None:
        query = query.where(Store.name == store)
    with catalog.session() as session:
        rows = session.execute(query).all()
    by_store: dict[int, tuple[Store, list]] = {}
    for tenant_id, slug, status, where in rows:
        by_store.setdefault(where.id, (where, []))[1].append((tenant_id, slug, status))

    if on_plan:
        on_plan(len(by_store))
    result = []
    for where, tenants in by_store.values():
        try:
            result += _store_stats(catalog, settings, where, tenants)
        except Exception as exc:
            result += [
                {
                    "slug": slug,
                    "status": status,
                    "store": where.name,
                    "kind": where.kind,
                    "error": first_line(exc),
                }
                for _, slug, status in tenants
            ]
        if on_store:
            on_store(where.name)
    return sorted(result, key=lambda r: r["slug"])


def _store_stats(catalog: Catalog, settings: Settings, store: Store, tenants: list) -> list[dict]:
    with door.store_connection(catalog, store) as conn:
        tables = tenant_tables(conn)
        has_login = conn.scalar(
            text(
                "select count(*) from information_schema.columns where table_schema = "
                "'public' and table_name = 'users' and column_name = 'last_login_at'"
            )
        )
        counted = [
            (slug, status, _count_tenant(conn, tenant_id, tables, has_login))
            for tenant_id, slug, status in tenants
        ]
    store_rows = sum(sum(c["rows"].values()) for _, _, c in counted)
    store_bytes = sum(c["approx_bytes"] for _, _, c in counted)
    found = []
    for slug, status, c in counted:
        total = sum(c["rows"].values())
        advice = advise(
            settings,
            slug=slug,
            kind=store.kind,
            store=store.name,
            total_rows=total,
            approx_bytes=c["approx_bytes"],
            new_rows=c["new_rows"],
            store_rows=store_rows,
            store_bytes=store_bytes,
            store_tenants=len(counted),
        )
        found.append(
            {
                "slug": slug,
                "status": status,
                "store": store.name,
                "kind": store.kind,
                "rows": c["rows"],
                "total_rows": total,
                "approx_bytes": c["approx_bytes"],
                "new_rows_per_day": round(c["new_rows"] / WRITE_WINDOW_DAYS, 2),
                "users": c["rows"].get("users", 0),
                "last_activity": c["last"].isoformat() if c["last"] else None,
                "dedicated_candidate": advice["candidate"],
                "advice": advice,
            }
        )
    return found
