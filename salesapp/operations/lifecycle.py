"""Operations on existing tenants: look, list, suspend, resume, extend a trial, manage
domains, delete (every copy of it), remove one kept copy. Each is a function the CLI and
the tests call; each change is recorded in the operations log."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import delete, select, text

from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.directory import MOVE_LEASE_SECONDS, StoreKind, TenantStatus
from ..tenancy.errors import first_line
from ..tenancy.hosts import normalize_host
from . import bootstrap, door, fence, provisioning, storeadmin
from .catalog import Catalog
from .errors import NotFound, OperationError
from .identity import DatabaseIdentity, identity_of_store, read_identity
from .models import Domain, Placement, Store, Tenant, TenantCopy, TenantMove
from .provisioning import custom_domain
from .tablecopy import delete_rows, table_specs


def _now():
    return dt.datetime.now(dt.UTC)


def tenant_url(catalog: Catalog, tenant: Tenant, port=None) -> str:
    """Where the tenant's staff sign in: its primary custom domain, else its subdomain."""
    primary = next((d.host for d in tenant.domains if d.is_primary), None)
    host = primary or f"{tenant.slug}.{catalog.settings.base_domains[0]}"
    scheme = "https" if catalog.settings.production else "http"
    port = port or (None if catalog.settings.production else catalog.settings.demo_port)
    return f"{scheme}://{host}" + (f":{port}" if port else "") + "/"


def count_rows(conn, table: str) -> int | None:
    """Rows of ``table`` visible under the connection's tenant setting; None if no table."""
    exists = conn.scalar(text("select to_regclass(:t) is not null"), {"t": f"public.{table}"})
    if not exists:
        return None
    return conn.scalar(text(f'select count(*) from "{table}"'))


def user_counts(catalog: Catalog, tenants: list[tuple[int, Store]]) -> dict[int, int | None]:
    """Users per tenant, one connection per store; None where the store is unreachable."""
    by_store: dict[int, tuple[Store, list[int]]] = {}
    for tenant_id, store in tenants:
        by_store.setdefault(store.id, (store, []))[1].append(tenant_id)
    counts: dict[int, int | None] = {}
    for store, ids in by_store.values():
        try:
            with door.store_connection(catalog, store) as conn:
                for tenant_id in ids:
                    bind(conn, tenant_id)
                    counts[tenant_id] = count_rows(conn, "users")
        except Exception:
            counts.update({tenant_id: None for tenant_id in ids})
    return counts


def ordered_domains(tenant: Tenant) -> list[str]:
    """The tenant's custom domains, the primary first."""
    return [d.host for d in sorted(tenant.domains, key=lambda d: (not d.is_primary, d.host))]


def _state(catalog: Catalog, tenant: Tenant, move, creator_alive: bool | None) -> str:
    """The tenant's state in a few words, for `tenant list` and `tenant show`: its
    status, and whether it is being created (by a live creator or an abandoned one),
    being moved, or past the end of its trial."""
    if tenant.status == TenantStatus.PROVISIONING:
        if creator_alive:
            return "provisioning (being created now)"
        return (
            "provisioning (creator gone: `salesapp doctor --yes` or "
            f"`salesapp tenant delete {tenant.slug}` undoes it)"
        )
    parts = [str(tenant.status)]
    if move is not None:
        beat_age = (_now() - move.heartbeat_at).total_seconds()
        gone = f", mover silent for {beat_age:.0f} s" if beat_age > MOVE_LEASE_SECONDS else ""
        parts.append(f"moving ({move.phase}{gone})")
    if tenant.trial_ends_at is not None and tenant.trial_ends_at <= _now():
        parts.append(f"trial ended {tenant.trial_ends_at.date().isoformat()}")
    return ", ".join(parts)


