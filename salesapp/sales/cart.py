"""The till's cart, kept in the session until the sale is completed."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from .services import MAX_LINES, CartLine

KEY = "pos_cart"


class Cart:
    """Lines (product, quantity, discount) and an optional customer, in request.session."""

    def __init__(self, session):
        self.session = session
        data = session.get(KEY) or {}
        self.lines: list[CartLine] = []
        for product_id, quantity, discount in data.get("lines", []):
            try:
                self.lines.append(
                    CartLine(uuid.UUID(product_id), Decimal(quantity), Decimal(discount))
                )
            except (ValueError, InvalidOperation):
                continue  # a damaged cookie loses that line, nothing else
        customer = data.get("customer_id")
        self.customer_id = uuid.UUID(customer) if customer else None

    def save(self) -> None:
        self.session[KEY] = {
            "lines": [[str(x.product_id), str(x.quantity), str(x.discount)] for x in self.lines],
            "customer_id": str(self.customer_id) if self.customer_id else None,
        }

    def clear(self) -> None:
        self.lines, self.customer_id = [], None
        self.session.pop(KEY, None)

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
