"""The tenant directory: which tenant a host names and which store holds it.

The whole directory (tenants, domains, stores, placements) is held in memory, so a
warm request, and a request for a host we do not serve, makes no catalog query. It is
kept fresh by LISTEN/NOTIFY on the catalog (a trigger notifies on every change; the
payload names the tenant), with a TTL backstop that reloads everything.

When the catalog cannot be reached, tenants loaded before keep being served from the
cache for ``catalog_grace`` seconds past the TTL; a host the cache does not know cannot
be told unknown meanwhile, so it is CatalogUnavailable (503), never a 404.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
import time
from dataclasses import dataclass

import psycopg
from sqlalchemy import create_engine, text

from ..settings import Settings
from . import urls
from .crypto import SecretBox
from .errors import first_line, is_unavailable
from .hosts import HostKind, HostMatch

log = logging.getLogger(__name__)

#: the channel the catalog's triggers notify on; payload: tenant id, or empty for "reload all"
NOTIFY_CHANNEL = "salesapp_catalog"


class StoreKind(enum.StrEnum):
    """What a store (a row of the catalog's ``stores``) is."""

    POOLED = "pooled"  # one database, many tenants
    DEDICATED = "dedicated"  # one database, one tenant
    DEDICATED_SERVER = "dedicated-server"  # a server dedicated databases are made on


#: the kinds of store a tenant can be placed in (a dedicated server holds none itself)
PLACEMENT_KINDS = (StoreKind.POOLED, StoreKind.DEDICATED)


class TenantStatus(enum.StrEnum):
    """A tenant's status in the catalog."""

    PROVISIONING = "provisioning"  # being created: no host names it yet
    ACTIVE = "active"
    SUSPENDED = "suspended"  # its staff are refused; its data is kept


class PlacementState(enum.StrEnum):
    """Whether a tenant stays in its store or is being moved (its writes paused)."""

    ACTIVE = "active"
    MOVING = "moving"


@dataclass(frozen=True)
class StoreRef:
    """A store as the request path needs it: where to connect as the app role."""

    id: int
    name: str
    kind: StoreKind
    app_url: str

    @property
    def key(self) -> tuple[int, str]:
        """Engine cache key: a changed URL gets a new engine."""
        return (self.id, hashlib.sha256(self.app_url.encode()).hexdigest()[:16])


@dataclass(frozen=True)
class TenantSnapshot:
    """``request.tenant``: an immutable view of one tenant for the life of a request."""

    id: int
    slug: str
    name: str
    status: TenantStatus
    status_reason: str | None
    max_users: int
    multi_location: bool
    placement_state: PlacementState
    store: StoreRef

    @property
    def suspended(self) -> bool:
        return self.status == TenantStatus.SUSPENDED

    @property
    def moving(self) -> bool:
        return self.placement_state == PlacementState.MOVING


TENANTS_SQL = """
    select t.id, t.slug, t.name, t.status, t.status_reason, t.max_users, t.multi_location,
           p.state, p.store_id
      from tenants t join placements p on p.tenant_id = t.id
     where t.status in ('active', 'suspended')
"""
DOMAINS_SQL = "select d.host, d.tenant_id from domains d"
STORES_SQL = "select id, name, kind, url_encrypted from stores"
#: seconds between attempts to reach a catalog that failed: meanwhile requests are
#: answered from the cache at once, not each made to wait for a connect timeout
CATALOG_RETRY_SECONDS = 2.0


class CatalogUnavailable(RuntimeError):
    """The catalog cannot be reached and the cache cannot answer for this host."""


class Directory:
    """In-process cache of the catalog for host resolution; one per app process."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.box = SecretBox(settings.secret_key)
        self.catalog_app_url = urls.with_role(
            settings.catalog_url, settings.app_role, settings.app_password
        )
        self.engine = create_engine(
            urls.sqlalchemy_url(self.catalog_app_url),
            pool_size=1,
            max_overflow=2,
            # loads are rare: a round trip to test the connection first costs nothing,
            # and the first load after the catalog restarted does not fail on a dead one
            pool_pre_ping=True,
            connect_args={"connect_timeout": settings.connect_timeout},
        )
        self._lock = threading.Lock()
        self._by_slug: dict[str, TenantSnapshot] = {}
        self._by_host: dict[str, TenantSnapshot] = {}
        self._by_id: dict[int, TenantSnapshot] = {}
        self._hosts_of: dict[int, tuple[str, ...]] = {}
        self._loaded_at: float | None = None
        self._stale_ids: set[int] = set()
        self._stale_all = True
        self._failed_at: float | None = None  # the last load failed: the catalog is down
        self._stop = threading.Event()
        self._wake = threading.Event()  # the catalog answers again: the listener retries now
        self._listener: threading.Thread | None = None
        self.listening = threading.Event()
        self.reloads = 0  # full and partial catalog loads, for tests and metrics

    # -- lookups ---------------------------------------------------------------------
    def lookup(self, match: HostMatch) -> TenantSnapshot | None:
        """The tenant a classified host names, or None.

        CatalogUnavailable when the catalog is down and the cache cannot say.
        """
        self._refresh_if_stale()
        if match.kind == HostKind.SUBDOMAIN:
            found = self._by_slug.get(match.label)
        elif match.kind == HostKind.CUSTOM:
            found = self._by_host.get(match.host)
        else:
            return None
        if found is None and self._failed_at is not None:
            raise CatalogUnavailable("the catalog cannot be reached; this host is not cached")
        return found

    def by_id(self, tenant_id: int) -> TenantSnapshot | None:
        self._refresh_if_stale()
        return self._by_id.get(tenant_id)

    # -- freshness -------------------------------------------------------------------
    @property
    def catalog_unreachable(self) -> bool:
        """True from a load that could not reach the catalog until one that could."""
        return self._failed_at is not None

    def invalidate(self, tenant_id: int | None = None) -> None:
        """Mark one tenant (or, with None, everything) for reload on next use."""
        if tenant_id is None:
            self._stale_all = True
        else:
            self._stale_ids.add(tenant_id)

    def _expired(self) -> bool:
        return (
            self._loaded_at is None or time.monotonic() - self._loaded_at > self.settings.cache_ttl
        )

    def _within_grace(self) -> bool:
        """True while the cache may still answer, the catalog being down."""
        return (
            self._loaded_at is not None
            and time.monotonic() - self._loaded_at
            <= self.settings.cache_ttl + self.settings.catalog_grace
        )

    def _refresh_if_stale(self) -> None:
        if not (self._expired() or self._stale_all or self._stale_ids):
            return
        failed_at = self._failed_at
        if failed_at is not None:
            if time.monotonic() - failed_at < CATALOG_RETRY_SECONDS:
                self._serve_cached()
                return
            # one request tries the catalog again; the others go on from the cache
            if not self._lock.acquire(blocking=not self._within_grace()):
                return
        else:
            self._lock.acquire()
        try:
            if self._expired() or self._stale_all:
                self._stale_all = False
                self._stale_ids.clear()
                self._try_load(None)
            elif self._stale_ids:
                ids, self._stale_ids = set(self._stale_ids), set()
                self._try_load(ids)
        finally:
            self._lock.release()

    def _try_load(self, ids: set[int] | None) -> None:
        """Load; if the catalog cannot be reached, go on from the cache while in grace."""
        try:
            self._load(ids)
        except Exception as exc:
            self._stale_all = True  # reload everything on the next try
            if not is_unavailable(exc):
                raise
            if self._failed_at is None:
                log.warning(
                    "catalog unreachable (%s); serving the tenants cached for up to %.0f s",
                    first_line(exc),
                    self.settings.catalog_grace,
                )
            self._failed_at = time.monotonic()
            self._serve_cached()
            return
        if self._failed_at is not None:
            log.warning("catalog reachable again; directory reloaded")
            self._failed_at = None
        if not self.listening.is_set():
            self._wake.set()

    def _serve_cached(self) -> None:
        if not self._within_grace():
            raise CatalogUnavailable(
                "the catalog cannot be reached and the cached directory is older than "
                "salesapp.cache_ttl + salesapp.catalog_grace"
            )

    def _load(self, ids: set[int] | None) -> None:
        """Load everything (ids None) or just the given tenants, then swap the maps in."""
        where = "" if ids is None else " and t.id = any(:ids)"
        params = {} if ids is None else {"ids": list(ids)}
        with self.engine.connect() as conn:
            stores = {
                row.id: StoreRef(
                    row.id,
                    row.name,
                    StoreKind(row.kind),
                    urls.with_role(
                        self.box.decrypt(row.url_encrypted),
                        self.settings.app_role,
                        self.settings.app_password,
                    ),
                )
                for row in conn.execute(text(STORES_SQL))
            }
            tenants = conn.execute(text(TENANTS_SQL + where), params).all()
            domain_sql = DOMAINS_SQL + ("" if ids is None else " where d.tenant_id = any(:ids)")
            domains = conn.execute(text(domain_sql), params).all()
        self.reloads += 1

        by_slug = {} if ids is None else dict(self._by_slug)
        by_host = {} if ids is None else dict(self._by_host)
        by_id = {} if ids is None else dict(self._by_id)
        hosts_of = {} if ids is None else dict(self._hosts_of)
        for tenant_id in ids or ():
            old = by_id.pop(tenant_id, None)
            if old is not None:
                by_slug.pop(old.slug, None)
            for host in hosts_of.pop(tenant_id, ()):
                by_host.pop(host, None)
        for row in tenants:
            store = stores.get(row.store_id)
            if store is None:
                continue
            snapshot = TenantSnapshot(
                id=row.id,
                slug=row.slug,
                name=row.name,
                status=TenantStatus(row.status),
                status_reason=row.status_reason,
                max_users=row.max_users,
                multi_location=row.multi_location,
                placement_state=PlacementState(row.state),
                store=store,
            )
            by_slug[row.slug] = snapshot
            by_id[row.id] = snapshot
        grouped: dict[int, list[str]] = {}
        for host, tenant_id in domains:
            if tenant_id in by_id:
                by_host[host] = by_id[tenant_id]
                grouped.setdefault(tenant_id, []).append(host)
        hosts_of.update({k: tuple(v) for k, v in grouped.items()})
        self._by_slug, self._by_host, self._by_id, self._hosts_of = (
            by_slug,
            by_host,
            by_id,
            hosts_of,
        )
        if ids is None:
            self._loaded_at = time.monotonic()

    def ping(self) -> bool:
        """True if the catalog answers now."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("select 1"))
            return True
        except Exception:
            return False

    # -- LISTEN/NOTIFY ---------------------------------------------------------------
    def start_listener(self) -> None:
        """Listen for catalog changes in a daemon thread (reconnects with back-off)."""
        if self._listener is not None:
            return
        self._listener = threading.Thread(
            target=self._listen_forever, name="salesapp-catalog-listener", daemon=True
        )
        self._listener.start()

    def _listen_forever(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    urls.libpq_url(self.catalog_app_url),
                    autocommit=True,
                    connect_timeout=self.settings.connect_timeout,
                ) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    # Anything may have changed while nobody listened.
                    self.invalidate()
                    self.listening.set()
                    delay = 0.5
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.invalidate(int(note.payload) if note.payload else None)
            except Exception as exc:  # catalog down or connection lost: retry, TTL still holds
                self.listening.clear()
                log.warning("catalog listener: %s; retrying in %.1fs", exc, delay)
                # woken early when a request finds the catalog back
                self._wake.wait(delay)
                self._wake.clear()
                delay = min(delay * 2, 10.0)
        self.listening.clear()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
            self._listener = None
        self.engine.dispose()
