"""Create tenants, pooled or dedicated, atomically.

A tenant is first written to the catalog in state ``provisioning`` (invisible to the
resolver), then its store is prepared and seeded, then it becomes ``active`` together
with its placement in one catalog transaction. Any failure undoes every earlier step,
so no half-created tenant, database or catalog row is left behind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass, field

from pyramid.path import DottedNameResolver
from sqlalchemy import MetaData, create_engine, delete, select, text
from sqlalchemy.pool import NullPool

from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.directory import PLACEMENT_KINDS, PlacementState, StoreKind, TenantStatus
from ..tenancy.errors import first_line
from ..tenancy.hosts import SLUG_RE, normalize_host
from . import bootstrap, door, migrations
from .catalog import Catalog
from .errors import OperationError
from .models import Domain, Placement, Store, Tenant
from .tablecopy import delete_rows, table_specs

log = logging.getLogger(__name__)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
RESERVED_SLUGS = frozenset(
    "www admin api app static assets media mail smtp imap pop ftp ns ns1 ns2 dns mx "
    "help support status docs blog public login auth account accounts billing dashboard "
    "cdn test dev staging root postgres localhost".split()
)
DEFAULT_SEED = "salesapp.operations.workspace:seed"


class ProvisioningError(OperationError):
    """The request to create a tenant was refused; the message says why and what to do."""


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


def generate_password() -> str:
    """A one-off password: 16 URL-safe characters, about 96 bits."""
    return secrets.token_urlsafe(12)


def _reachable(url: str, what: str) -> None:
    try:
        with bootstrap.admin_connection(url, urls.database_of(url) or "postgres"):
            pass
    except Exception as exc:
        raise ProvisioningError(
            f"cannot reach {what} at {urls.parse(url).render_as_string()}: {first_line(exc)}; "
            "check the URL, the password and that the server runs"
        ) from None


def validate(catalog: Catalog, request: TenantRequest) -> TenantRequest:
    """Check everything before anything is touched; raise ProvisioningError with the fix."""
    slug = (request.slug or "").strip().lower()
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
        from ..accounts.services import AccountError, check_password_policy

        try:  # the policy every password a person chooses meets
            check_password_policy(request.admin_password)
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
        if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
            raise ProvisioningError(f"subdomain {slug!r} is taken; choose another")
        taken = session.scalars(select(Domain.host).where(Domain.host.in_(domains))).all()
        if taken:
            raise ProvisioningError(f"domain {taken[0]!r} already belongs to a tenant")
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
    if request.database_url:
        try:
            urls.parse(request.database_url)
        except ValueError as exc:
            raise ProvisioningError(f"database URL: {exc}") from None
        if not urls.database_of(request.database_url):
            raise ProvisioningError("the database URL names no database: add /DATABASE_NAME")
        _reachable(urls.with_database(request.database_url, "postgres"), "the database server")
    elif server_url:
        _reachable(server_url, f"store {request.store_name}")
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


def plan(catalog: Catalog, request: TenantRequest) -> list[str]:
    """What create_tenant would do, one line a step; validates fully, changes nothing."""
    request = validate(catalog, request)
    steps = [f"add tenant {request.slug!r} ({request.name}) to the catalog"]
    if request.placement == StoreKind.POOLED:
        with catalog.session() as session:
            store = (
                catalog.store_by_name(session, request.store_name)
                if request.store_name
                else catalog.default_pooled_store(session)
            )
            steps.append(f"add its rows to pooled store {store.name if store else '(none!)'}")
    elif request.database_url:
        steps.append(
            f"use database {urls.parse(request.database_url).render_as_string()} "
            "(created if missing, must be empty), migrate it to head"
        )
    else:
        where = f"store {request.store_name}" if request.store_name else "the catalog's server"
        steps.append(
            f"create database {dedicated_database_name(catalog, request.slug)} on "
            f"{where}, cloned from the template where the server has it"
        )
    password = "given" if request.admin_password else "generated and printed once"
    steps.append(
        f"create admin {request.admin_username!r} <{request.admin_email}>, "
        f"password {password}; roles Admin, Managers, Cashiers; location Main"
    )
    if request.demo_data:
        steps.append("add demo data")
    for host in request.domains:
        steps.append(f"serve it at {host}")
    steps.append(
        f"max users {request.max_users}"
        + (f", trial of {request.trial_days} days" if request.trial_days else "")
    )
    return steps


def create_tenant(catalog: Catalog, request: TenantRequest, *, seed=None, fail_at=None):
    """Create a tenant as ``request`` says; return :class:`ProvisionedTenant`.

    ``fail_at`` names a step ("catalog", "database", "seed", "activate") at which to
    raise, for tests of atomicity.
    """
    request = validate(catalog, request)
    seed = DottedNameResolver().maybe_resolve(seed or DEFAULT_SEED)
    password = request.admin_password or generate_password()
    undo = []  # compensating actions, run newest first on failure
    database = None

    def checkpoint(step):
        if fail_at == step:
            raise RuntimeError(f"injected failure at {step}")

    try:
        with catalog.session() as session:
            tenant = Tenant(
                slug=request.slug,
                name=request.name,
                admin_email=request.admin_email,
                status=TenantStatus.PROVISIONING,
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
            session.flush()
            tenant_id = tenant.id
        undo.append(lambda: _delete_tenant_row(catalog, tenant_id))
        checkpoint("catalog")

        if request.placement == StoreKind.DEDICATED:
            store_name, store_id = f"dedicated-{request.slug}", None
            owner_url = prepare_dedicated_database(catalog, request, undo)
            database = urls.database_of(owner_url)
        else:
            with catalog.session() as session:
                store = (
                    catalog.store_by_name(session, request.store_name)
                    if request.store_name
                    else catalog.default_pooled_store(session)
                )
                if store is None:
                    raise ProvisioningError("no pooled store exists; run `salesapp init` first")
                store_name, store_id = store.name, store.id
                owner_url = catalog.store_url(store)
        checkpoint("database")

        engine = create_engine(urls.sqlalchemy_url(owner_url), poolclass=NullPool)
        try:
            undo.append(lambda: delete_tenant_rows(engine, tenant_id))
            # the door for a store the catalog does not name yet (a new dedicated one)
            with door.engine_session(engine, tenant_id) as store_session:
                seed(
                    store_session,
                    tenant_id,
                    admin_username=request.admin_username,
                    admin_email=request.admin_email,
                    admin_password=password,
                    settings=catalog.settings,
                    multi_location=request.multi_location,
                    demo_data=request.demo_data,
                    admin_password_generated=request.admin_password is None,
                )
            checkpoint("seed")

            with catalog.session() as session:
                if store_id is None:
                    with engine.connect() as conn:
                        revision = migrations.current_revision(conn)
                    store = Store(
                        name=store_name,
                        kind=StoreKind.DEDICATED,
                        url_encrypted=catalog.box.encrypt(owner_url),
                        schema_revision=revision,
                        migration_status="ok",
                    )
                    session.add(store)
                    session.flush()
                    store_id = store.id
                session.add(
                    Placement(tenant_id=tenant_id, store_id=store_id, state=PlacementState.ACTIVE)
                )
                session.get(Tenant, tenant_id).status = TenantStatus.ACTIVE
                checkpoint("activate")
        finally:
            engine.dispose()
    except BaseException as exc:
        for action in reversed(undo):
            try:
                action()
            except Exception:  # keep undoing; the original error is what the caller needs
                log.exception("undoing the creation of %s", request.slug)
        try:
            catalog.record(
                "tenant.create", "failed", tenant_slug=request.slug, error=str(exc)[:500]
            )
        except Exception:  # the catalog may be what failed; the original error matters more
            log.exception("could not record the failed creation of %s", request.slug)
        if isinstance(exc, OperationError | RuntimeError | KeyboardInterrupt):
            raise
        raise ProvisioningError(
            f"creating {request.slug!r} failed and was undone: {first_line(exc)}"
        ) from exc

    catalog.record(
        "tenant.create",
        "ok",
        tenant_slug=request.slug,
        store_name=store_name,
        placement=request.placement,
        database=database,
    )
    return ProvisionedTenant(
        id=tenant_id,
        slug=request.slug,
        name=request.name,
        store_name=store_name,
        store_kind=request.placement,
        admin_username=request.admin_username,
        admin_password=password,
        generated_password=request.admin_password is None,
        database=database,
    )


def prepare_dedicated_database(catalog: Catalog, request: TenantRequest, undo: list) -> str:
    """Make the dedicated database; return its owner URL.

    Where the server has the template database, the store is cloned from it (a file
    copy: fast); elsewhere it is created empty and migrated. An explicit database URL may
    name an existing database, which must then be empty.
    """
    settings = catalog.settings
    if request.database_url:
        owner_url = urls.plain(request.database_url)
        name = urls.database_of(owner_url)
        owner = urls.parse(owner_url).username or settings.owner_role
        with bootstrap.admin_connection(owner_url) as conn:
            created = not bootstrap.database_exists(conn, name)
            if created:
                bootstrap.create_database(conn, name, owner, settings.app_role)
                undo.append(lambda: _drop(owner_url, name))
        if not created:
            _require_empty(owner_url, name)
        migrations.upgrade("tenant", owner_url, settings.app_role)
        return owner_url

    if request.store_name:
        with catalog.session() as session:
            server_url = catalog.store_url(catalog.store_by_name(session, request.store_name))
    else:
        server_url = bootstrap.owner_server_url(settings)
    name = dedicated_database_name(catalog, request.slug)
    template = bootstrap.template_database(settings)
    owner = urls.parse(server_url).username or settings.owner_role
    with bootstrap.admin_connection(server_url) as conn:
        if bootstrap.database_exists(conn, name):
            raise ProvisioningError(
                f"database {name} already exists on that server; remove it or choose another "
                "subdomain"
            )
        has_template = bootstrap.database_exists(conn, template)
        bootstrap.create_database(
            conn, name, owner, settings.app_role, template=template if has_template else None
        )
    owner_url = urls.with_database(server_url, name)
    undo.append(lambda: _drop(server_url, name))
    if not has_template:
        migrations.upgrade("tenant", owner_url, settings.app_role)
    return owner_url


def _require_empty(owner_url: str, name: str) -> None:
    engine = create_engine(urls.sqlalchemy_url(owner_url), poolclass=NullPool)
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


def _drop(server_url: str, name: str) -> None:
    with bootstrap.admin_connection(server_url) as conn:
        bootstrap.drop_database(conn, name)


def _delete_tenant_row(catalog: Catalog, tenant_id: int) -> None:
    with catalog.session() as session:
        session.execute(delete(Placement).where(Placement.tenant_id == tenant_id))
        session.execute(delete(Tenant).where(Tenant.id == tenant_id))


def delete_tenant_rows(engine, tenant_id: int) -> dict[str, int]:
    """Remove every row of one tenant from a store (children first), in one transaction
    under the tenant's setting; return rows deleted per table."""
    with engine.begin() as connection:
        bind(connection, tenant_id)
        conn = connection.connection.driver_connection
        return delete_rows(conn, table_specs(conn), tenant_id)


def tenant_tables(connection) -> list:
    """The store's tables that hold tenant rows, parents before children (by reflection,
    so the tenancy machinery needs no knowledge of the business domains)."""
    metadata = MetaData()
    metadata.reflect(connection)
    return [t for t in metadata.sorted_tables if "tenant_id" in t.c]


def custom_domain(host: str, base_domains: tuple[str, ...]) -> str:
    """A host that may serve as a tenant's custom domain, normalised; else OperationError."""
    normal = normalize_host(host)
    if normal is None or "." not in normal:
        raise OperationError(f"domain {host!r} is not a valid host name, e.g. shop.example.com")
    if any(normal == b or normal.endswith("." + b) for b in base_domains):
        raise OperationError(
            f"domain {normal!r} is under a base domain; the tenant's subdomain already serves it"
        )
    return normal
