"""CSV export and import through the WSGI app: all or nothing, every bad line reported,
update by SKU, and an export that re-imports unchanged."""

from decimal import Decimal

import pytest

from salesapp.products import csvio
from tests.products.helpers import count, post, rows


def upload(client, data: bytes, status, filename="products.csv"):
    return post(
        client, "/products/import", {}, upload_files=[("file", filename, data)], status=status
    )


def import_text(client, text, status=303):
    return upload(client, text.encode("utf-8"), status)


def all_products(owner_engine, tenant):
    return rows(
        owner_engine,
        tenant,
        "select sku, barcode, name, category, unit_price, cost, tax_rate, reorder_level,"
        " is_active from products order by sku",
    )


def product(sku, barcode, name, category, *numbers, active=True):
    """A products row as the database returns it (numbers as Decimal)."""
    return (sku, barcode, name, category, *(Decimal(n) for n in numbers), active)


def error_items(page):
    return [li.text for li in page.html.select("div.error li")]


def test_good_file_creates_products_and_says_so(workspace_per_placement, owner_engine):
    tenant, clients = workspace_per_placement
    form = clients["Managers"].get("/products").click("Import CSV").forms[1]
    form["file"] = (
        "new.csv",
        b"sku,barcode,name,category,unit_price,cost,tax_rate,reorder_level,active\n"
        b"A,111,Apple,Fruit,1.20,0.50,5,10,yes\n"
        b"B,,Banana,Fruit,0.40,,,,no\n",
    )
    result = form.submit(status=303)
    assert result.location.endswith("/products")
    assert "Imported 2 products (2 created, 0 updated)" in result.follow().text
    assert all_products(owner_engine, tenant) == [
        product("A", "111", "Apple", "Fruit", "1.20", "0.50", "5.00", "10.000"),
        product("B", None, "Banana", "Fruit", "0.40", "0.00", "0.00", "0.000", active=False),
    ]
    assert rows(owner_engine, tenant, "select distinct tenant_id from products") == [(tenant.id,)]


def test_rows_with_a_known_sku_update_only_the_columns_in_the_file(workspace, owner_engine):
    tenant, clients = workspace
    import_text(
        clients["Managers"],
        "sku,barcode,name,category,unit_price,cost,active\n"
        "A,111,Apple,Fruit,1.20,0.50,yes\nB,222,Banana,Fruit,0.40,0.10,yes\n",
    )
    result = import_text(clients["Admin"], "sku,name,unit_price\nA,Red apple,1.30\nC,Cherry,5\n")
    assert "Imported 2 products (1 created, 1 updated)" in result.follow().text
    assert all_products(owner_engine, tenant) == [
        product("A", "111", "Red apple", "Fruit", "1.30", "0.50", "0.00", "0.000"),
        product("B", "222", "Banana", "Fruit", "0.40", "0.10", "0.00", "0.000"),
        product("C", None, "Cherry", "", "5.00", "0.00", "0.00", "0.000"),
    ]


def test_a_file_with_bad_rows_imports_nothing_and_lists_every_bad_line(workspace, owner_engine):
    tenant, clients = workspace
    import_text(clients["Managers"], "sku,name,unit_price\nKEEP,Kept,1\n")
    before = all_products(owner_engine, tenant)
    page = import_text(
        clients["Managers"],
        "sku,name,unit_price,tax_rate\n"
        "KEEP,Changed,2,0\n"
        "N1,New one,1,0\n"
        ",No SKU,1,0\n"
        "N2,New two,1,0\n"
        "N3,New three,1,0\n"
        "N4,New four,1,0\n"
        "N5,Bad price,abc,0\n"
        "N6,Bad tax,1,150\n",
        status=400,
    )
    assert "Nothing was imported." in page.text
    assert error_items(page) == [
        "line 4: sku is required",
        "line 8: unit_price must be a number, got 'abc'",
        "line 9: tax_rate must be at most 100",
    ]
    assert all_products(owner_engine, tenant) == before


def test_duplicate_skus_in_the_file_are_refused(workspace, owner_engine):
    tenant, clients = workspace
    page = import_text(
        clients["Managers"], "sku,name,unit_price\nA,Apple,1\nB,Banana,1\nA,Again,2\n", 400
    )
    assert error_items(page) == ["line 4: SKU A appears more than once (first on line 2)"]
    assert count(owner_engine, tenant, "products") == 0


def test_a_barcode_another_product_has_is_refused(workspace, owner_engine):
    tenant, clients = workspace
    import_text(clients["Managers"], "sku,barcode,name,unit_price\nA,111,Apple,1\n")
    page = import_text(
        clients["Managers"], "sku,barcode,name,unit_price\nB,222,Banana,1\nC,111,Cherry,1\n", 400
    )
    assert error_items(page) == ["line 3: barcode 111 is already used by Apple (SKU A)"]
    assert count(owner_engine, tenant, "products") == 1


