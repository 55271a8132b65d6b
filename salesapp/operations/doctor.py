"""``salesapp doctor``: every inconsistent state a crash, an older version or a hand at
psql can leave in a deployment, found, and repaired on request.

What it looks for (:class:`ProblemKind`, in the order the repairs run):

- a creation whose creator is gone (a tenant still ``provisioning``): undone;
- a move whose mover is gone (a ``tenant_moves`` row): finished if it had switched the
  tenant over, undone if not;
- a fence without a mover: a ``tenant_fences`` row for a tenant in the store it lives in
  now, or a placement ``moving``, with no move running: lifted;
- two store rows naming one database (read live, whatever URL reaches it): merged into
  one row, the catalog only;
- a store whose recorded identity is missing or no longer what its URL reaches:
  recorded from the live database;
- a copy of a tenant kept in a store it left (``move --keep-source``): removed;
- a database named with the deployment's prefix that no store names (a crashed
  creation's, a ``delete --keep-database``): dropped;
- more than DML for the app role: a membership in another role (``GRANT <owner> TO
  <app>``, followed through pg_auth_members to the end) or table privileges beyond
  SELECT, INSERT, UPDATE, DELETE: revoked;
- a store whose schema revision differs from the catalog's record: recorded.

Above all, a repair never empties or drops anything it has not proven, by database
identity (identity.py: the server's system identifier and the database's oid), to be
outside every store a tenant lives in now. Each repair reads the state again just
before it acts (the problem may be gone, or a mover back at work), leaves alone what it
cannot prove and says why, is logged in the operations log, and says what it did.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import create_engine, delete, func, select, text, update
from sqlalchemy.pool import NullPool

from ..tenancy import urls
from ..tenancy.directory import PLACEMENT_KINDS, PlacementState, StoreKind, TenantStatus
from ..tenancy.errors import first_line
from ..tenancy.stores import connect_args
from . import bootstrap, fence, lifecycle, migrations, mobility, provisioning, rls
from .catalog import Catalog
from .errors import OperationError
from .identity import (
    IDENTITY_SQL,
    DatabaseIdentity,
    identity_of,
    identity_of_store,
    record_identity,
)
from .models import MovePhase, Placement, Store, Tenant, TenantCopy, TenantMove


class ProblemKind(enum.StrEnum):
    """What is wrong; the order is the order the repairs run in (a move is settled
    before the fences it left are looked at, duplicate rows are merged before missing
    identities are filled in, and identities are known before anything is dropped)."""

    STUCK_PROVISIONING = "stuck-provisioning"
    HALF_DONE_MOVE = "half-done-move"
    FENCE_WITHOUT_MOVER = "fence-without-mover"
    DUPLICATE_STORE = "duplicate-store-identity"
    STORE_IDENTITY = "store-identity"
    KEPT_COPY = "kept-copy"
    STRAY_DATABASE = "stray-database"
    APP_ROLE_PRIVILEGES = "app-role-privileges"
    REVISION_MISMATCH = "revision-mismatch"


#: what each kind means, for the check line of a kind with no problem
KIND_TITLES = {
    ProblemKind.STUCK_PROVISIONING: "no creation stuck with its creator gone",
    ProblemKind.HALF_DONE_MOVE: "no move half-done with its mover gone",
    ProblemKind.FENCE_WITHOUT_MOVER: "no fence without a mover",
    ProblemKind.DUPLICATE_STORE: "no two stores name one database",
    ProblemKind.STORE_IDENTITY: "every store's identity recorded",
    ProblemKind.KEPT_COPY: "no copy of a tenant kept outside its store",
    ProblemKind.STRAY_DATABASE: "no database of the deployment that no store names",
    ProblemKind.APP_ROLE_PRIVILEGES: "app role: no membership or privilege beyond DML",
    ProblemKind.REVISION_MISMATCH: "every store's revision as the catalog records it",
}


@dataclass(frozen=True)
class Problem:
    """One inconsistent state: what it is (one line naming the tenant, store or
    database) and the repair ``doctor --yes`` would make. ``automatic`` is False where
    only a person can decide; ``repair`` then says what to do."""

    kind: ProblemKind
    description: str
    repair: str
    automatic: bool = True
    tenant_slug: str | None = None
    store_name: str | None = None
    #: what the repair needs (ids, identities, URLs with passwords): never printed
    target: dict = field(default_factory=dict, repr=False, compare=False)

    def as_dict(self) -> dict:
        return {
            "kind": str(self.kind),
            "description": self.description,
            "repair": self.repair,
            "automatic": self.automatic,
            "tenant": self.tenant_slug,
            "store": self.store_name,
        }


class LeftAlone(OperationError):
    """A repair that could not prove it is safe (or is no longer needed) and did
    nothing; the message says why."""


# -- looking at the databases -------------------------------------------------------------
@dataclass(frozen=True)
class _ServerDatabase:
    name: str
    oid: int
    owner: str


@dataclass
class _Server:
    """One PostgreSQL server (by system identifier) and what is on it."""

    system_identifier: str
    label: str
    via_url: str  # an owner URL of a database on it that is the catalog or a store
    databases: list[_ServerDatabase]
    memberships: list[tuple[str, list[str]]]


@dataclass
class _Seen:
    """One database as the survey found it (None/empty where it could not be read)."""

    identity: DatabaseIdentity | None = None
    error: str | None = None
    revision: str | None = None
    revision_read: bool = False
    fenced: list[int] = field(default_factory=list)
    extra_privileges: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _StoreRow:
    id: int
    name: str
    kind: StoreKind
    url: str
    recorded: DatabaseIdentity | None
    schema_revision: str | None
    is_default: bool
    seen: _Seen = field(default_factory=_Seen)

    @property
    def identity(self) -> DatabaseIdentity | None:
        """What the store's database is: as read live, else as recorded."""
        return self.seen.identity or self.recorded

    @property
    def database(self) -> str:
        return urls.database_of(self.url)


