"""Create tenants, pooled or dedicated, atomically and under a lease.

A creation writes down in the catalog what it is about to make before it makes it, so
that whatever stops it (an error, ^C, kill -9, a lost machine) the catalog says what
there is to remove:

1. claim: the tenant is written as ``provisioning`` (invisible to the resolver) with its
   placement and, for a dedicated tenant, the store row naming the database to be made.
   Before that row is visible and until the creation ends, the creator holds the
   tenant's *creation lease*: a transaction-level advisory lock keyed by the tenant id,
   in a transaction it keeps open on a catalog connection of its own. Anyone sees it in
   ``pg_locks`` (:func:`creator_alive`); it goes when the creator's connection goes, so
   a killed creator holds nothing. (A transaction rather than a session lock, so that a
   transaction-mode pooler in front of the catalog keeps it on one server connection and
   ends it with the client.)
2. prepare: a dedicated database is made (the tenant's ``status_reason`` says "making"
   before CREATE DATABASE, and "made", with the database's identity on the store row,
   after it) or an existing empty one given by URL is migrated; a pooled store needs
   nothing.
3. seed: roles, the admin and the default location, under the tenant's binding.
4. activate: tenant and placement turn active in the lease's own transaction, whose
   commit also ends the lease.

A failure runs :func:`undo_creation` while the lease is still held. A creation whose
creator is gone is *abandoned*: ``tenant show`` and ``tenant list`` say so, and
``tenant create`` of the same subdomain, ``tenant delete`` and ``salesapp doctor`` undo
it (:func:`abandon`). An undo drops a database only once it has proven, by the
database's identity (salesapp.operations.identity), that it is the one the creation made
and that no store, nor the catalog or the template, is that database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import logging
import os
import re
import secrets
import signal
from dataclasses import dataclass, field

import psycopg
from pyramid.path import DottedNameResolver
from sqlalchemy import MetaData, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.directory import PLACEMENT_KINDS, PlacementState, StoreKind, TenantStatus
from ..tenancy.errors import first_line
from ..tenancy.hosts import RESERVED_SLUGS, SLUG_RE, normalize_host
from . import bootstrap, door, migrations, placement, storeadmin
from .catalog import Catalog
from .errors import NotFound, OperationError
from .identity import DatabaseIdentity, identity_of_store, read_identity, record_identity
from .models import Domain, Placement, Store, Tenant, TenantCopy
from .tablecopy import delete_rows, table_specs

log = logging.getLogger(__name__)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
DEFAULT_SEED = "salesapp.operations.workspace:seed"

#: set to ``create:STEP`` to have ``tenant create`` kill itself with SIGKILL right after
#: STEP (one of STEPS), as kill -9 would (the crash tests; mobility uses ``move:STEP``)
CRASH_ENV = "SALESAPP_CRASH_AT"
#: where a creation can be stopped: after the claim, right after CREATE DATABASE (its
#: identity not yet recorded), with the database ready, after the seed, before the
#: activation commits
STEPS = ("catalog", "made", "database", "seed", "activate")
#: first key of the creation lease's two-key advisory lock (the second: the tenant id)
LEASE_CLASS = 0x5A1E6

LEASES_SQL = text(
    "select objid::bigint from pg_locks "
    "where locktype = 'advisory' and granted and objsubid = 2 and classid::bigint = :lease "
    "and database = (select oid from pg_database where datname = current_database())"
)


class ProvisioningError(OperationError):
    """The request to create a tenant was refused; the message says why and what to do."""


class CreationRunning(OperationError):
    """A creation cannot be undone: its creator (or another undo) holds its lease."""


class CreationStep(enum.StrEnum):
    """How far a creation has come, kept in the provisioning tenant's ``status_reason``
    so that its undo knows what it may remove (a database only if it made it)."""

    CLAIMED = "creating: nothing made yet"
    MAKING_DATABASE = "creating: making its database"
    MADE_DATABASE = "creating: in the database it made"
    GIVEN_DATABASE = "creating: in an existing empty database it was given"


@dataclass
class TenantRequest:
    name: str
    slug: str
    admin_email: str
    placement: StoreKind = StoreKind.POOLED  # POOLED | DEDICATED (PLACEMENT_KINDS)
    store_name: str | None = None  # a pooled store, or a dedicated-server store
    database_url: str | None = None  # dedicated only: exactly this database
    admin_username: str = "admin"
    admin_password: str | None = None
    max_users: int = 50
    multi_location: bool = False
    trial_days: int | None = None
    domains: list[str] = field(default_factory=list)
    demo_data: bool = False


@dataclass(frozen=True)
class ProvisionedTenant:
    id: int
    slug: str
    name: str
    store_name: str
    store_kind: StoreKind
    admin_username: str
    admin_password: str
    generated_password: bool
    database: str | None = None
    #: (username, one-time password) of the other users the seed made (demo staff):
    #: shown once by the caller, stored only hashed, changed at the first sign-in
    one_time_passwords: tuple[tuple[str, str], ...] = ()
    #: what undoing an interrupted creation of the same subdomain did first
    undone: tuple[str, ...] = ()


@dataclass(frozen=True)
class DedicatedTarget:
    """Where a dedicated tenant's database is to be: checked, nothing made yet."""

    server_url: str  # the server, as the role that will own the database
    name: str
    owner_url: str  # the database itself
    exists: bool  # only for a database given by URL, which must then be empty
    given: bool  # named by --database-url
    template: str | None  # the template to clone, where the server has one
    identity: DatabaseIdentity | None  # an existing database's


