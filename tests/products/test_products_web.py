"""Product pages through the WSGI app: list and search, new and edit, roles, bad input,
uniqueness per tenant, and tenant isolation by id."""

import uuid
from decimal import Decimal

import pytest

from salesapp.db import tenant_session
from salesapp.products.services import ProductService
from tests.products.helpers import count, csrf_token, post, rows

GOOD = {
    "sku": "TEA-1",
    "barcode": "5000001",
    "name": "Green tea",
    "category": "Drinks",
    "unit_price": "3.50",
    "cost": "1.20",
    "tax_rate": "7.5",
    "reorder_level": "12.5",
    "active": "1",
}


def create(client, **fields):
    """Create a product through the form as ``client``; returns the response."""
    return post(client, "/products/new", {**GOOD, **fields}, status=303)


def product_rows(owner_engine, tenant):
    return rows(
        owner_engine,
        tenant,
        "select sku, barcode, name, category, unit_price, cost, tax_rate, reorder_level,"
        " is_active from products order by sku",
    )


def product_id(owner_engine, tenant, sku):
    return rows(owner_engine, tenant, "select id from products where sku = :sku", sku=sku)[0][0]


# -- the main flows --------------------------------------------------------------------
@pytest.mark.parametrize("role", ["Managers", "Admin"])
def test_create_through_the_form_then_list_shows_it(workspace_per_placement, role, owner_engine):
    tenant, clients = workspace_per_placement
    client = clients[role]
    post(client, "/taxes", {"name": "Reduced", "rate": "7.5"}, status=303)
    page = client.get("/products")
    assert "New product" in page.text
    form = page.click("New product").forms[1]
    assert form.action.endswith("/products/new")
    for name, value in GOOD.items():
        if name not in ("active", "tax_rate"):
            form[name] = value
    form["tax_rate_id"].select(text="Reduced (7.5%)")
    result = form.submit(status=303)
    assert result.location.endswith("/products")
    listing = result.follow()
    assert "Product TEA-1 (Green tea) was created." in listing.text
    assert "Green tea" in listing.text and "5000001" in listing.text
    assert product_rows(owner_engine, tenant) == [
        (
            "TEA-1",
            "5000001",
            "Green tea",
            "Drinks",
            Decimal("3.50"),
            Decimal("1.20"),
            Decimal("7.50"),
            Decimal("12.500"),
            True,
        )
    ]
    tenant_ids = rows(owner_engine, tenant, "select distinct tenant_id from products")
    assert tenant_ids == [(tenant.id,)]


def test_optional_fields_default_and_unchecked_active_means_inactive(workspace, owner_engine):
    tenant, clients = workspace
    post(
        clients["Managers"],
        "/products/new",
        {"sku": "S", "name": "Bare", "unit_price": "0"},
        status=303,
    )
    (row,) = product_rows(owner_engine, tenant)
    assert row == ("S", None, "Bare", "", 0, 0, 0, 0, False)
    assert str(row[4]) == "0.00" and str(row[7]) == "0.000"


def test_edit_changes_the_product(workspace, owner_engine):
    tenant, clients = workspace
    create(clients["Managers"])
    pid = product_id(owner_engine, tenant, "TEA-1")
    form = clients["Managers"].get(f"/products/{pid}/edit").forms[1]
    assert form["name"].value == "Green tea"
    assert form["unit_price"].value == "3.50"
    assert form["active"].checked
    form["name"] = "Green tea, loose"
    form["unit_price"] = "4"
    form["barcode"] = ""
    form["active"] = False
    result = form.submit(status=303).follow()
    assert "Product TEA-1 (Green tea, loose) was saved." in result.text
    assert "inactive" in result.text
    (row,) = product_rows(owner_engine, tenant)
    assert row[1:3] == (None, "Green tea, loose")
    assert row[4] == Decimal("4.00") and row[8] is False


def test_edit_keeps_its_own_sku_and_barcode(workspace, owner_engine):
    tenant, clients = workspace
    create(clients["Admin"])
    pid = product_id(owner_engine, tenant, "TEA-1")
    post(clients["Admin"], f"/products/{pid}/edit", {**GOOD, "name": "Renamed"}, status=303)
    assert product_rows(owner_engine, tenant)[0][2] == "Renamed"


# -- roles -----------------------------------------------------------------------------
def test_cashier_can_search_but_sees_no_edit_actions(workspace):
    _tenant, clients = workspace
    create(clients["Managers"])
    page = clients["Cashiers"].get("/products", {"q": "green"}, status=200)
    assert "Green tea" in page.text
    for action in ("New product", "Import CSV", "Export CSV", "/edit"):
        assert action not in page.text