def test_two_products_may_swap_barcodes(workspace, owner_engine):
    tenant, clients = workspace
    import_text(clients["Managers"], "sku,barcode,name,unit_price\nA,111,Apple,1\nB,222,Banana,1\n")
    import_text(clients["Managers"], "sku,barcode,name,unit_price\nA,222,Apple,1\nB,111,Banana,1\n")
    assert [r[:2] for r in all_products(owner_engine, tenant)] == [("A", "222"), ("B", "111")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"sku,name\nA,Apple\n", "line 1: missing required column(s) unit_price"),
        (b"sku,name,unit_price\nA,Caf\xe9,1\n", "The file is not UTF-8 text"),
        (b"", "The file is empty"),
        (b"sku,name,unit_price\n", "The file has a header but no rows to import."),
        (
            b"sku,name,unit_price\n" + b"S,Name,1\n" * (csvio.MAX_ROWS + 1),
            "The file has more than 10,000 rows",
        ),
        (
            b"sku,name,unit_price\nA,Apple,1\n" + b" " * csvio.MAX_BYTES,
            "at most 2 MB (2,097,152 bytes) can be imported at once",
        ),
    ],
    ids=["missing-column", "not-utf8", "empty", "header-only", "too-many-rows", "too-big"],
)
def test_files_that_cannot_be_imported_are_refused_with_a_reason(
    workspace, owner_engine, data, message
):
    tenant, clients = workspace
    page = upload(clients["Managers"], data, 400)
    assert message in " ".join(error_items(page))
    assert count(owner_engine, tenant, "products") == 0


def test_posting_without_a_file_asks_for_one(workspace):
    _tenant, clients = workspace
    page = post(clients["Managers"], "/products/import", {}, status=400)
    assert error_items(page) == ["Choose a CSV file to import."]


def test_export_is_an_attachment_with_every_product(workspace):
    tenant, clients = workspace
    import_text(
        clients["Managers"],
        "sku,barcode,name,category,unit_price,cost,tax_rate,reorder_level,active\n"
        'B,222,"Banana, ripe",Fruit,0.40,0.10,0,5,no\n'
        "A,111,Apple,Fruit,1.20,0.50,5,10,yes\n",
    )
    response = clients["Managers"].get("/products/export.csv", status=200)
    assert response.content_type == "text/csv"
    assert response.charset == "utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="products-' + tenant.slug)
    assert response.text.split("\r\n") == [
        '"sku","barcode","name","category","unit_price","cost","tax_rate","reorder_level","active",'
        '"open_price","sold_by_weight"',
        '"A","111","Apple","Fruit","1.20","0.50","5.00","10.000","yes","no","no"',
        '"B","222","Banana, ripe","Fruit","0.40","0.10","0.00","5.000","no","no","no"',
        "",
    ]


def test_export_then_import_round_trips(staff, owner_engine):
    source, source_clients = staff("dedicated", roles=("Managers",))
    target, target_clients = staff("pooled", roles=("Admin",))
    import_text(
        source_clients["Managers"],
        "sku,barcode,name,category,unit_price,cost,tax_rate,reorder_level,active\n"
        'A,0111,"Apple ""Gala""",Fruit,1.20,0.50,5,10.5,yes\n'
        "-B,,=SUM(A1),@risky,0,0,0,0,no\n"
        "C,333,Café crème,Drinks,2.75,1,19,0.125,yes\n",
    )
    exported = source_clients["Managers"].get("/products/export.csv").body
    # into the same tenant: every row updates its product, nothing changes
    before = all_products(owner_engine, source)
    result = upload(source_clients["Managers"], exported, 303)
    assert "Imported 3 products (0 created, 3 updated)" in result.follow().text
    assert all_products(owner_engine, source) == before
    # into another tenant: the same products are created there
    result = upload(target_clients["Admin"], exported, 303)
    assert "Imported 3 products (3 created, 0 updated)" in result.follow().text
    assert all_products(owner_engine, target) == before
    assert {r[0]: r[2:4] for r in before}["-B"] == ("=SUM(A1)", "@risky")


def test_cashier_cannot_export_or_import(workspace, owner_engine):
    tenant, clients = workspace
    clients["Cashiers"].get("/products/export.csv", status=403)
    upload(clients["Cashiers"], b"sku,name,unit_price\nA,Apple,1\n", 403)
    assert count(owner_engine, tenant, "products") == 0