def describe(
    catalog: Catalog,
    tenant: Tenant,
    store: Store | None,
    placement: Placement | None,
    users,
    *,
    move: TenantMove | None = None,
    copies=(),
    creator_alive: bool | None = None,
) -> dict:
    """A tenant as `tenant show` and `tenant list` print it (``--json`` as is)."""
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "status_reason": tenant.status_reason,
        "state": _state(catalog, tenant, move, creator_alive),
        "store": store.name if store is not None else None,
        "kind": store.kind if store is not None else None,
        "placement_state": placement.state if placement is not None else None,
        "users": users,
        "max_users": tenant.max_users,
        "multi_location": tenant.multi_location,
        "admin_email": tenant.admin_email,
        "trial_ends_at": tenant.trial_ends_at.isoformat() if tenant.trial_ends_at else None,
        "trial_ended": tenant.trial_ends_at is not None and tenant.trial_ends_at <= _now(),
        "moving": (
            {"phase": move.phase, "started_at": move.started_at.isoformat()}
            if move is not None
            else None
        ),
        "creation": (
            {"creator_alive": bool(creator_alive), "step": tenant.status_reason}
            if tenant.status == TenantStatus.PROVISIONING
            else None
        ),
        "copies": [
            {"id": c.id, "store": name, "reason": c.reason, "kept_at": c.kept_at.isoformat()}
            for c, name in copies
        ],
        "domains": ordered_domains(tenant),
        "primary_domain": next((d.host for d in tenant.domains if d.is_primary), None),
        "url": tenant_url(catalog, tenant),
        "created_at": tenant.created_at.isoformat(),
    }


def _tenant_in_any_state(session, slug: str) -> Tenant:
    """The tenant with this subdomain, being created included; NotFound otherwise."""
    slug = provisioning.normal_slug(slug)
    tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).first()
    if tenant is None:
        raise NotFound(f"no tenant with subdomain {slug!r}; see `salesapp tenant list`")
    return tenant


def _copies_by_tenant(session, tenant_ids) -> dict[int, list[tuple[TenantCopy, str]]]:
    found: dict[int, list[tuple[TenantCopy, str]]] = {}
    rows = session.execute(
        select(TenantCopy, Store.name)
        .join(Store, Store.id == TenantCopy.store_id)
        .where(TenantCopy.tenant_id.in_(list(tenant_ids)))
        .order_by(TenantCopy.id)
    ).all()
    for copy, name in rows:
        found.setdefault(copy.tenant_id, []).append((copy, name))
    return found


def show_tenant(catalog: Catalog, slug: str) -> dict:
    """Everything about one tenant, in any state (a creation in progress or abandoned,
    a move, kept copies included)."""
    with catalog.session() as session:
        tenant = _tenant_in_any_state(session, slug)
        placement = session.get(Placement, tenant.id)
        store = session.get(Store, placement.store_id) if placement is not None else None
        creating = tenant.status == TenantStatus.PROVISIONING
        users = None
        if store is not None and not creating:
            users = user_counts(catalog, [(tenant.id, store)])[tenant.id]
        alive = provisioning.creator_alive(catalog, tenant.id) if creating else None
        return describe(
            catalog,
            tenant,
            store,
            placement,
            users,
            move=session.get(TenantMove, tenant.id),
            copies=_copies_by_tenant(session, [tenant.id]).get(tenant.id, []),
            creator_alive=alive,
        )


def list_tenants(catalog: Catalog, *, active_only=False, store_name=None) -> list[dict]:
    """Every tenant (those being created too, unless ``active_only``), with its state."""
    with catalog.session() as session:
        query = (
            select(Tenant, Placement, Store)
            .outerjoin(Placement, Placement.tenant_id == Tenant.id)
            .outerjoin(Store, Store.id == Placement.store_id)
            .order_by(Tenant.slug)
        )
        if active_only:
            query = query.where(Tenant.status == TenantStatus.ACTIVE)
        if store_name:
            catalog.store_named(session, store_name)
            query = query.where(Store.name == store_name)
        rows = session.execute(query).all()
        moves = {m.tenant_id: m for m in session.scalars(select(TenantMove))}
        copies = _copies_by_tenant(session, [t.id for t, _, _ in rows])
        creating = [t.id for t, _, _ in rows if t.status == TenantStatus.PROVISIONING]
        held = provisioning.live_creators(catalog) if creating else set()
        counts = user_counts(
            catalog,
            [(t.id, s) for t, _, s in rows if s is not None and t.id not in creating],
        )
        return [
            describe(
                catalog,
                t,
                s,
                p,
                counts.get(t.id),
                move=moves.get(t.id),
                copies=copies.get(t.id, []),
                creator_alive=(provisioning.lease_key(t.id) in held) if t.id in creating else None,
            )
            for t, p, s in rows
        ]


