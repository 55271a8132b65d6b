"""Reading the audit trail (writing it is the recorder's job)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ..services import TenantService
from .models import AuditEvent


class AuditService(TenantService):
    model = AuditEvent

    def _filtered(self, *, action="", username="", day_from=None, day_to=None):
        query = select(AuditEvent)
        if action:
            query = query.where(AuditEvent.action.startswith(action, autoescape=True))
        if username:
            query = query.where(AuditEvent.username == username.lower())
        if day_from:
            query = query.where(AuditEvent.at >= dt.datetime.combine(day_from, dt.time(), dt.UTC))
        if day_to:
            end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(), dt.UTC)
            query = query.where(AuditEvent.at < end)
        return query

    def events(self, *, limit=50, offset=0, **filters) -> list[AuditEvent]:
        query = self._filtered(**filters).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        return list(self.db.scalars(query.limit(limit).offset(offset)))

    def count(self, **filters) -> int:
        return self.db.scalar(
            select(func.count()).select_from(self._filtered(**filters).subquery())
        )

    def actions(self) -> list[str]:
        return list(
            self.db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
        )
