"""Operations on existing tenants: look, list, suspend, resume, extend a trial, manage
domains, delete. Each is a function the CLI and the tests call; each change is recorded
in the operations log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.directory import StoreKind, TenantStatus
from ..tenancy.hosts import normalize_host
from . import bootstrap, door
from .catalog import Catalog
from .errors import NotFound, OperationError
from .models import Domain, Placement, Store, Tenant
from .provisioning import custom_domain, delete_tenant_rows


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


def describe(catalog: Catalog, tenant: Tenant, store: Store, placement: Placement, users) -> dict:
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "status_reason": tenant.status_reason,
        "store": store.name,
        "kind": store.kind,
        "placement_state": placement.state,
        "users": users,
        "max_users": tenant.max_users,
        "multi_location": tenant.multi_location,
        "admin_email": tenant.admin_email,
        "trial_ends_at": tenant.trial_ends_at.isoformat() if tenant.trial_ends_at else None,
        "domains": ordered_domains(tenant),
        "primary_domain": next((d.host for d in tenant.domains if d.is_primary), None),
        "url": tenant_url(catalog, tenant),
        "created_at": tenant.created_at.isoformat(),
    }


def show_tenant(catalog: Catalog, slug: str) -> dict:
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        placement, store = catalog.placement(session, tenant)
        users = user_counts(catalog, [(tenant.id, store)])[tenant.id]
        return describe(catalog, tenant, store, placement, users)


def list_tenants(catalog: Catalog, *, active_only=False, store_name=None) -> list[dict]:
    with catalog.session() as session:
        query = (
            select(Tenant, Placement, Store)
            .join(Placement, Placement.tenant_id == Tenant.id)
            .join(Store, Store.id == Placement.store_id)
            .where(Tenant.status != TenantStatus.PROVISIONING)
            .order_by(Tenant.slug)
        )
        if active_only:
            query = query.where(Tenant.status == TenantStatus.ACTIVE)
        if store_name:
            catalog.store_named(session, store_name)
            query = query.where(Store.name == store_name)
        rows = session.execute(query).all()
        counts = user_counts(catalog, [(t.id, s) for t, _, s in rows])
        return [describe(catalog, t, s, p, counts[t.id]) for t, p, s in rows]


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
    """Move the trial end ``days`` later (from now if it had ended or never started)."""
    if days < 1 or days > 3650:
        raise OperationError(f"--days must be between 1 and 3650, got {days}")
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        start = max(tenant.trial_ends_at or _now(), _now())
        tenant.trial_ends_at = start + dt.timedelta(days=days)
        tenant.updated_at = _now()
        slug, ends = tenant.slug, tenant.trial_ends_at
    catalog.record(
        "tenant.extend-trial", "ok", tenant_slug=slug, days=days, trial_ends_at=ends.isoformat()
    )
    return show_tenant(catalog, slug)


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
    normal = normalize_host(host) or host
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
def delete_tenant(catalog: Catalog, slug: str, *, keep_database=False) -> dict:
    """Delete a tenant and its data.

    The tenant is first suspended (its staff are stopped at once; a crash later leaves it
    suspended with reason 'deleting', and running delete again finishes). A pooled
    tenant's rows go in one transaction; a dedicated database is dropped unless
    ``keep_database``. Returns what was done.
    """
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        placement, store = catalog.placement(session, tenant)
        tenant.status, tenant.status_reason = TenantStatus.SUSPENDED, "deleting"
        tenant_id, slug = tenant.id, tenant.slug
        store_name, kind, owner_url = store.name, store.kind, catalog.store_url(store)
        store_tenants = session.scalar(
            select(Placement.tenant_id)
            .where(Placement.store_id == store.id, Placement.tenant_id != tenant_id)
            .limit(1)
        )
    result = {
        "slug": slug,
        "store": store_name,
        "kind": kind,
        "rows_deleted": None,
        "database": None,
        "database_dropped": False,
    }
    try:
        if kind == StoreKind.POOLED or store_tenants is not None:
            engine = door.store_engine(catalog, store_name)
            try:
                result["rows_deleted"] = delete_tenant_rows(engine, tenant_id)
            finally:
                engine.dispose()
        else:
            result["database"] = urls.database_of(owner_url)
            if not keep_database:
                with bootstrap.admin_connection(owner_url) as conn:
                    bootstrap.drop_database(conn, result["database"])
                result["database_dropped"] = True
        with catalog.session() as session:
            session.execute(Tenant.__table__.delete().where(Tenant.id == tenant_id))
            if kind == StoreKind.DEDICATED and store_tenants is None:
                session.execute(Store.__table__.delete().where(Store.name == store_name))
    except Exception as exc:
        catalog.record(
            "tenant.delete", "failed", tenant_slug=slug, store_name=store_name, error=str(exc)[:500]
        )
        raise OperationError(
            f"deleting {slug!r} failed: {str(exc).strip().splitlines()[0]}; the tenant stays "
            "suspended (reason 'deleting'); fix the cause and run the delete again"
        ) from None
    catalog.record(
        "tenant.delete",
        "ok",
        tenant_slug=slug,
        store_name=store_name,
        **{k: v for k, v in result.items() if k not in ("slug", "store")},
    )
    return result