def set_status(
    catalog: Catalog, slug: str, status: TenantStatus | str, reason: str | None = None
) -> dict:
    """Suspend (status SUSPENDED) or resume (ACTIVE) a tenant."""
    if status not in (TenantStatus.ACTIVE, TenantStatus.SUSPENDED):
        raise OperationError(f"status must be active or suspended, not {status!r}")
    status = TenantStatus(status)
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        if tenant.status == status:
            raise OperationError(f"tenant {tenant.slug!r} is already {status}")
        tenant.status = status
        tenant.status_reason = reason if status == TenantStatus.SUSPENDED else None
        tenant.updated_at = _now()
        slug = tenant.slug
    action = "tenant.suspend" if status == TenantStatus.SUSPENDED else "tenant.resume"
    catalog.record(action, "ok", tenant_slug=slug, reason=reason)
    return show_tenant(catalog, slug)


def extend_trial(catalog: Catalog, slug: str, days: int) -> dict:
    """Move the trial end ``days`` later (from now if it had ended). A tenant without a
    trial gets one of ``days`` days: the result's ``trial_was`` says which of "none",
    "ended" and "running" it was, and ``trial_ended_before`` when it ended before."""
    if days < 1 or days > 3650:
        raise OperationError(f"--days must be between 1 and 3650, got {days}")
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        before, now = tenant.trial_ends_at, _now()
        tenant.trial_ends_at = max(before or now, now) + dt.timedelta(days=days)
        tenant.updated_at = now
        slug, ends = tenant.slug, tenant.trial_ends_at
    was = "none" if before is None else ("ended" if before <= now else "running")
    catalog.record(
        "tenant.extend-trial",
        "ok",
        tenant_slug=slug,
        days=days,
        trial_ends_at=ends.isoformat(),
        trial_was=was,
        trial_ended_before=before.isoformat() if before else None,
    )
    info = show_tenant(catalog, slug)
    info.update(trial_was=was, trial_ended_before=before.isoformat() if before else None)
    return info


# -- domains -------------------------------------------------------------------------
def _valid_domain(catalog: Catalog, host: str) -> str:
    return custom_domain(host, catalog.settings.base_domains)


def add_domain(catalog: Catalog, slug: str, host: str, primary=False) -> dict:
    host = _valid_domain(catalog, host)
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        owner = session.scalars(select(Domain).where(Domain.host == host)).first()
        if owner is not None:
            who = "this tenant" if owner.tenant_id == tenant.id else "another tenant"
            raise OperationError(f"domain {host!r} already belongs to {who}")
        if primary or not tenant.domains:
            for domain in tenant.domains:
                domain.is_primary = False
        session.add(
            Domain(tenant_id=tenant.id, host=host, is_primary=primary or not tenant.domains)
        )
        slug = tenant.slug
    catalog.record("tenant.domain.add", "ok", tenant_slug=slug, host=host)
    return show_tenant(catalog, slug)


def _domain_of(session, tenant: Tenant, host: str) -> Domain:
    normal = normalize_host(host, idna=True) or host
    domain = next((d for d in tenant.domains if d.host == normal), None)
    if domain is None:
        raise NotFound(
            f"tenant {tenant.slug!r} has no domain {host!r}; see `salesapp tenant show {tenant.slug}`"
        )
    return domain


def remove_domain(catalog: Catalog, slug: str, host: str) -> dict:
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        domain = _domain_of(session, tenant, host)
        tenant.domains.remove(domain)
        session.delete(domain)
        if domain.is_primary and tenant.domains:
            sorted(tenant.domains, key=lambda d: d.host)[0].is_primary = True
        slug, host = tenant.slug, domain.host
    catalog.record("tenant.domain.remove", "ok", tenant_slug=slug, host=host)
    return show_tenant(catalog, slug)


def make_primary(catalog: Catalog, slug: str, host: str) -> dict:
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        chosen = _domain_of(session, tenant, host)
        for domain in tenant.domains:
            domain.is_primary = domain is chosen
        slug, host = tenant.slug, chosen.host
    catalog.record("tenant.domain.primary", "ok", tenant_slug=slug, host=host)
    return show_tenant(catalog, slug)


