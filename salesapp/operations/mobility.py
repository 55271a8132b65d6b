"""Move a tenant to another store while its business keeps selling.

Pooled to dedicated, dedicated to pooled, one pooled store to another, one server to
another: the same seven steps, each recorded in the catalog's ``tenant_moves`` row
before the next begins.

1. prepare: resolve the target; a new dedicated database is named in the catalog before
   it is created (so a crash cannot orphan it), then created from the template, and its
   identity recorded.
2. fence:   the placement turns ``moving`` (app processes refuse the tenant's writes with
   503 and a Retry-After of the expected pause), and the mover takes the tenant's fence
   lock in the source store, which waits for writes in flight to commit and refuses
   every later one (fence.py).
3. copy:    every tenant table, parents first, streamed with COPY from one snapshot of
   the source into the target in one transaction (through a temporary table: COPY FROM
   is refused under row-level security).
4. verify:  per table, the row count and a checksum of the ordered rows, both sides.
5. flip:    the source is closed to the tenant for good (``tenant_fences``), then the
   placement points at the target and is ``active`` again.
6. notify:  every app process is told (LISTEN/NOTIFY), and the fence lock is released.
7. clean:   the tenant's rows leave the source (a dedicated source database is dropped),
   unless the source is to be kept (then it is recorded in ``tenant_copies``).

A crash anywhere leaves the tenant wholly in one store: before the flip the source holds
the truth, and running the move again first undoes the half-made target; after the flip
the target does, and running it again finishes the clean-up (:func:`resume_move` does
either without starting a new move).

Nothing is emptied or dropped on trust. A database is known by its identity (the
server's system identifier and the database's oid, salesapp.operations.identity), never
by its URL: a move is refused before anything changes when its target is the database
the tenant lives in (by whatever URL) or one another store names, and every undo and
clean-up reads, live, the identity of what it is about to empty or drop and leaves it
alone if it is where the tenant lives now (or, for a drop, if any other store row, the
catalog or the template is that database).

A move is a lease. The mover holds a lock in the catalog for the tenant (released by
the server the moment the mover's connection ends, kill -9 included) and beats
``tenant_moves.heartbeat_at`` every second. A second mover of the same tenant is refused
while the lock is held; once it is free, a rerun takes over at once. App processes treat
a move whose heartbeat is older than ``MOVE_LEASE_SECONDS`` as void, so a mover killed
before the flip stops pausing the tenant's writes within seconds: the store's fence lock
(the real guarantee) died with the mover's connection already. A mover that could not
beat for half the lease stops before its next step rather than race a successor.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.directory import (
    MOVE_LEASE_SECONDS,
    NOTIFY_CHANNEL,
    PLACEMENT_KINDS,
    PlacementState,
    StoreKind,
)
from ..tenancy.errors import first_line
from ..tenancy.stores import connect_args
from . import bootstrap, door, fence, migrations
from .catalog import Catalog
from .errors import OperationError
from .identity import (
    DatabaseIdentity,
    identity_of,
    identity_of_store,
    read_identity,
    record_identity,
)
from .models import MovePhase, Placement, Store, TenantCopy, TenantMove
from .provisioning import TenantRequest, dedicated_database_name, prepare_dedicated_database
from .storeadmin import KnownStore, identity_named, known_stores, reserved_databases
from .tablecopy import (
    checksum,
    connect,
    delete_rows,
    load,
    normalize,
    stream_out,
    table_specs,
)

log = logging.getLogger(__name__)

STEPS = ("prepare", "fence", "copy", "verify", "flip", "notify", "clean")
#: set to ``move:STEP`` to have the mover kill itself with SIGKILL right after STEP
CRASH_ENV = "SALESAPP_CRASH_AT"
#: first key of the catalog advisory lock a live mover of a tenant holds (the second
#: key is the tenant id); the fence lock in the stores is another class (fence.py)
MOVER_LOCK = 0x5A1E6
#: seconds between a live mover's heartbeats (MOVE_LEASE_SECONDS is the bound after
#: which the app and the next mover consider it gone)
BEAT_SECONDS = 1.0
#: rows a move copies and verifies per second, for the expected pause of the tenant's
#: writes (Retry-After); on the low side of what a move does, so clients wait long enough
COPY_ROWS_PER_SECOND = 20_000


class MoveError(OperationError):
    """A move was refused or failed; the message says what happened to the tenant."""


class _Unsafe(MoveError):
    """What was to be emptied or dropped is (or may be) where a tenant lives: it is
    left alone."""


class _Failed(RuntimeError):
    """A move failed after it had begun changing things (logged as failed; the caller
    gets a MoveError with this message)."""


class SimulatedCrash(BaseException):
    """Raised at a step to stop the mover dead: no clean-up of ours runs."""


@dataclass
class MoveRequest:
    slug: str
    to: StoreKind  # POOLED | DEDICATED (PLACEMENT_KINDS)
    store_name: str | None = None  # a pooled store, or a dedicated-server store
    database_url: str | None = None  # dedicated: exactly this database
    keep_source: bool = False
    wait_seconds: float = 30.0  # for the tenant's in-flight writes to commit
    grace_seconds: float = 0.0  # between the flip and removing the source


@dataclass
class TableCopy:
    name: str
    rows: int
    checksum: str
    seconds: float


@dataclass
class MoveResult:
    slug: str
    source: str
    source_kind: str  # a StoreKind, or "?" for a store already gone
    target: str
    target_kind: str
    tables: list[TableCopy] = field(default_factory=list)
    fence_seconds: float | None = None
    total_seconds: float = 0.0
    source_fate: str = ""  # what became of the source
    resumed: bool = False  # this run finished (or undid) a move an earlier run left
    undone: bool = False  # resumed: the earlier move had not flipped and was undone
    expected_pause_seconds: float | None = None


@dataclass
class _StoreInfo:
    id: int | None
    name: str
    kind: StoreKind
    url: str
    identity: DatabaseIdentity | None = None  # as recorded in the catalog


@dataclass
class _Plan:
    tenant_id: int
    slug: str
    source: _StoreInfo
    target: _StoreInfo  # id None: a dedicated database to be made
    dedicated: TenantRequest | None = None
    database_exists: bool = False
    target_identity: DatabaseIdentity | None = None  # an existing database's


def _checkpoint(step: str, fail_at: str | None) -> None:
    if os.environ.get(CRASH_ENV) == f"move:{step}":
        os.kill(os.getpid(), signal.SIGKILL)
    if fail_at == step:
        raise SimulatedCrash(f"simulated crash after step {step}")


def _connect(catalog: Catalog, url: str) -> psycopg.Connection:
    return connect(catalog.settings, url, autocommit=True)


def _info(catalog: Catalog, store: Store) -> _StoreInfo:
    return _StoreInfo(
        store.id,
        store.name,
        StoreKind(store.kind),
        catalog.store_url(store),
        identity_of_store(store),
    )


def _silent(event, **info) -> None:
    pass


# -- the lease ----------------------------------------------------------------------------
class _Lease:
    """A mover's hold on one tenant's move, for as long as the mover lives.

    It takes the tenant's mover lock in the catalog, as a transaction-level advisory
    lock in a transaction it keeps open for the life of the lease: only one mover of a
    tenant at a time, and the server lets go of the lock the moment that connection
    ends, however the mover died (a transaction-mode PgBouncer in front of the catalog
    keeps one server connection for an open transaction, and drops it with its client,
    where a session lock would stay behind on a pooled server connection). On a second
    connection (autocommit) a thread beats ``tenant_moves.heartbeat_at`` every
    BEAT_SECONDS until the lease is closed, and keeps the lock's transaction busy.
    """

    def __init__(self, catalog: Catalog, tenant_id: int, slug: str):
        self.tenant_id, self.slug = tenant_id, slug
        self._url = url = urls.libpq_url(catalog.settings.catalog_url)
        self._args = args = connect_args(catalog.settings)
        self.lock_conn = psycopg.connect(url, **args)  # its transaction stays open
        self.conn = None
        try:
            held = self.lock_conn.execute(
                "select pg_try_advisory_xact_lock(%s, %s)", _mover_key(tenant_id)
            ).fetchone()[0]
            if not held:
                raise MoveError(_busy_message(self.lock_conn, tenant_id, slug))
            self.conn = psycopg.connect(url, autocommit=True, **args)
        except BaseException:
            self.lock_conn.close()
            raise
        self.last_beat = time.monotonic()
        self.broken = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"salesapp-mover-{tenant_id}", daemon=True
        )
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(BEAT_SECONDS):
            try:
                self.lock_conn.execute("select 1")  # the lock is still ours
            except psycopg.Error as exc:
                log.warning("the mover of %s lost its lock: %s", self.slug, first_line(exc))
                self.broken = True
                return
            try:
                self.conn.execute(
                    "update tenant_moves set heartbeat_at = now() where tenant_id = %s",
                    (self.tenant_id,),
                )
                self.last_beat = time.monotonic()
            except psycopg.Error as exc:  # the catalog is away: lost() says when it matters
                log.warning("the mover of %s could not beat: %s", self.slug, first_line(exc))
                if self.conn.closed:
                    self.conn = self._reconnect()

    def _reconnect(self):
        try:
            return psycopg.connect(self._url, autocommit=True, **self._args)
        except psycopg.Error:
            return self.conn  # closed still: the next beat tries again

    @property
    def lost(self) -> bool:
        """True once the lease may have passed to another mover: the lock's connection
        failed, or the catalog took no heartbeat for half the lease."""
        return self.broken or time.monotonic() - self.last_beat > MOVE_LEASE_SECONDS / 2

    def check(self) -> None:
        """Refuse to take the next step without the lease."""
        if self.lost:
            raise MoveError(
                f"this mover of {self.slug!r} lost its lease (its lock's connection failed, "
                f"or the catalog took no heartbeat for {time.monotonic() - self.last_beat:.0f}"
                " s), so another run may have taken the move over; it stopped before its "
                "next step. Run the command again: it finishes or undoes the move"
            )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=BEAT_SECONDS + 5)
        self.conn.close()
        self.lock_conn.close()  # ends its transaction: the mover lock is released

    def __enter__(self) -> _Lease:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _mover_key(tenant_id: int) -> tuple[int, int]:
    return MOVER_LOCK, tenant_id % 2147483647


MOVER_SQL = """
    select l.pid,
           extract(epoch from clock_timestamp() - m.heartbeat_at)::float8 as beat_age
      from pg_locks l
      left join tenant_moves m on m.tenant_id = %(tenant)s
     where l.locktype = 'advisory' and l.granted and l.objsubid = 2
       and l.classid = %(class)s and l.objid = %(key)s
       and l.database = (select oid from pg_database where datname = current_database())
