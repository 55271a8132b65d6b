"""Per-tenant statistics for operators: rows, approximate storage, users, last
activity; pooled tenants past the thresholds are flagged as candidates for a
dedicated store (thresholds: salesapp.dedicated_threshold_rows / _mb)."""

from __future__ import annotations

from sqlalchemy import select, text

from ..tenancy.binding import bind
from ..tenancy.directory import StoreKind, TenantStatus
from . import door
from .catalog import Catalog
from .models import Placement, Store, Tenant
from .provisioning import tenant_tables


def tenant_stats(catalog: Catalog, on_store=None, on_plan=None) -> list[dict]:
    settings = catalog.settings
    threshold_rows = settings.dedicated_threshold_rows
    threshold_mb = settings.dedicated_threshold_mb
    with catalog.session() as session:
        rows = session.execute(
            select(Tenant.id, Tenant.slug, Tenant.status, Store)
            .join(Placement, Placement.tenant_id == Tenant.id)
            .join(Store, Store.id == Placement.store_id)
            .where(Tenant.status != TenantStatus.PROVISIONING)
            .order_by(Store.name, Tenant.slug)
        ).all()
    by_store: dict[int, tuple[Store, list]] = {}
    for tenant_id, slug, status, store in rows:
        by_store.setdefault(store.id, (store, []))[1].append((tenant_id, slug, status))

    if on_plan:
        on_plan(len(by_store))
    result = []
    for store, tenants in by_store.values():
        try:
            with door.store_connection(catalog, store) as conn:
                tables = [t.name for t in tenant_tables(conn)]
                has_login = conn.scalar(
                    text(
                        "select count(*) from information_schema.columns where table_schema = "
                        "'public' and table_name = 'users' and column_name = 'last_login_at'"
                    )
                )
                for tenant_id, slug, status in tenants:
                    bind(conn, tenant_id)
                    counts, size = {}, 0
                    for table in tables:
                        count, width = conn.execute(
                            text(
                                f"select count(*), coalesce(sum(pg_column_size(t.*)), 0) "
                                f'from "{table}" t'
                            )
                        ).one()
                        counts[table] = count
                        size += width
                    last = (
                        conn.scalar(text("select max(last_login_at) from users"))
                        if has_login
                        else None
                    )
                    total = sum(counts.values())
                    candidate = store.kind == StoreKind.POOLED and (
                        total >= threshold_rows or size / 2**20 >= threshold_mb
                    )
                    result.append(
                        {
                            "slug": slug,
                            "status": status,
                            "store": store.name,
                            "kind": store.kind,
                            "rows": counts,
                            "total_rows": total,
                            "approx_bytes": size,
                            "users": counts.get("users", 0),
                            "last_activity": last.isoformat() if last else None,
                            "dedicated_candidate": candidate,
                        }
                    )
        except Exception as exc:
            for _, slug, status in tenants:
                result.append(
                    {
                        "slug": slug,
                        "status": status,
                        "store": store.name,
                        "kind": store.kind,
                        "error": str(exc).splitlines()[0],
                    }
                )
        if on_store:
            on_store(store.name)
    return sorted(result, key=lambda r: r["slug"])
