"""A move in progress, as the request path sees it, without a mover: the placement is
``moving`` and a tenant_moves row beats (a fresh heartbeat, an expected pause). The
request path treats a move whose heartbeat is older than MOVE_LEASE_SECONDS as void,
so a test that needs the "moving" answers must keep its block shorter than that."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import delete, func, update

from salesapp.operations.models import Placement, TenantMove


@contextmanager
def tenant_moving(app, catalog, tenant_id: int, expected_pause_seconds: float = 7):
    """Within the block the tenant is being moved (its writes answered 503)."""
    with catalog.session() as session:
        placement = session.get(Placement, tenant_id)
        session.add(
            TenantMove(
                tenant_id=tenant_id,
                source_store_id=placement.store_id,
                phase="fenced",
                heartbeat_at=func.now(),
                expected_pause_seconds=expected_pause_seconds,
            )
        )
        session.execute(
            update(Placement).where(Placement.tenant_id == tenant_id).values(state="moving")
        )
    app.registry.directory.invalidate(tenant_id)
    try:
        yield
    finally:
        with catalog.session() as session:
            session.execute(delete(TenantMove).where(TenantMove.tenant_id == tenant_id))
            session.execute(
                update(Placement).where(Placement.tenant_id == tenant_id).values(state="active")
            )
        app.registry.directory.invalidate(tenant_id)