"""


def _mover_of(conn, tenant_id: int) -> tuple[int, float | None] | None:
    """(catalog backend pid, seconds since its heartbeat or None) of the process holding
    the tenant's mover lock, or None if no process holds it."""
    lock_class, key = _mover_key(tenant_id)
    params = {"tenant": tenant_id, "class": lock_class, "key": key}
    return conn.execute(MOVER_SQL, params, prepare=False).fetchone()


def _busy_message(conn, tenant_id: int, slug: str) -> str:
    mover = _mover_of(conn, tenant_id)
    pid, beat_age = mover if mover else (None, None)
    holder = f"catalog backend pid {pid}" if pid else "another process"
    if beat_age is not None and beat_age > MOVE_LEASE_SECONDS:
        return (
            f"tenant {slug!r} is held by a mover that stopped beating {beat_age:.0f} s ago "
            f"({holder}): it is hung, not gone. Stop that `salesapp tenant move` process "
            "(or end that backend with pg_terminate_backend), then run the command again"
        )
    return (
        f"tenant {slug!r} is being moved by another process now ({holder}); wait for it "
        "to end (`salesapp tenant list` shows it moving), then run the command again"
    )


def mover_alive(catalog: Catalog, tenant_id: int) -> bool:
    """True while a move of the tenant is pending and its mover lives: the move's
    heartbeat is within MOVE_LEASE_SECONDS and a process holds the tenant's mover lock.

    False when no move is pending, or its mover is gone: killed (the lock goes with its
    connection, so that is known at once) or cut off from the catalog for longer than
    the lease. A pending move without a live mover is :func:`resume_move`'s to finish
    or undo.
    """
    with catalog.engine.connect() as connection:
        conn = connection.connection.driver_connection
        mover = _mover_of(conn, tenant_id)
    if mover is None:
        return False
    beat_age = mover[1]
    return beat_age is not None and beat_age <= MOVE_LEASE_SECONDS