# -- delete --------------------------------------------------------------------------
class CopyAction(enum.StrEnum):
    """What a delete does to one place a tenant's rows are."""

    EVACUATE = "evacuate"  # delete its rows (a pooled store, or one others share)
    DROP = "drop"  # drop the whole database (a dedicated one, nobody else's)
    KEEP = "keep"  # keep the dedicated database (--keep-database), naming it


@dataclass(frozen=True)
class _Place:
    """One place a tenant's rows are: the store it lives in, or a kept copy."""

    store_id: int
    store_name: str
    kind: str
    url: str
    recorded: DatabaseIdentity | None
    copy_id: int | None  # None: where it lives (its placement)
    reason: str | None
    whole_database: bool  # a dedicated database with nothing of another tenant in it

    @property
    def database(self) -> str:
        return urls.database_of(self.url)

    @property
    def address(self) -> str:
        return provisioning.database_address(self.url)


def _place(catalog: Catalog, session, store: Store, tenant_id: int, copy=None) -> _Place:
    return _Place(
        store_id=store.id,
        store_name=store.name,
        kind=store.kind,
        url=catalog.store_url(store),
        recorded=identity_of_store(store),
        copy_id=copy.id if copy is not None else None,
        reason=copy.reason if copy is not None else None,
        whole_database=store.kind == StoreKind.DEDICATED
        and not provisioning.shared_store(session, store, tenant_id),
    )


def _places(catalog: Catalog, session, tenant: Tenant) -> list[_Place]:
    """Every copy of the tenant the catalog knows of: kept copies first, then where it
    lives (a copy recorded in the store it lives in again is its live data)."""
    placement = session.get(Placement, tenant.id)
    places = []
    kept = session.scalars(
        select(TenantCopy).where(TenantCopy.tenant_id == tenant.id).order_by(TenantCopy.id)
    )
    for copy in kept:
        if placement is None or copy.store_id != placement.store_id:
            places.append(
                _place(catalog, session, session.get(Store, copy.store_id), tenant.id, copy)
            )
    if placement is not None:
        places.append(_place(catalog, session, session.get(Store, placement.store_id), tenant.id))
    return places


def _moving_refusal(slug: str, move: TenantMove, what: str) -> OperationError:
    return OperationError(
        f"tenant {slug!r} is being moved (phase {move.phase}, started "
        f"{move.started_at:%Y-%m-%d %H:%M:%S %Z}); {what} now could leave a copy of it "
        "behind. Wait for the move to end (`salesapp tenant list` shows it moving); if "
        "its mover was stopped, `salesapp doctor --yes` finishes or undoes the move; then "
        "run this again"
    )


def _prove(catalog: Catalog, place: _Place, keep_database: bool) -> CopyAction:
    """Check, before anything is changed, what will be done to ``place`` and that it
    may be: evacuate its rows (the database is what the store row records), drop it
    (nobody else's; proven again at the drop itself), or keep it."""
    if place.whole_database:
        if keep_database:
            return CopyAction.KEEP
        with bootstrap.admin_connection(place.url, settings=catalog.settings) as conn:
            live = storeadmin.identity_named(conn, place.database)
        if live is not None:
            provisioning.check_recorded(place.store_name, place.recorded, live)
            holder = storeadmin.what_database_is(catalog, live, exclude=(place.store_id,))
            if holder is not None:
                raise OperationError(
                    f"database {place.address} of store {place.store_name} is {holder} too: "
                    "not dropping it, nor deleting anything else; two store rows name one "
                    "database: see `salesapp doctor`"
                )
        return CopyAction.DROP
    provisioning.verified_identity(catalog, place.store_name, place.url, place.recorded)
    return CopyAction.EVACUATE


def evacuate(catalog: Catalog, url: str, tenant_id: int, reason: str) -> dict[str, int]:
    """Delete every row of one tenant from the store at ``url`` (children first, in one
    transaction under its binding) and leave the store closed to its writes (an app
    process whose cache is behind cannot write it back); rows deleted per table."""
    engine = door.url_engine(catalog.settings, url)
    try:
        with engine.begin() as connection:
            bind(connection, tenant_id)
            conn = connection.connection.driver_connection
            fence.open_store(conn, tenant_id)  # a kept copy is fenced: its rows too
            deleted = delete_rows(conn, table_specs(conn), tenant_id)
            fence.close_store(conn, tenant_id, reason)
            return deleted
    finally:
        engine.dispose()