def test_cashier_gets_403_on_every_edit_action_and_nothing_changes(workspace, owner_engine):
    tenant, clients = workspace
    create(clients["Managers"])
    pid = product_id(owner_engine, tenant, "TEA-1")
    before = product_rows(owner_engine, tenant)
    cashier = clients["Cashiers"]
    token = csrf_token(cashier)
    for url in (
        "/products/new",
        f"/products/{pid}/edit",
        "/products/import",
        "/products/export.csv",
    ):
        page = cashier.get(url, status=403)
        assert "Not allowed" in page.text
    cashier.post("/products/new", {**GOOD, "sku": "NEW", "csrf_token": token}, status=403)
    cashier.post(
        f"/products/{pid}/edit", {**GOOD, "name": "Hacked", "csrf_token": token}, status=403
    )
    cashier.post(
        "/products/import",
        {"csrf_token": token},
        upload_files=[("file", "p.csv", b"sku,name,unit_price\nX,Hacked,1\n")],
        status=403,
    )
    assert product_rows(owner_engine, tenant) == before


def test_signed_out_visitor_is_sent_to_sign_in(workspace, client_for):
    tenant, _ = workspace
    page = client_for(tenant).get("/products", status=302)
    assert page.location.endswith("/login")


def test_a_post_without_csrf_token_is_refused(workspace, owner_engine):
    tenant, clients = workspace
    clients["Managers"].post("/products/new", GOOD, status=400)
    assert count(owner_engine, tenant, "products") == 0


