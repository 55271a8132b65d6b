"""The dashboard's figures: today's sales, top products, low stock. "Today" and "the
last 30 days" are the workspace's local days, as in the reports (a sale at 00:30 in
Nairobi is that day's, though it is the day before in UTC)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from ..localization import PLAIN, Local
from ..sales.models import RefundLine, Sale, SaleLine
from ..services import TenantService


class DashboardService(TenantService):
    """The dashboard of one tenant, in its local days (``local``: the request's)."""

    def __init__(self, dbsession, tenant_id: int, local: Local = PLAIN):
        super().__init__(dbsession, tenant_id)
        self.local = local

    @classmethod
    def factory(cls, context, request):
        return cls(request.dbsession, request.tenant.id, request.local)

    def today(self, today: dt.date | None = None) -> dict:
        """The sales of a local day (today by default) that were not voided: the day,
        count, total, refunds and net."""
        day = today or self.local.today()
        start, end = self.local.day_range(day)
        count, total, refunded = self.db.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Sale.total), 0),
                func.coalesce(func.sum(Sale.refunded_total), 0),
            ).where(Sale.created_at >= start, Sale.created_at < end, Sale.status != "voided")
        ).one()
        return {
            "day": day,
            "count": count,
            "total": Decimal(total),
            "refunded": Decimal(refunded),
            "net": Decimal(total) - Decimal(refunded),
        }

    def top_products(self, days=30, limit=10) -> list[dict]:
        """Best sellers by revenue net of refunds (the refunded amounts as stored, so the
        dashboard agrees with the reports to the cent) over the last ``days`` local days,
        today included (the reports' default range)."""
        since = self.local.day_start(self.local.today() - dt.timedelta(days=days - 1))
        refunded = (
            select(RefundLine.sale_line_id, func.sum(RefundLine.amount).label("amount"))
            .group_by(RefundLine.sale_line_id)
            .subquery()
        )
        sold = SaleLine.quantity - SaleLine.refunded_quantity
        revenue = func.sum(SaleLine.line_total - func.coalesce(refunded.c.amount, 0))
        rows = self.db.execute(
            select(
                SaleLine.product_id,
                SaleLine.description,
                SaleLine.sku,
                func.sum(sold).label("quantity"),
                revenue.label("revenue"),
            )
            .join(Sale, (Sale.tenant_id == SaleLine.tenant_id) & (Sale.id == SaleLine.sale_id))
            .outerjoin(refunded, refunded.c.sale_line_id == SaleLine.id)
            .where(Sale.created_at >= since, Sale.status != "voided")
            .group_by(SaleLine.product_id, SaleLine.description, SaleLine.sku)
            .order_by(revenue.desc())
            .limit(limit)
        ).all()
        return [
            {
                "name": r.description,
                "sku": r.sku,
                "quantity": r.quantity,
                "revenue": Decimal(r.revenue),
            }
            for r in rows
        ]
