"""Tenant usage analytics for the operator console's tenant pages (issue 19): per tenant,
its rows and approximate size, its sales of the last 30 days and its last activity, on
top of what `salesapp tenant list` says of it (lifecycle.list_tenants).

Gathered store by store: one connection and one transaction per store for all of its
tenants, never one per tenant. Row-level security is forced on every tenant table (for
the owner too) and a statement sees the one tenant its transaction is bound to, so
within that transaction each tenant is bound in turn and asked one statement that
answers everything about it (every table's count, the sales, the newest timestamps).
The counts use each table's ``tenant_id`` index; the size is an estimate (each table's
rows times that table's average row size on disk, from ``pg_class`` and the statistics
collector's live row count), not a scan of the rows' bytes as `salesapp stats` makes.

"Last activity" is the newest of: a sale made, an audit event (every change staff make
is audited, sign-ins included) and a user's last sign-in. Each is the maximum of an
indexed or small column, so it costs about as much as a count.

A store that cannot be read gives its tenants ``error`` (what went wrong) and no
figures: one store down must not hide the others' tenants.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, text

from ..tenancy.binding import bind
from ..tenancy.directory import TenantStatus
from ..tenancy.errors import first_line
from . import door, lifecycle
from .catalog import Catalog
from .errors import OperationError
from .models import Store, Tenant

#: the window of "sales in the last N days"
SALES_WINDOW_DAYS = 30
#: the size filter's choices: name -> (the least bytes, the most), for the console
SIZE_BANDS = {
    "small": (0, 10 * 2**20),
    "medium": (10 * 2**20, 1024 * 2**20),
    "large": (1024 * 2**20, None),
}
#: the newest timestamps of what staff do, by table and column: the last activity
ACTIVITY_COLUMNS = (("sales", "created_at"), ("audit_events", "at"), ("users", "last_login_at"))

_TABLES_SQL = text(
    """
    select c.relname as name,
           pg_total_relation_size(c.oid) as bytes,
           greatest(c.reltuples, coalesce(s.n_live_tup, 0), 0) as estimated_rows
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      left join pg_stat_user_tables s on s.relid = c.oid
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id'
                         and not a.attisdropped
     where n.nspname = 'public' and c.relkind in ('r', 'p')
     order by c.relname
    """
)


@dataclass(frozen=True)
class _Table:
    name: str
    bytes: int
    estimated_rows: float

    @property
    def row_bytes(self) -> float:
        """This table's average row on disk (indexes and TOAST included)."""
        return self.bytes / self.estimated_rows if self.estimated_rows >= 1 else 0.0


def _columns(conn) -> set[tuple[str, str]]:
    rows = conn.execute(
        text(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'public'"
        )
    )
    return {(table, column) for table, column in rows}


def _usage_statement(tables: list[_Table], columns: set[tuple[str, str]]):
    """The one statement that answers for the bound tenant: a count per table, the
    sales of the window (how many, their total) and the newest activity."""
    parts = [f'(select count(*) from "{t.name}") as "rows:{t.name}"' for t in tables]
    if ("sales", "created_at") in columns and ("sales", "total") in columns:
        recent = f"created_at >= now() - interval '{SALES_WINDOW_DAYS} days'"
        voided = " and status <> 'voided'" if ("sales", "status") in columns else ""
        parts.append(f"(select count(*) from sales where {recent}{voided}) as sales_count")
        parts.append(
            f"(select coalesce(sum(total), 0) from sales where {recent}{voided}) as sales_total"
        )
    else:
        parts += ["0 as sales_count", "0 as sales_total"]
    newest = [
        f'(select max("{column}") from "{table}")'
        for table, column in ACTIVITY_COLUMNS
        if (table, column) in columns
    ]
    parts.append(f"greatest({', '.join(newest)}) as last_activity" if newest else "null")
    return text("select " + ", ".join(parts))


def store_usage(catalog: Catalog, store: Store, tenant_ids: list[int]) -> dict[int, dict]:
    """The figures of ``tenant_ids`` (all in ``store``), in one transaction on it."""
    found: dict[int, dict] = {}
    with door.store_connection(catalog, store) as conn:
        tables = [_Table(r.name, r.bytes, r.estimated_rows) for r in conn.execute(_TABLES_SQL)]
        statement = _usage_statement(tables, _columns(conn))
        for tenant_id in tenant_ids:
            bind(conn, tenant_id)
            row = conn.execute(statement).mappings().one()
            counts = {t.name: row[f"rows:{t.name}"] for t in tables}
            found[tenant_id] = {
                "rows": sum(counts.values()),
                "approx_bytes": round(sum(counts[t.name] * t.row_bytes for t in tables)),
                "sales_30d": row["sales_count"],
                "sales_total_30d": str(row["sales_total"]),
                "last_activity": row["last_activity"].isoformat() if row["last_activity"] else None,
            }
    return found


