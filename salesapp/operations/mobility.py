"""Move a tenant to another store while its business keeps selling.

Pooled to dedicated, dedicated to pooled, one pooled store to another, one server to
another: the same seven steps, each recorded in the catalog's ``tenant_moves`` row
before the next begins.

1. prepare: resolve the target; a new dedicated database is named in the catalog before
   it is created (so a crash cannot orphan it), then created from the template.
2. fence:   the placement turns ``moving`` (app processes refuse the tenant's writes with
   503), and the mover takes the tenant's fence lock in the source store, which waits for
   writes in flight to commit and refuses every later one (fence.py).
3. copy:    every tenant table, parents first, streamed with COPY from one snapshot of
   the source into the target in one transaction (through a temporary table: COPY FROM
   is refused under row-level security).
4. verify:  per table, the row count and a checksum of the ordered rows, both sides.
5. flip:    the source is closed to the tenant for good (``tenant_fences``), then the
   placement points at the target and is ``active`` again.
6. notify:  every app process is told (LISTEN/NOTIFY), and the fence lock is released.
7. clean:   the tenant's rows leave the source (a dedicated source database is dropped),
   unless the source is to be kept.

A crash anywhere leaves the tenant wholly in one store: before the flip the source holds
the truth, and running the move again first undoes the half-made target; after the flip
the target does, and running it again finishes the clean-up.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

import psycopg
from sqlalchemy import func, select

from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.directory import NOTIFY_CHANNEL, PLACEMENT_KINDS, PlacementState, StoreKind
from ..tenancy.errors import first_line
from . import bootstrap, door, fence, migrations
from .catalog import Catalog
from .errors import OperationError
from .models import MovePhase, Placement, Store, TenantMove
from .provisioning import TenantRequest, dedicated_database_name, prepare_dedicated_database
from .tablecopy import (
    checksum,
    connect,
    delete_rows,
    load,
    normalize,
    stream_out,
    table_specs,
)

STEPS = ("prepare", "fence", "copy", "verify", "flip", "notify", "clean")
#: set to ``move:STEP`` to have the mover kill itself with SIGKILL right after STEP
CRASH_ENV = "SALESAPP_CRASH_AT"


class MoveError(OperationError):
    """A move was refused or failed; the message says what happened to the tenant."""


class SimulatedCrash(BaseException):  # noqa: N818  (a test's stand-in for kill -9)
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
    resumed: bool = False  # this run finished a move an interrupted run had flipped


@dataclass
class _StoreInfo:
    id: int | None
    name: str
    kind: StoreKind
    url: str


@dataclass
class _Plan:
    tenant_id: int
    slug: str
    source: _StoreInfo
    target: _StoreInfo  # id None: a dedicated database to be made
    dedicated: TenantRequest | None = None
    database_exists: bool = False


def _checkpoint(step: str, fail_at: str | None) -> None:
    if os.environ.get(CRASH_ENV) == f"move:{step}":
        os.kill(os.getpid(), signal.SIGKILL)
    if fail_at == step:
        raise SimulatedCrash(f"simulated crash after step {step}")


def _connect(catalog: Catalog, url: str) -> psycopg.Connection:
    return connect(catalog.settings, url, autocommit=True)


def _info(catalog: Catalog, store: Store) -> _StoreInfo:
    return _StoreInfo(store.id, store.name, StoreKind(store.kind), catalog.store_url(store))


# -- planning -------------------------------------------------------------------------
def _resolve(catalog: Catalog, request: MoveRequest) -> _Plan:
    """Check the request against the catalog; nothing is changed."""
    if request.to not in PLACEMENT_KINDS:
        raise MoveError(f"--to must be pooled or dedicated, not {request.to!r}")
    with catalog.session() as session:
        tenant = catalog.tenant(session, request.slug)
        placement, source = catalog.placement(session, tenant)
        plan = _Plan(tenant.id, tenant.slug, _info(catalog, source), None)
        if request.to == StoreKind.POOLED:
            if request.database_url:
                raise MoveError(
                    "--database-url is for --to dedicated; a pooled target is a --store"
                )
            store = (
                catalog.store_named(session, request.store_name)
                if request.store_name
                else catalog.default_pooled_store(session)
            )
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
            return plan
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
        elif not request.database_url and source.kind == StoreKind.DEDICATED:
            raise MoveError(
                f"tenant {tenant.slug!r} already has a dedicated store ({source.name}); to move it "
                "to another server give --store SERVER or --database-url URL"
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
    try:
        with bootstrap.admin_connection(url) as conn:
            plan.database_exists = bootstrap.database_exists(conn, urls.database_of(url))
    except psycopg.Error as exc:
        raise MoveError(f"cannot reach the target server: {first_line(exc)}") from None
    if plan.database_exists and not request.database_url:
        raise MoveError(
            f"database {urls.database_of(url)} already exists on the target server (kept by an "
            "earlier move?); drop it, or name another with --database-url"
        )
    return plan


def _check_revisions(catalog: Catalog, plan: _Plan) -> str:
    head = migrations.head_revision("tenant")
    stores = [plan.source] + ([plan.target] if plan.target.id is not None else [])
    for store in stores:
        revision = migrations.revision_at(store.url)
        if revision != head:
            raise MoveError(
                f"store {store.name} is at schema revision {revision}, not {head}; "
                "run `salesapp migrate` first"
            )
    return head


def _row_counts(catalog: Catalog, plan: _Plan) -> list[tuple[str, int]]:
    where = door.TenantAddress(plan.tenant_id, plan.source.name)
    with door.tenant_connection(catalog, where) as conn:
        return [(spec.name, checksum(conn, spec, plan.tenant_id)[0]) for spec in table_specs(conn)]


def plan_move(catalog: Catalog, request: MoveRequest) -> list[str]:
    """What :func:`move_tenant` would do, one line a step; changes nothing."""
    with catalog.session() as session:
        tenant = catalog.tenant(session, request.slug)
        pending = session.get(TenantMove, tenant.id)
        if pending is not None:
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
        f"pause its writes (reads go on), copy {total} rows in {len(counts)} tables: "
        + ", ".join(f"{name} {rows}" for name, rows in counts if rows)
    )
    steps.append("verify row counts and checksums per table, switch it over, resume writes")
    fate = (
        "keep the source"
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
def move_tenant(
    catalog: Catalog, request: MoveRequest, progress=None, fail_at: str | None = None
) -> MoveResult:
    """Move a tenant as ``request`` says (see the module's docstring).

    ``progress(event, **info)`` hears of each step and table; ``fail_at`` names a step
    after which to stop dead, as kill -9 would (tests).
    """
    progress = progress or (lambda event, **info: None)
    started = time.monotonic()
    resumed = _resume(catalog, request, progress)
    if resumed is not None:
        resumed.total_seconds = time.monotonic() - started
        return resumed

    plan = _resolve(catalog, request)
    _check_revisions(catalog, plan)
    result = MoveResult(
        plan.slug, plan.source.name, plan.source.kind, plan.target.name, plan.target.kind
    )
    with catalog.session() as session:
        move = TenantMove(
            tenant_id=plan.tenant_id,
            source_store_id=plan.source.id,
            target_store_id=plan.target.id,
            keep_source=request.keep_source,
            phase=MovePhase.PREPARING,
        )
        session.add(move)
        if plan.target.id is None:  # named in the catalog before it exists: never orphaned
            store = Store(
                name=plan.target.name,
                kind=StoreKind.DEDICATED,
                url_encrypted=catalog.box.encrypt(plan.target.url),
                migration_status="running",
            )
            session.add(store)
            session.flush()
            move.target_store_id = plan.target.id = store.id
            move.created_target = not plan.database_exists
    src = None
    try:
        if plan.dedicated is not None:
            progress("step", step="prepare", detail=f"database for {plan.target.name}")
            prepare_dedicated_database(catalog, plan.dedicated, [])
            with catalog.session() as session:
                store = session.get(Store, plan.target.id)
                store.schema_revision = migrations.head_revision("tenant")
                store.migration_status, store.migrated_at = "ok", func.now()
        _checkpoint("prepare", fail_at)

        progress("step", step="fence", detail="pausing writes; waiting for those in flight")
        _set_phase(catalog, plan.tenant_id, MovePhase.FENCED, placement_state=PlacementState.MOVING)
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
            _set_phase(catalog, plan.tenant_id, MovePhase.COPIED)
            _checkpoint("copy", fail_at)

            progress("step", step="verify", detail="row counts and checksums per table")
            _verify(dst, plan, sums)
            _set_phase(catalog, plan.tenant_id, MovePhase.VERIFIED)
            _checkpoint("verify", fail_at)
    except Exception as exc:
        if src is not None:
            src.close()
        undone = _undo_quietly(catalog, plan.tenant_id)
        catalog.record(
            "tenant.move",
            "failed",
            tenant_slug=plan.slug,
            store_name=plan.source.name,
            target=plan.target.name,
            error=str(exc)[:500],
        )
        raise MoveError(
            f"moving {plan.slug!r} failed: {first_line(exc)}; "
            + (
                f"the move was called off: the tenant is in {plan.source.name} as before and "
                "writes go on"
                if undone
                else "run the same command again to undo what was done (the source is intact)"
            )
        ) from None
    except BaseException:
        if src is not None:
            src.close()
        raise

    try:
        progress("step", step="flip", detail=f"placement -> {plan.target.name}")
        fence.close_store(src, plan.tenant_id, f"moved to {plan.target.name}")
        _set_phase(
            catalog,
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
    result.total_seconds = time.monotonic() - started
    catalog.record(
        "tenant.move",
        "ok",
        tenant_slug=plan.slug,
        store_name=plan.target.name,
        source=plan.source.name,
        target_kind=plan.target.kind,
        rows=sum(t.rows for t in result.tables),
        fence_seconds=round(result.fence_seconds, 3),
        source_fate=result.source_fate,
    )
    return result


def _set_phase(
    catalog: Catalog,
    tenant_id: int,
    phase: MovePhase,
    placement_state: PlacementState | None = None,
    store_id: int | None = None,
):
    with catalog.session() as session:
        move = session.get(TenantMove, tenant_id)
        move.phase, move.updated_at = phase, func.now()
        if placement_state or store_id:
            placement = session.get(Placement, tenant_id)
            placement.state = placement_state or placement.state
            placement.store_id = store_id or placement.store_id
            placement.updated_at = func.now()


def _notify(catalog: Catalog, tenant_id: int) -> None:
    """Tell every app process (the placement trigger did too; this is cheap insurance)."""
    with catalog.engine.begin() as conn:
        conn.exec_driver_sql("select pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(tenant_id)))


def _identity(conn: psycopg.Connection):
    return conn.execute(
        "select current_database(), pg_postmaster_start_time(), inet_server_port()"
    ).fetchone()


def _copy(src, dst, plan: _Plan, result: MoveResult, progress) -> dict[str, tuple[int, str]]:
    """Copy the tenant from one snapshot of the source into the target, in one target
    transaction; return the source's (rows, checksum) per table."""
    if _identity(src) == _identity(dst):
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


# -- resuming, undoing, finishing ---------------------------------------------------------
def _resume(catalog: Catalog, request: MoveRequest, progress) -> MoveResult | None:
    """Deal with a move an earlier run left unfinished: finish it if it had flipped
    (return its result), else undo it (return None: the new move starts afresh)."""
    with catalog.session() as session:
        tenant = catalog.tenant(session, request.slug)
        move = session.get(TenantMove, tenant.id)
        if move is None:
            return None
        phase, tenant_id, slug = move.phase, tenant.id, tenant.slug
        source, target = (
            session.get(Store, move.source_store_id),
            session.get(Store, move.target_store_id),
        )
        names = (source.name if source else "?", target.name if target else "?")
        kinds = (source.kind if source else "?", target.kind if target else "?")
    if phase != MovePhase.FLIPPED:
        progress(
            "resume",
            detail=f"an earlier move stopped at phase {phase}, before the switch: "
            f"undoing it ({names[0]} holds the tenant)",
        )
        _undo(catalog, tenant_id)
        return None
    progress("resume", detail=f"an earlier move had switched {slug!r} to {names[1]}: finishing it")
    _notify(catalog, tenant_id)
    result = MoveResult(slug, names[0], kinds[0], names[1], kinds[1], resumed=True)
    result.source_fate = _finish(catalog, tenant_id, progress)
    catalog.record(
        "tenant.move",
        "ok",
        tenant_slug=slug,
        store_name=names[1],
        source=names[0],
        resumed=True,
        source_fate=result.source_fate,
    )
    return result


def _evacuate(conn: psycopg.Connection, tenant_id: int, reason: str) -> int:
    """Remove the tenant's rows from a store it does not live in, leaving it fenced."""
    with conn.transaction():
        bind(conn, tenant_id)
        fence.open_store(conn, tenant_id)
        deleted = sum(delete_rows(conn, table_specs(conn), tenant_id).values())
        fence.close_store(conn, tenant_id, reason)
    return deleted


def _drop_store(catalog: Catalog, store_id: int, url: str) -> None:
    with bootstrap.admin_connection(url) as conn:
        bootstrap.drop_database(conn, urls.database_of(url))
    with catalog.session() as session:
        if (
            session.scalar(
                select(Placement.tenant_id).where(Placement.store_id == store_id).limit(1)
            )
            is None
        ):
            session.execute(Store.__table__.delete().where(Store.id == store_id))


def _undo(catalog: Catalog, tenant_id: int) -> None:
    """Undo a move that had not flipped: the target loses what it got, the source is
    opened again, the placement is active again in the source."""
    with catalog.session() as session:
        move = session.get(TenantMove, tenant_id)
        source = _info(catalog, session.get(Store, move.source_store_id))
        target = session.get(Store, move.target_store_id) if move.target_store_id else None
        target = _info(catalog, target) if target else None
        created = move.created_target
    if target is not None and created:
        _drop_store(catalog, target.id, target.url)
    elif target is not None:
        try:
            with _connect(catalog, target.url) as conn:
                _evacuate(conn, tenant_id, "a move here was undone")
        except psycopg.OperationalError:
            if target.kind != StoreKind.DEDICATED:
                raise
        if target.kind == StoreKind.DEDICATED:  # an existing database named by --database-url
            with catalog.session() as session:
                session.execute(Store.__table__.delete().where(Store.id == target.id))
    with _connect(catalog, source.url) as conn:
        fence.open_store(conn, tenant_id)
    with catalog.session() as session:
        placement = session.get(Placement, tenant_id)
        placement.state, placement.store_id = PlacementState.ACTIVE, source.id
        placement.updated_at = func.now()
        session.execute(TenantMove.__table__.delete().where(TenantMove.tenant_id == tenant_id))


def _undo_quietly(catalog: Catalog, tenant_id: int) -> bool:
    try:
        _undo(catalog, tenant_id)
        return True
    except Exception:
        return False


def _finish(catalog: Catalog, tenant_id: int, progress, fail_at=None) -> str:
    """After the flip: remove the tenant from the source (unless kept); forget the move."""
    with catalog.session() as session:
        move = session.get(TenantMove, tenant_id)
        source = session.get(Store, move.source_store_id)
        source = _info(catalog, source) if source else None
        keep = move.keep_source
        others = session.scalar(
            select(func.count())
            .select_from(Placement)
            .where(Placement.store_id == move.source_store_id)
        )
    if source is None:
        fate = "the source store was already removed"
    elif keep:
        fate = f"kept {source.name} (closed to the tenant's writes)"
    elif source.kind == StoreKind.POOLED or others:
        with _connect(catalog, source.url) as conn:
            deleted = _evacuate(conn, tenant_id, "moved away")
        fate = f"deleted its {deleted} rows from {source.name}"
    else:
        _drop_store(catalog, source.id, source.url)
        fate = f"dropped database {urls.database_of(source.url)} ({source.name})"
    progress("step", step="clean", detail=fate)
    _checkpoint("clean", fail_at)
    with catalog.session() as session:
        session.execute(TenantMove.__table__.delete().where(TenantMove.tenant_id == tenant_id))
    return fate
