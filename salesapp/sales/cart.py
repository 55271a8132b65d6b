"""The till's cart, kept in the tenant's store (``pos_carts``, one row per user) until
the sale is completed.

It used to live in the session cookie, which a browser caps at 4 KB: a cart near its
50-line maximum no longer fitted and the till failed. In the store it has room, it
follows the user from one browser to another, and row-level security keeps it the
tenant's. A cart nobody completes (a deactivated user's) stays until that user's next
sale empties it, or goes with the user's row.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert

from .models import PosCart
from .services import MAX_LINES, CartLine


def _read_lines(rows) -> list[CartLine]:
    """The stored ``[product_id, quantity, discount]`` rows as cart lines; a damaged row
    loses that line, nothing else."""
    lines = []
    for row in rows if isinstance(rows, list) else []:
        try:
            product_id, quantity, discount = row
            lines.append(CartLine(uuid.UUID(product_id), Decimal(quantity), Decimal(discount)))
        except (TypeError, ValueError, InvalidOperation):
            continue
    return lines


class Cart:
    """Lines (product, quantity, discount) and an optional customer of one user's till."""

    def __init__(self, dbsession, tenant_id: int, user_id: uuid.UUID):
        self.db, self.tenant_id, self.user_id = dbsession, tenant_id, user_id
        row = dbsession.get(PosCart, (tenant_id, user_id))
        self.lines: list[CartLine] = _read_lines(row.lines) if row else []
        self.customer_id: uuid.UUID | None = row.customer_id if row else None

    @classmethod
    def for_request(cls, request) -> Cart:
        """The signed-in user's cart."""
        return cls(request.dbsession, request.tenant.id, request.user.id)

    def save(self) -> None:
        """Write the cart (insert or replace the user's row)."""
        lines = [[str(x.product_id), str(x.quantity), str(x.discount)] for x in self.lines]
        self.db.execute(
            insert(PosCart)
            .values(
                tenant_id=self.tenant_id,
                user_id=self.user_id,
                lines=lines,
                customer_id=self.customer_id,
            )
            .on_conflict_do_update(
                index_elements=["tenant_id", "user_id"],
                set_={"lines": lines, "customer_id": self.customer_id, "updated_at": func.now()},
            )
        )

    def clear(self) -> None:
        self.lines, self.customer_id = [], None
        self.db.execute(delete(PosCart).where(PosCart.user_id == self.user_id))

    def add(self, product_id: uuid.UUID, quantity: Decimal) -> bool:
        """Add to the product's line (or a new line); False if the cart is full."""
        for line in self.lines:
            if line.product_id == product_id:
                line.quantity += quantity
                return True
        if len(self.lines) >= MAX_LINES:
            return False
        self.lines.append(CartLine(product_id, quantity))
        return True

    def __len__(self):
        return len(self.lines)
