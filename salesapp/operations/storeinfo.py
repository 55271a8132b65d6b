"""What each store is and how it is doing, for the operator console's store pages: its
kind, placement mark, health (reachable, round trip), server version, schema revision
against head, connections by state, size and tenants.

A store that is down must not hold the page: each store is reached with a connect
timeout of :data:`CONNECT_TIMEOUT` seconds and a statement timeout of
:data:`STATEMENT_TIMEOUT_MS`, the stores are measured side by side (at most
:data:`AT_ONCE`), and one that does not answer is a row saying so
("unreachable: <reason>"), never an error of the page.
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import psycopg
from alembic.script import ScriptDirectory
from sqlalchemy import select

from ..tenancy import urls
from ..tenancy.directory import StoreKind
from ..tenancy.errors import first_line
from . import migrations
from .catalog import Catalog
from .models import Placement, Store, Tenant
from .placement import tenant_counts

#: seconds to wait for a store to accept a connection
CONNECT_TIMEOUT = 3
#: how long any one query of the measure may run on a store that answers slowly
STATEMENT_TIMEOUT_MS = 5000
#: stores measured at once
AT_ONCE = 8


class RevisionStatus(enum.StrEnum):
    """A store's schema against the code's head (what `salesapp migrate --check` tells)."""

    AT_HEAD = "at head"
    BEHIND = "behind"  # `salesapp migrate` brings it to head
    NOT_MIGRATED = "not migrated"
    UNKNOWN = "unknown revision"  # not in this code's scripts: the code is older


def _known_revisions() -> set[str]:
    """Every revision of the store schema this code has a script for."""
    scripts = ScriptDirectory.from_config(migrations.alembic_config("tenant"))
    return {script.revision for script in scripts.walk_revisions()}


def revision_status(revision: str | None, head: str, known: set[str]) -> RevisionStatus:
    """Where ``revision`` stands against ``head``, given the revisions the code knows."""
    if revision is None:
        return RevisionStatus.NOT_MIGRATED
    if revision == head:
        return RevisionStatus.AT_HEAD
    return RevisionStatus.BEHIND if revision in known else RevisionStatus.UNKNOWN


@dataclass
class StoreInfo:
    """One store as the console shows it (``as_dict`` for JSON)."""

    name: str
    kind: str
    default: bool
    #: pooled stores only: accepting (new tenants may go there) or draining
    placement: str | None
    tenants: int
    reachable: bool = False
    error: str | None = None
    round_trip_ms: float | None = None
    server_version: str | None = None
    size_bytes: int | None = None
    #: {state: count} of the other sessions on its database ("unknown": another role's,
    #: which the owner role may not see)
    connections: dict[str, int] = field(default_factory=dict)
    #: the revision read from the store now (None: unreachable, or never migrated)
    revision: str | None = None
    head: str | None = None
    #: a RevisionStatus, or None when it cannot be told (unreachable; a server)
    revision_status: str | None = None
    #: what the catalog recorded of its last migration
    migration_status: str | None = None
    migration_error: str | None = None
    migrated_at: dt.datetime | None = None
    recorded_revision: str | None = None
    url: str = ""

    @property
    def health(self) -> str:
        """ "ok (3.2 ms)", "unreachable: <reason>", or "answers (3.2 ms), but: <reason>"
        (connected, then a query failed or ran out of time)."""
        if not self.reachable:
            return f"unreachable: {self.error}"
        if self.error:
            return f"answers ({self.round_trip_ms:.1f} ms), but: {self.error}"
        return f"ok ({self.round_trip_ms:.1f} ms)"

    @property
    def connection_count(self) -> int:
        return sum(self.connections.values())

    def as_dict(self) -> dict:
        return {**asdict(self), "health": self.health, "connection_count": self.connection_count}


def _measure(info: StoreInfo, url: str, settings, known: set[str]) -> StoreInfo:
    """Fill in what the store itself says; an error ends up in ``info.error``."""
    args = {"connect_timeout": min(settings.connect_timeout, CONNECT_TIMEOUT)}
    if not settings.prepared_statements:
        args["prepare_threshold"] = None
    try:
        with psycopg.connect(urls.libpq_url(url), **args) as conn:
            # SET LOCAL: behind a transaction-mode pooler the setting ends with us
            conn.execute(f"set local statement_timeout = {STATEMENT_TIMEOUT_MS}")
            started = time.perf_counter()
            conn.execute("select 1").fetchone()
            info.round_trip_ms = (time.perf_counter() - started) * 1000
            info.reachable = True
            info.server_version = conn.execute("show server_version").fetchone()[0]
            info.connections = {
                state or "unknown": n
                for state, n in conn.execute(
                    "select state, count(*) from pg_stat_activity "
                    "where datname = current_database() and pid <> pg_backend_pid() "
                    "group by state order by state"
                )
            }
            if info.kind == StoreKind.DEDICATED_SERVER:
                return info  # a server new dedicated databases go to: no schema of its own
            info.size_bytes = conn.execute(
                "select pg_database_size(current_database())"
            ).fetchone()[0]
            has_version = conn.execute("select to_regclass('alembic_version')").fetchone()[0]
            if has_version:
                row = conn.execute("select version_num from alembic_version").fetchone()
                info.revision = row[0] if row else None
            info.revision_status = revision_status(info.revision, info.head, known).value
    except psycopg.Error as exc:
        info.error = first_line(exc)
    return info


def _info(catalog: Catalog, store: Store, tenants: int, head: str) -> tuple[StoreInfo, str]:
    url = catalog.store_url(store)
    pooled = store.kind == StoreKind.POOLED
    info = StoreInfo(
        name=store.name,
        kind=store.kind,
        default=store.is_default,
        placement=("accepting" if store.accepting else "draining") if pooled else None,
        tenants=tenants,
        head=None if store.kind == StoreKind.DEDICATED_SERVER else head,
        migration_status=store.migration_status,
        migration_error=store.migration_error,
        migrated_at=store.migrated_at,
        recorded_revision=store.schema_revision,
        url=urls.parse(url).render_as_string(),
    )
    return info, url


def store_infos(catalog: Catalog, *, names: tuple[str, ...] | None = None) -> list[StoreInfo]:
    """Every store (only those in ``names``, if given), pooled first then by name, each
    measured live; an unreachable one says why in ``error``."""
    head, known = migrations.head_revision("tenant"), _known_revisions()
    with catalog.session() as session:
        counts = tenant_counts(session)
        query = select(Store).order_by(Store.kind.desc(), Store.name)
        if names is not None:
            query = query.where(Store.name.in_(names))
        found = [
            _info(catalog, store, counts.get(store.id, 0), head) for store in session.scalars(query)
        ]
    if not found:
        return []
    settings = catalog.settings
    with ThreadPoolExecutor(max_workers=min(AT_ONCE, len(found))) as pool:
        return list(pool.map(lambda pair: _measure(*pair, settings, known), found))


def store_info(catalog: Catalog, name: str) -> StoreInfo:
    """One store, measured live; NotFound (saying what to do) if no store has ``name``."""
    with catalog.session() as session:
        catalog.store_named(session, name)
    return store_infos(catalog, names=(name,))[0]


def store_tenants(catalog: Catalog, name: str) -> list[dict]:
    """The tenants placed in store ``name``, by subdomain: slug, name, status (from the
    catalog alone; their rows and size are :func:`salesapp.operations.stats.tenant_stats`
    with ``store=name``)."""
    with catalog.session() as session:
        store = catalog.store_named(session, name)
        rows = session.execute(
            select(Tenant.slug, Tenant.name, Tenant.status)
            .join(Placement, Placement.tenant_id == Tenant.id)
            .where(Placement.store_id == store.id)
            .order_by(Tenant.slug)
        ).all()
    return [{"slug": slug, "name": title, "status": status} for slug, title, status in rows]
