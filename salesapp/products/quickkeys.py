"""Quick keys: the product keys a Manager arranges per location for the till (goods
without barcodes, the day's best sellers).

A location has at most :data:`MAX_QUICK_KEYS` keys, in ``position`` order 0, 1, 2, …
with no gaps: adding puts a key last, removing closes the gap, moving swaps a key with
its neighbour. Every change first locks the location's row, so two Managers arranging
the same till at once take turns instead of both taking the same position.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..forms import Form
from ..locations.models import Location
from ..services import TenantService
from .models import PALETTE, Product, QuickKey

#: the most keys one location's till shows (eight rows of six)
MAX_QUICK_KEYS = 48
#: the longest label a key shows (a tile has room for about two short lines)
MAX_LABEL = 40


class QuickKeyError(ValueError):
    """A refused change; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class KeyLook:
    """What a key shows: its label (blank: the product's name) and colour (or none)."""

    label: str | None
    colour: str | None


def parse_look(data) -> KeyLook:
    """The label (at most :data:`MAX_LABEL` characters, blank for the product's name)
    and the colour (one of :data:`PALETTE`, blank for none) of a key's form; raises
    FormError with a message per bad field."""
    form = Form(data)
    look = KeyLook(
        label=form.text("label", max_length=MAX_LABEL) or None,
        colour=form.choice("colour", PALETTE, required=False) or None,
    )
    form.check()
    return look


@dataclass(frozen=True)
class ArrangedKey:
    """A key of the location's till and its product, as the arranging page lists them."""

    key: QuickKey
    product: Product


class QuickKeyService(TenantService):
    """The quick keys of one tenant's locations, on that tenant's session."""

    model = QuickKey

    def arranged(self, location: Location) -> list[ArrangedKey]:
        """Every key of ``location`` in order, inactive products' keys too (they are
        kept and come back to the till when their product is active again)."""
        query = (
            select(QuickKey, Product)
            .join(
                Product,
                (Product.tenant_id == QuickKey.tenant_id) & (Product.id == QuickKey.product_id),
            )
            .where(QuickKey.location_id == location.id)
            .order_by(QuickKey.position, QuickKey.id)
        )
        return [ArrangedKey(key, product) for key, product in self.db.execute(query)]

    def key_of(self, location: Location, key_id) -> QuickKey | None:
        """The key with this id if it belongs to ``location``."""
        key = self.get(key_id)
        return key if key is not None and key.location_id == location.id else None

    # -- changes ---------------------------------------------------------------------
    def add(self, location: Location, product: Product, look: KeyLook) -> QuickKey:
        """A new key for ``product``, last on ``location``'s till."""
        keys = self._locked_keys(location)
        if not product.is_active:
            raise QuickKeyError(
                f"{product.name} is inactive; activate it before making it a quick key.",
                "product_id",
            )
        for number, key in enumerate(keys, start=1):
            if key.product_id == product.id:
                raise QuickKeyError(
                    f"{product.name} is already quick key {number} of {location.name}.",
                    "product_id",
                )
        if len(keys) >= MAX_QUICK_KEYS:
            raise QuickKeyError(
                f"{location.name} already has {MAX_QUICK_KEYS} quick keys, the most a till "
                "shows; remove one first.",
                "product_id",
            )
        key = QuickKey(
            tenant_id=self.tenant_id,
            location_id=location.id,
            position=len(keys),
            product_id=product.id,
            label=look.label,
            colour=look.colour,
        )
        self.db.add(key)
        self.db.flush()
        return key

    def restyle(self, key: QuickKey, look: KeyLook) -> None:
        """Change what ``key`` shows."""
        key.label = look.label
        key.colour = look.colour
        self.db.flush()

    def move(self, location: Location, key: QuickKey, step: int) -> bool:
        """Swap ``key`` with its neighbour ``step`` places on (-1: earlier, 1: later);
        False when it is already first (or last)."""
        keys = self._locked_keys(location)
        index = keys.index(key)
        other = index + step
        if not 0 <= other < len(keys):
            return False
        keys[index], keys[other] = keys[other], keys[index]
        self._renumber(keys)
        return True

    def remove(self, location: Location, key: QuickKey) -> None:
        """Take ``key`` off the till; the keys after it move up one place."""
        keys = self._locked_keys(location)
        keys.remove(key)
        self.db.delete(key)
        self._renumber(keys)

    # -- rules -----------------------------------------------------------------------
    def _locked_keys(self, location: Location) -> list[QuickKey]:
        """Lock ``location`` (changes to its keys take turns), then its keys in order."""
        self.db.execute(select(Location.id).where(Location.id == location.id).with_for_update())
        query = (
            select(QuickKey)
            .where(QuickKey.location_id == location.id)
            .order_by(QuickKey.position, QuickKey.id)
        )
        return list(self.db.scalars(query))

    def _renumber(self, keys: list[QuickKey]) -> None:
        # the positions' uniqueness is checked at commit, so a swap may pass through
        # two keys sharing one
        for position, key in enumerate(keys):
            if key.position != position:
                key.position = position
        self.db.flush()
