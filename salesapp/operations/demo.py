"""Demo data: a realistic workspace to try salesapp on.

At least 200 products in categories, customers, stock at every location, monthly
expenses, and a few months of sales (with some voids and refunds) made through the
same services as the point of sale, then dated into the past. Deterministic: the same
seed gives the same catalogue, quantities and totals (ids and timestamps aside).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select, update

from ..accounts.models import User
from ..customers.models import Customer
from ..expenses.models import Expense
from ..ids import uuid7
from ..inventory.models import StockMovement
from ..inventory.services import InventoryService
from ..locations.models import Location
from ..products.models import Product
from ..sales.services import CartLine, PaymentInput, SaleService

CATALOGUE = {
    # category: (tax rate %, [(name, base price)], [variants])
    "Beverages": (
        16,
        [
            ("Green tea", "3.20"),
            ("Black coffee", "6.50"),
            ("Orange juice", "2.80"),
            ("Mineral water", "0.90"),
            ("Cola", "1.20"),
            ("Lemonade", "1.50"),
        ],
        ["250 ml", "500 ml", "1 l", "Pack of 6"],
    ),
    "Bakery": (
        0,
        [
            ("White bread", "1.40"),
            ("Wholemeal bread", "1.80"),
            ("Croissant", "0.90"),
            ("Muffin", "1.10"),
            ("Bagel", "0.80"),
        ],
        ["single", "pack of 4", "family"],
    ),
    "Dairy": (
        0,
        [
            ("Milk", "1.10"),
            ("Yoghurt", "0.70"),
            ("Cheddar", "3.90"),
            ("Butter", "2.40"),
            ("Cream", "1.60"),
        ],
        ["small", "medium", "large"],
    ),
    "Pantry": (
        8,
        [
            ("Rice", "2.10"),
            ("Pasta", "1.30"),
            ("Flour", "1.00"),
            ("Sugar", "1.20"),
            ("Olive oil", "6.90"),
            ("Tomato sauce", "1.70"),
            ("Beans", "0.95"),
        ],
        ["500 g", "1 kg", "2 kg", "5 kg"],
    ),
    "Snacks": (
        16,
        [
            ("Crisps", "1.10"),
            ("Chocolate bar", "0.95"),
            ("Peanuts", "1.80"),
            ("Biscuits", "1.40"),
            ("Popcorn", "1.20"),
        ],
        ["small", "share size", "multipack"],
    ),
    "Household": (
        16,
        [
            ("Dish soap", "2.20"),
            ("Laundry powder", "7.50"),
            ("Bin bags", "3.10"),
            ("Kitchen towel", "2.60"),
            ("Sponges", "1.50"),
            ("Bleach", "1.90"),
        ],
        ["standard", "large", "value pack"],
    ),
    "Personal care": (
        16,
        [
            ("Toothpaste", "2.30"),
            ("Shampoo", "4.10"),
            ("Soap", "0.99"),
            ("Deodorant", "3.40"),
            ("Hand cream", "3.80"),
        ],
        ["travel", "standard", "family"],
    ),
    "Stationery": (
        16,
        [
            ("Notebook", "2.50"),
            ("Ballpoint pens", "1.90"),
            ("Pencils", "1.20"),
            ("Envelopes", "2.10"),
            ("Sticky notes", "1.60"),
        ],
        ["single", "pack of 5", "pack of 10"],
    ),
    "Electronics": (
        16,
        [
            ("AA batteries", "4.50"),
            ("USB cable", "6.90"),
            ("Phone charger", "12.00"),
            ("Earphones", "9.50"),
            ("Light bulb", "3.20"),
        ],
        ["basic", "premium"],
    ),
    "Frozen": (
        8,
        [
            ("Peas", "1.30"),
            ("Fish fingers", "2.90"),
            ("Ice cream", "3.50"),
            ("Pizza", "3.20"),
            ("Chips", "1.90"),
            ("Mixed vegetables", "1.60"),
        ],
        ["small", "regular", "large"],
    ),
    "Pet care": (
        16,
        [
            ("Dog food", "6.00"),
            ("Cat food", "5.20"),
            ("Cat litter", "4.40"),
            ("Bird seed", "2.10"),
            ("Pet shampoo", "4.80"),
        ],
        ["small", "medium", "large"],
    ),
    "Baby care": (
        0,
        [
            ("Nappies", "8.90"),
            ("Baby wipes", "2.20"),
            ("Baby food", "1.30"),
            ("Baby lotion", "3.10"),
            ("Formula milk", "11.50"),
        ],
        ["small", "standard", "value"],
    ),
    "Fresh produce": (
        0,
        [
            ("Bananas", "1.20"),
            ("Apples", "2.00"),
            ("Tomatoes", "1.80"),
            ("Onions", "1.10"),
            ("Potatoes", "1.60"),
            ("Carrots", "0.90"),
        ],
        ["per kg", "bag"],
    ),
}
FIRST = [
    "Amina",
    "Brian",
    "Chloe",
    "David",
    "Esther",
    "Felix",
    "Grace",
    "Hassan",
    "Ines",
    "James",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Samuel",
    "Tariq",
    "Uma",
    "Victor",
    "Wanjiru",
    "Xavier",
    "Yusuf",
    "Zara",
]
LAST = [
    "Achieng",
    "Brown",
    "Costa",
    "Diallo",
    "Evans",
    "Fischer",
    "Garcia",
    "Hoang",
    "Ibrahim",
    "Jensen",
    "Kamau",
    "Lopez",
    "Mensah",
    "Novak",
    "Okafor",
    "Patel",
    "Rossi",
    "Silva",
    "Tanaka",
    "Umar",
    "Varga",
    "Wong",
]
EXPENSES = [
    ("Rent", "1200.00"),
    ("Electricity", "180.00"),
    ("Wages", "2600.00"),
    ("Supplies", "140.00"),
    ("Internet", "45.00"),
]
CENT = Decimal("0.01")


def ean13(number: int) -> str:
    """A valid EAN-13 from a 12-digit number (the check digit computed)."""
    digits = f"{number:012d}"[-12:]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def generate(
    db,
    tenant_id: int,
    *,
    seed: int = 1,
    months: int = 3,
    today: dt.date | None = None,
    customers: int = 60,
    sales_per_day: tuple[int, int] = (4, 16),
) -> dict:
    """Fill a new tenant's workspace with demo data, in the caller's transaction (as the
    owner role: sales are dated into the past, which the app role may not do to the
    append-only stock ledger). Returns counts of what was made."""
    rng = random.Random(seed)
    today = today or dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=30 * months)
    users = list(db.scalars(select(User).where(User.is_active).order_by(User.username)))
    locations = list(db.scalars(select(Location).where(Location.is_active).order_by(Location.name)))
    admin = next(u for u in users if u.username == "admin") if users else None
    inventory = InventoryService(db, tenant_id, admin.id if admin else None)

    products = []
    for category, (tax, items, variants) in CATALOGUE.items():
        for name, base in items:
            for variant in variants:
                factor = Decimal(str(1 + variants.index(variant) * rng.uniform(0.6, 1.4)))
                price = (Decimal(base) * factor).quantize(CENT)
                product = Product(
                    tenant_id=tenant_id,
                    id=uuid7(),
                    sku=f"{category[:3].upper()}-{len(products) + 1:04d}",
                    barcode=ean13(600_000_000_000 + len(products) + 1),
                    name=f"{name} {variant}",
                    category=category,
                    unit_price=price,
                    cost=(price * Decimal(str(rng.uniform(0.45, 0.8)))).quantize(CENT),
                    tax_rate=Decimal(tax),
                    reorder_level=Decimal(rng.choice([5, 10, 20])),
                )
                db.add(product)
                products.append(product)
    db.flush()

    opening = dt.datetime.combine(start, dt.time(7), dt.UTC)
    for location in locations:
        for product in products:
            inventory.receive(
                product.id, location.id, Decimal(rng.randint(150, 400)), "opening stock"
            )
    db.flush()
    db.execute(update(StockMovement).values(created_at=opening))

    people = []
    for _ in range(customers):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        person = Customer(
            tenant_id=tenant_id,
            id=uuid7(),
            name=f"{first} {last}",
            phone=f"+254 7{rng.randint(10, 99)} {rng.randint(100000, 999999)}",
            email=f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@example.com",
        )
        db.add(person)
        people.append(person)

    expenses = 0
    month = start.replace(day=1)
    while month <= today:
        for location in locations:
            for category, amount in EXPENSES:
                db.add(
                    Expense(
                        tenant_id=tenant_id,
                        id=uuid7(),
                        category=category,
                        amount=(Decimal(amount) * Decimal(str(rng.uniform(0.9, 1.1)))).quantize(
                            CENT
                        ),
                        spent_on=max(month, start),
                        location_id=location.id,
                        note="demo",
                        user_id=admin.id,
                    )
                )
                expenses += 1
        month = (month + dt.timedelta(days=32)).replace(day=1)
    db.flush()

    sellers = [u for u in users] or [admin]
    made, voided, refunded = 0, 0, 0
    day = start
    while day <= today:
        for _ in range(rng.randint(*sales_per_day)):
            seller = rng.choice(sellers)
            sales = SaleService(db, tenant_id, seller, sees_all=True)
            lines = [
                CartLine(
                    p.id,
                    Decimal(rng.choice([1, 1, 1, 2, 3])),
                    # one line in ten at 10% off: within the Cashiers' default cap
                    percent=None if rng.random() > 0.1 else Decimal("10"),
                )
                for p in rng.sample(products, rng.randint(1, 4))
            ]
            total = sales.quote(lines).total
            method = rng.choices(["cash", "card", "mobile_money"], [5, 3, 2])[0]
            if method == "cash":
                paid = (total / 5).to_integral_value(rounding="ROUND_CEILING") * 5
                payments = [PaymentInput("cash", max(paid, total))]
            elif rng.random() < 0.2 and total > 2:
                part = (total / 2).quantize(CENT)
                payments = [
                    PaymentInput(method, part, f"ref-{made}"),
                    PaymentInput("cash", total - part),
                ]
            else:
                payments = [PaymentInput(method, total, f"ref-{made}")]
            sale = sales.complete(
                lines,
                payments,
                location_id=rng.choice(locations).id,
                customer_id=rng.choice(people).id if rng.random() < 0.3 else None,
            )
            when = dt.datetime.combine(day, dt.time(rng.randint(8, 19), rng.randint(0, 59)), dt.UTC)
            sale.created_at = when
            db.flush()
            db.execute(
                update(StockMovement)
                .where(StockMovement.reference == sale.id)
                .values(created_at=when)
            )
            made += 1
            chance = rng.random()
            if chance < 0.02:
                sales.void(sale, "demo: rung up twice")
                voided += 1
            elif chance < 0.05:
                line = sale.lines[0]
                sales.refund(sale, {line.id: line.quantity}, method="cash", reason="demo: returned")
                refunded += 1
        day += dt.timedelta(days=1)
    db.flush()
    return {
        "products": len(products),
        "customers": len(people),
        "expenses": expenses,
        "sales": made,
        "voided": voided,
        "refunded": refunded,
    }
