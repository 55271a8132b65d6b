"""Sales with several tax rates priced as the workspace chooses, against books worked by
hand: prices with tax added or included, tax rounded per line or per invoice (once per
rate, shared out over its lines), a sale in yen, and a refund of part of an inclusive
sale. Through the real SaleService as the app role."""

from decimal import Decimal as D

import pytest

from salesapp.sales.models import Sale
from salesapp.sales.services import CartDiscount, CartLine, PaymentInput, SaleError

# One basket for every mode: two lines at 16%, two at 8%, one zero-rated, one exempt.
#   Bread  16%  3 x 1.15 = 3.45
#   Milk   16%  1 x 2.35 = 2.35          16% lines: 5.80
#   Flour   8%  2 x 1.99 = 3.98
#   Rice    8%  1 x 3.95 = 3.95           8% lines: 7.93
#   Eggs    Zero-rated 1 x 3.00
#   Stamps  Exempt     1 x 5.00           shelf prices: 21.73
BASKET = [
    ("BREAD", "1.15", "16", "3"),
    ("MILK", "2.35", "16", "1"),
    ("FLOUR", "1.99", "8", "2"),
    ("RICE", "3.95", "8", "1"),
    ("EGGS", "3.00", "0", "1"),
    ("STAMPS", "5.00", "0", "1"),
]


def stock_basket(seller) -> dict:
    ids = {
        sku: seller.add_product(sku, price, tax=tax, stock="10") for sku, price, tax, _ in BASKET
    }
    seller.name_rates(STAMPS="Exempt")
    return ids


def sell(seller, lines, cash, cart_discount=CartDiscount()):
    with seller.session() as db, db.begin():
        sale = seller.sales(db).complete(
            lines,
            [PaymentInput("cash", D(cash))],
            location_id=seller.location_id(),
            cart_discount=cart_discount,
        )
        return sale.id


def book(seller, sale_id):
    """(sale's subtotal, tax, total, mode), and per line (sku, rate name, tax, total)."""
    with seller.session() as db, db.begin():
        sale = db.get(Sale, (seller.tenant.id, sale_id))
        lines = [(x.sku, x.tax_name, x.tax_amount, x.line_total) for x in sale.lines]
        for line in sale.lines:  # every line: net + tax = total
            assert line.line_total - line.tax_amount >= 0
        assert sale.total == sum(x[3] for x in lines)
        assert sale.tax_total == sum(x[2] for x in lines)
        assert sale.total == sale.subtotal + sale.tax_total
        mode = (sale.prices_include_tax, sale.tax_rounding)
        return (sale.subtotal, sale.tax_total, sale.total, mode), lines


def sell_basket(seller, inclusive, rounding):
    seller.set_rules(inclusive=inclusive, rounding=rounding)
    ids = stock_basket(seller)
    lines = [CartLine(ids[sku], D(qty)) for sku, _, _, qty in BASKET]
    return book(seller, sell(seller, lines, "30.00"))


def test_tax_added_rounded_per_line(seller):
    # Bread  3.45 x 16% = 0.552  -> 0.55     Flour 3.98 x 8% = 0.3184 -> 0.32
    # Milk   2.35 x 16% = 0.376  -> 0.38     Rice  3.95 x 8% = 0.316  -> 0.32
    # net 21.73; tax 0.55 + 0.38 + 0.32 + 0.32 = 1.57; total 23.30
    totals, lines = sell_basket(seller, inclusive=False, rounding="line")
    assert totals == (D("21.73"), D("1.57"), D("23.30"), (False, "line"))
    assert lines == [
        ("BREAD", "Standard", D("0.55"), D("4.00")),
        ("MILK", "Standard", D("0.38"), D("2.73")),
        ("FLOUR", "Reduced", D("0.32"), D("4.30")),
        ("RICE", "Reduced", D("0.32"), D("4.27")),
        ("EGGS", "Zero-rated", D("0.00"), D("3.00")),
        ("STAMPS", "Exempt", D("0.00"), D("5.00")),
    ]