def _forget_store(session, store_id: int) -> None:
    """Remove a store row nothing names any more (no placement, no kept copy)."""
    placed = session.scalar(
        select(Placement.tenant_id).where(Placement.store_id == store_id).limit(1)
    )
    kept = session.scalar(select(TenantCopy.id).where(TenantCopy.store_id == store_id).limit(1))
    if placed is None and kept is None:
        session.execute(delete(Store).where(Store.id == store_id))


def _remove(
    catalog: Catalog, tenant_id: int, place: _Place, action: CopyAction
) -> tuple[str, dict | None]:
    """Do ``action`` to ``place``; return what was done (a line) and, for rows, the
    rows deleted per table. A kept copy's catalog record goes with it."""
    rows = None
    if action == CopyAction.EVACUATE:
        rows = evacuate(catalog, place.url, tenant_id, "tenant deleted")
        line = f"deleted its {sum(rows.values())} rows from store {place.store_name}"
    elif action == CopyAction.DROP:
        line = provisioning.drop_proven(
            catalog, place.store_name, place.url, place.recorded, exclude=(place.store_id,)
        )
        line += f" (store {place.store_name})"
    else:
        line = (
            f"kept database {place.address} (store {place.store_name}, which the catalog "
            "forgets: drop the database by hand when it is no longer needed)"
        )
    if place.copy_id is not None:
        line += f", a copy {place.reason}" if place.reason else ", a kept copy"
        with catalog.session() as session:
            session.execute(delete(TenantCopy).where(TenantCopy.id == place.copy_id))
            if place.whole_database:
                _forget_store(session, place.store_id)
    return line, rows


def delete_tenant(catalog: Catalog, slug: str, *, keep_database=False) -> dict:
    """Delete a tenant and every copy of it the catalog knows of; return what was done.

    Where it lives and each copy kept by a move (``tenant_copies``) is removed: a pooled
    store loses the tenant's rows, a dedicated database is dropped, each only after
    proving by identity that it is what its store row says and (for a drop) that no
    other store, nor the catalog or the template, is that database; with
    ``keep_database`` a dedicated database is kept and named in the result instead.
    Refused while a move of the tenant is recorded. A tenant still being created whose
    creator is gone has its creation undone (salesapp.operations.provisioning.abandon).

    Every proof is made before anything changes; then the tenant is suspended (reason
    'deleting': its staff are stopped at once, and running delete again after a crash
    finishes the job), the copies go, then where it lives, then its catalog rows.
    Logged before it starts and when it ends, refusals included.
    """
    slug = provisioning.normal_slug(slug)
    try:
        with catalog.operation(
            "tenant.delete", tenant_slug=slug, keep_database=keep_database
        ) as record:
            result = _delete(catalog, slug, keep_database)
            record.store_name = result["store"]
            record.detail.update({k: v for k, v in result.items() if k not in ("slug", "store")})
            return result
    except OperationError:
        raise
    except Exception as exc:
        raise OperationError(
            f"deleting {slug!r} failed: {first_line(exc)}; the tenant stays suspended (reason "
            "'deleting'); fix the cause and run the delete again"
        ) from None