def generate_password() -> str:
    """A one-off password: 16 URL-safe characters, about 96 bits."""
    return secrets.token_urlsafe(12)


def normal_slug(slug: str | None) -> str:
    return (slug or "").strip().lower()


def _checkpoint(step: str, fail_at: str | None) -> None:
    if os.environ.get(CRASH_ENV) == f"create:{step}":
        os.kill(os.getpid(), signal.SIGKILL)
    if fail_at == step:
        raise RuntimeError(f"injected failure at {step}")


def _reachable(settings, url: str, what: str) -> None:
    try:
        with bootstrap.admin_connection(
            url, urls.database_of(url) or "postgres", settings=settings
        ):
            pass
    except Exception as exc:
        raise ProvisioningError(
            f"cannot reach {what} at {urls.parse(url).render_as_string()}: {first_line(exc)}; "
            "check the URL, the password and that the server runs"
        ) from None


# -- the creation lease ---------------------------------------------------------------------
def lease_key(tenant_id: int) -> int:
    """The second key of a creation lease: the tenant id, in a lock key's int4 range."""
    return tenant_id % 2147483647


def _lease_key(tenant_id: int) -> dict:
    return {"lease": LEASE_CLASS, "key": lease_key(tenant_id)}


def live_creators(catalog: Catalog) -> set[int]:
    """The keys (:func:`lease_key`) of the creation leases held now: one query for many
    tenants (``lease_key(tenant.id) in live_creators(catalog)``)."""
    with catalog.engine.connect() as conn:
        return set(conn.scalars(LEASES_SQL, {"lease": LEASE_CLASS}))


def creator_alive(catalog: Catalog, tenant_id: int) -> bool:
    """True while the process creating ``tenant_id`` holds its creation lease (or while
    another command holds it to undo that creation)."""
    return lease_key(tenant_id) in live_creators(catalog)


class _Lease:
    """The hold on one tenant's creation: an advisory lock in a transaction kept open on
    a catalog connection of its own (see the module's docstring)."""

    def __init__(self, catalog: Catalog, tenant_id: int, conn):
        self.catalog, self.tenant_id, self.conn = catalog, tenant_id, conn
        self.store_id: int | None = None
        self.store_name: str | None = None
        self.owner_url: str | None = None

    @classmethod
    def take(cls, catalog: Catalog, tenant_id: int, *, wait: bool) -> _Lease | None:
        """The lease, waiting for it (a new tenant id: nobody has it) or not (None if
        somebody holds it)."""
        conn = catalog.engine.connect()
        try:
            conn.begin()
            function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
            got = conn.scalar(text(f"select {function}(:lease, :key)"), _lease_key(tenant_id))
        except BaseException:
            conn.close()
            raise
        if got is False:
            conn.close()
            return None
        return cls(catalog, tenant_id, conn)

    def mark(self, step: CreationStep) -> None:
        """Write down (and commit, for anyone to see) how far the creation has come."""
        with self.catalog.session() as session:
            session.get(Tenant, self.tenant_id).status_reason = step

    def made(self, identity: DatabaseIdentity) -> None:
        """The database is made: its identity on the store row, the step "made"."""
        with self.catalog.session() as session:
            record_identity(session.get(Store, self.store_id), identity)
            session.get(Tenant, self.tenant_id).status_reason = CreationStep.MADE_DATABASE

    def activate(self, revision: str | None, fail_at: str | None) -> None:
        """Tenant and placement active, in the lease's transaction: its commit makes the
        tenant visible and ends the lease at once. In a savepoint, so that a failure
        here leaves the lease held but no row locked for the undo that follows."""
        savepoint = self.conn.begin_nested()
        try:
            status = self.conn.scalar(
                select(Tenant.status).where(Tenant.id == self.tenant_id).with_for_update()
            )
            if status != TenantStatus.PROVISIONING:
                raise ProvisioningError(
                    f"the creation of tenant {self.tenant_id} was undone by another command "
                    "while it ran (its lease was lost); run `salesapp tenant create` again"
                )
            if revision is not None:
                self.conn.execute(
                    update(Store)
                    .where(Store.id == self.store_id)
                    .values(schema_revision=revision, migration_status="ok", migrated_at=func.now())
                )
            self.conn.execute(
                update(Tenant)
                .where(Tenant.id == self.tenant_id)
                .values(status=TenantStatus.ACTIVE, status_reason=None, updated_at=func.now())
            )
            _checkpoint("activate", fail_at)
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        self.conn.commit()

    def release(self) -> None:
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        finally:
            self.conn.close()


