"""What every business domain's service starts from: the request's session, the
tenant, and rows by id."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select


class TenantService:
    """A domain service bound to one tenant's session. Subclasses name their ``model``
    to get ``get(id)``; ``factory`` is what pyramid_services calls per request."""

    model = None

    def __init__(self, dbsession, tenant_id: int):
        self.db = dbsession
        self.tenant_id = tenant_id

    @classmethod
    def factory(cls, context, request):
        return cls(request.dbsession, request.tenant.id)

    def get(self, row_id):
        """The row with this id (a UUID or its text), or None if unknown or malformed."""
        try:
            key = uuid.UUID(str(row_id))
        except ValueError:
            return None
        return self.db.get(self.model, (self.tenant_id, key))


def page_and_total(db, query, limit: int, offset: int) -> tuple[list, int]:
    """One page of ``query``'s rows and how many rows it has in all, in one query: the
    total rides on every row as a window count (``count(*) over ()``, taken before the
    LIMIT). A page past the end has no row to carry it; only then is it counted apart."""
    rows = db.execute(query.add_columns(func.count().over()).limit(limit).offset(offset)).all()
    if rows:
        return [row[0] for row in rows], rows[0][1]
    if not offset:
        return [], 0
    return [], db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