# -- planning -------------------------------------------------------------------------
def _resolve(catalog: Catalog, request: MoveRequest) -> _Plan:
    """Check the request against the catalog; nothing is changed."""
    if request.to not in PLACEMENT_KINDS:
        raise MoveError(f"--to must be pooled or dedicated, not {request.to!r}")
    chosen = None  # with no --store, the policy's pooled store: chosen before the session
    if request.to == StoreKind.POOLED and not request.store_name and not request.database_url:
        chosen = _roomiest_pooled(catalog, request.slug)
    with catalog.session() as session:
        tenant = catalog.tenant(session, request.slug)
        _placement, source = catalog.placement(session, tenant)
        plan = _Plan(tenant.id, tenant.slug, _info(catalog, source), None)
        if request.to == StoreKind.POOLED:
            if request.database_url:
                raise MoveError(
                    "--database-url is for --to dedicated; a pooled target is a --store"
                )
            store = catalog.pooled_store(session, request.store_name or chosen)
            if store is None:
                raise MoveError("no pooled store exists; add one with `salesapp store add`")
            if store.kind != StoreKind.POOLED:
                raise MoveError(
                    f"store {store.name!r} is a {store.kind} store, not pooled; "
                    "see `salesapp store list`"
                )
            if store.id == source.id:
                raise MoveError(f"tenant {tenant.slug!r} is already in pooled store {store.name!r}")
            plan.target = _info(catalog, store)
        else:
            _resolve_dedicated(catalog, session, request, plan, tenant)
    if plan.target.id is None:
        url = plan.target.url
        try:
            with bootstrap.admin_connection(url, settings=catalog.settings) as conn:
                plan.database_exists = bootstrap.database_exists(conn, urls.database_of(url))
        except psycopg.Error as exc:
            raise MoveError(f"cannot reach the target server: {first_line(exc)}") from None
        if plan.database_exists and not request.database_url:
            raise MoveError(
                f"database {urls.database_of(url)} already exists on the target server (kept "
                "by an earlier move?); drop it, or name another with --database-url"
            )
    _refuse_known_target(catalog, plan)
    return plan


def _roomiest_pooled(catalog: Catalog, slug: str) -> str:
    """With no --store: the name of the accepting pooled store with the most room
    (salesapp.operations.placement), the tenant's own store aside. (A store named with
    --store is the operator's choice, draining or not: a drain's mark keeps the policy
    from choosing it.) Its catalog sessions are opened one after another, never inside
    another: behind a small transaction-mode pool, nested ones could wait for ever."""
    from .placement import PlacementError, choose_pooled_store

    with catalog.session() as session:
        _placement, source = catalog.placement(session, catalog.tenant(session, slug))
        own = (source.name,) if source.kind == StoreKind.POOLED else ()
    try:
        return choose_pooled_store(catalog, exclude=own)
    except PlacementError as exc:
        if own:
            raise MoveError(
                f"tenant {slug!r} is already in pooled store {own[0]!r} and no other "
                "pooled store accepts new tenants; name one with --store, or mark one "
                "accepting with `salesapp store accept NAME`"
            ) from None
        raise MoveError(str(exc)) from None


