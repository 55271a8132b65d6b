"""Where new pooled tenants go, and emptying a pooled store (`salesapp store accept |
drain`).

A pooled store is *accepting* (``stores.accepting``, every store unless marked
otherwise) or *draining*: it keeps serving its tenants but takes no new one, and
`salesapp store drain` moves its tenants out online, one at a time, with the same move
as `salesapp tenant move` (salesapp.operations.mobility).

The measure of room. A new pooled tenant without ``--store`` goes to the accepting
pooled store with the most room, which is, in this order:

1. the fewest tenants: placements in the store, plus moves on their way in (a tenant is
   the unit of load this app knows before it has any rows, and counting is one catalog
   query);
2. then the smallest database (``pg_database_size``): two stores with as many tenants
   are told apart by what those tenants hold;
3. then the default store, then the oldest.

Measuring the size connects to each candidate; a store that does not answer within
3 s is skipped with a warning (a tenant must not be placed where it cannot be seeded).
With a single candidate nothing is measured: there is no choice to make, and creating
the tenant reports an unreachable store by itself.

The mark and a creation do not race: a creation locks its chosen store's row (FOR
SHARE) while it writes the placement, and re-reads ``accepting`` under that lock;
marking a store draining updates the row, so it waits for those creations to commit,
and every creation after it sees the mark. A drain run after the mark therefore sees
every tenant that will ever be placed there, except one whose creation was still
running (it is reported; run the drain again once it is created).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from ..tenancy.directory import StoreKind, TenantStatus
from .catalog import Catalog
from .errors import OperationError
from .models import MovePhase, Placement, Store, Tenant, TenantMove
from .storeadmin import store_status

log = logging.getLogger(__name__)

#: first key of the catalog advisory lock a running drain holds (second: the store id);
#: one above the creation lease's and the mover's class (provisioning, mobility)
DRAIN_LOCK = 0x5A1E7
#: a drain stops after this many moves in a row failed (see drain_store)
FAILURES_IN_A_ROW = 2


class PlacementError(OperationError):
    """No store can take a tenant, or a store cannot be marked or drained as asked."""


@dataclass(frozen=True)
class Room:
    """How much room an accepting pooled store has (the module's measure)."""

    name: str
    tenants: int
    size_bytes: int | None  # None: not measured (the only candidate) or unreachable
    reachable: bool | None  # None: not tried
    error: str | None = None
    is_default: bool = False
    id: int = 0

    @property
    def key(self) -> tuple:
        """Smaller is roomier: fewest tenants, smallest database, default, oldest."""
        return (self.tenants, self.size_bytes or 0, not self.is_default, self.id)


# -- the measure ---------------------------------------------------------------------------
def tenant_counts(session: Session) -> dict[int, int]:
    """{store id: tenants placed there, plus moves on their way in (not yet flipped:
    until then their placement still names the source)}."""
    counts = dict(
        session.execute(select(Placement.store_id, func.count()).group_by(Placement.store_id)).all()
    )
    arriving = session.execute(
        select(TenantMove.target_store_id, func.count())
        .where(TenantMove.phase != MovePhase.FLIPPED, TenantMove.target_store_id.is_not(None))
        .group_by(TenantMove.target_store_id)
    ).all()
    for store_id, n in arriving:
        counts[store_id] = counts.get(store_id, 0) + n
    return counts


def rooms(catalog: Catalog, *, exclude: tuple[str, ...] = (), measure: bool = True) -> list[Room]:
    """The accepting pooled stores (but those named in ``exclude``), roomiest first,
    unreachable ones (measured and found not to answer) last."""
    with catalog.session() as session:
        counts = tenant_counts(session)
        stores = session.scalars(
            select(Store)
            .where(Store.kind == StoreKind.POOLED, Store.accepting.is_(True))
            .where(Store.name.not_in(exclude) if exclude else True)
            .order_by(Store.id)
        ).all()
    found = []
    for store in stores:
        reachable = size = error = None
        if measure:
            status = store_status(catalog, store)
            reachable, size, error = status["reachable"], status["size_bytes"], status["error"]
        found.append(
            Room(
                store.name,
                counts.get(store.id, 0),
                size,
                reachable,
                error,
                store.is_default,
                store.id,
            )
        )
    return sorted(found, key=lambda r: (r.reachable is False, r.key))


def choose_pooled_store(catalog: Catalog, *, exclude: tuple[str, ...] = ()) -> str:
    """The name of the accepting pooled store with the most room (the module's measure),
    stores named in ``exclude`` aside; PlacementError if none can take a tenant."""
    candidates = rooms(catalog, exclude=exclude, measure=False)
    if len(candidates) > 1:
        candidates = rooms(catalog, exclude=exclude)
        for room in candidates:
            if room.reachable is False:
                log.warning("store %s is skipped: it does not answer (%s)", room.name, room.error)
        candidates = [room for room in candidates if room.reachable]
        if not candidates:
            raise PlacementError(
                "no accepting pooled store answers; check them with `salesapp store list` "
                "and `salesapp check`"
            )
    if not candidates:
        raise _none_accepting(exclude)
    return candidates[0].name


def require_an_accepting_store(catalog: Catalog) -> None:
    """PlacementError, saying what to do, unless some pooled store accepts tenants (one
    catalog query: nothing is measured)."""
    if not rooms(catalog, measure=False):
        raise _none_accepting(())


def _none_accepting(exclude: tuple[str, ...]) -> PlacementError:
    others = " other" if exclude else ""
    return PlacementError(
        f"no{others} pooled store accepts new tenants; mark one accepting with "
        "`salesapp store accept NAME`, or add one with `salesapp store add NAME --kind "
        "pooled --url URL`"
    )


def require_accepting(store: Store) -> None:
    """PlacementError if ``store`` (pooled) is draining: a tenant is placed there by name
    only while it accepts tenants."""
    if not store.accepting:
        raise PlacementError(
            f"pooled store {store.name!r} is draining and takes no new tenants; leave out "
            f"--store (the store with the most room is chosen), or run `salesapp store "
            f"accept {store.name}` first"
        )


def claim_pooled_store(catalog: Catalog, session: Session, name: str | None) -> Store:
    """The pooled store a new tenant goes to, in the creating transaction ``session``:
    the one named, else the one with the most room. Its row is locked FOR SHARE until
    that transaction ends, and re-read under the lock, so a drain's mark (an UPDATE of
    the row) and this creation are ordered: refused here if it is draining now."""
    name = name or choose_pooled_store(catalog)
    store = session.scalars(
        select(Store).where(Store.name == name).with_for_update(read=True)
    ).first()
    if store is None or store.kind != StoreKind.POOLED:
        raise PlacementError(f"no pooled store named {name!r}; see `salesapp store list`")
    require_accepting(store)
    return store


# -- marking ------------------------------------------------------------------------------
def _pooled(catalog: Catalog, session: Session, name: str) -> Store:
    store = catalog.store_named(session, (name or "").strip().lower())
    if store.kind != StoreKind.POOLED:
        raise PlacementError(
            f"store {store.name!r} is a {store.kind} store; only pooled stores accept or "
            "drain tenants (a dedicated tenant moves with `salesapp tenant move`)"
        )
    return store


def _mark(catalog: Catalog, name: str, accepting: bool) -> tuple[str, bool]:
    """Set the store's mark; (its name, whether it changed). The UPDATE waits for the
    creations placing a tenant there right now (claim_pooled_store)."""
    with catalog.session() as session:
        store = _pooled(catalog, session, name)
        changed = store.accepting != accepting
        session.execute(update(Store).where(Store.id == store.id).values(accepting=accepting))
        return store.name, changed


def accept_store(catalog: Catalog, name: str) -> dict:
    """Mark a pooled store accepting: new pooled tenants may go there again (a drain
    running on it stops before its next tenant). Logged as ``store.accept``."""
    with catalog.operation("store.accept", store_name=name) as record:
        store_name, changed = _mark(catalog, name, True)
        record.store_name = store_name
        record.detail["changed"] = changed
        return {"name": store_name, "changed": changed}


# -- draining -----------------------------------------------------------------------------
@dataclass
class DrainResult:
    name: str
    marked: bool  # this run marked it draining (False: it was already)
    moved: list[tuple[str, str]] = field(default_factory=list)  # (tenant, to store)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (tenant, error)
    being_created: list[str] = field(default_factory=list)
    left: int = 0  # tenants still placed there at the end
    stopped: str | None = None  # why it stopped before the store was empty


def _silent(event, **info) -> None:
    pass


@contextmanager
def _drain_lock(catalog: Catalog, store_id: int, name: str):
    """One drain of a store at a time: a transaction-level advisory lock, in a
    transaction kept open on a catalog connection of its own for the whole drain (as
    the mover's lease in mobility.py: the server lets go of it the moment that
    connection ends, kill -9 included, and a transaction-mode PgBouncer keeps one server
    connection for it and drops it with its client)."""
    with catalog.engine.connect() as conn:
        got = conn.scalar(
            text("select pg_try_advisory_xact_lock(:c, :k)"), {"c": DRAIN_LOCK, "k": store_id}
        )
        if not got:
            raise PlacementError(
                f"store {name!r} is being drained by another command now; let it finish "
                "(or stop it) and run this again"
            )
        yield  # the connection's close ends the transaction, and the lock with it


def _next_tenant(catalog: Catalog, name: str, tried: set[str]) -> tuple[str | None, bool, list]:
    """(the next tenant of store ``name`` to move or None, whether the store is still
    draining, the subdomains of tenants being created there)."""
    with catalog.session() as session:
        store = catalog.store_named(session, name)
        rows = session.execute(
            select(Tenant.slug, Tenant.status)
            .join(Placement, Placement.tenant_id == Tenant.id)
            .where(Placement.store_id == store.id)
            .order_by(Tenant.id)
        ).all()
    creating = [slug for slug, status in rows if status == TenantStatus.PROVISIONING]
    waiting = [
        slug for slug, status in rows if status != TenantStatus.PROVISIONING and slug not in tried
    ]
    return (waiting[0] if waiting else None), not store.accepting, creating


def drain_store(
    catalog: Catalog,
    name: str,
    *,
    move: bool = True,
    wait_seconds: float = 30.0,
    progress: Callable | None = None,
) -> DrainResult:
    """Mark the pooled store ``name`` draining (no new tenants), then, unless ``move`` is
    False, move its tenants out online, one at a time, each to the accepting pooled store
    with the most room then (chosen afresh for each tenant, so they spread).

    Each move is `salesapp tenant move --to pooled --store TARGET`: its writes pause
    for its own copy only, it is logged as ``tenant.move``, and a move an earlier run
    left half-done is finished or undone first. Running the drain again continues
    where it stopped: the store is already marked, and the tenants still placed there
    are what is left to move; on an empty store it changes nothing.

    A failed move is reported and the drain goes on with the next tenant: a failure of
    one tenant (writes in flight that outlast the wait, a move of it already running)
    leaves that tenant whole where it is, and is no reason to keep the others in a store
    being emptied. Two failures in a row stop it: then the cause is likely beyond one
    tenant (the target or the network), and going on would pause every remaining
    tenant's writes for nothing. It stops too, before moving anything, when no other
    pooled store accepts tenants, and before the next tenant if the store was marked
    accepting meanwhile. Logged as ``store.drain`` with what it moved and what failed.

    ``progress(event, **info)``: ("marked", name, marked) once it is marked draining,
    ("tenant", slug, target, index) before each move, then
    the move's own events, ("moved", slug, result) or ("failed", slug, error).
    """
    progress = progress or _silent
    with catalog.operation("store.drain", store_name=name, move=move) as record:
        with catalog.session() as session:
            store = _pooled(catalog, session, name)
            name, store_id = store.name, store.id
        record.store_name = name
        with _drain_lock(catalog, store_id, name):
            first, _, _ = _next_tenant(catalog, name, set())
            if move and first is not None:
                choose_pooled_store(catalog, exclude=(name,))  # refused before the mark
            _, marked = _mark(catalog, name, False)
            result = DrainResult(name, marked)
            record.detail["marked"] = marked
            progress("marked", name=name, marked=marked)
            if move:
                _move_out(catalog, result, wait_seconds, progress)
            _, _, result.being_created = _next_tenant(catalog, name, set())
            with catalog.session() as session:
                result.left = session.scalar(
                    select(func.count())
                    .select_from(Placement)
                    .where(Placement.store_id == store_id)
                )
            record.detail.update(
                moved=[f"{slug} -> {to}" for slug, to in result.moved],
                failed=[f"{slug}: {error}" for slug, error in result.failed],
                left=result.left,
            )
            if result.stopped:
                record.detail["stopped"] = result.stopped
        return result


def _move_out(catalog: Catalog, result: DrainResult, wait_seconds: float, progress) -> None:
    """Move the draining store's tenants out, one at a time (drain_store says when it
    goes on and when it stops)."""
    # here, not at the top: mobility imports provisioning, which imports this module
    from .mobility import MoveRequest, move_tenant

    tried: set[str] = set()
    failures_in_a_row = 0
    while True:
        slug, draining, _ = _next_tenant(catalog, result.name, tried)
        if slug is None:
            return
        if not draining:
            result.stopped = (
                f"store {result.name} was marked accepting meanwhile (`salesapp store accept`)"
            )
            return
        tried.add(slug)
        try:
            target = choose_pooled_store(catalog, exclude=(result.name,))
        except PlacementError as exc:
            result.stopped = str(exc)
            return
        progress("tenant", slug=slug, target=target, index=len(tried))
        try:
            moved = move_tenant(
                catalog,
                MoveRequest(
                    slug=slug,
                    to=StoreKind.POOLED,
                    store_name=target,
                    wait_seconds=wait_seconds,
                    grace_seconds=catalog.settings.move_grace_seconds,
                ),
                progress=progress,
            )
        except OperationError as exc:
            result.failed.append((slug, str(exc)))
            progress("failed", slug=slug, error=str(exc))
            failures_in_a_row += 1
            if failures_in_a_row >= FAILURES_IN_A_ROW:
                result.stopped = f"{failures_in_a_row} moves in a row failed"
                return
            continue
        if moved.target == result.name:  # it finished an earlier move *into* this store
            error = (
                f"an earlier move of {slug} into {result.name} was finished; run the drain again"
            )
            result.failed.append((slug, error))
            progress("failed", slug=slug, error=error)
            continue
        failures_in_a_row = 0
        result.moved.append((slug, moved.target))
        progress("moved", slug=slug, result=moved)
