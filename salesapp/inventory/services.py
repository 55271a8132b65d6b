"""Stock: an append-only ledger of movements per product and location.

Stock on hand is always the sum of the ledger; nothing stores a running balance that
could drift from it. Movements that take stock out lock the products' rows first
(in id order, so two tills cannot deadlock), so two concurrent sales cannot both
take the last unit when negative stock is not allowed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, null, or_, select

from ..accounts.models import User
from ..forms import FormError
from ..ids import uuid7
from ..locations.models import Location
from ..preferences.models import WorkspaceSettings
from ..products.models import Product
from .models import ReorderLevel, StockMovement

ZERO = Decimal("0")
MAX_QUANTITY = Decimal("1000000")


class StockError(FormError):
    """A refused stock change; per-field messages."""


@dataclass(frozen=True)
class StockLevel:
    """On hand of a product at a location, with the level it is low at there (None: no
    level applies, so it is never low)."""

    product: Product
    location: Location
    on_hand: Decimal
    reorder_at: Decimal | None = None

    @property
    def low(self) -> bool:
        return self.reorder_at is not None and self.on_hand <= self.reorder_at


@dataclass(frozen=True)
class MovementFilter:
    """What the movements page shows: each field narrows it (None: any)."""

    product_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    kind: str | None = None
    user_id: uuid.UUID | None = None
    #: UTC instants, start inclusive, end exclusive (``request.local.day_range``)
    start: dt.datetime | None = None
    end: dt.datetime | None = None


@dataclass(frozen=True)
class MovementRow:
    movement: StockMovement
    product: Product
    location: Location
    #: who made it: the user's name, None for none (a movement from before users were kept)
    who: str | None


def next_number(db, model, tenant_id: int) -> int:
    """The next number of a tenant's counts, orders or receipts (1, 2, 3...). A lock
    held until the transaction ends makes two people numbering at once take turns
    rather than collide on the unique number."""
    key = f"{model.__tablename__}.number:{tenant_id}"
    db.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    return (db.scalar(select(func.max(model.number))) or 0) + 1


def like_pattern(q: str) -> str:
    """``q`` as an ILIKE pattern matching it anywhere, its wildcards escaped."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def product_matches(q: str):
    """Products whose name contains ``q``, or whose SKU or barcode is ``q``."""
    return or_(
        Product.name.ilike(like_pattern(q), escape="\\"), Product.sku == q, Product.barcode == q
    )


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

    def _levels_query(self, *, location_id=None, q: str | None = None, low_only=False):
        """A query of (Product, Location, on hand, reorder at): every active product at
        every active location, zero where nothing moved.

        Where is a product low? At or below its level for that location (reorder_levels)
        or, without one, its own ``reorder_level``, but the latter only where it has stock
        history: a new location with no movements does not list every product as low.
        """
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
        reorder_at = func.coalesce(
            ReorderLevel.level,
            case((totals.c.product_id.is_not(None), Product.reorder_level), else_=null()),
        )
        query = (
            select(Product, Location, on_hand, reorder_at)
            .join_from(Product, Location, Location.is_active.is_(True))  # product x location
            .outerjoin(
                totals,
                and_(totals.c.product_id == Product.id, totals.c.location_id == Location.id),
            )
            .outerjoin(
                ReorderLevel,
                and_(
                    ReorderLevel.product_id == Product.id, ReorderLevel.location_id == Location.id
                ),
            )
            .where(Product.is_active)
        )
        if location_id is not None:
            query = query.where(Location.id == location_id)
        if q:
            query = query.where(product_matches(q))
        if low_only:
            query = query.where(on_hand <= reorder_at)
        return query

    def levels(
        self, *, location_id=None, q: str | None = None, low_only=False, limit=100, offset=0
    ) -> list[StockLevel]:
        """Stock per active product and location (zero where nothing moved), by product
        name then location, a page at a time."""
        query = self._levels_query(location_id=location_id, q=q, low_only=low_only)
        query = query.order_by(Product.name, Product.id, Location.name, Location.id)
        rows = self.db.execute(query.limit(limit).offset(offset)).all()
        return [StockLevel(p, loc, qty, level) for p, loc, qty, level in rows]

    def count_levels(self, *, location_id=None, q: str | None = None, low_only=False) -> int:
        """How many rows :meth:`levels` has over all its pages."""
        query = self._levels_query(location_id=location_id, q=q, low_only=low_only)
        return self.db.scalar(select(func.count()).select_from(query.subquery()))

    def low_stock(self, location_id=None, limit=100, offset=0) -> list[StockLevel]:
        return self.levels(location_id=location_id, low_only=True, limit=limit, offset=offset)

    def _movements_query(self, filters: MovementFilter):
        query = (
            select(StockMovement, Product, Location, User.full_name, User.username)
            .join(Product, Product.id == StockMovement.product_id)
            .join(Location, Location.id == StockMovement.location_id)
            .outerjoin(User, User.id == StockMovement.user_id)
        )
        conditions = {
            StockMovement.product_id: filters.product_id,
            StockMovement.location_id: filters.location_id,
            StockMovement.kind: filters.kind,
            StockMovement.user_id: filters.user_id,
        }
        for column, value in conditions.items():
            if value is not None:
                query = query.where(column == value)
        if filters.start is not None:
            query = query.where(StockMovement.created_at >= filters.start)
        if filters.end is not None:
            query = query.where(StockMovement.created_at < filters.end)
        return query

    def movements(
        self, filters: MovementFilter | None = None, *, limit=100, offset=0, **narrow
    ) -> list[MovementRow]:
        """The ledger, newest first, a page at a time (``narrow``: MovementFilter's
        fields, for callers that name one or two)."""
        filters = filters or MovementFilter(**narrow)
        query = self._movements_query(filters).order_by(
            StockMovement.created_at.desc(), StockMovement.id.desc()
        )
        rows = self.db.execute(query.limit(limit).offset(offset)).all()
        return [
            MovementRow(movement, product, location, (full_name or username) if username else None)
            for movement, product, location, full_name, username in rows
        ]

    def count_movements(self, filters: MovementFilter) -> int:
        query = self._movements_query(filters).with_only_columns(func.count(StockMovement.id))
        return self.db.scalar(query)

    def movers(self) -> list[tuple[uuid.UUID, str]]:
        """(id, name) of every user, for the movements page's "who" filter."""
        rows = self.db.execute(
            select(User.id, User.full_name, User.username).order_by(User.username)
        )
        return [
            (user_id, f"{full_name} ({username})" if full_name else username)
            for user_id, full_name, username in rows
        ]

    # -- reorder levels --------------------------------------------------------------
    def set_reorder_level(self, product_id, location_id, level: Decimal | None) -> None:
        """The product's level at the location; None removes it (the product's own
        level applies again, where it has stock history)."""
        if level is not None and not ZERO <= level <= MAX_QUANTITY:
            raise StockError({"level": f"must be between 0 and {MAX_QUANTITY:,}"})
        row = self.db.scalars(
            select(ReorderLevel).where(
                ReorderLevel.product_id == product_id, ReorderLevel.location_id == location_id
            )
        ).one_or_none()
        if level is None:
            if row is not None:
                self.db.delete(row)
        elif row is None:
            self.db.add(
                ReorderLevel(
                    tenant_id=self.tenant_id,
                    id=uuid7(),
                    product_id=product_id,
                    location_id=location_id,
                    level=level,
                )
            )
        else:
            row.level = level
        self.db.flush()

    def reorder_levels(self, location_id) -> dict[uuid.UUID, Decimal]:
        """{product_id: level} set for the location."""
        rows = self.db.execute(
            select(ReorderLevel.product_id, ReorderLevel.level).where(
                ReorderLevel.location_id == location_id
            )
        )
        return dict(rows.all())

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

    # -- opening stock (the products CSV import) ---------------------------------------
    def post_opening_stock(self, openings) -> int:
        """Receive each product's opening stock at each location, as "receive" movements
        in the caller's transaction (the import's); returns how many were written.

        ``openings``: (line, sku, {location_id: quantity}) per row of the file. Opening
        stock is for a product new to a location: where the product already has stock
        history there, the whole import is refused (StockError naming the line), so a
        file imported twice does not double the stock; a receipt or a count corrects it.
        """
        openings = [(line, sku, stock) for line, sku, stock in openings if stock]
        if not openings:
            return 0
        by_sku = {
            p.sku: p
            for p in self.db.scalars(
                select(Product).where(Product.sku.in_([sku for _, sku, _ in openings]))
            )
        }
        self.lock_products([p.id for p in by_sku.values()])
        history = self.on_hand([p.id for p in by_sku.values()])
        names = {loc.id: loc.name for loc in self.db.scalars(select(Location))}
        errors, written = {}, 0
        for line, sku, stock in openings:
            product = by_sku[sku]
            for location_id, quantity in stock.items():
                if (product.id, location_id) in history:
                    errors[f"line {line}"] = (
                        f"line {line}: {sku} already has stock at {names[location_id]}; opening "
                        "stock is only for a product new to a location (receive goods or "
                        "count the stock instead)"
                    )
                elif quantity:
                    self.record(
                        "receive", product.id, location_id, quantity, reason="opening stock"
                    )
                    written += 1
        if errors:
            raise StockError(errors)
        return written
