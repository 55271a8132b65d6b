"""Suppliers, purchase orders and goods receipts.

A goods receipt is checked whole before anything is written: a bad line is named by its
number and nothing is saved. Then the receipt, its lines and one "receive" movement per
line are written in the caller's transaction. A receipt against an order moves the
order's status: partly received until every line has come in, then fully received.
What an order has received is summed from its receipts, never kept as a running count.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from ..customers.services import EMAIL
from ..forms import Form, FormError
from ..ids import uuid7
from ..inventory.services import MAX_QUANTITY, InventoryService, next_number
from ..locations.models import Location
from ..products.models import Product
from ..services import TenantService
from .models import (
    GoodsReceipt,
    GoodsReceiptLine,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
)

MAX_COST = Decimal("9999999999.99")
#: the most lines a receipt or an order has (a page of the form carries them all)
MAX_LINES = 500
SUPPLIER_FIELDS = ("name", "contact", "phone", "email", "notes")
#: what may happen to an order in each status
CAN_EDIT = {OrderStatus.DRAFT}
CAN_SEND = {OrderStatus.DRAFT}
CAN_CANCEL = {OrderStatus.DRAFT, OrderStatus.SENT}
CAN_RECEIVE = {OrderStatus.SENT, OrderStatus.PARTIAL}


class PurchasingError(FormError):
    """A refused supplier, order or receipt; per-field (or per-line) messages."""


@dataclass(frozen=True)
class Line:
    """A checked line of a receipt or order, numbered as the person saw it (1 first)."""

    number: int
    product_id: uuid.UUID
    quantity: Decimal
    unit_cost: Decimal


@dataclass(frozen=True)
class OrderLineRow:
    line: PurchaseOrderLine
    product: Product
    received: Decimal

    @property
    def outstanding(self) -> Decimal:
        return max(self.line.quantity - self.received, Decimal(0))


def read_supplier_fields(form: Form) -> dict:
    """A supplier's fields from ``form``; problems are collected in ``form.errors``."""
    fields = {
        "name": form.text("name", required=True, max_length=120),
        "contact": form.text("contact", max_length=200),
        "phone": form.text("phone", max_length=50),
        "email": form.text("email", max_length=254),
        "notes": form.text("notes", max_length=2000),
    }
    if fields["email"] and "email" not in form.errors and not EMAIL.match(fields["email"]):
        form.error("email", f"is not a valid e-mail address: {fields['email'][:60]!r}")
    return fields