def _resolve_dedicated(catalog: Catalog, session, request: MoveRequest, plan: _Plan, tenant):
    if request.store_name and request.database_url:
        raise MoveError("give --store SERVER or --database-url, not both")
    server_url = bootstrap.owner_server_url(catalog.settings)
    if request.store_name:
        store = catalog.store_named(session, request.store_name)
        if store.kind != StoreKind.DEDICATED_SERVER:
            raise MoveError(
                f"store {store.name!r} is a {store.kind} store; --to dedicated --store needs "
                "a dedicated-server store (`salesapp store add --kind dedicated-server`)"
            )
        server_url = catalog.store_url(store)
    elif not request.database_url and plan.source.kind == StoreKind.DEDICATED:
        raise MoveError(
            f"tenant {tenant.slug!r} already has a dedicated store ({plan.source.name}); to "
            "move it to another server give --store SERVER or --database-url URL"
        )
    if request.database_url:
        try:
            url = urls.plain(request.database_url)
        except ValueError as exc:
            raise MoveError(f"--database-url: {exc}") from None
        if not urls.database_of(url):
            raise MoveError("--database-url names no database: add /DATABASE_NAME")
    else:
        url = urls.with_database(server_url, dedicated_database_name(catalog, tenant.slug))
    taken = set(session.scalars(select(Store.name)))
    name = f"dedicated-{tenant.slug}"
    for n in range(2, 1000):
        if name not in taken:
            break
        name = f"dedicated-{tenant.slug}-{n}"
    plan.target = _StoreInfo(None, name, StoreKind.DEDICATED, url)
    plan.dedicated = TenantRequest(
        name=tenant.name,
        slug=tenant.slug,
        admin_email=tenant.admin_email,
        placement=StoreKind.DEDICATED,
        store_name=request.store_name,
        database_url=url if request.database_url else None,
    )


def _refuse_known_target(catalog: Catalog, plan: _Plan) -> None:
    """MoveError, before anything changes, if the target is a database that is already
    something: the one the tenant lives in (by whatever URL), another store's, the
    catalog or the template. A new database has no identity yet and is none of these."""
    stores = known_stores(catalog)
    if plan.target.id is not None:  # a pooled store
        target = next(s for s in stores if s.id == plan.target.id)
        if target.identity is None:
            raise MoveError(
                f"cannot reach store {target.name} to tell what database it is; nothing was "
                "changed. Check that its server runs (`salesapp store list`)"
            )
        identity, what = target.identity, f"store {target.name}"
    elif plan.database_exists:
        try:
            identity = plan.target_identity = read_identity(catalog.settings, plan.target.url)
        except psycopg.Error as exc:
            raise MoveError(f"cannot reach --database-url: {first_line(exc)}") from None
        what = urls.parse(plan.target.url).render_as_string()
    else:
        return
    for store in stores:
        if store.id == plan.target.id or store.identity != identity:
            continue
        if store.id == plan.source.id:
            raise MoveError(
                f"{what} is the database {plan.slug!r} lives in now (store {store.name}); "
                "nothing was changed. "
                + (
                    "Two store rows name one database: remove the duplicate (`salesapp doctor`)"
                    if plan.target.id is not None
                    else "--database-url names a new or empty database to move it to"
                )
            )
        raise MoveError(
            f"{what} is the database of store {store.name}; nothing was changed. "
            + (
                "Two store rows name one database: remove the duplicate (`salesapp doctor`)"
                if plan.target.id is not None
                else "--database-url names a new or empty database, not a store"
            )
        )
    reserved = reserved_databases(catalog)
    if identity in reserved:
        raise MoveError(
            f"{what} is {reserved[identity]}; nothing was changed. A tenant cannot move there"
        )


def _check_revisions(catalog: Catalog, plan: _Plan) -> str:
    head = migrations.head_revision("tenant")
    stores = [plan.source] + ([plan.target] if plan.target.id is not None else [])
    for store in stores:
        revision = migrations.revision_at(store.url, catalog.settings)
        if revision != head:
            raise MoveError(
                f"store {store.name} is at schema revision {revision}, not {head}; "
                "run `salesapp migrate` first"
            )
    return head


def _row_counts(catalog: Catalog, plan: _Plan) -> list[tuple[str, int]]:
    """The tenant's rows per table in the source (what the move will copy)."""
    where = door.TenantAddress(plan.tenant_id, plan.source.name)
    counted = []
    with door.tenant_connection(catalog, where) as conn:
        for spec in table_specs(conn):
            query = sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(
                sql.Identifier(spec.name)
            )
            counted.append((spec.name, conn.execute(query, (plan.tenant_id,)).fetchone()[0]))
    return counted


def expected_pause(rows: int) -> float:
    """Seconds the tenant's writes are expected to pause to copy and verify ``rows``
    rows: at least 1 (what Retry-After says while it moves)."""
    return float(max(1, math.ceil(rows / COPY_ROWS_PER_SECOND)))


def plan_move(catalog: Catalog, request: MoveRequest) -> list[str]:
    """What :func:`move_tenant` would do, one line a step; changes nothing."""
    with catalog.session() as session:
        tenant = catalog.tenant(session, request.slug)
        pending = session.get(TenantMove, tenant.id)
        if pending is not None:
            if mover_alive(catalog, tenant.id):
                return [f"{tenant.slug!r} is being moved now by another process: nothing"]
            return [
                f"an earlier move of {tenant.slug!r} stopped at phase {pending.phase}: "
                + (
                    "it would be finished (the target holds the tenant)"
                    if pending.phase == MovePhase.FLIPPED
                    else "it would be undone (the source holds the tenant), then the move made"
                )
            ]
    plan = _resolve(catalog, request)
    _check_revisions(catalog, plan)
    counts = _row_counts(catalog, plan)
    target = plan.target
    steps = [f"move {plan.slug!r} from {plan.source.kind} store {plan.source.name}"]
    if target.id is None:
        where = urls.parse(target.url).render_as_string()
        verb = "use empty database" if plan.database_exists else "create database"
        steps.append(f"{verb} {where} as dedicated store {target.name}")
    else:
        steps.append(f"to pooled store {target.name}")
    total = sum(rows for _, rows in counts)
    steps.append(
        f"pause its writes for about {expected_pause(total):.0f} s (reads go on), copy "
        f"{total} rows in {len(counts)} tables: "
        + ", ".join(f"{name} {rows}" for name, rows in counts if rows)
    )
    steps.append("verify row counts and checksums per table, switch it over, resume writes")
    fate = (
        "keep the source (recorded as a kept copy)"
        if request.keep_source
        else (
            "drop the source database"
            if plan.source.kind == StoreKind.DEDICATED
            else "delete its rows from the source"
        )
    )
    steps.append(fate)
    return steps


