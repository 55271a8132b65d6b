"""The tax-rate pages and the product form's rates, through the WSGI app: add, rename,
change a rate (its products follow), duplicates refused, deactivation held while
products use a rate, Cashiers kept out, the lazy naming of percentages from before named
rates, and product prices typed as a German workspace writes them."""

from decimal import Decimal

from sqlalchemy import text

from tests.products.helpers import count, csrf_token, post, rows, tenant_connection

GOOD = {"sku": "TEA-1", "name": "Green tea", "unit_price": "3.50", "active": "1"}


def rates(owner_engine, tenant):
    return rows(owner_engine, tenant, "select name, rate, is_active from tax_rates order by name")


def rate_id(owner_engine, tenant, name):
    return rows(owner_engine, tenant, "select id from tax_rates where name = :n", n=name)[0][0]


def product_tax(owner_engine, tenant):
    return rows(
        owner_engine,
        tenant,
        "select p.sku, p.tax_rate, r.name from products p"
        " left join tax_rates r on r.tenant_id = p.tenant_id and r.id = p.tax_rate_id"
        " order by p.sku",
    )


def test_a_manager_adds_a_rate_gives_it_to_a_product_and_changes_it(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Managers",))
    manager = clients["Managers"]
    page = manager.get("/taxes")
    # a workspace with no rates is offered the typical zero rates at once
    assert [r.get("data-rate") for r in page.html.select("tr[data-rate]")] == [
        "Exempt",
        "Zero-rated",
    ]
    result = post(manager, "/taxes", {"name": "Standard", "rate": "16"}, status=303).follow()
    assert "Added the tax rate Standard (16%)." in result.text
    standard = rate_id(owner_engine, tenant, "Standard")
    post(manager, "/products/new", {**GOOD, "tax_rate_id": str(standard)}, status=303)
    listing = manager.get("/products")
    row = listing.html.select_one("tbody tr")
    assert "Standard" in row.text
    assert "16%" in row.text
    assert product_tax(owner_engine, tenant) == [("TEA-1", Decimal("16.00"), "Standard")]

    # rename and re-rate: the product follows
    saved = post(
        manager, f"/taxes/{standard}/edit", {"name": "VAT standard", "rate": "17,5"}, status=400
    )
    assert "Rate (%) is ambiguous or badly grouped" in saved.text  # en_US: 17,5 is no number
    saved = post(
        manager,
        f"/taxes/{standard}/edit",
        {"name": "VAT standard", "rate": "17.5", "active": "1"},
        status=303,
    ).follow()
    assert "1 product now sell at 17.5%" in saved.text
    assert product_tax(owner_engine, tenant) == [("TEA-1", Decimal("17.50"), "VAT standard")]


def test_a_duplicate_name_is_refused_whatever_its_letter_case(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Managers",))
    manager = clients["Managers"]
    post(manager, "/taxes", {"name": "Reduced", "rate": "8"}, status=303)
    page = post(manager, "/taxes", {"name": "reduced", "rate": "5"}, status=400)
    assert "A tax rate named &#39;Reduced&#39; already exists (8%)" in page.text
    page = post(manager, "/taxes", {"name": "Exempt", "rate": "0"}, status=400)
    assert "already exists" in page.text
    # renaming onto another rate's name is refused too
    reduced = rate_id(owner_engine, tenant, "Reduced")
    page = post(manager, f"/taxes/{reduced}/edit", {"name": "Exempt", "rate": "8"}, status=400)
    assert "A tax rate named &#39;Exempt&#39; already exists" in page.text
    assert rates(owner_engine, tenant) == [
        ("Exempt", Decimal("0.00"), True),
        ("Reduced", Decimal("8.00"), True),
        ("Zero-rated", Decimal("0.00"), True),
    ]


def test_a_rate_products_use_is_not_deactivated(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Managers",))
    manager = clients["Managers"]
    post(manager, "/products/new", {**GOOD, "tax_rate": "16"}, status=303)  # a percentage
    standard = rate_id(owner_engine, tenant, "Standard")  # named for the typical set
    page = post(manager, f"/taxes/{standard}/edit", {"name": "Standard", "rate": "16"}, status=400)
    assert "Standard is the rate of 1 active product; give it another rate first" in page.text
    assert ("Standard", Decimal("16.00"), True) in rates(owner_engine, tenant)
    exempt = rate_id(owner_engine, tenant, "Exempt")
    post(manager, f"/taxes/{exempt}/edit", {"name": "Exempt", "rate": "0"}, status=303)
    assert ("Exempt", Decimal("0.00"), False) in rates(owner_engine, tenant)
    # a deactivated rate is no choice for a product
    form = manager.get("/products/new").text
    assert f'value="{exempt}"' not in form
    page = post(manager, "/products/new", {**GOOD, "sku": "X", "tax_rate_id": str(exempt)}, 400)
    assert "is not one of the workspace&#39;s tax rates" in page.text


def test_a_cashier_can_neither_see_nor_change_the_rates(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Cashiers",))
    cashier = clients["Cashiers"]
    cashier.get("/taxes", status=403)
    token = csrf_token(cashier)
    cashier.post("/taxes", {"name": "Mine", "rate": "1", "csrf_token": token}, status=403)
    assert "Mine" not in [name for name, _, _ in rates(owner_engine, tenant)]


def test_percentages_from_before_named_rates_are_named_once(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Managers",))
    with tenant_connection(owner_engine, tenant) as conn:
        for sku, tax in (("A", "16"), ("B", "8"), ("C", "5"), ("D", "0"), ("E", "16")):
            conn.execute(
                text(
                    "insert into products (tenant_id, id, sku, name, unit_price, tax_rate)"
                    " values (:t, gen_random_uuid(), :sku, :sku, 1, :tax)"
                ),
                {"t": tenant.id, "sku": sku, "tax": tax},
            )
    page = clients["Managers"].get("/products")
    assert "Standard" in page.text
    assert "Reduced 5%" in page.text
    assert product_tax(owner_engine, tenant) == [
        ("A", Decimal("16.00"), "Standard"),
        ("B", Decimal("8.00"), "Reduced"),
        ("C", Decimal("5.00"), "Reduced 5%"),
        ("D", Decimal("0.00"), "Zero-rated"),
        ("E", Decimal("16.00"), "Standard"),
    ]
    clients["Managers"].get("/taxes")
    clients["Managers"].get("/products")
    assert count(owner_engine, tenant, "tax_rates") == 5  # and Exempt; nothing twice


def test_a_german_workspace_types_prices_as_germans_write_them(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Managers",))
    with tenant_connection(owner_engine, tenant) as conn:
        conn.execute(
            text(
                "insert into workspace_settings (tenant_id, locale, currency)"
                " values (:t, 'de_DE', 'EUR') on conflict (tenant_id)"
                " do update set locale = 'de_DE', currency = 'EUR'"
            ),
            {"t": tenant.id},
        )
    manager = clients["Managers"]
    page = post(manager, "/products/new", {**GOOD, "unit_price": "1,234.50"}, status=400)
    assert "Unit price is ambiguous or badly grouped: &#39;1,234.50&#39;" in page.text
    assert 'value="1,234.50"' in page.text  # shown back as typed, to be corrected
    post(manager, "/products/new", {**GOOD, "unit_price": "1.234,50", "cost": "2,5"}, 303)
    price = rows(owner_engine, tenant, "select unit_price, cost from products")
    assert price == [(Decimal("1234.50"), Decimal("2.50"))]
    listing = manager.get("/products").text
    assert "1.234,50" in listing
    pid = rows(owner_engine, tenant, "select id from products")[0][0]
    form = manager.get(f"/products/{pid}/edit").forms[1]
    assert form["unit_price"].value == "1234,50"
    assert form["cost"].value == "2,50"
    assert 'inputmode="decimal"' in manager.get(f"/products/{pid}/edit").text


def test_a_yen_workspace_refuses_prices_with_decimals(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Managers",))
    with tenant_connection(owner_engine, tenant) as conn:
        conn.execute(
            text(
                "insert into workspace_settings (tenant_id, locale, currency)"
                " values (:t, 'ja_JP', 'JPY') on conflict (tenant_id)"
                " do update set locale = 'ja_JP', currency = 'JPY'"
            ),
            {"t": tenant.id},
        )
    manager = clients["Managers"]
    page = post(manager, "/products/new", {**GOOD, "unit_price": "100.5"}, status=400)
    assert "Unit price: JPY amounts have no decimal places; got &#39;100.5&#39;" in page.text
    post(manager, "/products/new", {**GOOD, "unit_price": "1,280"}, status=303)
    assert rows(owner_engine, tenant, "select unit_price from products") == [(Decimal("1280"),)]