# -- validation ------------------------------------------------------------------------------
def _abandoned_hint(slug: str) -> str:
    return (
        f"its creation was interrupted and its creator is gone: `salesapp tenant delete {slug}` "
        "or `salesapp doctor --yes` undoes it"
    )


def validate(catalog: Catalog, request: TenantRequest, *, abandoned_ok=False) -> TenantRequest:
    """Check everything before anything is touched; raise ProvisioningError with the fix.

    A subdomain held by an abandoned creation is refused unless ``abandoned_ok`` (the
    caller undoes that creation first); one being created right now always is."""
    slug = normal_slug(request.slug)
    if not SLUG_RE.match(slug):
        raise ProvisioningError(
            f"subdomain {request.slug!r} is not a DNS label: use 1-63 lower-case letters, "
            "digits and hyphens, not starting or ending with a hyphen"
        )
    if slug in RESERVED_SLUGS:
        raise ProvisioningError(f"subdomain {slug!r} is reserved; choose another")
    name = (request.name or "").strip()
    if not name or len(name) > 200:
        raise ProvisioningError("the tenant name must be 1-200 characters: the business's name")
    email = (request.admin_email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ProvisioningError(f"admin e-mail {request.admin_email!r} is not a valid address")
    if request.placement not in PLACEMENT_KINDS:
        raise ProvisioningError(f"placement must be pooled or dedicated, got {request.placement!r}")
    if not 1 <= request.max_users <= 100_000:
        raise ProvisioningError(f"max users must be at least 1, got {request.max_users}")
    if request.trial_days is not None and not 0 < request.trial_days <= 3650:
        raise ProvisioningError(f"trial days must be 1-3650, got {request.trial_days}")
    username = (request.admin_username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ProvisioningError(
            f"admin username {request.admin_username!r} must be 1-63 letters, digits, . _ or -"
        )
    if request.admin_password is not None:
        from ..accounts.errors import AccountError
        from ..accounts.models import User
        from ..accounts.passwords import check_password_policy

        try:  # the policy every password a person chooses meets
            check_password_policy(
                request.admin_password,
                User(username=username, email=request.admin_email),
                related=(request.name, request.slug),
            )
        except AccountError as exc:
            raise ProvisioningError(f"the admin password is refused: {exc}") from None
    if request.placement == StoreKind.POOLED and request.database_url:
        raise ProvisioningError("a database URL makes a dedicated tenant; add --dedicated")
    if request.database_url and request.store_name:
        raise ProvisioningError("give either a database URL or a store, not both")
    domains = []
    for host in request.domains:
        try:
            normal = custom_domain(host, catalog.settings.base_domains)
        except OperationError as exc:
            raise ProvisioningError(str(exc)) from None
        if normal in domains:
            raise ProvisioningError(f"domain {normal!r} is given twice")
        domains.append(normal)
    with catalog.session() as session:
        holder = session.execute(
            select(Tenant.id, Tenant.status).where(Tenant.slug == slug)
        ).first()
        taken = session.execute(
            select(Domain.host, Tenant.slug, Tenant.status)
            .join(Tenant, Tenant.id == Domain.tenant_id)
            .where(Domain.host.in_(domains))
            # an abandoned creation of this very subdomain gives its domains back when undone
            .where(Tenant.slug != slug if abandoned_ok else True)
        ).first()
        server_url = None
        if request.store_name:
            store = catalog.store_by_name(session, request.store_name)
            wanted = (
                StoreKind.POOLED
                if request.placement == StoreKind.POOLED
                else StoreKind.DEDICATED_SERVER
            )
            if store is None or store.kind != wanted:
                raise ProvisioningError(
                    f"no {wanted} store named {request.store_name!r}; see `salesapp store list`"
                )
            if wanted == StoreKind.DEDICATED_SERVER:
                server_url = catalog.store_url(store)
            else:
                placement.require_accepting(store)
        elif request.placement == StoreKind.POOLED:
            placement.require_an_accepting_store(catalog)
    if holder is not None:
        if holder.status != TenantStatus.PROVISIONING:
            raise ProvisioningError(f"subdomain {slug!r} is taken; choose another")
        if creator_alive(catalog, holder.id):
            raise ProvisioningError(
                f"subdomain {slug!r} is being created right now by another command; wait for "
                "it to finish (see `salesapp tenant show " + slug + "`)"
            )
        if not abandoned_ok:
            raise ProvisioningError(f"subdomain {slug!r} is taken: {_abandoned_hint(slug)}")
    if taken is not None:
        host, owner, status = taken
        why = f": {_abandoned_hint(owner)}" if status == TenantStatus.PROVISIONING else ""
        raise ProvisioningError(f"domain {host!r} already belongs to a tenant ({owner}){why}")
    if request.database_url:
        try:
            urls.parse(request.database_url)
        except ValueError as exc:
            raise ProvisioningError(f"database URL: {exc}") from None
        if not urls.database_of(request.database_url):
            raise ProvisioningError("the database URL names no database: add /DATABASE_NAME")
        _reachable(
            catalog.settings,
            urls.with_database(request.database_url, "postgres"),
            "the database server",
        )
    elif server_url:
        _reachable(catalog.settings, server_url, f"store {request.store_name}")
    return dataclasses.replace(
        request,
        slug=slug,
        name=name,
        admin_email=email,
        placement=StoreKind(request.placement),
        admin_username=username,
        domains=domains,
    )


def dedicated_database_name(catalog: Catalog, slug: str) -> str:
    name = catalog.settings.database_name(f"t_{slug.replace('-', '_')}")
    if len(name) > 63:
        name = catalog.settings.database_name("t_" + hashlib.sha256(slug.encode()).hexdigest()[:16])
    return name


def dedicated_target(
    catalog: Catalog, request: TenantRequest, *, check_claims: bool = True
) -> DedicatedTarget:
    """Where the dedicated database of ``request`` (validated) will be, after the checks
    the creation makes before touching it: a database of the default name must not exist
    yet (it may be a kept one of a deleted tenant); a database given by URL may exist if
    it is empty and (``check_claims``) no store, nor the catalog, is that database."""
    settings = catalog.settings
    given = bool(request.database_url)
    if given:
        owner_url = urls.plain(request.database_url)
        server_url, name = owner_url, urls.database_of(owner_url)
    else:
        if request.store_name:
            with catalog.session() as session:
                server_url = catalog.store_url(catalog.store_named(session, request.store_name))
        else:
            server_url = bootstrap.owner_server_url(settings)
        name = dedicated_database_name(catalog, request.slug)
        owner_url = urls.with_database(server_url, name)
    template = bootstrap.template_database(settings)
    with bootstrap.admin_connection(server_url, settings=settings) as conn:
        exists = bootstrap.database_exists(conn, name)
        has_template = not given and bootstrap.database_exists(conn, template)
    identity = None
    if exists:
        if not given:
            raise ProvisioningError(
                f"database {name} already exists on {database_address(server_url)} (a database kept by "
                "`tenant delete --keep-database`, or left by hand?); drop it, or choose another "
                "subdomain"
            )
        _require_empty(owner_url, name, settings)
        identity = read_identity(settings, owner_url)
        holder = storeadmin.what_database_is(catalog, identity) if check_claims else None
        if holder:
            raise ProvisioningError(
                f"database {name} at {database_address(owner_url)} is {holder}; a dedicated "
                "tenant needs an empty database of its own"
            )
    return DedicatedTarget(
        server_url=server_url,
        name=name,
        owner_url=owner_url,
        exists=exists,
        given=given,
        template=template if has_template else None,
        identity=identity,
    )


def plan(catalog: Catalog, request: TenantRequest) -> list[str]:
    """What create_tenant would do, one line a step, after every check the creation makes
    before it changes anything (ProvisioningError if one refuses); changes nothing."""
    slug = normal_slug(request.slug)
    steps = []
    with catalog.session() as session:
        holder = session.scalar(
            select(Tenant.id).where(Tenant.slug == slug, Tenant.status == TenantStatus.PROVISIONING)
        )
    request = validate(catalog, request, abandoned_ok=True)
    if holder is not None:  # validate refused one whose creator lives
        steps.append(
            f"undo the interrupted creation of {slug!r} (its creator is gone): drop the "
            "database it made, delete the rows it seeded, remove it from the catalog"
        )
    steps.append(f"add tenant {request.slug!r} ({request.name}) to the catalog")
    if request.placement == StoreKind.POOLED:
        with catalog.session() as session:
            store = placement.claim_pooled_store(catalog, session, request.store_name)
            how = "" if request.store_name else " (the accepting one with the most room)"
            steps.append(f"add its rows to pooled store {store.name}{how}")
    elif holder is not None:  # its database is checked once that creation is undone
        steps.append("create its database, as the interrupted creation would have")
    else:
        target = dedicated_target(catalog, request)
        if target.exists:
            steps.append(
                f"use the empty database {database_address(target.owner_url)}, migrate it to head"
            )
        elif target.template:
            steps.append(
                f"create database {target.name} on {database_address(target.server_url)}, cloned from "
                "the template"
            )
        else:
            steps.append(
                f"create database {target.name} on {database_address(target.server_url)}, migrate it "
                "to head"
            )
    password = "given" if request.admin_password else "generated and printed once"
    steps.append(
        f"create admin {request.admin_username!r} <{request.admin_email}>, "
        f"password {password}; roles Admin, Managers, Cashiers; location Main"
    )
    if request.demo_data:
        steps.append("add demo data and demo staff (their one-time passwords printed once)")
    for host in request.domains:
        steps.append(f"serve it at {host}")
    steps.append(
        f"max users {request.max_users}"
        + (f", trial of {request.trial_days} days" if request.trial_days else "")
    )
    return steps


# -- creating --------------------------------------------------------------------------------
def create_tenant(catalog: Catalog, request: TenantRequest, *, seed=None, fail_at=None):
    """Create a tenant as ``request`` says; return :class:`ProvisionedTenant`.

    Logged in the operations log before it starts and when it ends (refusals included).
    A creation of the same subdomain whose creator is gone is undone first. ``seed``
    (a callable or dotted name) fills the new tenant's store; it may return the
    (username, one-time password) pairs of users it made besides the admin.
    ``fail_at`` names a step (STEPS) at which to raise, for tests of atomicity.
    """
    slug = normal_slug(request.slug)
    try:
        with catalog.operation(
            "tenant.create", tenant_slug=slug, placement=str(request.placement)
        ) as record:
            made = _create(catalog, request, record, seed, fail_at)
            record.store_name = made.store_name
            record.detail.update(placement=made.store_kind, database=made.database)
            if made.undone:
                record.detail["undone_first"] = list(made.undone)
            return made
    except (OperationError, RuntimeError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise ProvisioningError(
            f"creating {slug!r} failed and was undone: {first_line(exc)}"
        ) from exc


def _create(catalog: Catalog, request: TenantRequest, record, seed, fail_at) -> ProvisionedTenant:
    request = validate(catalog, request, abandoned_ok=True)
    # a creation of this subdomain whose creator is gone is undone first (a race with
    # another command is settled by the claim: the subdomain is unique in the catalog)
    undone = clear_abandoned(catalog, request.slug)
    target = (
        dedicated_target(catalog, request) if request.placement == StoreKind.DEDICATED else None
    )
    seed = DottedNameResolver().maybe_resolve(seed or DEFAULT_SEED)
    password = request.admin_password or generate_password()
    settings = catalog.settings
    lease = _claim(catalog, request, target)
    tenant_id = record.detail["tenant_id"] = lease.tenant_id
    try:
        _checkpoint("catalog", fail_at)
        revision = None
        if target is not None and make_database(catalog, target, mark=lease.mark):
            _checkpoint("made", fail_at)
            lease.made(read_identity(settings, target.owner_url))
            if not target.template:
                migrations.upgrade("tenant", target.owner_url, settings.app_role, settings=settings)
        _checkpoint("database", fail_at)
        engine = door.url_engine(settings, lease.owner_url)
        try:
            # the door for a store the catalog does not serve yet (a new dedicated one)
            with door.engine_session(engine, tenant_id) as store_session:
                others = seed(
                    store_session,
                    tenant_id,
                    admin_username=request.admin_username,
                    admin_email=request.admin_email,
                    admin_password=password,
                    settings=settings,
                    multi_location=request.multi_location,
                    demo_data=request.demo_data,
                )
            _checkpoint("seed", fail_at)
            if target is not None:
                with engine.connect() as conn:
                    revision = migrations.current_revision(conn)
        finally:
            engine.dispose()
        lease.activate(revision, fail_at)
    except BaseException as exc:
        try:
            undo_creation(catalog, tenant_id)
        except Exception as undo_error:
            log.exception("undoing the creation of %s", request.slug)
            raise ProvisioningError(
                f"creating {request.slug!r} failed ({first_line(exc)}) and undoing it failed too "
                f"({first_line(undo_error)}); fix that, then run `salesapp tenant delete "
                f"{request.slug}` or `salesapp doctor --yes` to finish the undo"
            ) from exc
        raise
    finally:
        lease.release()
    return ProvisionedTenant(
        id=tenant_id,
        slug=request.slug,
        name=request.name,
        store_name=lease.store_name,
        store_kind=request.placement,
        admin_username=request.admin_username,
        admin_password=password,
        generated_password=request.admin_password is None,
        database=target.name if target is not None else None,
        one_time_passwords=tuple(tuple(pair) for pair in (others or ())),
        undone=tuple(undone),
    )


def _free_store_name(session, slug: str) -> str:
    taken = set(session.scalars(select(Store.name).where(Store.name.like(f"dedicated-{slug}%"))))
    name, number = f"dedicated-{slug}", 2
    while name in taken:
        name, number = f"dedicated-{slug}-{number}", number + 1
    return name


def _claim(catalog: Catalog, request: TenantRequest, target: DedicatedTarget | None) -> _Lease:
    """Take the lease of a new tenant id, then write the tenant (provisioning), its
    placement and, for a dedicated one, its store row: what an undo needs to know."""
    with catalog.session() as session:
        tenant_id = session.scalar(text("select nextval(pg_get_serial_sequence('tenants', 'id'))"))
    lease = _Lease.take(catalog, tenant_id, wait=True)
    try:
        with catalog.session() as session:
            tenant = Tenant(
                id=tenant_id,
                slug=request.slug,
                name=request.name,
                admin_email=request.admin_email,
                status=TenantStatus.PROVISIONING,
                status_reason=(
                    CreationStep.GIVEN_DATABASE
                    if target is not None and target.exists
                    else CreationStep.CLAIMED
                ),
                max_users=request.max_users,
                multi_location=request.multi_location,
                trial_ends_at=(
                    dt.datetime.now(dt.UTC) + dt.timedelta(days=request.trial_days)
                    if request.trial_days
                    else None
                ),
            )
            tenant.domains = [
                Domain(host=host, is_primary=i == 0) for i, host in enumerate(request.domains)
            ]
            session.add(tenant)
            if target is None:  # placement.py's policy; the row stays locked FOR SHARE
                store = placement.claim_pooled_store(catalog, session, request.store_name)
                lease.owner_url = catalog.store_url(store)
            else:
                store = Store(
                    name=_free_store_name(session, request.slug),
                    kind=StoreKind.DEDICATED,
                    url_encrypted=catalog.box.encrypt(target.owner_url),
                    migration_status="running",
                )
                if target.identity is not None:
                    record_identity(store, target.identity)
                session.add(store)
                lease.owner_url = target.owner_url
            session.flush()
            session.add(
                Placement(tenant_id=tenant_id, store_id=store.id, state=PlacementState.ACTIVE)
            )
            lease.store_id, lease.store_name = store.id, store.name
    except IntegrityError as exc:
        lease.release()
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
        what = {
            "uq_tenants_slug": f"subdomain {request.slug!r}",
            "tenants_slug_key": f"subdomain {request.slug!r}",
            "uq_domains_host": "one of its domains",
            "domains_host_key": "one of its domains",
        }.get(constraint, "its subdomain, a domain or its database")
        raise ProvisioningError(
            f"{what} was taken by another command meanwhile; choose another"
        ) from None
    except BaseException:
        lease.release()
        raise
    return lease


def make_database(catalog: Catalog, target: DedicatedTarget, mark=None) -> bool:
    """Make the dedicated database ``target`` names, or migrate the existing empty one;
    True if it was made here. ``mark(step)`` hears of the CREATE DATABASE before it is
    sent (so a crash right after it leaves a database the undo knows to look for)."""
    settings = catalog.settings
    if target.exists:
        _require_empty(target.owner_url, target.name, settings)
        migrations.upgrade("tenant", target.owner_url, settings.app_role, settings=settings)
        return False
    owner = urls.parse(target.server_url).username or settings.owner_role
    if mark:
        mark(CreationStep.MAKING_DATABASE)
    with bootstrap.admin_connection(target.server_url, settings=settings) as conn:
        try:
            bootstrap.create_database(
                conn, target.name, owner, settings.app_role, template=target.template
            )
        except psycopg.errors.DuplicateDatabase:
            if mark:  # not ours: the undo must leave it alone
                mark(CreationStep.CLAIMED)
            raise ProvisioningError(
                f"database {target.name} already exists on {database_address(target.server_url)}; drop "
                "it, or choose another subdomain"
            ) from None
    return True


def prepare_dedicated_database(catalog: Catalog, request: TenantRequest, undo: list) -> str:
    """Make the dedicated database of ``request``; return its owner URL (a move's target:
    the mover names the store in the catalog itself).

    Where the server has the template database, the store is cloned from it (a file
    copy: fast); elsewhere it is created empty and migrated. An explicit database URL may
    name an existing database, which must then be empty. ``undo`` gets the drop of a
    database made here.
    """
    target = dedicated_target(catalog, request, check_claims=False)
    if make_database(catalog, target):
        undo.append(lambda: _drop(catalog.settings, target.server_url, target.name))
        if not target.template:
            migrations.upgrade(
                "tenant", target.owner_url, catalog.settings.app_role, settings=catalog.settings
            )
    return target.owner_url


def _require_empty(owner_url: str, name: str, settings) -> None:
    engine = door.url_engine(settings, owner_url)
    try:
        with engine.connect() as conn:
            count = conn.scalar(
                text(
                    "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                    "where n.nspname = 'public' and c.relkind in ('r','p','v','m','S')"
                )
            )
    finally:
        engine.dispose()
    if count:
        raise ProvisioningError(
            f"database {name} is not empty ({count} relations in schema public); give an empty "
            "database or a new name"
        )


def _drop(settings, server_url: str, name: str) -> None:
    with bootstrap.admin_connection(server_url, settings=settings) as conn:
        bootstrap.drop_database(conn, name)


def database_address(url: str) -> str:
    """host:port/database of a URL, as messages name a database (no role, no password)."""
    parsed = urls.parse(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{host}{port}/{parsed.database or ''}"


# -- proving what a database is, before removing anything from it ------------------------
def check_recorded(store_name: str, recorded: DatabaseIdentity | None, live) -> None:
    """Refuse (OperationError) if a store row records an identity and its URL now
    reaches another database: whatever is there is not what the catalog names."""
    if recorded is not None and live is not None and recorded != live:
        raise OperationError(
            f"store {store_name}'s URL now reaches database {live}, but the catalog recorded "
            f"{recorded} for it: that is not the database the store row names, so nothing "
            "was removed there; correct the store's URL (see `salesapp doctor`) and run this again"
        )


def verified_identity(
    catalog: Catalog, store_name: str, url: str, recorded: DatabaseIdentity | None
) -> DatabaseIdentity:
    """The identity of the database a store's URL reaches, after checking it is the one
    the store row records (when it records one): before rows are deleted there."""
    live = read_identity(catalog.settings, url)
    check_recorded(store_name, recorded, live)
    return live


def drop_proven(
    catalog: Catalog,
    store_name: str,
    url: str,
    recorded: DatabaseIdentity | None,
    *,
    exclude: tuple[int, ...] = (),
) -> str:
    """Drop the database ``url`` names, once proven that it is what the store row
    records (when it records an identity) and that no other store (``exclude`` aside),
    nor the catalog or the template, is that database; return what was done. The proof
    and the DROP use one server connection and the database's name on it: exactly what
    is dropped is what was proven."""
    name, address = urls.database_of(url), database_address(url)
    with bootstrap.admin_connection(url, settings=catalog.settings) as conn:
        live = storeadmin.identity_named(conn, name)
        if live is None:
            return f"database {address} does not exist (never made, or already dropped)"
        check_recorded(store_name, recorded, live)
        holder = storeadmin.what_database_is(catalog, live, exclude=exclude)
        if holder is not None:
            raise OperationError(
                f"database {address} is {holder} too, so it was not dropped; two store rows "
                "name one database: see `salesapp doctor`"
            )
        bootstrap.drop_database(conn, name)
    return f"dropped database {address}"


# -- undoing a creation ------------------------------------------------------------------------
@dataclass(frozen=True)
class _StoreInfo:
    id: int
    name: str
    kind: str
    url: str
    recorded: DatabaseIdentity | None


def _store_info(catalog: Catalog, store: Store) -> _StoreInfo:
    return _StoreInfo(
        store.id, store.name, store.kind, catalog.store_url(store), identity_of_store(store)
    )


def shared_store(session, store: Store, tenant_id: int) -> bool:
    """Whether anything of another tenant is in ``store``: pooled, or another tenant's
    placement or kept copy names it."""
    if store.kind == StoreKind.POOLED:
        return True
    other_placement = session.scalar(
        select(Placement.tenant_id)
        .where(Placement.store_id == store.id, Placement.tenant_id != tenant_id)
        .limit(1)
    )
    other_copy = session.scalar(
        select(TenantCopy.id)
        .where(TenantCopy.store_id == store.id, TenantCopy.tenant_id != tenant_id)
        .limit(1)
    )
    return other_placement is not None or other_copy is not None


def undo_creation(catalog: Catalog, tenant_id: int) -> list[str]:
    """Remove what the creation of ``tenant_id`` made, as the catalog records it (its
    placement's store and its CreationStep); return what was done, a line each.

    The caller holds the creation's lease (the creator itself, or :func:`abandon`).
    Rows it seeded in a shared store are deleted by tenant id; a database is dropped
    only if the creation made it and it is proven to be that database and nobody else's.
    """
    with catalog.session() as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            return []
        if tenant.status != TenantStatus.PROVISIONING:
            raise OperationError(
                f"tenant {tenant.slug!r} is {tenant.status}, not being created: nothing to undo"
            )
        slug, step = tenant.slug, tenant.status_reason
        placement = session.get(Placement, tenant_id)
        store = session.get(Store, placement.store_id) if placement is not None else None
        info = _store_info(catalog, store) if store is not None else None
        shared = store is not None and shared_store(session, store, tenant_id)
    done = []
    if info is None:
        done.append("no store had been chosen for it")
    elif shared:
        engine = door.url_engine(catalog.settings, info.url)
        deleted = sum(delete_tenant_rows(engine, tenant_id).values())
        done.append(f"deleted its {deleted} rows from store {info.name}")
    else:
        done.extend(_undo_database(catalog, info, step, tenant_id))
    with catalog.session() as session:
        session.execute(delete(Tenant).where(Tenant.id == tenant_id))  # placement, domains
        if info is not None and not shared:
            session.execute(delete(Store).where(Store.id == info.id))
    done.append(f"removed tenant {slug!r} (provisioning) from the catalog")
    return done


def _undo_database(catalog: Catalog, info: _StoreInfo, step, tenant_id: int) -> list[str]:
    address = database_address(info.url)
    if step == CreationStep.GIVEN_DATABASE:
        verified_identity(catalog, info.name, info.url, info.recorded)
        deleted = sum(
            delete_tenant_rows(door.url_engine(catalog.settings, info.url), tenant_id).values()
        )
        return [
            f"deleted its {deleted} rows from database {address}, which it had been given: "
            "the database stays (migrated)"
        ]
    if step not in (CreationStep.MAKING_DATABASE, CreationStep.MADE_DATABASE):
        return [f"database {address} had not been made yet"]
    return [drop_proven(catalog, info.name, info.url, info.recorded, exclude=(info.id,))]


def clear_abandoned(catalog: Catalog, slug: str) -> list[str]:
    """Undo an abandoned creation of ``slug`` (creator gone), if there is one; return what
    was done. A creation still running is left alone (validate refuses it)."""
    with catalog.session() as session:
        holder = session.execute(
            select(Tenant.id, Tenant.status).where(Tenant.slug == slug)
        ).first()
    if holder is None or holder.status != TenantStatus.PROVISIONING:
        return []
    if creator_alive(catalog, holder.id):
        return []
    try:
        return abandon(catalog, holder.id)
    except CreationRunning:
        return []  # another command took it meanwhile: the claim says so
    except OperationError as exc:
        raise ProvisioningError(
            f"subdomain {slug!r} is held by an interrupted creation that could not be undone: {exc}"
        ) from None


def abandoned_creations(catalog: Catalog) -> list[tuple[int, str]]:
    """(tenant id, subdomain) of every creation whose creator is gone (for the doctor)."""
    with catalog.session() as session:
        rows = session.execute(
            select(Tenant.id, Tenant.slug)
            .where(Tenant.status == TenantStatus.PROVISIONING)
            .order_by(Tenant.id)
        ).all()
    held = live_creators(catalog) if rows else set()
    return [(tid, slug) for tid, slug in rows if lease_key(tid) not in held]


def abandon(catalog: Catalog, tenant_id: int) -> list[str]:
    """Undo the creation of ``tenant_id`` whose creator is gone: drop a database it made
    (after proving its identity), delete rows it seeded in a pooled store, remove its
    catalog rows; return what was done, a line each. Refuses (OperationError) while its
    creator lives, and for a tenant that is not being created. Logged as
    ``tenant.create.undo``."""
    with catalog.session() as session:
        tenant = session.get(Tenant, tenant_id)
        slug, status = (tenant.slug, tenant.status) if tenant else (None, None)
    with catalog.operation("tenant.create.undo", tenant_slug=slug, tenant_id=tenant_id) as record:
        if tenant is None:
            raise NotFound(f"no tenant with id {tenant_id}; see `salesapp tenant list`")
        if status != TenantStatus.PROVISIONING:
            raise OperationError(
                f"tenant {slug!r} is {status}: it is not being created, so there is no creation "
                "to undo"
            )
        lease = _Lease.take(catalog, tenant_id, wait=False)
        if lease is None:
            raise CreationRunning(
                f"the creation of {slug!r} is still running (its creator holds its lease, "
                "see pg_locks); let it finish or stop that process, then run this again"
            )
        try:
            done = undo_creation(catalog, tenant_id)
        finally:
            lease.release()
        record.detail["undone"] = done
        return done


def delete_tenant_rows(engine, tenant_id: int) -> dict[str, int]:
    """Remove every row of one tenant from a store (children first), in one transaction
    under the tenant's setting; return rows deleted per table. The engine is disposed."""
    try:
        with engine.begin() as connection:
            bind(connection, tenant_id)
            conn = connection.connection.driver_connection
            return delete_rows(conn, table_specs(conn), tenant_id)
    finally:
        engine.dispose()


def tenant_tables(connection) -> list:
    """The store's tables that hold tenant rows, parents before children (by reflection,
    so the tenancy machinery needs no knowledge of the business domains)."""
    metadata = MetaData()
    metadata.reflect(connection)
    return [t for t in metadata.sorted_tables if "tenant_id" in t.c]


def custom_domain(host: str, base_domains: tuple[str, ...]) -> str:
    """A host that may serve as a tenant's custom domain, normalised; else OperationError."""
    normal = normalize_host(host, idna=True)
    if normal is None or "." not in normal:
        raise OperationError(f"domain {host!r} is not a valid host name, e.g. shop.example.com")
    if any(normal == b or normal.endswith("." + b) for b in base_domains):
        raise OperationError(
            f"domain {normal!r} is under a base domain; the tenant's subdomain already serves it"
        )
    return normal
