"""Stock counts (stock-takes): a sheet per location of its products with what was
expected on hand when the count began; people record what they count, page by page;
posting writes every difference as an "adjust" movement, all in one transaction, and
the count becomes read-only.

A difference is counted minus expected-at-start: goods sold while the shelves are being
counted were on them at the start, so they are not counted as missing twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, insert, or_, select

from ..ids import uuid7
from ..locations.models import Location
from ..products.models import Product
from .models import COUNT_OPEN, COUNT_POSTED, StockCount, StockCountLine, StockMovement
from .services import MAX_QUANTITY, InventoryService, StockError, next_number, product_matches

#: which lines of a sheet to show
SHOW = ("all", "uncounted", "counted", "different")


@dataclass(frozen=True)
class CountRow:
    line: StockCountLine
    product: Product

    @property
    def difference(self) -> Decimal | None:
        if self.line.counted is None:
            return None
        return self.line.counted - self.line.expected


class StockCountService:
    """Stock counts of one tenant, on the request's session."""

    def __init__(self, inventory: InventoryService):
        self.inventory = inventory
        self.db = inventory.db
        self.tenant_id = inventory.tenant_id

    @classmethod
    def factory(cls, context, request):
        return cls(request.find_service(InventoryService))

    # -- reading ---------------------------------------------------------------------
    def get(self, count_id) -> StockCount | None:
        return self.db.get(StockCount, (self.tenant_id, count_id)) if count_id else None

    def counts(self, *, limit=50, offset=0) -> list[tuple[StockCount, Location, int, int]]:
        """(count, location, lines, lines counted), newest first."""
        lines = (
            select(
                StockCountLine.count_id,
                func.count().label("lines"),
                func.count(StockCountLine.counted).label("counted"),
            )
            .group_by(StockCountLine.count_id)
            .subquery()
        )
        query = (
            select(
                StockCount,
                Location,
                func.coalesce(lines.c.lines, 0),
                func.coalesce(lines.c.counted, 0),
            )
            .join(Location, Location.id == StockCount.location_id)
            .outerjoin(lines, lines.c.count_id == StockCount.id)
            .order_by(StockCount.number.desc())
        )
        return [tuple(row) for row in self.db.execute(query.limit(limit).offset(offset))]

    def total(self) -> int:
        return self.db.scalar(select(func.count(StockCount.id)))

    def _lines_query(self, count: StockCount, q: str | None, show: str):
        query = (
            select(StockCountLine, Product)
            .join(Product, Product.id == StockCountLine.product_id)
            .where(StockCountLine.count_id == count.id)
        )
        if q:
            query = query.where(product_matches(q))
        if show == "uncounted":
            query = query.where(StockCountLine.counted.is_(None))
        elif show == "counted":
            query = query.where(StockCountLine.counted.is_not(None))
        elif show == "different":
            query = query.where(
                and_(
                    StockCountLine.counted.is_not(None),
                    StockCountLine.counted != StockCountLine.expected,
                )
            )
        return query

    def lines(self, count: StockCount, *, q=None, show="all", limit=50, offset=0) -> list[CountRow]:
        query = self._lines_query(count, q, show).order_by(Product.name, Product.id)
        return [CountRow(line, p) for line, p in self.db.execute(query.limit(limit).offset(offset))]

    def count_lines(self, count: StockCount, *, q=None, show="all") -> int:
        query = self._lines_query(count, q, show)
        return self.db.scalar(select(func.count()).select_from(query.subquery()))

    def summary(self, count: StockCount) -> dict:
        """Lines, lines counted, and lines whose count differs from what was expected."""
        row = self.db.execute(
            select(
                func.count(),
                func.count(StockCountLine.counted),
                func.count().filter(StockCountLine.counted != StockCountLine.expected),
            ).where(StockCountLine.count_id == count.id)
        ).one()
        return {"lines": row[0], "counted": row[1], "different": row[2]}

    # -- writing ---------------------------------------------------------------------
    def start(self, location_id) -> StockCount:
        """A new count sheet of the location: every active product, and every other one
        with stock history there, with its on hand now as expected."""
        location = self.inventory.location(location_id)
        if location is None or not location.is_active:
            raise StockError({"location_id": "choose an active location"})
        self.db.execute(
            select(Location.id).where(Location.id == location.id).with_for_update()
        )  # one open count per location, even when two people start one at once
        open_count = self.db.scalar(
            select(StockCount.number).where(
                StockCount.location_id == location.id, StockCount.status == COUNT_OPEN
            )
        )
        if open_count is not None:
            raise StockError(
                {
                    "location_id": f"stock count {open_count} of {location.name} is still open; "
                    "post it (or finish counting) before starting another"
                }
            )
        number = next_number(self.db, StockCount, self.tenant_id)
        count = StockCount(
            tenant_id=self.tenant_id,
            id=uuid7(),
            number=number,
            location_id=location.id,
            status=COUNT_OPEN,
            started_by=self.inventory.user_id,
        )
        self.db.add(count)
        self.db.flush()
        totals = (
            select(StockMovement.product_id, func.sum(StockMovement.quantity).label("on_hand"))
            .where(StockMovement.location_id == location.id)
            .group_by(StockMovement.product_id)
            .subquery()
        )
        products = self.db.execute(
            select(Product.id, func.coalesce(totals.c.on_hand, 0))
            .outerjoin(totals, totals.c.product_id == Product.id)
            .where(or_(Product.is_active, totals.c.product_id.is_not(None)))
        ).all()
        if products:
            self.db.execute(
                insert(StockCountLine),
                [
                    {
                        "tenant_id": self.tenant_id,
                        "id": uuid7(),
                        "count_id": count.id,
                        "product_id": product_id,
                        "expected": on_hand,
                    }
                    for product_id, on_hand in products
                ],
            )
        return count

    def record(self, count: StockCount, counted: dict[uuid.UUID, Decimal | None]) -> int:
        """Set the counted quantity of lines by id (None: not counted); returns how many
        lines of the count were given."""
        self._require_open(count)
        for value in counted.values():
            if value is not None and not Decimal(0) <= value <= MAX_QUANTITY:
                raise StockError({"counted": f"must be between 0 and {MAX_QUANTITY:,}"})
        lines = self.db.scalars(
            select(StockCountLine).where(
                StockCountLine.count_id == count.id, StockCountLine.id.in_(list(counted))
            )
        ).all()
        for line in lines:
            line.counted = counted[line.id]
        self.db.flush()
        return len(lines)

    def post(self, count: StockCount) -> int:
        """Write each counted line's difference as an "adjust" movement with the reason
        "stock count <n>", and close the count; returns how many movements were written.
        Lines not counted are left as they are."""
        self.db.refresh(count, with_for_update=True)  # posting twice at once posts once
        self._require_open(count)
        reason = f"stock count {count.number}"
        rows = self.db.execute(
            select(StockCountLine.product_id, StockCountLine.counted - StockCountLine.expected)
            .where(
                StockCountLine.count_id == count.id,
                StockCountLine.counted.is_not(None),
                StockCountLine.counted != StockCountLine.expected,
            )
            .order_by(StockCountLine.product_id)
        ).all()
        self.inventory.lock_products([product_id for product_id, _ in rows])
        for product_id, difference in rows:
            self.inventory.record(
                "adjust",
                product_id,
                count.location_id,
                difference,
                reference=count.id,
                reason=reason,
            )
        count.status = COUNT_POSTED
        count.posted_by = self.inventory.user_id
        count.posted_at = dt.datetime.now(dt.UTC)
        self.db.flush()
        return len(rows)

    def _require_open(self, count: StockCount) -> None:
        if count.status != COUNT_OPEN:
            raise StockError(
                {"count": f"stock count {count.number} is posted; a posted count cannot change"}
            )
