"""Demo data: a realistic workspace to try salesapp on.

A shop in Nairobi (issue 18): its zone, locale and currency (Africa/Nairobi, en_KE, KES),
prices that include tax, Kenya's VAT as named rates (standard 16%, zero-rated, exempt)
and the business's details for its receipts. At least 200 products in categories,
customers, stock at every location, monthly expenses, and a few months of sales (with
some voids and refunds) made through the same services as the point of sale, then dated
into the past within the shop's hours (08:00-20:00 Nairobi time) and never later than
now: today has only the sales up to the present minute. Deterministic: the same seed
and the same ``now`` give the same catalogue, quantities and totals (ids aside).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from ..accounts.models import User
from ..customers.models import Customer
from ..expenses.models import Expense
from ..ids import uuid7
from ..inventory.models import StockMovement
from ..inventory.services import InventoryService
from ..locations.models import Location
from ..preferences.services import SettingsService
from ..products.models import Product
from ..sales.models import Refund, Sale
from ..sales.services import CartLine, PaymentInput, SaleService
from ..taxes.models import TaxRate

#: where the demo shop is, how it writes numbers and what it sells in
ZONE, LOCALE, CURRENCY = "Africa/Nairobi", "en_KE", "KES"
#: its hours, local time: sales from opening to closing (the last one before closing)
OPENS, CLOSES = dt.time(8), dt.time(20)
#: the business's details on its receipts (workspace_settings)
BUSINESS = {
    "legal_name": "Demo Traders Ltd",
    "address": "Shop 4, Tumaini House, Moi Avenue\nP.O. Box 10234-00100\nNairobi, Kenya",
    "phone": "+254 20 765 4321",
    "tax_number": "KRA PIN P051234567Q",
    "receipt_header": "Open every day 08:00-20:00",
    "receipt_footer": "Asante sana! Keep this receipt: goods are exchanged with it within 7 days.",
}
#: Kenya's VAT as the shop's named rates: (name, percent)
STANDARD, ZERO_RATED, EXEMPT = "Standard 16%", "Zero-rated 0%", "Exempt"
TAX_RATES = {STANDARD: Decimal("16"), ZERO_RATED: Decimal("0"), EXEMPT: Decimal("0")}
#: the catalogue's base prices are in units of 100 shillings; prices are whole shillings
PRICE_SCALE = Decimal(100)
SHILLING = Decimal(1)
#: cash is paid in notes and coins of up to 50 shillings above the total
CASH_STEP = 50

CATALOGUE = {
    # category: (tax rate's name, [(name, base price)], [variants])
    "Beverages": (
        STANDARD,
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
        ZERO_RATED,
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
        ZERO_RATED,
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
        STANDARD,
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
        STANDARD,
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
        STANDARD,
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
        STANDARD,
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
        STANDARD,
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
        STANDARD,
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
        STANDARD,
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
        STANDARD,
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
        STANDARD,
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
        EXEMPT,
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
    now: dt.datetime | None = None,
    customers: int = 60,
    sales_per_day: tuple[int, int] = (4, 16),
) -> dict:
    """Fill a new tenant's workspace with demo data, in the caller's transaction (as the
    owner role: sales are dated into the past, which the app role may not do to the
    append-only stock ledger). ``now``: the present instant (the clock's by default);
    nothing is dated after it. Returns counts of what was made."""
    rng = random.Random(seed)
    zone = ZoneInfo(ZONE)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    today = now.date()
    start = today - dt.timedelta(days=30 * months)
    settle_the_shop(db, tenant_id)
    rates = make_tax_rates(db, tenant_id)
    users = list(db.scalars(select(User).where(User.is_active).order_by(User.username)))
    locations = list(db.scalars(select(Location).where(Location.is_active).order_by(Location.name)))
    admin = next(u for u in users if u.username == "admin") if users else None
    inventory = InventoryService(db, tenant_id, admin.id if admin else None)

    products = []
    for category, (rate_name, items, variants) in CATALOGUE.items():
        rate = rates[rate_name]
        for name, base in items:
            for variant in variants:
                factor = Decimal(str(1 + variants.index(variant) * rng.uniform(0.6, 1.4)))
                price = (Decimal(base) * PRICE_SCALE * factor).quantize(SHILLING)
                product = Product(
                    tenant_id=tenant_id,
                    id=uuid7(),
                    sku=f"{category[:3].upper()}-{len(products) + 1:04d}",
                    barcode=ean13(600_000_000_000 + len(products) + 1),
                    name=f"{name} {variant}",
                    category=category,
                    unit_price=price,
                    cost=(price * Decimal(str(rng.uniform(0.45, 0.8)))).quantize(CENT),
                    tax_rate=rate.rate,
                    tax_rate_id=rate.id,
                    reorder_level=Decimal(rng.choice([5, 10, 20])),
                )
                db.add(product)
                products.append(product)
    db.flush()

    # the opening stock arrives before the first morning's opening
    opening = dt.datetime.combine(start, dt.time(7), zone)
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
                        amount=(
                            Decimal(amount) * PRICE_SCALE * Decimal(str(rng.uniform(0.9, 1.1)))
                        ).quantize(CENT),
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
        for when in sale_times(rng, day, zone, rng.randint(*sales_per_day), now):
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
                paid = (total / CASH_STEP).to_integral_value(rounding="ROUND_CEILING") * CASH_STEP
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
            date_sale(db, sale, when)
            made += 1
            chance = rng.random()
            if chance < 0.05:
                # a void or a return later the same day, before closing and before now
                later = min(
                    when + dt.timedelta(minutes=rng.randint(2, 90)),
                    dt.datetime.combine(day, CLOSES, zone) - dt.timedelta(minutes=1),
                    now,
                )
                if chance < 0.02:
                    sales.void(sale, "demo: rung up twice")
                    date_void(db, sale, max(later, when))
                    voided += 1
                else:
                    line = sale.lines[0]
                    refund = sales.refund(
                        sale, {line.id: line.quantity}, method="cash", reason="demo: returned"
                    )
                    date_refund(db, refund, max(later, when))
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


def settle_the_shop(db, tenant_id: int) -> None:
    """The workspace's settings of a shop in Nairobi: its zone, locale and currency,
    prices with tax included, tax per line, and its business's details."""
    row = SettingsService(db, tenant_id).get()
    row.time_zone, row.locale, row.currency = ZONE, LOCALE, CURRENCY
    row.prices_include_tax = True
    row.tax_rounding = "line"
    for name, value in BUSINESS.items():
        setattr(row, name, value)
    db.flush()


def make_tax_rates(db, tenant_id: int) -> dict[str, TaxRate]:
    """Kenya's VAT as named rates (those the workspace has already are kept), by name."""
    rates = {rate.name: rate for rate in db.scalars(select(TaxRate))}
    for name, percent in TAX_RATES.items():
        if name not in rates:
            rates[name] = TaxRate(tenant_id=tenant_id, id=uuid7(), name=name, rate=percent)
            db.add(rates[name])
    db.flush()
    return rates


def sale_times(
    rng: random.Random, day: dt.date, zone: ZoneInfo, count: int, now: dt.datetime
) -> list[dt.datetime]:
    """``count`` instants of ``day`` within the shop's hours, in order, leaving out any
    later than ``now`` (today's sales stop at the present minute)."""
    opens = dt.datetime.combine(day, OPENS, zone)
    minutes = (dt.datetime.combine(day, CLOSES, zone) - opens) // dt.timedelta(minutes=1)
    times = sorted(
        opens + dt.timedelta(minutes=rng.randrange(minutes), seconds=rng.randrange(60))
        for _ in range(count)
    )
    return [when for when in times if when <= now]


def date_sale(db, sale: Sale, when: dt.datetime) -> None:
    """Date a sale and its stock movements at ``when``."""
    sale.created_at = when
    db.flush()
    db.execute(
        update(StockMovement).where(StockMovement.reference == sale.id).values(created_at=when)
    )


def date_void(db, sale: Sale, when: dt.datetime) -> None:
    """Date a sale's void (and the stock it put back) at ``when``."""
    db.flush()
    db.execute(update(Sale).where(Sale.id == sale.id).values(voided_at=when))
    db.execute(
        update(StockMovement)
        .where(StockMovement.reference == sale.id, StockMovement.kind == "void")
        .values(created_at=when)
    )


def date_refund(db, refund: Refund, when: dt.datetime) -> None:
    """Date a refund (and the stock it put back) at ``when``."""
    db.flush()
    db.execute(update(Refund).where(Refund.id == refund.id).values(created_at=when))
    db.execute(
        update(StockMovement).where(StockMovement.reference == refund.id).values(created_at=when)
    )