# -- the move -------------------------------------------------------------------------
def _tenant(catalog: Catalog, slug: str) -> tuple[int, str]:
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        return tenant.id, tenant.slug


def move_tenant(
    catalog: Catalog, request: MoveRequest, progress=None, fail_at: str | None = None
) -> MoveResult:
    """Move a tenant as ``request`` says (see the module's docstring).

    An earlier move of the tenant that was stopped is dealt with first: finished if it
    had flipped (and that is all this run does), else undone. Refused while another
    mover of the tenant lives. Logged (``tenant.move``) when it starts and when it ends.

    ``progress(event, **info)`` hears of each step and table; ``fail_at`` names a step
    after which to stop dead, as kill -9 would (tests).
    """
    progress = progress or _silent
    started = time.monotonic()
    detail = {"to": str(request.to), "keep_source": request.keep_source}
    if request.store_name:
        detail["store"] = request.store_name
    if request.database_url:
        detail["database_url"] = request.database_url  # masked in the log
    try:
        with catalog.operation("tenant.move", tenant_slug=request.slug, **detail) as record:
            tenant_id, slug = _tenant(catalog, request.slug)
            record.tenant_slug = slug
            with _Lease(catalog, tenant_id, slug) as lease:
                result = _resume(catalog, tenant_id, progress, lease)
                if result is not None and result.undone:
                    record.detail["earlier_move"] = f"undone: {result.source_fate}"
                if result is None or result.undone:
                    result = _move(catalog, request, progress, fail_at, lease)
            record.store_name = result.target
            record.detail.update(_summary(result))
    except _Failed as failed:
        raise MoveError(str(failed)) from None
    result.total_seconds = time.monotonic() - started
    return result


def resume_move(catalog: Catalog, slug: str, progress=None) -> MoveResult | None:
    """Finish or undo the tenant's move an earlier run left pending (killed, or stopped
    by an error it could not undo), without starting a new one: finished if it had
    flipped (the target holds the tenant: the source is cleaned), undone if it had not
    (the source holds it: the target is emptied or dropped, the placement is active in
    the source again). Return what was done (``resumed``, and ``undone`` for an undo),
    or None if no move was pending.

    Refused (MoveError) while the mover of that move lives (:func:`mover_alive`).
    Logged as ``tenant.move.resume``.
    """
    progress = progress or _silent
    started = time.monotonic()
    with catalog.operation("tenant.move.resume", tenant_slug=slug) as record:
        tenant_id, slug = _tenant(catalog, slug)
        record.tenant_slug = slug
        with _Lease(catalog, tenant_id, slug) as lease:
            result = _resume(catalog, tenant_id, progress, lease)
        if result is None:
            record.detail["pending"] = False
            return None
        record.store_name = result.source if result.undone else result.target
        record.detail.update(_summary(result))
    result.total_seconds = time.monotonic() - started
    return result


def _summary(result: MoveResult) -> dict:
    summary = {
        "source": result.source,
        "target": result.target,
        "target_kind": str(result.target_kind),
        "source_fate": result.source_fate,
    }
    if result.tables:
        summary["rows"] = sum(t.rows for t in result.tables)
    if result.fence_seconds is not None:
        summary["fence_seconds"] = round(result.fence_seconds, 3)
    if result.resumed:
        summary["resumed"] = True
        summary["undone"] = result.undone
    return summary


