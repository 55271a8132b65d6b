"""The dashboard's figures: today's sales, top products, low stock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from ..sales.models import RefundLine, Sale, SaleLine
from ..services import TenantService


class DashboardService(TenantService):
    @staticmethod
    def day_start(day: dt.date) -> dt.datetime:
        # Days are UTC days until tenants have a time zone setting.
        return dt.datetime.combine(day, dt.time(), dt.UTC)

    def today(self, today: dt.date | None = None) -> dict:
        """Completed (and partly refunded) sales since midnight: count, total, refunds."""
        start = self.day_start(today or dt.datetime.now(dt.UTC).date())
        row = self.db.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Sale.total), 0),
                func.coalesce(func.sum(Sale.refunded_total), 0),
            ).where(Sale.created_at >= start, Sale.status != "voided")
        ).one()
        count, total, refunded = row
        return {
            "count": count,
            "total": Decimal(total),
            "refunded": Decimal(refunded),
            "net": Decimal(total) - Decimal(refunded),
        }

    def top_products(self, days=30, limit=10) -> list[dict]:
        """Best sellers by revenue net of refunds (the refunded amounts as stored, so the
        dashboard agrees with the reports to the cent) over the last ``days`` days."""
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
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