class PurchasingService(TenantService):
    """Suppliers, purchase orders and goods receipts of one tenant."""

    def __init__(self, dbsession, tenant_id: int, user_id: uuid.UUID | None = None):
        super().__init__(dbsession, tenant_id)
        self.user_id = user_id
        self.inventory = InventoryService(dbsession, tenant_id, user_id)

    @classmethod
    def factory(cls, context, request):
        user = request.user
        return cls(request.dbsession, request.tenant.id, user.id if user else None)

    def _get(self, model, row_id):
        try:
            key = uuid.UUID(str(row_id))
        except ValueError:
            return None
        return self.db.get(model, (self.tenant_id, key))

    def _next_number(self, model) -> int:
        return next_number(self.db, model, self.tenant_id)

    # -- suppliers -------------------------------------------------------------------
    def supplier(self, supplier_id) -> Supplier | None:
        return self._get(Supplier, supplier_id)

    def suppliers(self, q: str | None = None, *, limit=None, offset=0) -> list[Supplier]:
        query = select(Supplier).order_by(func.lower(Supplier.name), Supplier.id)
        if q:
            query = query.where(Supplier.name.icontains(q, autoescape=True))
        return list(self.db.scalars(query.limit(limit).offset(offset)))

    def count_suppliers(self, q: str | None = None) -> int:
        query = select(func.count(Supplier.id))
        if q:
            query = query.where(Supplier.name.icontains(q, autoescape=True))
        return self.db.scalar(query)

    def save_supplier(self, supplier: Supplier | None, fields: dict) -> Supplier:
        """Create (``supplier`` None) or change a supplier; names are unique."""
        same_name = self.db.scalar(
            select(Supplier).where(func.lower(Supplier.name) == fields["name"].lower())
        )
        if same_name is not None and same_name is not supplier:
            raise PurchasingError({"name": f"{fields['name']} is already a supplier"})
        if supplier is None:
            supplier = Supplier(tenant_id=self.tenant_id, id=uuid7(), **fields)
            self.db.add(supplier)
        else:
            for name, value in fields.items():
                setattr(supplier, name, value)
        self.db.flush()
        return supplier

    # -- purchase orders ------------------------------------------------------------
    def order(self, order_id) -> PurchaseOrder | None:
        return self._get(PurchaseOrder, order_id)

    def _orders_query(self, status: str | None, supplier_id):
        query = (
            select(PurchaseOrder, Supplier, Location)
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .join(Location, Location.id == PurchaseOrder.location_id)
        )
        if status:
            query = query.where(PurchaseOrder.status == status)
        if supplier_id:
            query = query.where(PurchaseOrder.supplier_id == supplier_id)
        return query

    def orders(self, *, status=None, supplier_id=None, limit=50, offset=0) -> list:
        """(order, supplier, location), newest first."""
        query = self._orders_query(status, supplier_id).order_by(PurchaseOrder.number.desc())
        return [tuple(row) for row in self.db.execute(query.limit(limit).offset(offset))]

    def count_orders(self, *, status=None, supplier_id=None) -> int:
        query = self._orders_query(status, supplier_id)
        return self.db.scalar(select(func.count()).select_from(query.subquery()))

    def order_lines(self, order: PurchaseOrder) -> list[OrderLineRow]:
        """The order's lines with what its receipts brought in of each product."""
        received = self.received(order)
        rows = self.db.execute(
            select(PurchaseOrderLine, Product)
            .join(Product, Product.id == PurchaseOrderLine.product_id)
            .where(PurchaseOrderLine.order_id == order.id)
            .order_by(Product.name, Product.id)
        ).all()
        return [
            OrderLineRow(line, product, received.get(product.id, Decimal(0)))
            for line, product in rows
        ]

    def received(self, order: PurchaseOrder) -> dict[uuid.UUID, Decimal]:
        """{product_id: quantity received} over the order's receipts."""
        rows = self.db.execute(
            select(GoodsReceiptLine.product_id, func.sum(GoodsReceiptLine.quantity))
            .join(GoodsReceipt, GoodsReceipt.id == GoodsReceiptLine.receipt_id)
            .where(GoodsReceipt.purchase_order_id == order.id)
            .group_by(GoodsReceiptLine.product_id)
        )
        return dict(rows.all())

    def save_order(
        self, order: PurchaseOrder | None, *, supplier_id, location_id, notes: str, lines
    ) -> PurchaseOrder:
        """Create a draft order, or replace a draft's supplier, location and lines."""
        if order is not None and order.status not in CAN_EDIT:
            raise PurchasingError(
                {"order": f"order {order.number} is {order.status}; only a draft can change"}
            )
        self._check_heading(supplier_id, location_id, supplier_required=True)
        self._check_lines(lines, one_per_product=True)
        if order is None:
            order = PurchaseOrder(
                tenant_id=self.tenant_id,
                id=uuid7(),
                number=self._next_number(PurchaseOrder),
                status=OrderStatus.DRAFT,
                created_by=self.user_id,
            )
            self.db.add(order)
        else:
            for old in self.db.scalars(
                select(PurchaseOrderLine).where(PurchaseOrderLine.order_id == order.id)
            ):
                self.db.delete(old)
        order.supplier_id = supplier_id
        order.location_id = location_id
        order.notes = notes
        self.db.flush()
        for line in lines:
            self.db.add(
                PurchaseOrderLine(
                    tenant_id=self.tenant_id,
                    id=uuid7(),
                    order_id=order.id,
                    product_id=line.product_id,
                    quantity=line.quantity,
                    unit_cost=line.unit_cost,
                )
            )
        self.db.flush()
        return order

    def send(self, order: PurchaseOrder) -> None:
        """Draft -> sent (the order went to the supplier; it can no longer change)."""
        self._move(order, CAN_SEND, "sent")
        order.status = OrderStatus.SENT
        order.sent_at = dt.datetime.now(dt.UTC)
        self.db.flush()

    def cancel(self, order: PurchaseOrder) -> None:
        """A draft or sent order that nothing was received against is cancelled."""
        self._move(order, CAN_CANCEL, "cancelled")
        order.status = OrderStatus.CANCELLED
        self.db.flush()

    def _move(self, order: PurchaseOrder, allowed: set, action: str) -> None:
        self.db.refresh(order, with_for_update=True)
        if order.status not in allowed:
            raise PurchasingError(
                {"order": f"order {order.number} is {order.status} and cannot be {action}"}
            )

    def _settle(self, order: PurchaseOrder) -> None:
        """The order's status from what its receipts brought in."""
        received = self.received(order)
        lines = self.db.scalars(
            select(PurchaseOrderLine).where(PurchaseOrderLine.order_id == order.id)
        ).all()
        done = all(received.get(line.product_id, 0) >= line.quantity for line in lines)
        order.status = OrderStatus.RECEIVED if done else OrderStatus.PARTIAL

    # -- goods receipts -------------------------------------------------------------
    def receipt(self, receipt_id) -> GoodsReceipt | None:
        return self._get(GoodsReceipt, receipt_id)

    def receipt_lines(self, receipt: GoodsReceipt) -> list[tuple[GoodsReceiptLine, Product]]:
        return [
            tuple(row)
            for row in self.db.execute(
                select(GoodsReceiptLine, Product)
                .join(Product, Product.id == GoodsReceiptLine.product_id)
                .where(GoodsReceiptLine.receipt_id == receipt.id)
                .order_by(GoodsReceiptLine.line_number)
            )
        ]

    def receipts(self, *, limit=50, offset=0) -> list:
        """(receipt, location, supplier or None, order or None, lines), newest first."""
        lines = (
            select(GoodsReceiptLine.receipt_id, func.count().label("lines"))
            .group_by(GoodsReceiptLine.receipt_id)
            .subquery()
        )
        query = (
            select(GoodsReceipt, Location, Supplier, PurchaseOrder, lines.c.lines)
            .join(Location, Location.id == GoodsReceipt.location_id)
            .outerjoin(Supplier, Supplier.id == GoodsReceipt.supplier_id)
            .outerjoin(PurchaseOrder, PurchaseOrder.id == GoodsReceipt.purchase_order_id)
            .join(lines, lines.c.receipt_id == GoodsReceipt.id)
            .order_by(GoodsReceipt.number.desc())
        )
        return [tuple(row) for row in self.db.execute(query.limit(limit).offset(offset))]

    def count_receipts(self) -> int:
        return self.db.scalar(select(func.count(GoodsReceipt.id)))

    def receive(
        self,
        *,
        location_id,
        lines: list[Line],
        supplier_id=None,
        order: PurchaseOrder | None = None,
        reference: str = "",
    ) -> GoodsReceipt:
        """Goods in: one receipt, its lines and one "receive" movement per line, all or
        nothing. Against an order: its location and supplier, and only its products."""
        if order is not None:
            self.db.refresh(order, with_for_update=True)  # two receipts at once settle in turn
            if order.status not in CAN_RECEIVE:
                raise PurchasingError(
                    {
                        "order": f"order {order.number} is {order.status}; goods can be received "
                        "only against a sent or partly received order"
                    }
                )
            location_id, supplier_id = order.location_id, order.supplier_id
        self._check_heading(supplier_id, location_id, supplier_required=False)
        products = self._check_lines(lines, one_per_product=False)
        if order is not None:
            ordered = set(
                self.db.scalars(
                    select(PurchaseOrderLine.product_id).where(
                        PurchaseOrderLine.order_id == order.id
                    )
                )
            )
            errors = {
                f"line {line.number}": f"line {line.number}: {products[line.product_id].name} "
                f"is not on order {order.number}"
                for line in lines
                if line.product_id not in ordered
            }
            if errors:
                raise PurchasingError(errors)
        receipt = GoodsReceipt(
            tenant_id=self.tenant_id,
            id=uuid7(),
            number=self._next_number(GoodsReceipt),
            supplier_id=supplier_id,
            location_id=location_id,
            purchase_order_id=order.id if order else None,
            reference=reference,
            user_id=self.user_id,
        )
        self.db.add(receipt)
        self.db.flush()
        self.inventory.lock_products([line.product_id for line in lines])
        reason = f"goods receipt {receipt.number}" + (f" (order {order.number})" if order else "")
        for line in lines:
            movement = self.inventory.record(
                "receive",
                line.product_id,
                location_id,
                line.quantity,
                reference=receipt.id,
                reason=reason,
            )
            self.db.add(
                GoodsReceiptLine(
                    tenant_id=self.tenant_id,
                    id=uuid7(),
                    receipt_id=receipt.id,
                    line_number=line.number,
                    product_id=line.product_id,
                    quantity=line.quantity,
                    unit_cost=line.unit_cost,
                    movement_id=movement.id,
                )
            )
        self.db.flush()
        if order is not None:
            self._settle(order)
            self.db.flush()
        return receipt

    # -- checks ---------------------------------------------------------------------
    def _check_heading(self, supplier_id, location_id, *, supplier_required: bool) -> None:
        errors = {}
        if supplier_id is None:
            if supplier_required:
                errors["supplier_id"] = "choose a supplier"
        elif self.supplier(supplier_id) is None:
            errors["supplier_id"] = "choose a supplier from the list"
        location = self.inventory.location(location_id)
        if location is None or not location.is_active:
            errors["location_id"] = "choose an active location"
        if errors:
            raise PurchasingError(errors)

    def _check_lines(self, lines: list[Line], *, one_per_product: bool) -> dict:
        """Every line's problems at once, each named by its number; {id: Product}."""
        if not lines:
            raise PurchasingError(
                {"lines": "add at least one line (scan or type a barcode or SKU)"}
            )
        if len(lines) > MAX_LINES:
            raise PurchasingError({"lines": f"has {len(lines)} lines; at most {MAX_LINES}"})
        ids = {line.product_id for line in lines}
        products = {
            p.id: p for p in self.db.scalars(select(Product).where(Product.id.in_(list(ids))))
        }
        errors, seen = {}, {}
        for line in lines:
            key = f"line {line.number}"
            product = products.get(line.product_id)
            if product is None:
                errors[key] = f"line {line.number}: the product is unknown; remove the line"
            elif not Decimal("0.001") <= line.quantity <= MAX_QUANTITY:
                errors[key] = (
                    f"line {line.number}: quantity must be more than 0, at most {MAX_QUANTITY:,}"
                )
            elif not 0 <= line.unit_cost <= MAX_COST:
                errors[key] = f"line {line.number}: unit cost must be 0 or more"
            elif one_per_product and line.product_id in seen:
                errors[key] = (
                    f"line {line.number}: {product.name} is already on line {seen[line.product_id]}"
                )
            seen.setdefault(line.product_id, line.number)
        if errors:
            raise PurchasingError(errors)
        return products