def _move(catalog: Catalog, request: MoveRequest, progress, fail_at, lease: _Lease) -> MoveResult:
    plan = _resolve(catalog, request)
    _check_revisions(catalog, plan)
    pause = expected_pause(sum(rows for _, rows in _row_counts(catalog, plan)))
    result = MoveResult(
        plan.slug,
        plan.source.name,
        plan.source.kind,
        plan.target.name,
        plan.target.kind,
        expected_pause_seconds=pause,
    )
    lease.check()
    try:
        with catalog.session() as session:
            move = TenantMove(
                tenant_id=plan.tenant_id,
                source_store_id=plan.source.id,
                target_store_id=plan.target.id,
                keep_source=request.keep_source,
                phase=MovePhase.PREPARING,
                expected_pause_seconds=pause,
            )
            session.add(move)
            if plan.target.id is None:  # named in the catalog before it exists: never orphaned
                store = Store(
                    name=plan.target.name,
                    kind=StoreKind.DEDICATED,
                    url_encrypted=catalog.box.encrypt(plan.target.url),
                    migration_status="running",
                )
                if plan.target_identity is not None:  # an existing (empty) database
                    record_identity(store, plan.target_identity)
                session.add(store)
                session.flush()
                move.target_store_id = plan.target.id = store.id
                move.created_target = not plan.database_exists
    except IntegrityError:
        raise MoveError(
            f"the catalog changed meanwhile (a move of {plan.slug!r}, a store named "
            f"{plan.target.name} or one for that database was added); nothing was changed. "
            "Run the command again"
        ) from None
    src = None
    try:
        if plan.dedicated is not None:
            progress("step", step="prepare", detail=f"database for {plan.target.name}")
            prepare_dedicated_database(catalog, plan.dedicated, [])
            identity = read_identity(catalog.settings, plan.target.url)
            with catalog.session() as session:
                store = session.get(Store, plan.target.id)
                store.schema_revision = migrations.head_revision("tenant")
                store.migration_status, store.migrated_at = "ok", func.now()
                if identity_of_store(store) is None:
                    record_identity(store, identity)
        _checkpoint("prepare", fail_at)

        progress("step", step="fence", detail="pausing writes; waiting for those in flight")
        _set_phase(
            catalog, lease, plan.tenant_id, MovePhase.FENCED, placement_state=PlacementState.MOVING
        )
        fence_started = time.monotonic()
        src = _connect(catalog, plan.source.url)
        try:
            fence.lock(src, plan.tenant_id, request.wait_seconds)
        except psycopg.errors.LockNotAvailable:
            raise MoveError(
                f"writes of {plan.slug!r} in flight did not finish within "
                f"{request.wait_seconds:g} s"
            ) from None
        _checkpoint("fence", fail_at)

        with _connect(catalog, plan.target.url) as dst:
            progress("step", step="copy", detail=f"{plan.source.name} -> {plan.target.name}")
            sums = _copy(src, dst, plan, result, progress)
            _set_phase(catalog, lease, plan.tenant_id, MovePhase.COPIED)
            _checkpoint("copy", fail_at)

            progress("step", step="verify", detail="row counts and checksums per table")
            _verify(dst, plan, sums)
            _set_phase(catalog, lease, plan.tenant_id, MovePhase.VERIFIED)
            _checkpoint("verify", fail_at)
    except Exception as exc:
        if src is not None:
            src.close()
        # a mover without its lease leaves the undo to whoever holds it now
        undone = not lease.lost and _undo_quietly(catalog, plan.tenant_id, progress)
        raise _Failed(
            f"moving {plan.slug!r} failed: {first_line(exc)}; "
            + (
                f"the move was called off: the tenant is in {plan.source.name} as before and "
                "writes go on"
                if undone
                else "run the same command again to undo what was done (the source is intact)"
            )
        ) from exc
    except BaseException:
        if src is not None:
            src.close()
        raise

    try:
        progress("step", step="flip", detail=f"placement -> {plan.target.name}")
        lease.check()
        fence.close_store(src, plan.tenant_id, f"moved to {plan.target.name}")
        _set_phase(
            catalog,
            lease,
            plan.tenant_id,
            MovePhase.FLIPPED,
            placement_state=PlacementState.ACTIVE,
            store_id=plan.target.id,
        )
        _checkpoint("flip", fail_at)

        _notify(catalog, plan.tenant_id)
        fence.unlock(src, plan.tenant_id)
        result.fence_seconds = time.monotonic() - fence_started
        progress("step", step="notify", detail=f"writes resumed after {result.fence_seconds:.2f} s")
        _checkpoint("notify", fail_at)
    finally:
        src.close()

    if request.grace_seconds:
        time.sleep(request.grace_seconds)  # let stale readers finish on the source
    result.source_fate = _finish(catalog, plan.tenant_id, progress, fail_at)
    return result


def _set_phase(
    catalog: Catalog,
    lease: _Lease,
    tenant_id: int,
    phase: MovePhase,
    placement_state: PlacementState | None = None,
    store_id: int | None = None,
):
    lease.check()
    with catalog.session() as session:
        move = session.get(TenantMove, tenant_id)
        if move is None:
            raise MoveError(
                "the move is no longer in the catalog (another run finished or undid it); "
                "see `salesapp tenant show`"
            )
        move.phase, move.updated_at = phase, func.now()
        if placement_state or store_id:
            placement = session.get(Placement, tenant_id)
            placement.state = placement_state or placement.state
            placement.store_id = store_id or placement.store_id
            placement.updated_at = func.now()
        if phase == MovePhase.FLIPPED:  # a copy kept there earlier is the tenant itself now
            session.execute(
                delete(TenantCopy).where(
                    TenantCopy.tenant_id == tenant_id, TenantCopy.store_id == move.target_store_id
                )
            )


