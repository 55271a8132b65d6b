"""What every business domain's service starts from: the request's session, the
tenant, and rows by id."""

from __future__ import annotations

import uuid


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