# -- bad input -------------------------------------------------------------------------
BAD_INPUT = [
    ("sku", "", "SKU is required"),
    ("sku", "S" * 65, "SKU is too long (65 characters; at most 64)"),
    ("barcode", "1" * 65, "Barcode is too long (65 characters; at most 64)"),
    ("name", "   ", "Name is required"),
    ("name", "N" * 201, "Name is too long (201 characters; at most 200)"),
    ("category", "C" * 101, "Category is too long (101 characters; at most 100)"),
    ("unit_price", "", "Unit price is required"),
    # numbers are read as the workspace's locale writes them (en_US here; issue 18)
    ("unit_price", "abc", "Unit price must be a number such as 1,234.5, got &#39;abc&#39;"),
    ("unit_price", "-1", "Unit price must be at least 0"),
    ("unit_price", "1.999", "Unit price: USD amounts have 2 decimal places; got &#39;1.999&#39;"),
    ("unit_price", "1e30", "Unit price must be a number such as 1,234.5, got &#39;1e30&#39;"),
    ("unit_price", "10000000000", "Unit price must be at most 9999999999.99"),
    ("unit_price", "NaN", "Unit price must be a number such as 1,234.5, got &#39;NaN&#39;"),
    ("unit_price", "1,23", "Unit price is ambiguous or badly grouped: &#39;1,23&#39;"),
    ("cost", "-0.01", "Cost must be at least 0"),
    ("cost", "x", "Cost must be a number such as 1,234.5, got &#39;x&#39;"),
    # a percentage posted instead of a named rate (an older client) is still checked
    ("tax_rate", "100.01", "Tax rate must be at most 100"),
    ("tax_rate", "-1", "Tax rate must be at least 0"),
    ("tax_rate", "5.555", "Tax rate has more than 2 decimal places"),
    ("reorder_level", "-1", "Reorder level must be at least 0"),
    ("reorder_level", "1.0001", "Reorder level has more than 3 decimal places"),
    ("reorder_level", "9999999999", "Reorder level must be at most 999999999.999"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_input_on_new_is_400_with_the_fields_message_and_writes_nothing(
    staff, owner_engine, field, value, message
):
    tenant, clients = staff("pooled", roles=("Managers",))
    page = post(clients["Managers"], "/products/new", {**GOOD, field: value}, status=400)
    shown_at = "tax_rate_id" if field == "tax_rate" else field  # the rate's <select>
    assert f'<p class="field-error" id="{shown_at}-error">{message}' in page.text
    assert count(owner_engine, tenant, "products") == 0


def test_bad_input_on_edit_is_400_and_changes_nothing(workspace, owner_engine):
    tenant, clients = workspace
    create(clients["Managers"])
    before = product_rows(owner_engine, tenant)
    pid = product_id(owner_engine, tenant, "TEA-1")
    page = post(
        clients["Managers"],
        f"/products/{pid}/edit",
        {**GOOD, "name": "Changed", "unit_price": "cheap", "tax_rate": "200"},
        status=400,
    )
    assert "Unit price must be a number such as 1,234.5, got &#39;cheap&#39;" in page.text
    assert "Tax rate must be at most 100" in page.text
    # the form shows what was typed, to be corrected
    assert 'value="Changed"' in page.text
    assert product_rows(owner_engine, tenant) == before


# -- uniqueness ------------------------------------------------------------------------
def test_a_taken_sku_or_barcode_is_a_400_naming_the_product(workspace, owner_engine):
    tenant, clients = workspace
    create(clients["Managers"])
    page = post(clients["Managers"], "/products/new", {**GOOD, "barcode": "other"}, status=400)
    assert "SKU TEA-1 is already used by Green tea" in page.text
    page = post(clients["Managers"], "/products/new", {**GOOD, "sku": "TEA-2"}, status=400)
    assert "Barcode 5000001 is already used by Green tea" in page.text
    # shown together with the other fields' problems
    page = post(clients["Managers"], "/products/new", {**GOOD, "unit_price": "x"}, status=400)
    assert "SKU TEA-1 is already used by Green tea" in page.text
    assert "Unit price must be a number" in page.text
    assert count(owner_engine, tenant, "products") == 1


def test_editing_to_another_products_sku_is_refused(workspace, owner_engine):
    tenant, clients = workspace
    create(clients["Managers"])
    create(clients["Managers"], sku="COFFEE", barcode="", name="Coffee")
    pid = product_id(owner_engine, tenant, "COFFEE")
    page = post(
        clients["Managers"],
        f"/products/{pid}/edit",
        {**GOOD, "barcode": "", "name": "Coffee"},
        status=400,
    )
    assert "SKU TEA-1 is already used by Green tea" in page.text
    assert [r[0] for r in product_rows(owner_engine, tenant)] == ["COFFEE", "TEA-1"]


def test_two_products_may_both_have_no_barcode(workspace, owner_engine):
    tenant, clients = workspace
    create(clients["Managers"], sku="A", barcode="")
    create(clients["Managers"], sku="B", barcode="")
    assert count(owner_engine, tenant, "products") == 2


def test_the_same_sku_in_two_tenants_is_fine(staff, owner_engine):
    first, first_clients = staff("pooled", roles=("Managers",))
    second, second_clients = staff("pooled", roles=("Managers",))
    create(first_clients["Managers"])
    create(second_clients["Managers"])
    assert product_rows(owner_engine, first)[0][0] == "TEA-1"
    assert product_rows(owner_engine, second)[0][0] == "TEA-1"


def test_a_unique_violation_from_the_database_is_a_400_not_a_500(
    workspace, owner_engine, monkeypatch
):
    """As if another request inserted the same SKU between the check and the insert."""
    tenant, clients = workspace
    create(clients["Managers"])
    monkeypatch.setattr(ProductService, "conflicts", lambda self, fields, exclude=None: {})
    page = post(clients["Managers"], "/products/new", {**GOOD, "barcode": ""}, status=400)
    assert "SKU TEA-1 is already used by another product" in page.text
    page = post(clients["Managers"], "/products/new", {**GOOD, "sku": "T2"}, status=400)
    assert "Barcode 5000001 is already used by another product" in page.text
    assert count(owner_engine, tenant, "products") == 1
    # the request after a refused one works normally
    create(clients["Managers"], sku="T3", barcode="")
    assert count(owner_engine, tenant, "products") == 2


# -- list: search, filters, paging -----------------------------------------------------
def import_csv(client, text, status=303):
    return post(
        client,
        "/products/import",
        {},
        upload_files=[("file", "products.csv", text.encode())],
        status=status,
    )


def listed_skus(page):
    return [cell.text for cell in page.html.select("table.data tbody tr td:first-child")]


def test_search_by_name_sku_prefix_and_barcode(workspace):
    _tenant, clients = workspace
    import_csv(
        clients["Managers"],
        "sku,barcode,name,unit_price\n"
        "TEA-1,5000001,Green tea,1\n"
        "TEA-2,5000002,Black tea,1\n"
        "COF-1,6000001,Coffee beans,1\n",
    )
    cashier = clients["Cashiers"]
    assert listed_skus(cashier.get("/products", {"q": "TEA"})) == ["TEA-2", "TEA-1"]
    assert listed_skus(cashier.get("/products", {"q": "cof-"})) == ["COF-1"]
    assert listed_skus(cashier.get("/products", {"q": "6000001"})) == ["COF-1"]
    assert listed_skus(cashier.get("/products", {"q": "BEANS"})) == ["COF-1"]
    assert listed_skus(cashier.get("/products", {"q": "nothing"})) == []
    assert "No product matches this search." in cashier.get("/products", {"q": "zz"}).text


def test_search_treats_percent_and_underscore_literally(workspace):
    _tenant, clients = workspace
    import_csv(
        clients["Managers"],
        "sku,name,unit_price\nP1,100% cotton,1\nP2,1000 cotton,1\nU1,snake_case,1\nU2,snakeXcase,1\n",
    )
    cashier = clients["Cashiers"]
    assert listed_skus(cashier.get("/products", {"q": "100%"})) == ["P1"]
    assert listed_skus(cashier.get("/products", {"q": "%"})) == ["P1"]
    assert listed_skus(cashier.get("/products", {"q": "snake_"})) == ["U1"]
    assert listed_skus(cashier.get("/products", {"q": "_"})) == ["U1"]


def test_category_and_active_filters(workspace):
    _tenant, clients = workspace
    import_csv(
        clients["Managers"],
        "sku,name,category,unit_price,active\n"
        "A,Apple,Fruit,1,yes\nB,Banana,Fruit,1,no\nC,Carrot,Vegetable,1,yes\n",
    )
    page = clients["Cashiers"].get("/products")
    assert listed_skus(page) == ["A", "B", "C"]
    assert page.text.count('class="badge warn">inactive') == 1
    assert listed_skus(clients["Cashiers"].get("/products", {"category": "Fruit"})) == ["A", "B"]
    assert listed_skus(clients["Cashiers"].get("/products", {"active": "no"})) == ["B"]
    assert listed_skus(
        clients["Cashiers"].get("/products", {"active": "yes", "category": "Fruit"})
    ) == ["A"]


def test_bad_list_parameters_are_a_400_not_a_500(workspace):
    _tenant, clients = workspace
    page = clients["Cashiers"].get("/products", {"page": "x"}, status=400)
    assert "Page must be a number, got &#39;x&#39;" in page.text
    page = clients["Cashiers"].get("/products", {"page": "1e40"}, status=400)
    assert "Page is too large" in page.text
    page = clients["Cashiers"].get("/products", {"active": "maybe"}, status=400)
    assert "Active must be one of all, yes, no" in page.text


def test_the_list_pages_by_50_and_keeps_the_search(workspace):
    _tenant, clients = workspace
    lines = "".join(f"P{i:03d},Widget {i:03d},1\n" for i in range(120))
    import_csv(clients["Managers"], "sku,name,unit_price\n" + lines + "X,Other,1\n")
    first = clients["Cashiers"].get("/products", {"q": "widget"})
    assert len(listed_skus(first)) == 50
    assert "120 products · page 1 of 3" in first.text
    second = first.click("Next")
    assert listed_skus(second)[0] == "P050"
    third = second.click("Next")
    assert listed_skus(third) == [f"P{i:03d}" for i in range(100, 120)]
    assert "Next" not in third.text
    assert listed_skus(third.click("Previous")) == listed_skus(second)


def test_the_service_search_used_by_the_point_of_sale(workspace, app_engine):
    tenant, clients = workspace
    import_csv(
        clients["Managers"],
        "sku,barcode,name,unit_price,active\n"
        "TEA-1,5000001,Green tea,1,yes\nTEA-2,5000002,Old tea,1,no\nABC,TEA-9,Tea bag,1,yes\n",
    )
    with tenant_session(app_engine(tenant.store_name), tenant.id) as db, db.begin():
        products = ProductService(db, tenant.id)
        assert [p.sku for p in products.search("tea")] == ["TEA-1", "ABC"]
        assert [p.sku for p in products.search("tea", active_only=False)] == [
            "TEA-1",
            "TEA-2",
            "ABC",
        ]
        # an exact SKU or barcode comes first
        assert [p.sku for p in products.search("TEA-9")] == ["ABC"]
        assert [p.sku for p in products.search("tea", active_only=False, limit=1, offset=1)] == [
            "TEA-2"
        ]
        assert products.by_barcode("5000002").sku == "TEA-2"
        assert products.by_barcode("nope") is None
        assert products.by_sku("ABC").name == "Tea bag"
        assert products.get("not-a-uuid") is None


# -- isolation by id -------------------------------------------------------------------
@pytest.mark.parametrize("placements", [("pooled", "pooled"), ("dedicated", "pooled")])
def test_another_tenants_product_is_404_by_id(staff, owner_engine, placements):
    owner, owner_clients = staff(placements[0], roles=("Managers",))
    _other, other_clients = staff(placements[1], roles=("Managers",))
    create(owner_clients["Managers"])
    pid = product_id(owner_engine, owner, "TEA-1")
    other_clients["Managers"].get(f"/products/{pid}/edit", status=404)
    post(other_clients["Managers"], f"/products/{pid}/edit", {**GOOD, "name": "Stolen"}, status=404)
    assert product_rows(owner_engine, owner)[0][2] == "Green tea"
    owner_clients["Managers"].get(f"/products/{pid}/edit", status=200)


def test_unknown_and_malformed_ids_are_404(workspace):
    _tenant, clients = workspace
    clients["Managers"].get(f"/products/{uuid.uuid4()}/edit", status=404)
    clients["Managers"].get("/products/not-a-uuid/edit", status=404)
    clients["Managers"].get("/products/123/edit", status=404)