def _notify(catalog: Catalog, tenant_id: int) -> None:
    """Tell every app process (the placement trigger did too; this is cheap insurance)."""
    with catalog.engine.begin() as conn:
        conn.exec_driver_sql("select pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(tenant_id)))


def _copy(src, dst, plan: _Plan, result: MoveResult, progress) -> dict[str, tuple[int, str]]:
    """Copy the tenant from one snapshot of the source into the target, in one target
    transaction; return the source's (rows, checksum) per table."""
    if identity_of(src) == identity_of(dst):  # the plan refused this already: never copy
        raise MoveError(f"stores {plan.source.name} and {plan.target.name} are the same database")
    tid = plan.tenant_id
    sums = {}
    with src.transaction():
        src.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        bind(src, tid)
        normalize(src, local=True)
        specs = table_specs(src)
        with dst.transaction():
            bind(dst, tid)
            if table_specs(dst) != specs:
                raise MoveError(
                    "the two stores' tenant tables differ; run `salesapp migrate` and try again"
                )
            fence.open_store(dst, tid)
            stale = sum(delete_rows(dst, specs, tid).values())
            if stale:
                progress("stale", rows=stale)
            for spec in specs:
                begun = time.monotonic()
                rows = load(dst, spec, tid, stream_out(src, spec, tid))
                sums[spec.name] = checksum(src, spec, tid)
                copied = TableCopy(spec.name, rows, sums[spec.name][1], time.monotonic() - begun)
                result.tables.append(copied)
                progress("table", table=copied)
    return sums


def _verify(dst, plan: _Plan, sums: dict[str, tuple[int, str]]) -> None:
    with dst.transaction():
        bind(dst, plan.tenant_id)
        normalize(dst, local=True)
        specs = {spec.name: spec for spec in table_specs(dst)}
        for name, (rows, digest) in sums.items():
            got = checksum(dst, specs[name], plan.tenant_id)
            if got != (rows, digest):
                raise MoveError(
                    f"table {name} differs after the copy: {rows} rows, checksum {digest[:12]} in "
                    f"the source; {got[0]} rows, checksum {got[1][:12]} in the target"
                )


# -- proving what may be emptied or dropped -----------------------------------------------
def _home(catalog: Catalog, tenant_id: int) -> tuple[str, DatabaseIdentity]:
    """The store the tenant lives in now (its placement) and that database's identity,
    read live (the recorded one if the store cannot be reached); MoveError if neither
    can be had: then nothing may be emptied or dropped on its behalf."""
    with catalog.session() as session:
        placement = session.get(Placement, tenant_id)
        store = session.get(Store, placement.store_id)
        name, url, recorded = store.name, catalog.store_url(store), identity_of_store(store)
    try:
        return name, read_identity(catalog.settings, url)
    except psycopg.Error as exc:
        if recorded is not None:
            return name, recorded
        raise MoveError(
            f"cannot tell what database store {name} is (the tenant lives there): "
            f"{first_line(exc)}; nothing was emptied or dropped. Run the command again when "
            "it answers"
        ) from None


def _prove_not_home(catalog: Catalog, tenant_id: int, identity: DatabaseIdentity, what: str):
    home_name, home = _home(catalog, tenant_id)
    if identity == home:
        raise _Unsafe(f"{what} is the database the tenant lives in now (store {home_name})")


def _prove_droppable(
    catalog: Catalog, tenant_id: int, store: _StoreInfo, doomed: DatabaseIdentity
) -> None:
    """_Unsafe unless the database ``store`` names (identity ``doomed``, read live) is
    the one the store row records (if it records one), is not where the tenant lives
    now, is not the catalog or the template, and no other store row names it (an
    unreachable store of the same database name counts as one)."""
    database = urls.database_of(store.url)
    what = f"database {database} ({store.name})"
    if store.identity is not None and store.identity != doomed:
        raise _Unsafe(
            f"{what} is not the database that store was registered with (made again since?)"
        )
    _prove_not_home(catalog, tenant_id, doomed, what)
    reserved = reserved_databases(catalog)
    if doomed in reserved:
        raise _Unsafe(f"{what} is {reserved[doomed]}")
    others: list[KnownStore] = [s for s in known_stores(catalog) if s.id != store.id]
    for other in others:
        if other.identity == doomed:
            raise _Unsafe(f"{what} is also store {other.name}")
        if other.identity is None and other.database == database:
            raise _Unsafe(
                f"store {other.name} names a database {database} too and cannot be reached "
                "to tell whether it is this one"
            )


def _evacuate(
    catalog: Catalog, conn: psycopg.Connection, tenant_id: int, reason: str, store_name: str
) -> int:
    """Remove the tenant's rows from a store it does not live in, leaving it fenced.
    _Unsafe (nothing touched) if that store is, by identity, where it lives now."""
    _prove_not_home(catalog, tenant_id, identity_of(conn), f"store {store_name}")
    with conn.transaction():
        bind(conn, tenant_id)
        fence.open_store(conn, tenant_id)
        deleted = sum(delete_rows(conn, table_specs(conn), tenant_id).values())
        fence.close_store(conn, tenant_id, reason)
    return deleted


def _drop_store(catalog: Catalog, tenant_id: int, store: _StoreInfo) -> str:
    """Drop the database of a store the tenant has left (or never reached) and forget
    the store once no tenant is placed there. _Unsafe (nothing dropped) unless proven
    safe by :func:`_prove_droppable`."""
    database = urls.database_of(store.url)
    with bootstrap.admin_connection(store.url, settings=catalog.settings) as conn:
        doomed = identity_named(conn, database)  # what DROP DATABASE would drop
        if doomed is not None:
            _prove_droppable(catalog, tenant_id, store, doomed)
            bootstrap.drop_database(conn, database)
    with catalog.session() as session:
        _forget_store(session, store.id)
    if doomed is None:
        return f"database {database} ({store.name}) was gone already"
    return f"dropped database {database} ({store.name})"


def _forget_store(session, store_id: int) -> None:
    """Remove a store row no tenant is placed in (and the copies it was recorded to hold)."""
    placed = session.scalar(
        select(Placement.tenant_id).where(Placement.store_id == store_id).limit(1)
    )
    if placed is None:
        session.execute(delete(TenantCopy).where(TenantCopy.store_id == store_id))
        session.execute(delete(Store).where(Store.id == store_id))


# -- resuming, undoing, finishing ---------------------------------------------------------
def _resume(catalog: Catalog, tenant_id: int, progress, lease: _Lease) -> MoveResult | None:
    """Deal with a move an earlier run left unfinished (this run holds the lease, so its
    mover is gone): finish it if it had flipped, else undo it. None if none was left."""
    with catalog.session() as session:
        move = session.get(TenantMove, tenant_id)
        if move is None:
            return None
        phase = move.phase
        source, target = (
            session.get(Store, move.source_store_id),
            session.get(Store, move.target_store_id) if move.target_store_id else None,
        )
        names = (source.name if source else "?", target.name if target else "?")
        kinds = (source.kind if source else "?", target.kind if target else "?")
        move.heartbeat_at = func.now()  # this run beats for it now
    slug = lease.slug
    result = MoveResult(slug, names[0], kinds[0], names[1], kinds[1], resumed=True)
    if phase != MovePhase.FLIPPED:
        progress(
            "resume",
            detail=f"an earlier move stopped at phase {phase}, before the switch: "
            f"undoing it ({names[0]} holds the tenant)",
        )
        result.undone = True
        result.source_fate = _undo(catalog, tenant_id, progress)
        return result
    progress("resume", detail=f"an earlier move had switched {slug!r} to {names[1]}: finishing it")
    _notify(catalog, tenant_id)
    result.source_fate = _finish(catalog, tenant_id, progress)
    return result


def _undo(catalog: Catalog, tenant_id: int, progress=_silent) -> str:
    """Undo a move that had not flipped: the target loses what it got (unless it is, by
    identity, where the tenant lives), the source is opened again, the placement is
    active again in the source. Return what became of the target."""
    with catalog.session() as session:
        move = session.get(TenantMove, tenant_id)
        source = _info(catalog, session.get(Store, move.source_store_id))
        target_id = move.target_store_id
        target = session.get(Store, target_id) if target_id else None
        target = _info(catalog, target) if target else None
        created = move.created_target
        placement = session.get(Placement, tenant_id)
        if placement.store_id != source.id:
            raise MoveError(
                f"the tenant is placed in store id {placement.store_id}, not in the move's "
                f"source {source.name}; nothing was undone. See `salesapp doctor`"
            )
    fate = "no target had been made" if not target_id else "the target was removed already"
    if target is not None and created:
        try:
            fate = _drop_store(catalog, tenant_id, target)
        except _Unsafe as exc:
            with catalog.session() as session:
                _forget_store(session, target.id)
            fate = f"kept the database of {target.name}, not made by this move after all: {exc}"
    elif target is not None:
        try:
            with _connect(catalog, target.url) as conn:
                deleted = _evacuate(catalog, conn, tenant_id, "a move here was undone", target.name)
            fate = f"removed the {deleted} rows it had copied to {target.name}"
        except _Unsafe as exc:
            fate = f"left {target.name} as it was: {exc}"
        except psycopg.OperationalError:
            if target.kind != StoreKind.DEDICATED:
                raise
            fate = f"{target.name} cannot be reached; nothing was removed there"
        with catalog.session() as session:
            session.execute(
                delete(TenantCopy).where(
                    TenantCopy.tenant_id == tenant_id, TenantCopy.store_id == target.id
                )
            )
            if target.kind == StoreKind.DEDICATED:  # an existing database named by URL
                _forget_store(session, target.id)
    progress("step", step="undo", detail=fate)
    with _connect(catalog, source.url) as conn:
        fence.open_store(conn, tenant_id)
    with catalog.session() as session:
        placement = session.get(Placement, tenant_id)
        placement.state, placement.store_id = PlacementState.ACTIVE, source.id
        placement.updated_at = func.now()
        session.execute(delete(TenantMove).where(TenantMove.tenant_id == tenant_id))
    return fate


def _undo_quietly(catalog: Catalog, tenant_id: int, progress=_silent) -> bool:
    try:
        _undo(catalog, tenant_id, progress)
        return True
    except Exception:
        log.exception("undoing the move of tenant %s failed; a rerun will undo it", tenant_id)
        return False


def _finish(catalog: Catalog, tenant_id: int, progress, fail_at=None) -> str:
    """After the flip: remove the tenant from the source (unless kept: then record the
    kept copy); forget the move. Nothing is emptied or dropped that is, by identity,
    where the tenant lives now."""
    with catalog.session() as session:
        move = session.get(TenantMove, tenant_id)
        source = session.get(Store, move.source_store_id)
        source = _info(catalog, source) if source else None
        target = session.get(Store, move.target_store_id)
        keep = move.keep_source
        others = session.scalar(
            select(func.count())
            .select_from(Placement)
            .where(Placement.store_id == move.source_store_id)
        )
    if source is None:
        fate = "the source store was already removed"
    elif keep:
        _keep_copy(catalog, tenant_id, source.id, target.name if target else "?")
        fate = (
            f"kept {source.name} (closed to the tenant's writes; recorded as a kept copy, "
            "which `salesapp tenant delete` removes)"
        )
    elif source.kind == StoreKind.POOLED or others:
        try:
            with _connect(catalog, source.url) as conn:
                deleted = _evacuate(catalog, conn, tenant_id, "moved away", source.name)
            fate = f"deleted its {deleted} rows from {source.name}"
        except _Unsafe as exc:
            fate = f"left {source.name} as it was: {exc}"
    else:
        try:
            fate = _drop_store(catalog, tenant_id, source)
        except _Unsafe as exc:
            fate = f"left {source.name} as it was: {exc}"
    progress("step", step="clean", detail=fate)
    _checkpoint("clean", fail_at)
    with catalog.session() as session:
        session.execute(delete(TenantMove).where(TenantMove.tenant_id == tenant_id))
    return fate


def _keep_copy(catalog: Catalog, tenant_id: int, store_id: int, moved_to: str) -> None:
    """Record that the tenant's rows (or database) stay in a store it left."""
    with catalog.session() as session:
        kept = insert(TenantCopy).values(
            tenant_id=tenant_id,
            store_id=store_id,
            reason=f"kept by `tenant move --keep-source` when it moved to {moved_to}",
        )
        session.execute(
            kept.on_conflict_do_update(
                index_elements=[TenantCopy.tenant_id, TenantCopy.store_id],
                set_={"reason": kept.excluded.reason, "kept_at": func.now()},
            )
        )