def _delete(catalog: Catalog, slug: str, keep_database: bool) -> dict:
    result = {
        "slug": slug,
        "store": None,
        "kind": None,
        "rows_deleted": None,
        "database": None,
        "database_dropped": False,
        "copies": [],
        "kept": [],
        "undone_creation": None,
        "lines": [],
    }
    with catalog.session() as session:
        tenant = _tenant_in_any_state(session, slug)
        tenant_id, status = tenant.id, tenant.status
        if status != TenantStatus.PROVISIONING:
            move = session.get(TenantMove, tenant_id)
            if move is not None:
                raise _moving_refusal(slug, move, "deleting it")
            places = _places(catalog, session, tenant)
    if status == TenantStatus.PROVISIONING:
        result["undone_creation"] = result["lines"] = provisioning.abandon(catalog, tenant_id)
        return result

    try:
        actions = [_prove(catalog, place, keep_database) for place in places]
    except OperationError:
        raise
    except Exception as exc:
        raise OperationError(
            f"deleting {slug!r} was refused before anything changed: {first_line(exc)}; "
            "check that its stores answer (`salesapp store list`) and run the delete again"
        ) from None
    with catalog.session() as session:
        tenant = session.get(Tenant, tenant_id)
        tenant.status, tenant.status_reason = TenantStatus.SUSPENDED, "deleting"
        tenant.updated_at = _now()
    try:
        for place, action in zip(places, actions, strict=True):
            line, rows = _remove(catalog, tenant_id, place, action)
            result["lines"].append(line)
            if action == CopyAction.KEEP:
                result["kept"].append(f"{place.address} (store {place.store_name})")
            if place.copy_id is not None:
                result["copies"].append(
                    {
                        "store": place.store_name,
                        "kind": place.kind,
                        "reason": place.reason,
                        "done": line,
                    }
                )
                continue
            result["store"], result["kind"] = place.store_name, place.kind
            if action == CopyAction.EVACUATE:
                result["rows_deleted"] = rows
            else:
                result["database"] = place.database
                result["database_dropped"] = action == CopyAction.DROP
    except OperationError as exc:
        raise OperationError(
            f"{exc}; the tenant stays suspended (reason 'deleting'): run the delete again "
            "once that is fixed"
        ) from None
    with catalog.session() as session:
        session.execute(delete(Tenant).where(Tenant.id == tenant_id))  # placement, copies...
        for place in places:
            if place.copy_id is None and place.whole_database:
                _forget_store(session, place.store_id)
    return result


def remove_copy(catalog: Catalog, copy_id: int) -> str:
    """Remove one copy of a tenant kept in a store it no longer lives in (``tenant move
    --keep-source``; ``tenant_copies`` row ``copy_id``); return what was done.

    A pooled copy loses the tenant's rows (the store stays closed to its writes); a
    dedicated copy's database is dropped and its store row forgotten. Only after proving
    by identity that the copy's database is what its store row records and is not the
    database the tenant lives in now (two store rows naming one database would make the
    "copy" the live data), nor anybody else's. Refused while a move of the tenant is
    recorded. Logged as ``tenant.copy.remove`` (for `salesapp doctor`).
    """
    with catalog.operation("tenant.copy.remove", copy_id=copy_id) as record:
        with catalog.session() as session:
            copy = session.get(TenantCopy, copy_id)
            if copy is None:
                raise NotFound(f"no kept copy with id {copy_id}; see `salesapp doctor`")
            tenant = session.get(Tenant, copy.tenant_id)
            slug, tenant_id = tenant.slug, tenant.id
            record.tenant_slug = slug
            move = session.get(TenantMove, tenant_id)
            if move is not None:
                raise _moving_refusal(slug, move, "removing a copy of it")
            store = session.get(Store, copy.store_id)
            record.store_name = store.name
            placement = session.get(Placement, tenant_id)
            if placement is not None and placement.store_id == copy.store_id:
                session.delete(copy)
                return (
                    f"tenant {slug!r} lives in store {store.name} again, so what was kept "
                    "there is its live data: only the record of the copy was removed"
                )
            place = _place(catalog, session, store, tenant_id, copy)
            home = None
            if placement is not None:
                home = _place(catalog, session, session.get(Store, placement.store_id), tenant_id)
        if home is not None and not place.whole_database:
            here = provisioning.verified_identity(
                catalog, place.store_name, place.url, place.recorded
            )
            there = {read_identity(catalog.settings, home.url), home.recorded}
            if here in there:
                raise OperationError(
                    f"the copy of {slug!r} in store {place.store_name} is database {here}, the "
                    f"one {slug!r} lives in (store {home.store_name}): two store rows name one "
                    "database, and removing the copy would delete the tenant; nothing was "
                    "removed. See `salesapp doctor`"
                )
        action = CopyAction.DROP if place.whole_database else CopyAction.EVACUATE
        line, _ = _remove(catalog, tenant_id, place, action)
        record.detail["done"] = line
        return line
