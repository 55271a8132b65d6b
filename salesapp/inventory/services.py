"""Stock: an append-only ledger of movements per product and location.

Stock on hand is always the sum of the ledger; nothing stores a running balance that
could drift from it. Movements that take stock out lock the products' rows first
(in id order, so two tills cannot deadlock), so two concurrent sales cannot both
take the last unit when negative stock is not allowed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, or_, select

from ..forms import FormError
from ..ids import uuid7
from ..locations.models import Location
from ..preferences.models import WorkspaceSettings
from ..products.models import Product
from .models import StockMovement

ZERO = Decimal("0")
MAX_QUANTITY = Decimal("1000000")


class StockError(FormError):
    """A refused stock change; per-field messages."""


@dataclass(frozen=True)
class StockLevel:
    product: Product
    location: Location
    on_hand: Decimal

    @property
    def low(self) -> bool:
        return self.on_hand <= self.product.reorder_level


class InventoryService:
    def __init__(self, dbsession, tenant_id: int, user_id: uuid.UUID | None = None):
        self.db = dbsession
        self.tenant_id = tenant_id
        self.user_id = user_id

    @classmethod
    def factory(cls, context, request):
        user = request.user
        return cls(request.dbsession, request.tenant.id, user.id if user else None)

    # -- reading ---------------------------------------------------------------------
    def allow_negative_stock(self) -> bool:
        settings = self.db.get(WorkspaceSettings, self.tenant_id)
        return bool(settings and settings.allow_negative_stock)

    def locations(self) -> list[Location]:
        return list(
            self.db.scalars(
                select(Location)
                .where(Location.is_active)
                .order_by(Location.is_default.desc(), Location.name)
            )
        )

    def default_location(self) -> Location:
        return self.db.scalars(select(Location).where(Location.is_default).limit(1)).one()

    def location(self, location_id) -> Location | None:
        if location_id is None:
            return None
        return self.db.get(Location, (self.tenant_id, location_id))

    def on_hand(self, product_ids=None, location_id=None) -> dict[tuple, Decimal]:
        """{(product_id, location_id): quantity} from the ledger."""
        query = select(
            StockMovement.product_id, StockMovement.location_id, func.sum(StockMovement.quantity)
        ).group_by(StockMovement.product_id, StockMovement.location_id)
        if product_ids is not None:
            query = query.where(StockMovement.product_id.in_(list(product_ids)))
        if location_id is not None:
            query = query.where(StockMovement.location_id == location_id)
        return {(p, loc): qty for p, loc, qty in self.db.execute(query)}

    def on_hand_of(self, product_id, location_id) -> Decimal:
        return self.on_hand([product_id], location_id).get((product_id, location_id), ZERO)

    def levels(
        self, *, location_id=None, q: str | None = None, low_only=False, limit=100, offset=0
    ) -> list[StockLevel]:
        """Stock per active product and location (zero where nothing moved)."""
        totals = (
            select(
                StockMovement.product_id.label("product_id"),
                StockMovement.location_id.label("location_id"),
                func.sum(StockMovement.quantity).label("on_hand"),
            )
            .group_by(StockMovement.product_id, StockMovement.location_id)
            .subquery()
        )
        on_hand = func.coalesce(totals.c.on_hand, 0)
        query = (
            select(Product, Location, on_hand)
            .join_from(Product, Location, Location.is_active.is_(True))  # product x location
            .outerjoin(
                totals,
                and_(totals.c.product_id == Product.id, totals.c.location_id == Location.id),
            )
            .where(Product.is_active)
            .order_by(Product.name, Location.name)
        )
        if location_id is not None:
            query = query.where(Location.id == location_id)
        if q:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                or_(
                    Product.name.ilike(pattern, escape="\\"), Product.sku == q, Product.barcode == q
                )
            )
        if low_only:
            query = query.where(on_hand <= Product.reorder_level)
        rows = self.db.execute(query.limit(limit).offset(offset)).all()
        return [StockLevel(p, loc, qty) for p, loc, qty in rows]

    def low_stock(self, location_id=None, limit=100) -> list[StockLevel]:
        return self.levels(location_id=location_id, low_only=True, limit=limit)

    def movements(self, *, product_id=None, location_id=None, limit=100, offset=0):
        query = (
            select(StockMovement, Product, Location)
            .join(Product, Product.id == StockMovement.product_id)
            .join(Location, Location.id == StockMovement.location_id)
            .order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
        )
        if product_id is not None:
            query = query.where(StockMovement.product_id == product_id)
        if location_id is not None:
            query = query.where(StockMovement.location_id == location_id)
        return self.db.execute(query.limit(limit).offset(offset)).all()

    # -- writing ---------------------------------------------------------------------
    def lock_products(self, product_ids) -> dict[uuid.UUID, Product]:
        """Lock the products' rows until the transaction ends, in id order."""
        ids = sorted(set(product_ids))
        rows = self.db.scalars(
            select(Product).where(Product.id.in_(ids)).order_by(Product.id).with_for_update()
        ).all()
        return {p.id: p for p in rows}

    def record(self, kind, product_id, location_id, quantity, *, reference=None, reason=""):
        """Append one movement (no checks: callers check)."""
        movement = StockMovement(
            tenant_id=self.tenant_id,
            id=uuid7(),
            product_id=product_id,
            location_id=location_id,
            quantity=quantity,
            kind=kind,
            reason=reason,
            reference=reference,
            user_id=self.user_id,
        )
        self.db.add(movement)
        return movement

    def require_available(self, products: dict, wanted: dict, location_id) -> None:
        """Refuse taking out more than is on hand (unless the tenant allows negative stock).

        ``wanted``: {product_id: quantity}; the products must already be locked.
        """
        if self.allow_negative_stock():
            return
        have = self.on_hand(list(wanted), location_id)
        short = {}
        for product_id, quantity in wanted.items():
            available = have.get((product_id, location_id), ZERO)
            if quantity > available:
                product = products[product_id]
                short[f"product:{product_id}"] = (
                    f"only {available.normalize():f} of {product.name} ({product.sku}) on hand, "
                    f"{quantity.normalize():f} wanted"
                )
        if short:
            raise StockError(short)

    def _checked(self, product_id, location_id, quantity, *, allow_zero=False, signed=False):
        errors = {}
        product = self.lock_products([product_id]).get(product_id) if product_id else None
        if product is None:
            errors["product_id"] = "choose a product"
        location = self.location(location_id)
        if location is None or not location.is_active:
            errors["location_id"] = "choose an active location"
        if quantity is None:
            errors.setdefault("quantity", "is required")
        elif (
            (quantity == 0 and not allow_zero)
            or abs(quantity) > MAX_QUANTITY
            or (quantity < 0 and not signed)
        ):
            errors["quantity"] = (
                "must be a non-zero amount" if signed else "must be more than 0"
            ) + f", at most {MAX_QUANTITY:,}"
        if errors:
            raise StockError(errors)
        return product

    def receive(self, product_id, location_id, quantity, reason=""):
        """Goods in: a positive movement."""
        self._checked(product_id, location_id, quantity)
        return self.record("receive", product_id, location_id, quantity, reason=reason)

    def adjust(self, product_id, location_id, delta, reason):
        """A correction (count, damage, theft): signed, with a reason."""
        if not (reason or "").strip():
            raise StockError({"reason": "say why the stock is adjusted (e.g. stock count)"})
        product = self._checked(product_id, location_id, delta, signed=True)
        if delta < 0:
            self.require_available({product_id: product}, {product_id: -delta}, location_id)
        return self.record("adjust", product_id, location_id, delta, reason=reason.strip())

    def transfer(self, product_id, from_location_id, to_location_id, quantity, reason=""):
        """Move stock between two locations: two movements sharing one reference."""
        if from_location_id is not None and from_location_id == to_location_id:
            raise StockError({"to_location_id": "choose a different location to move to"})
        product = self._checked(product_id, from_location_id, quantity)
        if self.location(to_location_id) is None:
            raise StockError({"to_location_id": "choose an active location"})
        self.require_available({product_id: product}, {product_id: quantity}, from_location_id)
        reference = uuid7()
        out = self.record(
            "transfer_out",
            product_id,
            from_location_id,
            -quantity,
            reference=reference,
            reason=reason,
        )
        into = self.record(
            "transfer_in", product_id, to_location_id, quantity, reference=reference, reason=reason
        )
        return out, into
