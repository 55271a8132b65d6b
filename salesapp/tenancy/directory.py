"""The tenant directory: which tenant a host names and which store holds it.

The whole directory (tenants, domains, stores, placements) is held in memory, so a
warm request, and a request for a host we do not serve, makes no catalog query. It is
kept fresh by LISTEN/NOTIFY on the catalog (a trigger notifies on every change; the
payload names the tenant), with a TTL backstop that reloads everything.
"""

from __future__ import annotations

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
from .hosts import HostMatch
from .models import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreRef:
    """A store as the request path needs it: where to connect as the app role."""

    id: int
    name: str
    kind: str
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
    status: str
    status_reason: str | None
    max_users: int
    multi_location: bool
    placement_state: str
    store: StoreRef

    @property
    def suspended(self) -> bool:
        return self.status == "suspended"

    @property
    def moving(self) -> bool:
        return self.placement_state == "moving"


TENANTS_SQL = """
    select t.id, t.slug, t.name, t.status, t.status_reason, t.max_users, t.multi_location,
           p.state, p.store_id
      from tenants t join placements p on p.tenant_id = t.id
     where t.status in ('active', 'suspended')
"""
DOMAINS_SQL = "select d.host, d.tenant_id from domains d"
STORES_SQL = "select id, name, kind, url_encrypted from stores"


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
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self.listening = threading.Event()
        self.reloads = 0  # full and partial catalog loads, for tests and metrics

    # -- lookups ---------------------------------------------------------------------
    def lookup(self, match: HostMatch) -> TenantSnapshot | None:
        """The tenant a classified host names, or None."""
        self._refresh_if_stale()
        if match.kind == "subdomain":
            return self._by_slug.get(match.label)
        if match.kind == "custom":
            return self._by_host.get(match.host)
        return None

    def by_id(self, tenant_id: int) -> TenantSnapshot | None:
        self._refresh_if_stale()
        return self._by_id.get(tenant_id)

    # -- freshness -------------------------------------------------------------------
    def invalidate(self, tenant_id: int | None = None) -> None:
        """Mark one tenant (or, with None, everything) for reload on next use."""
        if tenant_id is None:
            self._stale_all = True
        else:
            self._stale_ids.add(tenant_id)

    def _refresh_if_stale(self) -> None:
        expired = (
            self._loaded_at is None or time.monotonic() - self._loaded_at > self.settings.cache_ttl
        )
        if not (expired or self._stale_all or self._stale_ids):
            return
        with self._lock:
            expired = (
                self._loaded_at is None
                or time.monotonic() - self._loaded_at > self.settings.cache_ttl
            )
            if expired or self._stale_all:
                self._stale_all = False
                self._stale_ids.clear()
                self._load(None)
            elif self._stale_ids:
                ids, self._stale_ids = set(self._stale_ids), set()
                self._load(ids)

    def _load(self, ids: set[int] | None) -> None:
        """Load everything (ids None) or just the given tenants, then swap the maps in."""
        where = "" if ids is None else " and t.id = any(:ids)"
        params = {} if ids is None else {"ids": list(ids)}
        with self.engine.connect() as conn:
            stores = {
                row.id: StoreRef(
                    row.id,
                    row.name,
                    row.kind,
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
                status=row.status,
                status_reason=row.status_reason,
                max_users=row.max_users,
                multi_location=row.multi_location,
                placement_state=row.state,
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
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
        self.listening.clear()

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
            self._listener = None
        self.engine.dispose()