def tenant_usage(catalog: Catalog, *, store_name: str | None = None) -> list[dict]:
    """Every tenant (of ``store_name`` only, if given), as lifecycle.list_tenants
    describes it, with ``usage``: its figures (above), or ``{"error": ...}`` when its
    store could not be read, or None while it is being created."""
    tenants = lifecycle.list_tenants(catalog, store_name=store_name)
    with catalog.session() as session:
        stores = {store.name: store for store in session.scalars(select(Store))}
        ids = dict(session.execute(select(Tenant.slug, Tenant.id)).all())
    by_store: dict[str, list[int]] = {}
    for info in tenants:
        if info["store"] is not None and info["status"] != TenantStatus.PROVISIONING:
            by_store.setdefault(info["store"], []).append(ids[info["slug"]])
    usage: dict[int, dict] = {}
    for name, tenant_ids in by_store.items():
        try:
            usage.update(store_usage(catalog, stores[name], tenant_ids))
        except Exception as exc:  # one store down must not hide the others
            usage.update({i: {"error": f"store {name}: {first_line(exc)}"} for i in tenant_ids})
    for info in tenants:
        info["usage"] = usage.get(ids[info["slug"]])
    return tenants


def show_tenant_usage(catalog: Catalog, slug: str) -> dict:
    """One tenant as lifecycle.show_tenant describes it, with ``usage`` as
    :func:`tenant_usage` gives it (NotFound for an unknown subdomain)."""
    info = lifecycle.show_tenant(catalog, slug)
    info["usage"] = None
    if info["store"] is None or info["status"] == TenantStatus.PROVISIONING:
        return info
    with catalog.session() as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == info["slug"]))
        store = catalog.store_named(session, info["store"])
    try:
        info["usage"] = store_usage(catalog, store, [tenant_id])[tenant_id]
    except Exception as exc:  # the page still shows what the catalog knows
        info["usage"] = {"error": f"store {store.name}: {first_line(exc)}"}
    return info


@dataclass(frozen=True)
class TenantFilter:
    """What the console's tenant list is narrowed to; every field optional."""

    search: str = ""  # in the subdomain, the name or a domain (any case)
    status: str = ""  # active | suspended | provisioning
    store: str = ""
    kind: str = ""  # pooled | dedicated
    trial_within_days: int | None = None  # a trial ending within N days (not ended)
    size: str = ""  # a SIZE_BANDS name

    def __post_init__(self):
        if self.size and self.size not in SIZE_BANDS:
            raise OperationError(f"size must be one of {', '.join(SIZE_BANDS)}, not {self.size!r}")
        if self.trial_within_days is not None and not 0 <= self.trial_within_days <= 3650:
            raise OperationError(
                f"trial ending within must be 0 to 3650 days, not {self.trial_within_days}"
            )

    def matches(self, info: dict, now: dt.datetime) -> bool:
        words = self.search.strip().lower()
        if words and not any(
            words in value.lower() for value in (info["slug"], info["name"], *info["domains"])
        ):
            return False
        if self.status and info["status"] != self.status:
            return False
        if self.store and info["store"] != self.store:
            return False
        if self.kind and info["kind"] != self.kind:
            return False
        if self.trial_within_days is not None:
            ends = info["trial_ends_at"]
            if ends is None or info["trial_ended"]:
                return False
            if dt.datetime.fromisoformat(ends) > now + dt.timedelta(days=self.trial_within_days):
                return False
        if self.size:
            usage = info.get("usage") or {}
            size = usage.get("approx_bytes")
            low, high = SIZE_BANDS[self.size]
            if size is None or size < low or (high is not None and size >= high):
                return False
        return True


def find_tenants(catalog: Catalog, wanted: TenantFilter) -> list[dict]:
    """The tenants :func:`tenant_usage` gives that ``wanted`` matches (only the stores
    named, when a store is given)."""
    now = dt.datetime.now(dt.UTC)
    found = tenant_usage(catalog, store_name=wanted.store or None)
    return [info for info in found if wanted.matches(info, now)]
