"""The tenant directory: which tenant a host names and which store holds it.

The whole directory (tenants, domains, stores, placements) is held in memory, so a
warm request, and a request for a host we do not serve, makes no catalog query. It is
kept fresh by LISTEN/NOTIFY on the catalog (a trigger notifies on every change; the
payload names the tenant), with a TTL backstop that reloads everything.

When the catalog cannot be reached, tenants loaded before keep being served from the
cache for ``catalog_grace`` seconds past the TTL; a host the cache does not know cannot
be told unknown meanwhile, so it is CatalogUnavailable (503), never a 404.

Besides where a tenant lives, a snapshot carries what decides whether it may write now:
its trial's end, and for a tenant being moved its mover's last heartbeat and the pause
the mover expects. A move is a lease: a heartbeat older than MOVE_LEASE_SECONDS means
the mover is gone and the move no longer pauses the tenant's writes (the store's own
fence, held by the mover's connection, went with it). Heartbeats do not notify (one a
second would reload every process), so a snapshot whose heartbeat looks too old is
re-read before a write is let through (:meth:`Directory.current_move`).

A pre-fork server (gunicorn ``--preload``) makes the app once and forks its workers: a
thread does not survive a fork, and a connection must not be shared by two processes.
So in a forked child the directory forgets its parent's listener, lock and pooled
connections (:func:`os.register_at_fork`), and the child's first look-up starts a
listener of its own: every process that serves requests listens (docs/deployment.md).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import logging
import math
import os
import threading
import time
import weakref
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
#: seconds after its mover's last heartbeat (it beats every second) that a move is void:
#: the mover is gone, and the tenant's writes go on in the store it never left. Short, so
#: a killed mover pauses them only seconds; ten heartbeats long, so a busy mover is not
#: taken for dead. The next mover and `salesapp doctor` use the same bound.
MOVE_LEASE_SECONDS = 10.0
#: seconds between re-reads of one tenant's move whose heartbeat the cache holds is old
MOVE_RECHECK_SECONDS = 1.0


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
    trial_ends_at: dt.datetime | None = None
    #: time.monotonic() of the mover's last heartbeat as loaded (None: no move row)
    move_beat_at: float | None = None
    #: the pause of the tenant's writes the mover expects, in seconds
    expected_pause_seconds: float | None = None

    @property
    def suspended(self) -> bool:
        return self.status == TenantStatus.SUSPENDED

    @property
    def move_beat_age(self) -> float:
        """Seconds since the mover's last heartbeat, as far as this snapshot knows
        (infinite when no move is recorded)."""
        if self.move_beat_at is None:
            return math.inf
        return time.monotonic() - self.move_beat_at

    @property
    def moving(self) -> bool:
        """Its writes are paused for a move: placed ``moving`` and the mover's heartbeat
        within MOVE_LEASE_SECONDS. A move whose mover stopped beating is void."""
        return (
            self.placement_state == PlacementState.MOVING
            and self.move_beat_age <= MOVE_LEASE_SECONDS
        )

    @property
    def retry_after(self) -> int | None:
        """Whole seconds a client should wait while it moves (None: not known)."""
        if not self.expected_pause_seconds:
            return None
        return max(1, math.ceil(self.expected_pause_seconds))

    @property
    def trial_ended(self) -> bool:
        """Its trial has ended: the workspace is read-only until the operator extends
        it (`salesapp tenant extend-trial`)."""
        return self.trial_ends_at is not None and self.trial_ends_at <= dt.datetime.now(dt.UTC)


TENANTS_SQL = """
    select t.id, t.slug, t.name, t.status, t.status_reason, t.max_users, t.multi_location,
           t.trial_ends_at, p.state, p.store_id,
           extract(epoch from clock_timestamp() - m.heartbeat_at)::float8 as move_beat_age,
           m.expected_pause_seconds
      from tenants t join placements p on p.tenant_id = t.id
      left join tenant_moves m on m.tenant_id = t.id
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
        self.box = SecretBox(settings.secret_key, settings.previous_secret_keys)
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
            connect_args=urls.connect_args(settings),
        )
        self._lock = threading.Lock()
        self._by_slug: dict[str, TenantSnapshot] = {}
        self._by_host: dict[str, TenantSnapshot] = {}
        self._by_id: dict[int, TenantSnapshot] = {}
        self._hosts_of: dict[int, tuple[str, ...]] = {}
        self._loaded_at: float | None = None
        self._stale_ids: set[int] = set()
        self._stale_all = True
        self._reloading = False  # a thread holds _lock to load (_refresh_if_stale)
        self._move_rechecked: dict[int, float] = {}  # tenant id -> monotonic time
        self._failed_at: float | None = None  # the last load failed: the catalog is down
        self._stop = threading.Event()
        self._wake = threading.Event()  # the catalog answers again: the listener retries now
        self._listener: threading.Thread | None = None
        self._listener_lock = threading.Lock()
        self._listen_wanted = False  # start_listener() was called, close() was not
        self.listening = threading.Event()
        self.reloads = 0  # full and partial catalog loads, for tests and metrics
        _forget_parent_after_fork(self)

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

    def current_move(self, tenant: TenantSnapshot) -> TenantSnapshot:
        """``tenant`` with its move's heartbeat as the catalog has it now.

        Placed ``moving`` with a heartbeat the cache holds as older than the lease, the
        tenant is re-read from the catalog (at most every MOVE_RECHECK_SECONDS per
        tenant): a live mover has beaten since (its move stands), a gone one has not (its
        move is void, and the write goes on to the store, whose fence refuses it if a
        mover does hold it after all). Anything else is answered from the snapshot.
        """
        if tenant.placement_state != PlacementState.MOVING or tenant.moving:
            return tenant
        now = time.monotonic()
        if now - self._move_rechecked.get(tenant.id, -math.inf) >= MOVE_RECHECK_SECONDS:
            self._move_rechecked[tenant.id] = now
            self.invalidate(tenant.id)
        try:
            return self.by_id(tenant.id) or tenant
        except CatalogUnavailable:
            return tenant

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
        if self._listener is None and self._listen_wanted:
            self._start_listener_thread()  # the first look-up of a forked process
        # _reloading: another thread has taken the stale marks and is loading; wait for
        # it (below), or a request that came after a change was heard would be answered
        # from the maps of before it
        if not (self._expired() or self._stale_all or self._stale_ids or self._reloading):
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
        self._reloading = True
        try:
            if self._expired() or self._stale_all:
                self._stale_all = False
                self._stale_ids.clear()
                self._try_load(None)
            elif self._stale_ids:
                ids, self._stale_ids = set(self._stale_ids), set()
                self._try_load(ids)
        finally:
            self._reloading = False
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
        loaded_at = time.monotonic()
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
                trial_ends_at=row.trial_ends_at,
                move_beat_at=(None if row.move_beat_age is None else loaded_at - row.move_beat_age),
                expected_pause_seconds=row.expected_pause_seconds,
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
        """Listen for catalog changes in a daemon thread (reconnects with back-off), in
        this process now and in every process forked from it at its first look-up."""
        self._listen_wanted = True
        self._start_listener_thread()

    def _start_listener_thread(self) -> None:
        with self._listener_lock:
            if self._listener is not None or not self._listen_wanted:
                return
            self._listener = threading.Thread(
                target=self._listen_forever, name="salesapp-catalog-listener", daemon=True
            )
            self._listener.start()

    def _after_fork_in_child(self) -> None:
        """In a forked child: the parent's listener thread is not here (the child has only
        the thread that forked), its locks may have been held by threads that are not here
        either, and its pooled connections are the parent's. Start afresh; the next
        look-up starts this process's listener. The parent's connections are dropped
        without closing them (psycopg closes a connection only in the process that made
        it), so the parent goes on using them."""
        self._lock = threading.Lock()
        self._reloading = False
        self._listener_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.listening = threading.Event()
        self._listener = None
        self.engine.dispose(close=False)

    def _listen_forever(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    urls.libpq_url(self.catalog_app_url),
                    autocommit=True,
                    **urls.connect_args(self.settings),
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
        self._listen_wanted = False
        self._stop.set()
        self._wake.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
            self._listener = None
        self.engine.dispose()


def _forget_parent_after_fork(directory: Directory) -> None:
    """Have a forked child reset ``directory`` (a weak reference: a hook cannot be
    removed, and a directory closed and dropped must not be kept alive by it)."""
    ref = weakref.ref(directory)

    def after_in_child() -> None:
        found = ref()
        if found is not None:
            found._after_fork_in_child()

    os.register_at_fork(after_in_child=after_in_child)
