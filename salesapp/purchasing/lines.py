"""The list of lines a goods receipt or a purchase order is built from, kept in the
page's form (no JavaScript, nothing saved until the whole list is posted).

Each line travels as three fields in order (``line_product``, ``line_quantity``,
``line_cost``), so what a person typed in a line comes back as typed. Scanning a barcode
(or typing a SKU) and pressing Enter submits the form with its first button, "Add",
which appends the product, or adds to its line when it is already listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, or_, select

from ..forms import Form, parse_uuid
from ..inventory.services import MAX_QUANTITY
from ..products.models import Product
from .services import MAX_COST, MAX_LINES, Line, PurchasingError


@dataclass
class DraftLine:
    """A line as the page shows it: the product, and quantity and cost as typed."""

    product: Product
    quantity: str
    unit_cost: str


def posted_lines(request) -> list[DraftLine]:
    """The lines the posted form carries, without the one whose Remove was pressed
    (and without any naming a product that is not the tenant's)."""
    post = request.POST
    ids = [parse_uuid(value) for value in post.getall("line_product")][:MAX_LINES]
    quantities = post.getall("line_quantity")
    costs = post.getall("line_cost")
    removed = post.get("remove", "")
    found = {
        p.id: p
        for p in request.dbsession.scalars(
            select(Product).where(Product.id.in_([i for i in ids if i is not None]))
        )
    }
    lines = []
    for index, product_id in enumerate(ids, start=1):
        if str(index) == removed or product_id not in found:
            continue
        lines.append(
            DraftLine(
                found[product_id],
                quantities[index - 1] if index <= len(quantities) else "",
                costs[index - 1] if index <= len(costs) else "",
            )
        )
    return lines


def find_product(request, code: str) -> Product | None:
    """The active product whose barcode or SKU is ``code``."""
    return request.dbsession.scalars(
        select(Product)
        .where(Product.is_active, or_(Product.barcode == code, Product.sku == code))
        .order_by(case((Product.barcode == code, 0), else_=1))  # a barcode match first
        .limit(1)
    ).first()


def add_scanned(request, lines: list[DraftLine], cost_of=None) -> dict[str, str]:
    """Add the scanned (or typed) code's product to ``lines``, its quantity to the line
    it already has; the errors ({"code": message}) when it cannot. ``cost_of(product)``:
    the unit cost a new line starts with (the product's cost without it)."""
    local = request.local
    form = Form(request.POST, local=local)
    code = form.text("code", max_length=100)
    quantity = form.decimal(
        "scan_quantity",
        places=3,
        minimum=Decimal("0.001"),
        maximum=MAX_QUANTITY,
        default=Decimal(1),
    )
    if form.errors:
        return {
            "code": "; ".join(
                f"Quantity {m}" if n == "scan_quantity" else m for n, m in form.errors.items()
            )
        }
    if not code:
        return {}  # Enter pressed in another field: the list is shown again as it is
    product = find_product(request, code)
    if product is None:
        return {
            "code": f"No active product has the barcode or SKU {code!r}; check it, or add the product first."
        }
    if len(lines) >= MAX_LINES:
        return {"code": f"A list has at most {MAX_LINES} lines; post this one and start another."}
    for line in lines:
        if line.product.id == product.id:
            try:
                line.quantity = local.entry(local.parse_number(line.quantity) + quantity)
            except ValueError:
                break  # the line's own quantity is wrong: a new line rather than a guess
            return {}
    cost = cost_of(product) if cost_of else product.cost
    lines.append(DraftLine(product, local.entry(quantity), local.entry_money(cost)))
    return {}


def checked_lines(request, lines: list[DraftLine]) -> list[Line]:
    """The lines as numbers read in the workspace's locale; PurchasingError naming every
    bad line by its number ("line 2: quantity must be more than 0")."""
    checked, errors = [], {}
    for number, draft in enumerate(lines, start=1):
        form = Form({"quantity": draft.quantity, "unit_cost": draft.unit_cost}, local=request.local)
        quantity = form.decimal(
            "quantity", places=3, minimum=Decimal("0.001"), maximum=MAX_QUANTITY
        )
        cost = form.money("unit_cost", minimum=Decimal(0), maximum=MAX_COST)
        if form.errors:
            labels = {"quantity": "quantity", "unit_cost": "unit cost"}
            errors[f"line {number}"] = f"line {number} ({draft.product.name}): " + "; ".join(
                f"{labels[name]} {message}" for name, message in form.errors.items()
            )
            continue
        checked.append(Line(number, draft.product.id, quantity, cost))
    if errors:
        raise PurchasingError(errors)
    return checked