def test_tax_added_rounded_per_invoice_is_a_cent_less_here(seller):
    # 16%: 5.80 x 16% = 0.928 -> 0.93, shared 5.80 in proportion:
    #      Bread 0.93 x 3.45/5.80 = 0.5532 -> 0.55, Milk 0.3768 -> 0.37 + the odd cent
    #      (Milk's remainder .0068 > Bread's .0032) = 0.38
    # 8%:  7.93 x 8% = 0.6344 -> 0.63 (per line it was 0.64: the cent of difference)
    #      Flour 0.63 x 3.98/7.93 = 0.3162 -> 0.31 + the odd cent = 0.32,
    #      Rice 0.3138 -> 0.31
    # tax 0.93 + 0.63 = 1.56; total 21.73 + 1.56 = 23.29
    totals, lines = sell_basket(seller, inclusive=False, rounding="invoice")
    assert totals == (D("21.73"), D("1.56"), D("23.29"), (False, "invoice"))
    assert [(sku, tax, total) for sku, _, tax, total in lines] == [
        ("BREAD", D("0.55"), D("4.00")),
        ("MILK", D("0.38"), D("2.73")),
        ("FLOUR", D("0.32"), D("4.30")),
        ("RICE", D("0.31"), D("4.26")),
        ("EGGS", D("0.00"), D("3.00")),
        ("STAMPS", D("0.00"), D("5.00")),
    ]


def test_tax_included_rounded_per_line(seller):
    # the customer pays the shelf prices, 21.73; tax is r/(100+r) of each line:
    # Bread 3.45 x 16/116 = 0.4759 -> 0.48   Flour 3.98 x 8/108 = 0.2948 -> 0.29
    # Milk  2.35 x 16/116 = 0.3241 -> 0.32   Rice  3.95 x 8/108 = 0.2926 -> 0.29
    # tax 1.38; net 21.73 - 1.38 = 20.35
    totals, lines = sell_basket(seller, inclusive=True, rounding="line")
    assert totals == (D("20.35"), D("1.38"), D("21.73"), (True, "line"))
    assert lines == [
        ("BREAD", "Standard", D("0.48"), D("3.45")),
        ("MILK", "Standard", D("0.32"), D("2.35")),
        ("FLOUR", "Reduced", D("0.29"), D("3.98")),
        ("RICE", "Reduced", D("0.29"), D("3.95")),
        ("EGGS", "Zero-rated", D("0.00"), D("3.00")),
        ("STAMPS", "Exempt", D("0.00"), D("5.00")),
    ]


def test_tax_included_rounded_per_invoice_is_a_cent_more_here(seller):
    # 16%: 5.80 x 16/116 = 0.80 exactly; Bread 0.4759 -> 0.47 + the odd cent
    #      (remainder .0059 > Milk's .0041) = 0.48, Milk 0.32
    # 8%:  7.93 x 8/108 = 0.5874 -> 0.59 (per line 0.58: the cent of difference);
    #      Flour 0.59 x 3.98/7.93 = 0.2961 -> 0.29 + the odd cent = 0.30, Rice 0.2939 -> 0.29
    # tax 0.80 + 0.59 = 1.39; net 21.73 - 1.39 = 20.34; total 21.73
    totals, lines = sell_basket(seller, inclusive=True, rounding="invoice")
    assert totals == (D("20.34"), D("1.39"), D("21.73"), (True, "invoice"))
    assert [(sku, tax) for sku, _, tax, _ in lines] == [
        ("BREAD", D("0.48")),
        ("MILK", D("0.32")),
        ("FLOUR", D("0.30")),
        ("RICE", D("0.29")),
        ("EGGS", D("0.00")),
        ("STAMPS", D("0.00")),
    ]


