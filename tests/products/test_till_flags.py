"""How the till sells a product (issue 17): an open price (typed at the till) and sold
by weight (kg), set on the product form and by CSV import, shown on the list, kept in
the tenant's own store and in the audit trail."""

from decimal import Decimal

import pytest

from tests.products.helpers import import_csv, post, rows

BASE = {
    "sku": "FLW",
    "name": "Flowers",
    "category": "Garden",
    "unit_price": "",
    "cost": "",
    "tax_rate": "",
    "reorder_level": "",
    "active": "1",
}


def flags(owner_engine, tenant):
    return rows(
        owner_engine,
        tenant,
        "select sku, unit_price, open_price, sold_by_weight from products order by sku",
    )


@pytest.mark.parametrize("role", ["Managers", "Admin"])
def test_the_form_sets_and_clears_the_flags(workspace_per_placement, owner_engine, role):
    tenant, clients = workspace_per_placement
    client = clients[role]
    form = client.get("/products/new").forms[1]
    assert not form["open_price"].checked
    assert not form["sold_by_weight"].checked
    for name, value in {**BASE, "sku": "RICE", "name": "Rice", "unit_price": "2.10"}.items():
        if name not in ("active", "tax_rate"):  # the form chooses a named rate
            form[name] = value
    form["sold_by_weight"].checked = True
    form.submit(status=303)
    post(client, "/products/new", {**BASE, "open_price": "1"}, status=303)
    assert flags(owner_engine, tenant) == [
        ("FLW", Decimal("0.00"), True, False),
        ("RICE", Decimal("2.10"), False, True),
    ]
    listing = client.get("/products")
    flowers, rice = (
        listing.html.select_one(f'a[href$="{pid}/edit"]').find_parent("tr")
        for pid in product_ids(owner_engine, tenant, "FLW", "RICE")
    )
    assert "open price" in flowers.text
    assert "2.10/kg" in " ".join(rice.text.split())
    # the edit form shows them and clears them
    edit = client.get(f"/products/{product_ids(owner_engine, tenant, 'RICE')[0]}/edit").forms[1]
    assert edit["sold_by_weight"].checked
    assert not edit["open_price"].checked
    edit["sold_by_weight"].checked = False
    edit.submit(status=303)
    assert flags(owner_engine, tenant)[1] == ("RICE", Decimal("2.10"), False, False)
    audit = rows(
        owner_engine,
        tenant,
        "select detail from audit_events where action = 'product.update' order by at",
    )
    assert audit[-1][0]["sold_by_weight"] == [True, False]


def product_ids(owner_engine, tenant, *skus):
    found = dict(rows(owner_engine, tenant, "select sku, id from products"))
    return [found[sku] for sku in skus]


def test_without_an_open_price_the_unit_price_is_still_required(workspace, owner_engine):
    tenant, clients = workspace
    page = post(clients["Managers"], "/products/new", {**BASE, "sold_by_weight": "1"}, status=400)
    assert "Unit price is required" in page.text
    # the refused form keeps what was ticked
    assert page.forms[1]["sold_by_weight"].checked
    assert flags(owner_engine, tenant) == []


def test_import_sets_the_flags_and_an_old_file_keeps_them(workspace, owner_engine):
    tenant, clients = workspace
    manager = clients["Managers"]
    import_csv(
        manager,
        "sku,name,unit_price,open_price,sold_by_weight\nFLW,Flowers,,yes,no\nRICE,Rice,2.10,,yes\n",
    )
    assert flags(owner_engine, tenant) == [
        ("FLW", Decimal("0.00"), True, False),
        ("RICE", Decimal("2.10"), False, True),
    ]
    # a file of the columns before issue 17 changes prices and leaves the flags alone
    import_csv(
        manager,
        "sku,barcode,name,category,unit_price,cost,tax_rate,reorder_level,active\n"
        "RICE,,Rice,,2.20,,,,yes\nNEW,,New,,1,,,,yes\n",
    )
    assert flags(owner_engine, tenant) == [
        ("FLW", Decimal("0.00"), True, False),
        ("NEW", Decimal("1.00"), False, False),
        ("RICE", Decimal("2.20"), False, True),
    ]
    exported = manager.get("/products/export.csv").text.split("\r\n")
    assert exported[0].endswith('"active","open_price","sold_by_weight"')
    assert exported[1].startswith('"FLW",')
    assert exported[1].endswith('"yes","yes","no"')


def test_a_bad_flag_in_a_file_imports_nothing(workspace, owner_engine):
    tenant, clients = workspace
    page = import_csv(
        clients["Managers"], "sku,name,unit_price,open_price\nA,Apple,1,perhaps\n", status=400
    )
    assert "line 2: open_price must be yes or no, got &#39;perhaps&#39;" in page.text
    assert flags(owner_engine, tenant) == []