@dataclass
class _Survey:
    catalog: _Seen
    stores: list[_StoreRow]
    servers: dict[str, _Server]
    creating: list[tuple[int, str]]  # provisioning tenants: (id, slug)
    moves: list[dict]
    placements: dict[int, tuple[int, str]]  # tenant id -> (store id, state)
    slugs: dict[int, str]
    copies: list[dict]

    def store(self, store_id: int | None) -> _StoreRow | None:
        return next((s for s in self.stores if s.id == store_id), None)

    def busy(self) -> set[int]:
        """Stores a creation or a move is making or using now: a dedicated store being
        created has no identity or revision recorded yet, and that is no problem of its
        own (a dead creator or mover is; its repair settles the store)."""
        creating = {tenant_id for tenant_id, _ in self.creating}
        made = {
            store_id
            for tenant_id, (store_id, _) in self.placements.items()
            if tenant_id in creating
            and getattr(self.store(store_id), "kind", None) == StoreKind.DEDICATED
        }
        return made | {m["source"] for m in self.moves} | {m["target"] for m in self.moves}


def server_label(url: str) -> str:
    """host:port of a URL, for messages (no role, no password)."""
    parsed = urls.parse(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    return f"{host}:{parsed.port or 5432}"


def _prefix_pattern(prefix: str) -> str:
    return prefix.replace("_", "\\_") + "\\_%"


def _engine(settings, url: str):
    return create_engine(
        urls.sqlalchemy_url(url), poolclass=NullPool, connect_args=connect_args(settings)
    )


def _look(
    settings, url: str, servers: dict[str, _Server], *, tenant_store: bool, server_only=False
) -> _Seen:
    """Read one database: its identity; its server's databases of the deployment and the
    app role's memberships (once per server); for a store, its schema revision, its
    fence rows and the app role's table privileges beyond DML."""
    seen = _Seen()
    engine = _engine(settings, url)
    try:
        with engine.connect() as conn:
            system_identifier, oid = conn.exec_driver_sql(IDENTITY_SQL).one()
            seen.identity = DatabaseIdentity(str(system_identifier), int(oid))
            if system_identifier not in servers:
                rows = conn.execute(
                    text(
                        "select datname, oid::bigint, pg_get_userbyid(datdba) from pg_database "
                        "where datname like :pattern order by datname"
                    ),
                    {"pattern": _prefix_pattern(settings.role_prefix)},
                ).all()
                servers[system_identifier] = _Server(
                    system_identifier,
                    server_label(url),
                    url,
                    [_ServerDatabase(name, int(db_oid), owner) for name, db_oid, owner in rows],
                    rls.app_role_memberships(conn, settings.app_role),
                )
            if server_only:
                return seen
            seen.extra_privileges = rls.extra_table_privileges(conn, settings.app_role)
            if tenant_store:
                seen.revision = migrations.current_revision(conn)
                seen.revision_read = True
                if conn.scalar(
                    text("select to_regclass(:t) is not null"), {"t": fence.FENCE_TABLE}
                ):
                    seen.fenced = list(
                        conn.scalars(text(f"select fenced_tenant from {fence.FENCE_TABLE}"))
                    )
    except Exception as exc:
        seen.error = first_line(exc)
    finally:
        engine.dispose()
    return seen


def _survey(catalog: Catalog) -> _Survey:
    settings = catalog.settings
    with catalog.session() as session:
        stores = [
            _StoreRow(
                s.id,
                s.name,
                StoreKind(s.kind),
                catalog.store_url(s),
                identity_of_store(s),
                s.schema_revision,
                s.is_default,
            )
            for s in session.scalars(select(Store).order_by(Store.id))
        ]
        creating = [
            (row.id, row.slug)
            for row in session.execute(
                select(Tenant.id, Tenant.slug)
                .where(Tenant.status == TenantStatus.PROVISIONING)
                .order_by(Tenant.id)
            )
        ]
        moves = [
            {
                "tenant_id": m.tenant_id,
                "source": m.source_store_id,
                "target": m.target_store_id,
                "phase": m.phase,
                "heartbeat_at": m.heartbeat_at,
            }
            for m in session.scalars(select(TenantMove).order_by(TenantMove.tenant_id))
        ]
        placements = {
            p.tenant_id: (p.store_id, p.state) for p in session.scalars(select(Placement))
        }
        slugs = dict(session.execute(select(Tenant.id, Tenant.slug)).all())
        copies = [
            {
                "id": c.id,
                "tenant_id": c.tenant_id,
                "store_id": c.store_id,
                "reason": c.reason,
                "kept_at": c.kept_at,
            }
            for c in session.scalars(select(TenantCopy).order_by(TenantCopy.id))
        ]
    servers: dict[str, _Server] = {}
    catalog_seen = _look(settings, settings.catalog_url, servers, tenant_store=False)
    for store in stores:
        store.seen = _look(
            settings,
            store.url,
            servers,
            tenant_store=store.kind in PLACEMENT_KINDS,
            server_only=store.kind == StoreKind.DEDICATED_SERVER,
        )
    return _Survey(catalog_seen, stores, servers, creating, moves, placements, slugs, copies)


# -- finding ------------------------------------------------------------------------------
def find_problems(catalog: Catalog) -> list[Problem]:
    """Every inconsistent state of the deployment, in the order they would be repaired.
    Changes nothing. Stores that cannot be reached are skipped (``salesapp check`` says
    so); what depends on them is then reported, never repaired, by guess."""
    survey = _survey(catalog)
    problems = []
    for finder in (
        _stuck_creations,
        _half_done_moves,
        _fences_without_mover,
        _duplicate_stores,
        _store_identities,
        _kept_copies,
        _stray_databases,
        _app_role_privileges,
        _revision_mismatches,
    ):
        problems += finder(catalog, survey)
    return problems


def _stuck_creations(catalog: Catalog, survey: _Survey) -> list[Problem]:
    problems = []
    for tenant_id, slug in provisioning.abandoned_creations(catalog) if survey.creating else ():
        problems.append(
            Problem(
                ProblemKind.STUCK_PROVISIONING,
                f"tenant {slug!r} (id {tenant_id}) is stuck in provisioning: its creator is gone",
                "undo the creation: remove what it made (its rows, a dedicated database it "
                "created) and free the subdomain",
                tenant_slug=slug,
                target={"tenant_id": tenant_id},
            )
        )
    return problems


def _name(survey: _Survey, store_id: int | None) -> str:
    store = survey.store(store_id)
    return store.name if store else f"(store #{store_id}, gone)"


def _half_done_moves(catalog: Catalog, survey: _Survey) -> list[Problem]:
    problems = []
    for move in survey.moves:
        tenant_id = move["tenant_id"]
        if mobility.mover_alive(catalog, tenant_id):
            continue
        slug = survey.slugs.get(tenant_id, f"#{tenant_id}")
        source, target = _name(survey, move["source"]), _name(survey, move["target"])
        flipped = move["phase"] == MovePhase.FLIPPED
        beat = move["heartbeat_at"]
        problems.append(
            Problem(
                ProblemKind.HALF_DONE_MOVE,
                f"tenant {slug!r}: a move from {source} to {target} stopped at phase "
                f"{move['phase']} (last heartbeat {beat:%Y-%m-%d %H:%M:%S %Z}); its mover is gone",
                f"finish it: {target} holds the tenant since the switch, {source} is cleaned"
                if flipped
                else f"undo it: {source} holds the tenant; what {target} got is removed and "
                "the tenant's writes resume",
                tenant_slug=slug,
                store_name=source,
                target={"tenant_id": tenant_id},
            )
        )
    return problems


def _fences_without_mover(catalog: Catalog, survey: _Survey) -> list[Problem]:
    problems = []
    moving = {m["tenant_id"] for m in survey.moves}
    done: set[tuple[DatabaseIdentity, int]] = set()
    for store in survey.stores:
        if not store.seen.fenced or store.seen.identity is None:
            continue
        for tenant_id in store.seen.fenced:
            if tenant_id in moving or (store.seen.identity, tenant_id) in done:
                continue
            placed = survey.placements.get(tenant_id)
            home = survey.store(placed[0]) if placed else None
            if home is None or home.identity != store.seen.identity:
                continue  # a store the tenant left (or no tenant): fenced, as it must be
            done.add((store.seen.identity, tenant_id))
            slug = survey.slugs.get(tenant_id, f"#{tenant_id}")
            problems.append(
                Problem(
                    ProblemKind.FENCE_WITHOUT_MOVER,
                    f"tenant {slug!r}: its writes are fenced off in store {home.name} "
                    f"(database {store.database}), where it lives, and no move is running",
                    f"lift the fence in {home.name} (delete its {fence.FENCE_TABLE} row)",
                    tenant_slug=slug,
                    store_name=home.name,
                    target={
                        "variant": "fence-row",
                        "tenant_id": tenant_id,
                        "identity": store.seen.identity,
                    },
                )
            )
    for tenant_id, (store_id, state) in sorted(survey.placements.items()):
        if state == PlacementState.MOVING and tenant_id not in moving:
            slug = survey.slugs.get(tenant_id, f"#{tenant_id}")
            problems.append(
                Problem(
                    ProblemKind.FENCE_WITHOUT_MOVER,
                    f"tenant {slug!r}: its placement in {_name(survey, store_id)} is "
                    "'moving' (writes answered 503) and no move is running",
                    "set the placement active again",
                    tenant_slug=slug,
                    store_name=_name(survey, store_id),
                    target={"variant": "moving-placement", "tenant_id": tenant_id},
                )
            )
    return problems


def _reserved(catalog: Catalog, survey: _Survey) -> dict[DatabaseIdentity, str]:
    """The identities of the catalog and the template database: never a store."""
    reserved = {}
    if survey.catalog.identity is not None:
        reserved[survey.catalog.identity] = "the catalog database"
        server = survey.servers.get(survey.catalog.identity.system_identifier)
        template = bootstrap.template_database(catalog.settings)
        for database in server.databases if server else ():
            if database.name == template:
                reserved[DatabaseIdentity(server.system_identifier, database.oid)] = (
                    "the template database"
                )
    return reserved


def _duplicate_stores(catalog: Catalog, survey: _Survey) -> list[Problem]:
    problems = []
    groups: dict[DatabaseIdentity, list[_StoreRow]] = {}
    for store in survey.stores:
        if store.kind in PLACEMENT_KINDS and store.identity is not None:
            groups.setdefault(store.identity, []).append(store)
    reserved = _reserved(catalog, survey)
    for identity, stores in groups.items():
        names = ", ".join(s.name for s in stores)
        if identity in reserved:
            used = _store_users(survey, {s.id for s in stores})
            problems.append(
                Problem(
                    ProblemKind.DUPLICATE_STORE,
                    f"store {names} names {reserved[identity]} ({identity})",
                    "remove the store row from the catalog (it holds no tenant)"
                    if not used
                    else f"by hand: {used}; move them to another store with `salesapp tenant "
                    "move`, then run `salesapp doctor --yes` again",
                    automatic=not used,
                    store_name=stores[0].name,
                    target={
                        "store_ids": [s.id for s in stores],
                        "identity": identity,
                        "reserved": reserved[identity],
                    },
                )
            )
            continue
        if len(stores) < 2:
            continue
        keep = _keeper(survey, stores)
        problems.append(
            Problem(
                ProblemKind.DUPLICATE_STORE,
                f"stores {names} name one database ({stores[0].database}, {identity})",
                f"merge them into {keep.name} in the catalog: their tenants' placements and "
                "copies point at it, the other rows go; no database is touched",
                store_name=keep.name,
                target={"store_ids": [s.id for s in stores], "identity": identity},
            )
        )
    return problems


def _store_users(survey: _Survey, ids: set[int]) -> str:
    """What refers to these store rows ('' if nothing): tenants placed, copies, moves."""
    placed = [survey.slugs.get(t, f"#{t}") for t, (s, _) in survey.placements.items() if s in ids]
    copies = [c for c in survey.copies if c["store_id"] in ids]
    moves = [m for m in survey.moves if m["source"] in ids or m["target"] in ids]
    parts = []
    if placed:
        parts.append("tenants " + ", ".join(sorted(placed)) + " live there")
    if copies:
        parts.append(f"{len(copies)} kept copies")
    if moves:
        parts.append(f"{len(moves)} moves")
    return "; ".join(parts)


def _merge_key(store, placed: int) -> tuple:
    """Duplicates merge into the row first by this key: a pooled one (deleting a tenant
    from it removes rows, never the database), the default, the busiest, the oldest."""
    return (store.kind != StoreKind.POOLED, not store.is_default, -placed, store.id)


def _keeper(survey: _Survey, stores: list[_StoreRow]) -> _StoreRow:
    def placed(store):
        return sum(1 for s, _ in survey.placements.values() if s == store.id)

    return min(stores, key=lambda s: _merge_key(s, placed(s)))


def _store_identities(catalog: Catalog, survey: _Survey) -> list[Problem]:
    problems = []
    placed = [s for s in survey.stores if s.kind in PLACEMENT_KINDS]
    shared = _reserved(catalog, survey).keys() | {
        s.identity for s in placed if sum(t.identity == s.identity for t in placed) > 1
    }
    busy = survey.busy()
    for store in placed:
        live = store.seen.identity
        if live is None or live == store.recorded or live in shared or store.id in busy:
            continue  # unreachable, right, one of duplicates (merged), or being made
        if store.recorded is None:
            description = f"store {store.name} has no recorded identity"
        else:
            description = (
                f"store {store.name} records database {store.recorded}, but its URL reaches {live}"
            )
        problems.append(
            Problem(
                ProblemKind.STORE_IDENTITY,
                description + f" (database {store.database})",
                f"record {live}, read from the database itself",
                store_name=store.name,
                target={"store_id": store.id},
            )
        )
    return problems


def _kept_copies(catalog: Catalog, survey: _Survey) -> list[Problem]:
    problems = []
    for copy in survey.copies:
        slug = survey.slugs.get(copy["tenant_id"], f"#{copy['tenant_id']}")
        where = _name(survey, copy["store_id"])
        problems.append(
            Problem(
                ProblemKind.KEPT_COPY,
                f"tenant {slug!r} has a copy kept in store {where} since "
                f"{copy['kept_at']:%Y-%m-%d %H:%M} ({copy['reason']})",
                f"remove it from {where}, once proven not to be where the tenant lives now",
                tenant_slug=slug,
                store_name=where,
                target={"copy_id": copy["id"], "tenant_id": copy["tenant_id"]},
            )
        )
    return problems


@dataclass
class _Named:
    """What the catalog names: stores' identities and database names, and the names of
    the databases expected without a store (catalog, template, creations under way)."""

    identities: set[DatabaseIdentity]
    names: set[str]
    unknown: list[str]  # stores whose identity could not be read or found


def _named(catalog: Catalog, survey: _Survey) -> _Named:
    settings = catalog.settings
    named = _Named(set(), set(), [])
    if survey.catalog.identity is not None:
        named.identities.add(survey.catalog.identity)
    named.names |= {urls.database_of(settings.catalog_url), bootstrap.template_database(settings)}
    for store in survey.stores:
        named.identities |= {i for i in (store.seen.identity, store.recorded) if i}
        if store.kind in PLACEMENT_KINDS:
            named.names.add(store.database)
            if store.identity is None:
                named.unknown.append(store.name)
    for _, slug in survey.creating:  # its database exists before its store row does
        named.names.add(provisioning.dedicated_database_name(catalog, slug))
    return named


def _stray_databases(catalog: Catalog, survey: _Survey) -> list[Problem]:
    settings = catalog.settings
    named = _named(catalog, survey)
    problems = []
    for server in survey.servers.values():
        for database in server.databases:
            identity = DatabaseIdentity(server.system_identifier, database.oid)
            if identity in named.identities or database.name in named.names:
                continue
            where = f"database {database.name} on {server.label}"
            target = {"identity": identity, "name": database.name, "via_url": server.via_url}
            if database.owner != settings.owner_role:
                contents = f"owned by {database.owner}"
                automatic, repair = (
                    False,
                    (
                        f"by hand: it is not owned by this deployment's owner role "
                        f"{settings.owner_role}; drop it, or register it with `salesapp store add`"
                    ),
                )
            else:
                contents = _stray_contents(catalog, server.via_url, database.name)
                automatic = contents in STRAY_DROPPABLE
                repair = (
                    "drop it (no store, catalog or creation under way is that database)"
                    if automatic
                    else "by hand: it is not a salesapp store; look inside, then drop it or "
                    "give it another name"
                )
            problems.append(
                Problem(
                    ProblemKind.STRAY_DATABASE,
                    f"{where} is named by no store ({contents})",
                    repair,
                    automatic=automatic,
                    target=target,
                )
            )
    return problems


#: what a stray database may hold for the doctor to drop it: nothing, or a store's schema
STRAY_DROPPABLE = ("empty", "a store's schema")


@functools.cache
def _tenant_revisions() -> frozenset[str]:
    """Every revision of the tenant schema (alembic/tenant)."""
    script = ScriptDirectory.from_config(migrations.alembic_config("tenant"))
    return frozenset(revision.revision for revision in script.walk_revisions())


def _stray_contents(catalog: Catalog, via_url: str, name: str) -> str:
    """What a database no store names holds: "empty", "a store's schema" (the tenant
    schema of a salesapp revision: a deleted tenant's kept database, a crashed
    creation's, an interrupted restore's scratch), or what else is in it."""
    try:
        engine = _engine(catalog.settings, urls.with_database(via_url, name))
        try:
            with engine.connect() as conn:
                relations = conn.scalar(
                    text(
                        "select count(*) from pg_class c join pg_namespace n "
                        "on n.oid = c.relnamespace where c.relkind in ('r','p','v','m','S','f') "
                        "and n.nspname not in ('pg_catalog', 'information_schema') "
                        "and n.nspname not like 'pg\\_%'"
                    )
                )
                revision = migrations.current_revision(conn) if relations else None
        finally:
            engine.dispose()
    except Exception as exc:
        return f"cannot be read: {first_line(exc)}"
    if not relations:
        return "empty"
    if revision and revision in _tenant_revisions():
        return "a store's schema"
    held = f"{relations} relation{'s' if relations != 1 else ''}"
    if revision:
        return f"{held}, schema revision {revision}: not a store"
    return f"{held}, not a salesapp schema"


def _app_role_privileges(catalog: Catalog, survey: _Survey) -> list[Problem]:
    app = catalog.settings.app_role
    problems = []
    for server in survey.servers.values():
        direct: dict[str, list[str]] = {}
        for granted, path in server.memberships:
            direct.setdefault(path[0], [])
            if granted != path[0]:
                direct[path[0]].append(granted)
        for role, through in sorted(direct.items()):
            problems.append(
                Problem(
                    ProblemKind.APP_ROLE_PRIVILEGES,
                    f"app role {app} is a member of role {role}"
                    + (f" (and through it of {', '.join(sorted(through))})" if through else "")
                    + f" on {server.label}: more than DML",
                    f"REVOKE {role} FROM {app} (as a superuser: the server-admin URL, "
                    "SALESAPP_SERVER_ADMIN_URL, if set)",
                    target={
                        "variant": "membership",
                        "role": role,
                        "system_identifier": server.system_identifier,
                        "via_url": server.via_url,
                    },
                )
            )
    seen: set[DatabaseIdentity] = set()
    places = [("the catalog", survey.catalog, catalog.settings.catalog_url)] + [
        (f"store {s.name}", s.seen, s.url) for s in survey.stores
    ]
    for label, looked, url in places:
        if not looked.extra_privileges or looked.identity in seen:
            continue
        seen.add(looked.identity)
        granted = ", ".join(f"{p} on {t}" for t, p in looked.extra_privileges)
        problems.append(
            Problem(
                ProblemKind.APP_ROLE_PRIVILEGES,
                f"app role {app} holds {granted} in {label}: more than DML",
                "REVOKE them (it keeps SELECT, INSERT, UPDATE, DELETE as migrations grant)",
                store_name=label.removeprefix("store ") if label.startswith("store ") else None,
                target={
                    "variant": "table-privileges",
                    "identity": looked.identity,
                    "url": url,
                },
            )
        )
    return problems


def _revision_mismatches(catalog: Catalog, survey: _Survey) -> list[Problem]:
    problems = []
    busy = survey.busy()
    for store in survey.stores:
        seen = store.seen
        if store.kind not in PLACEMENT_KINDS or not seen.revision_read or store.id in busy:
            continue
        if seen.revision != store.schema_revision:
            problems.append(
                Problem(
                    ProblemKind.REVISION_MISMATCH,
                    f"store {store.name} is at schema revision {seen.revision or '(none)'}, "
                    f"the catalog records {store.schema_revision or '(none)'}",
                    f"record {seen.revision or '(none)'} in the catalog"
                    + (
                        ""
                        if seen.revision == migrations.head_revision("tenant")
                        else "; then run `salesapp migrate` to bring it to head"
                    ),
                    store_name=store.name,
                    target={"store_id": store.id},
                )
            )
    return problems


# -- repairing ----------------------------------------------------------------------------
def repair(catalog: Catalog, problems: list[Problem]) -> list[str]:
    """Repair each problem that can be repaired without a person's decision, in
    :class:`ProblemKind` order; return one line per thing done (or left alone, and why).

    Each repair checks again, just before it acts, that its problem is still there and
    that what it would empty or drop is not where a tenant lives now; it is logged in
    the operations log (``doctor.repair``)."""
    lines: list[str] = []
    for kind in ProblemKind:
        mine = [p for p in problems if p.kind == kind]
        if not mine:
            continue
        if kind == ProblemKind.STRAY_DATABASE:
            lines += _repair_strays(catalog, mine)
            continue
        for problem in mine:
            lines += _repair_one(catalog, problem, _REPAIRS[kind])
    return lines


def _repair_one(catalog: Catalog, problem: Problem, how: Callable) -> list[str]:
    kind = problem.kind
    if not problem.automatic:
        return [f"{kind}: left for a person: {problem.description}; {problem.repair}"]
    try:
        with catalog.operation(
            "doctor.repair",
            tenant_slug=problem.tenant_slug,
            store_name=problem.store_name,
            kind=str(kind),
            problem=problem.description,
        ) as record:
            done = how(catalog, problem)
            record.detail["did"] = done
        return [f"{kind}: {line}" for line in done]
    except OperationError as exc:  # LeftAlone, or a refusal of the operation it calls
        return [f"{kind}: left alone: {exc}"]
    except Exception as exc:
        return [f"{kind}: could not repair ({problem.description}): {first_line(exc)}"]


def _repair_creation(catalog: Catalog, problem: Problem) -> list[str]:
    tenant_id = problem.target["tenant_id"]
    with catalog.session() as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None or tenant.status != TenantStatus.PROVISIONING:
            return [f"tenant {problem.tenant_slug!r} is no longer being created: nothing to do"]
    if provisioning.creator_alive(catalog, tenant_id):
        raise LeftAlone(f"the creator of {problem.tenant_slug!r} is at work again")
    return list(provisioning.abandon(catalog, tenant_id)) or [
        f"undid the creation of {problem.tenant_slug!r}"
    ]


def _repair_move(catalog: Catalog, problem: Problem) -> list[str]:
    tenant_id = problem.target["tenant_id"]
    with catalog.session() as session:
        move = session.get(TenantMove, tenant_id)
        tenant = session.get(Tenant, tenant_id)
        if move is None or tenant is None:
            return [f"the move of {problem.tenant_slug!r} is over: nothing to do"]
        slug = tenant.slug
    if mobility.mover_alive(catalog, tenant_id):
        raise LeftAlone(f"the mover of {slug!r} is at work again")
    said: list[str] = []

    def progress(event, **info):
        if info.get("detail"):
            said.append(str(info["detail"]))

    result = mobility.resume_move(catalog, slug, progress=progress)
    if result is None:
        return [*said, f"no move of {slug!r} was pending any more: nothing to do"]
    if getattr(result, "undone", False):
        done = f"undid the move of {slug!r} to {result.target}: it is in {result.source} as before"
    else:
        done = f"finished the move of {slug!r} to {result.target}"
    return [*said, done + (f"; {result.source_fate}" if result.source_fate else "")]


def _connect(catalog: Catalog, url: str) -> psycopg.Connection:
    return psycopg.connect(urls.libpq_url(url), autocommit=True, **connect_args(catalog.settings))


def _home(catalog: Catalog, tenant_id: int) -> tuple[str, str] | None:
    """(store name, owner URL) of the store a tenant lives in now, or None."""
    with catalog.session() as session:
        placement = session.get(Placement, tenant_id)
        store = session.get(Store, placement.store_id) if placement else None
        return (store.name, catalog.store_url(store)) if store else None


def _repair_fence(catalog: Catalog, problem: Problem) -> list[str]:
    tenant_id, slug = problem.target["tenant_id"], problem.tenant_slug
    if problem.target["variant"] == "moving-placement":
        with catalog.session() as session:
            placement = session.get(Placement, tenant_id, with_for_update=True)
            if session.get(TenantMove, tenant_id) is not None:
                raise LeftAlone(f"a move of {slug!r} is running now")
            if placement is None or placement.state != PlacementState.MOVING:
                return [f"the placement of {slug!r} is no longer 'moving': nothing to do"]
            placement.state, placement.updated_at = PlacementState.ACTIVE, func.now()
        return [f"set the placement of {slug!r} active again: its writes are accepted"]
    with catalog.session() as session:
        if session.get(TenantMove, tenant_id) is not None:
            raise LeftAlone(f"a move of {slug!r} is running now")
    home = _home(catalog, tenant_id)
    if home is None:
        return [f"tenant {slug!r} has no placement any more: nothing to do"]
    name, url = home
    with _connect(catalog, url) as conn:
        # the fence is lifted only in the database the tenant lives in now, proven here
        if identity_of(conn) != problem.target["identity"]:
            raise LeftAlone(f"tenant {slug!r} no longer lives in that database")
        fence.open_store(conn, tenant_id)
    return [f"lifted the fence of {slug!r} in store {name}, where it lives: writes resume"]


def _live_identity(catalog: Catalog, url: str) -> DatabaseIdentity:
    with _connect(catalog, url) as conn:
        return identity_of(conn)


def _repair_duplicates(catalog: Catalog, problem: Problem) -> list[str]:
    ids, identity = problem.target["store_ids"], problem.target["identity"]
    with catalog.session() as session:
        stores = [s for s in (session.get(Store, i) for i in ids) if s is not None]
        targets = [(s.id, s.name, catalog.store_url(s)) for s in stores]
    for _, name, url in targets:  # one database, proven again now
        try:
            live = _live_identity(catalog, url)
        except psycopg.Error as exc:
            raise LeftAlone(f"store {name} cannot be reached: {first_line(exc)}") from None
        if live != identity:
            raise LeftAlone(f"store {name} no longer reaches database {identity}")
    names = [name for _, name, _ in targets]
    with catalog.session() as session:
        busy = session.scalar(
            select(func.count())
            .select_from(TenantMove)
            .where(TenantMove.source_store_id.in_(ids) | TenantMove.target_store_id.in_(ids))
        )
        if busy:
            raise LeftAlone(f"a move involves store {', '.join(names)}; settle it first")
        if problem.target.get("reserved"):  # the catalog's or the template's database
            used = session.scalar(
                select(func.count()).select_from(Placement).where(Placement.store_id.in_(ids))
            ) + session.scalar(
                select(func.count()).select_from(TenantCopy).where(TenantCopy.store_id.in_(ids))
            )
            if used:
                raise LeftAlone(f"store {', '.join(names)} holds tenants now")
            session.execute(delete(Store).where(Store.id.in_(ids)))
            return [f"removed store row {', '.join(names)} from the catalog; no database touched"]
        rows = [session.get(Store, i) for i in ids]
        rows = [r for r in rows if r is not None]
        if len(rows) < 2:
            return ["only one of those store rows is left: nothing to merge"]
        placed = dict(
            session.execute(
                select(Placement.store_id, func.count())
                .where(Placement.store_id.in_(ids))
                .group_by(Placement.store_id)
            ).all()
        )
        keep = min(rows, key=lambda s: _merge_key(s, placed.get(s.id, 0)))
        others = [r for r in rows if r.id != keep.id]
        other_ids = [r.id for r in others]
        done = []
        moved = session.execute(
            update(Placement)
            .where(Placement.store_id.in_(other_ids))
            .values(store_id=keep.id, updated_at=func.now())
        ).rowcount
        if moved:
            done.append(f"{moved} placements now point at {keep.name} (the same database)")
        for copy in session.scalars(select(TenantCopy).where(TenantCopy.store_id.in_(ids))):
            placement = session.get(Placement, copy.tenant_id)
            if placement is not None and placement.store_id == keep.id:
                # the "copy" is the database the tenant lives in: its live rows
                session.delete(copy)
                done.append(
                    f"forgot a kept-copy record of tenant #{copy.tenant_id}: that database is "
                    "where it lives (nothing emptied)"
                )
            elif copy.store_id != keep.id:
                twin = session.scalar(
                    select(TenantCopy.id).where(
                        TenantCopy.tenant_id == copy.tenant_id, TenantCopy.store_id == keep.id
                    )
                )
                if twin is not None:
                    session.delete(copy)
                else:
                    copy.store_id = keep.id
        session.flush()
        if any(r.is_default for r in others):
            keep.is_default = True
        session.execute(delete(Store).where(Store.id.in_(other_ids)))
        session.flush()
        if identity_of_store(keep) is None:
            record_identity(keep, identity)
        done.append(
            f"merged store {', '.join(r.name for r in others)} into {keep.name} "
            f"(database {identity}); no database touched"
        )
    return done


def _repair_identity(catalog: Catalog, problem: Problem) -> list[str]:
    with catalog.session() as session:
        store = session.get(Store, problem.target["store_id"])
        if store is None:
            return [f"store {problem.store_name} is gone: nothing to do"]
        name, url = store.name, catalog.store_url(store)
    live = _live_identity(catalog, url)
    with catalog.session() as session:
        store = session.get(Store, problem.target["store_id"])
        claimed = session.scalar(
            select(Store.name).where(
                Store.system_identifier == live.system_identifier,
                Store.database_oid == live.database_oid,
                Store.id != store.id,
            )
        )
        if claimed is not None:
            raise LeftAlone(f"store {claimed} records {live} too: two rows, one database")
        before = identity_of_store(store)
        record_identity(store, live)
    return [f"recorded store {name}'s identity {live}" + (f" (was {before})" if before else "")]


def _repair_copy(catalog: Catalog, problem: Problem) -> list[str]:
    """remove_copy proves, by identity, that the copy is not the database the tenant
    lives in now (two store rows naming one database would make it the live data:
    then only the record goes) before it empties or drops anything."""
    with catalog.session() as session:
        if session.get(TenantCopy, problem.target["copy_id"]) is None:
            return [f"the copy of {problem.tenant_slug!r} in {problem.store_name} is gone already"]
    return [lifecycle.remove_copy(catalog, problem.target["copy_id"])]


def _repair_strays(catalog: Catalog, problems: list[Problem]) -> list[str]:
    """Drop databases no store names. In this order, so that a database being made
    right now is never taken for a stray: (1) each database is seen to exist, (2) then
    the catalog is read and every store's identity read live (a creation or a move
    names its database in the catalog before it makes it), (3) then what is still
    named by nothing, owned by the deployment's owner and used by no one is dropped."""
    lines = []
    present = []
    for problem in problems:
        if not problem.automatic:
            lines.append(
                f"{problem.kind}: left for a person: {problem.description}; {problem.repair}"
            )
            continue
        try:
            with _connect(catalog, problem.target["via_url"]) as conn:
                if not _stray_exists(conn, problem):
                    lines.append(f"{problem.kind}: {problem.target['name']} is gone already")
                    continue
        except psycopg.Error as exc:
            lines.append(f"{problem.kind}: could not reach its server: {first_line(exc)}")
            continue
        present.append(problem)
    if not present:
        return lines
    named = _named(catalog, _survey(catalog))
    for problem in present:
        lines += _repair_one(catalog, problem, lambda c, p: _drop_stray(c, p, named))
    return lines


def _stray_exists(conn: psycopg.Connection, problem: Problem) -> bool:
    """Whether the stray database is still there, with the identity it was found with."""
    identity: DatabaseIdentity = problem.target["identity"]
    if identity_of(conn).system_identifier != identity.system_identifier:
        return False
    row = conn.execute(
        "select 1 from pg_database where datname = %s and oid = %s",
        (problem.target["name"], identity.database_oid),
        prepare=False,
    ).fetchone()
    return row is not None


def _drop_stray(catalog: Catalog, problem: Problem, named: _Named) -> list[str]:
    settings = catalog.settings
    identity: DatabaseIdentity = problem.target["identity"]
    name = problem.target["name"]
    if named.unknown:
        raise LeftAlone(
            f"{name}: the identity of store {', '.join(named.unknown)} is unknown (cannot be "
            "reached), so it cannot be proven that no store is that database"
        )
    if identity in named.identities or name in named.names:
        return [f"{name} is named by the catalog now (a store or a creation): kept"]
    with _connect(catalog, problem.target["via_url"]) as conn:
        state = conn.execute(
            "select pg_get_userbyid(d.datdba), "
            "(select count(*) from pg_stat_activity a where a.datid = d.oid "
            "and a.usename is distinct from %s) "
            "from pg_database d where d.datname = %s and d.oid = %s",
            (settings.app_role, name, identity.database_oid),
            prepare=False,
        ).fetchone()
        if state is None or identity_of(conn).system_identifier != identity.system_identifier:
            return [f"{name} is gone already"]
        owner, users = state
        if owner != settings.owner_role:
            raise LeftAlone(f"{name} is owned by {owner}, not by {settings.owner_role}")
        if users:
            raise LeftAlone(f"{name} is in use ({users} connections); run doctor again later")
        contents = _stray_contents(catalog, problem.target["via_url"], name)
        if contents not in STRAY_DROPPABLE:
            raise LeftAlone(f"{name} holds {contents}")
        bootstrap.drop_database(conn, name)
    return [
        f"dropped database {name} on {server_label(problem.target['via_url'])}: no store names it"
    ]


def _revoke_url(catalog: Catalog, problem: Problem) -> list[str]:
    """URLs to revoke with: the server-admin URL if it is that server, then the owner."""
    candidates = []
    admin = catalog.settings.server_admin_url
    if admin:
        try:
            if (
                _live_identity(catalog, admin).system_identifier
                == (problem.target["system_identifier"])
            ):
                candidates.append(admin)
        except psycopg.Error:
            pass
    return [*candidates, problem.target["via_url"]]


def _repair_privileges(catalog: Catalog, problem: Problem) -> list[str]:
    app = catalog.settings.app_role
    if problem.target["variant"] == "table-privileges":
        engine = _engine(catalog.settings, problem.target["url"])
        try:
            with engine.begin() as conn:
                system_identifier, oid = conn.exec_driver_sql(IDENTITY_SQL).one()
                if DatabaseIdentity(str(system_identifier), int(oid)) != problem.target["identity"]:
                    raise LeftAlone("that URL reaches another database now")
                extra = rls.extra_table_privileges(conn, app)
                quote = conn.dialect.identifier_preparer.quote
                for table, privilege in extra:
                    if not privilege.isalpha():  # a keyword from aclexplode, never input
                        raise LeftAlone(f"unexpected privilege {privilege!r} on {table}")
                    conn.exec_driver_sql(f"REVOKE {privilege} ON {quote(table)} FROM {quote(app)}")
        finally:
            engine.dispose()
        if not extra:
            return ["no privilege beyond DML is left: nothing to do"]
        where = f"store {problem.store_name}" if problem.store_name else "the catalog"
        return [f"revoked {', '.join(f'{p} on {t}' for t, p in extra)} from {app} in {where}"]
    role = problem.target["role"]
    errors = []
    for url in _revoke_url(catalog, problem):
        try:
            with _connect(catalog, url) as conn:
                grantors = conn.execute(
                    "select pg_get_userbyid(m.grantor) from pg_auth_members m "
                    "where m.roleid = to_regrole(%s) and m.member = to_regrole(%s)",
                    (role, app),
                    prepare=False,
                ).fetchall()
                if not grantors:
                    return [f"{app} is no longer a member of {role}: nothing to do"]
                modern = conn.info.server_version >= 160000  # grants are per grantor there
                for (grantor,) in grantors if modern else [(None,)]:
                    statement = sql.SQL("REVOKE {} FROM {}").format(
                        sql.Identifier(role), sql.Identifier(app)
                    )
                    if grantor:
                        statement = sql.SQL("{} GRANTED BY {}").format(
                            statement, sql.Identifier(grantor)
                        )
                    conn.execute(statement)
            return [f"revoked {role} from {app}: its membership is gone"]
        except psycopg.Error as exc:
            errors.append(first_line(exc))
    raise LeftAlone(
        f"REVOKE {role} FROM {app} was refused ({'; '.join(errors)}): a superuser must run it "
        "in psql, or set SALESAPP_SERVER_ADMIN_URL to a superuser's URL and run `salesapp "
        "doctor --yes` again"
    )


def _repair_revision(catalog: Catalog, problem: Problem) -> list[str]:
    with catalog.session() as session:
        store = session.get(Store, problem.target["store_id"])
        if store is None:
            return [f"store {problem.store_name} is gone: nothing to do"]
        url = catalog.store_url(store)
    live = migrations.revision_at(url, catalog.settings)
    head = migrations.head_revision("tenant")
    with catalog.session() as session:
        store = session.get(Store, problem.target["store_id"])
        before, store.schema_revision = store.schema_revision, live
        if live == head:
            store.migration_status, store.migration_error = "ok", None
    line = f"recorded store {problem.store_name}'s revision {live} (the catalog had {before})"
    if live != head:
        line += f"; it is behind head {head}: run `salesapp migrate`"
    return [line]


_REPAIRS: dict[ProblemKind, Callable[[Catalog, Problem], list[str]]] = {
    ProblemKind.STUCK_PROVISIONING: _repair_creation,
    ProblemKind.HALF_DONE_MOVE: _repair_move,
    ProblemKind.FENCE_WITHOUT_MOVER: _repair_fence,
    ProblemKind.DUPLICATE_STORE: _repair_duplicates,
    ProblemKind.STORE_IDENTITY: _repair_identity,
    ProblemKind.KEPT_COPY: _repair_copy,
    ProblemKind.APP_ROLE_PRIVILEGES: _repair_privileges,
    ProblemKind.REVISION_MISMATCH: _repair_revision,
}
