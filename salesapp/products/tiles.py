"""The till's product tiles: the quick keys of a location, the categories of the active
products, and the products of one category, as plain values the till's template
(``sales/_tiles.jinja2``) renders as big buttons.

The till (salesapp.sales) calls :func:`till_tiles` on the request's session, which is
bound to the tenant: row-level security keeps every query to the tenant's rows. Only
active products become tiles; a quick key whose product was deactivated stays arranged
(it is back when the product is) but is not shown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Product, QuickKey

#: at most this many products of a category are tiles (a category larger than that is
#: a case for the scanner or the search)
MAX_CATEGORY_TILES = 60


@dataclass(frozen=True)
class Tile:
    """One button of the till: the product it adds and what the button shows."""

    product_id: uuid.UUID
    label: str
    price: Decimal
    colour: str | None
    open_price: bool
    sold_by_weight: bool
    sku: str


@dataclass(frozen=True)
class TillTiles:
    """What the till's tile grid shows: the location's quick keys in their order, the
    categories to choose from (sorted), and the products of the chosen category by name
    (none when no category is chosen). ``category`` is the chosen one, ``location_id``
    the location whose keys these are (for a link to arrange them)."""

    quick_keys: list[Tile]
    categories: list[str]
    products: list[Tile]
    category: str | None = None
    location_id: uuid.UUID | None = None


def till_tiles(
    db: Session, location_id: uuid.UUID | None, category: str | None = None
) -> TillTiles:
    """The tiles of the till at ``location_id`` (no quick keys without a location),
    with the products of ``category`` when one is chosen (an unknown one has none)."""
    return TillTiles(
        quick_keys=_quick_key_tiles(db, location_id) if location_id is not None else [],
        categories=_categories(db),
        products=_category_tiles(db, category) if category else [],
        category=category or None,
        location_id=location_id,
    )


def product_tile(product: Product, *, label: str | None = None, colour: str | None = None) -> Tile:
    """The tile of ``product``: its name unless a key gives another label."""
    return Tile(
        product_id=product.id,
        label=label or product.name,
        price=product.unit_price,
        colour=colour,
        open_price=product.open_price,
        sold_by_weight=product.sold_by_weight,
        sku=product.sku,
    )


def _quick_key_tiles(db: Session, location_id: uuid.UUID) -> list[Tile]:
    query = (
        select(QuickKey, Product)
        .join(
            Product,
            (Product.tenant_id == QuickKey.tenant_id) & (Product.id == QuickKey.product_id),
        )
        .where(QuickKey.location_id == location_id, Product.is_active)
        .order_by(QuickKey.position, QuickKey.id)
    )
    return [
        product_tile(product, label=key.label, colour=key.colour)
        for key, product in db.execute(query)
    ]


def _categories(db: Session) -> list[str]:
    query = (
        select(Product.category)
        .where(Product.is_active, Product.category != "")
        .distinct()
        .order_by(Product.category)
    )
    return list(db.scalars(query))


def _category_tiles(db: Session, category: str) -> list[Tile]:
    query = (
        select(Product)
        .where(Product.is_active, Product.category == category)
        .order_by(Product.name, Product.sku)
        .limit(MAX_CATEGORY_TILES)
    )
    return [product_tile(product) for product in db.scalars(query)]