def test_tax_included_with_discounts_taxes_what_is_paid(seller):
    # Bread 3 x 1.15 = 3.45 less 0.45 on the line = 3.00; Flour 2 x 1.99 = 3.98.
    # A cart discount of 10% of what the lines come to (3.00 + 3.98 = 6.98): 0.698 ->
    # 0.70, shared: Bread 0.70 x 3.00/6.98 = 0.3009 -> 0.30, Flour 0.3991 -> 0.39 + the
    # odd cent = 0.40.
    # Bread pays 3.00 - 0.30 = 2.70, tax 2.70 x 16/116 = 0.3724 -> 0.37
    # Flour pays 3.98 - 0.40 = 3.58, tax 3.58 x 8/108 = 0.2652 -> 0.27
    # total 6.28, tax 0.64, net 5.64, discounts 0.45 + 0.70 = 1.15
    seller.set_rules(inclusive=True)
    ids = stock_basket(seller)
    sale_id = sell(
        seller,
        [CartLine(ids["BREAD"], D("3"), D("0.45")), CartLine(ids["FLOUR"], D("2"))],
        "10.00",
        CartDiscount(D("10"), percent=True),
    )
    totals, lines = book(seller, sale_id)
    assert totals[:3] == (D("5.64"), D("0.64"), D("6.28"))
    assert [(sku, tax, total) for sku, _, tax, total in lines] == [
        ("BREAD", D("0.37"), D("2.70")),
        ("FLOUR", D("0.27"), D("3.58")),
    ]
    with seller.session() as db, db.begin():
        sale = db.get(Sale, (seller.tenant.id, sale_id))
        assert (sale.discount_total, sale.cart_discount) == (D("1.15"), D("0.70"))
        assert [x.discount for x in sale.lines] == [D("0.75"), D("0.40")]


def test_a_sale_in_yen_rounds_to_whole_yen(seller):
    # JPY has no decimals. Tax added, 10% standard and 8% reduced, per line:
    #   Sake  1 x 1280 = 1280, Tea 3 x 198 = 594; a cart discount of 5% of 1874 = 93.7
    #   -> 94 yen, shared: Sake 94 x 1280/1874 = 64.20 -> 64, Tea 29.80 -> 29 + the odd
    #   yen = 30.
    #   Sake 1280 - 64 = 1216 x 10% = 121.6 -> 122; Tea 594 - 30 = 564 x 8% = 45.12 -> 45
    #   net 1780, tax 167, total 1947
    seller.set_rules(currency="JPY", locale="ja_JP")
    sake = seller.add_product("SAKE", "1280", tax="10", stock="5")
    tea = seller.add_product("TEA", "198", tax="8", stock="5")
    sale_id = sell(
        seller,
        [CartLine(sake, D("1")), CartLine(tea, D("3"))],
        "2000",
        CartDiscount(D("5"), percent=True),
    )
    totals, lines = book(seller, sale_id)
    assert totals[:3] == (D("1780"), D("167"), D("1947"))
    assert [(sku, tax, total) for sku, _, tax, total in lines] == [
        ("SAKE", D("122"), D("1338")),
        ("TEA", D("45"), D("609")),
    ]
    # amounts of yen with decimals are refused, not rounded
    with pytest.raises(SaleError, match="amounts in this currency have no decimal places"):
        sell(seller, [CartLine(sake, D("1"), D("10.5"))], "2000")
    with pytest.raises(SaleError, match=r"cart discount is 0\.5, but amounts in this currency"):
        sell(seller, [CartLine(sake, D("1"))], "2000", CartDiscount(D("0.5")))


def test_refunding_part_of_a_tax_included_sale(seller):
    # Milk 3 x 2.35 = 7.05 less 0.05 = 7.00 paid, tax 7.00 x 16/116 = 0.9655 -> 0.97.
    # Refund 1: 7.00 x 1/3 = 2.333 -> 2.33; then the other 2: 7.00 x 3/3 - 2.33 = 4.67.
    seller.set_rules(inclusive=True)
    milk = seller.add_product("MILK", "2.35", tax="16", stock="5")
    sale_id = sell(seller, [CartLine(milk, D("3"), D("0.05"))], "7.00")
    totals, _ = book(seller, sale_id)
    assert totals[:3] == (D("6.03"), D("0.97"), D("7.00"))
    amounts = []
    for quantity in ("1", "2"):
        with seller.session() as db, db.begin():
            sales = seller.sales(db)
            sale = sales.get(sale_id)
            refund = sales.refund(sale, {sale.lines[0].id: D(quantity)}, method="cash")
            amounts.append((refund.amount, sale.status))
    assert amounts == [(D("2.33"), "partly_refunded"), (D("4.67"), "refunded")]
    assert seller.on_hand(milk) == D("5")
