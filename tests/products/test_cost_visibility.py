"""Cashiers never see cost prices or margins (issue 17, item 7): not on the product
list, not by typing the URL of a page or file that shows them (product form, CSV
export, reports, dashboard, stock valuation), not through the API. Managers and Admins
see them, each place tested both ways."""

import pytest

from salesapp.operations.tokens import issue_token
from tests.products.helpers import import_csv

#: a cost no other figure on these pages has, so its absence means something
COST = "7.77"
CATALOGUE = f"sku,name,unit_price,cost\nTEA,Green tea,9.99,{COST}\n"
REPORTS_WITH_COST = ("profit-and-loss", "stock-valuation")


@pytest.fixture
def shop(workspace):
    tenant, clients = workspace
    import_csv(clients["Managers"], CATALOGUE)
    return tenant, clients


def product_path(page) -> str:
    return page.html.select_one('a[href$="/edit"]')["href"]


def test_the_product_list_shows_cost_to_managers_and_admins_only(shop):
    _, clients = shop
    for role in ("Managers", "Admin"):
        page = clients[role].get("/products")
        headers = [th.text for th in page.html.select("table.data th")]
        assert "Cost" in headers
        assert COST in page.text
    page = clients["Cashiers"].get("/products", {"q": "tea"})
    headers = [th.text for th in page.html.select("table.data th")]
    assert "Cost" not in headers
    assert COST not in page.text
    assert "Green tea" in page.text
    assert "9.99" in page.text


def test_the_product_form_and_export_are_not_the_cashiers(shop):
    _, clients = shop
    edit = product_path(clients["Managers"].get("/products"))
    assert COST in clients["Managers"].get(edit).text
    assert COST in clients["Managers"].get("/products/export.csv").text
    for url in (edit, "/products/new", "/products/export.csv", "/products/import"):
        page = clients["Cashiers"].get(url, status=403)
        assert COST not in page.text


@pytest.mark.parametrize("name", REPORTS_WITH_COST)
def test_reports_with_cost_are_managers_only(shop, name):
    _, clients = shop
    assert "cost" in clients["Managers"].get(f"/reports/{name}").text.lower()
    clients["Managers"].get(f"/reports/{name}.csv", status=200)
    cashier = clients["Cashiers"]
    for url in ("/reports", f"/reports/{name}", f"/reports/{name}.csv"):
        assert COST not in cashier.get(url, status=403).text


def test_stock_valuation_shows_the_cost_to_a_manager(shop):
    """The cost is really on that report (so its 403 for a Cashier hides something)."""
    _, clients = shop
    manager = clients["Managers"]
    page = manager.get("/stock/receive")
    form = next(f for f in page.forms.values() if "quantity" in f.fields)
    form["product_id"] = form["product_id"].options[-1][0]
    form["quantity"] = "2"
    form.submit(status=303)
    page = manager.get("/reports/stock-valuation")
    assert "Green tea" in page.text
    assert COST in page.text


def test_the_dashboard_and_stock_pages_are_not_the_cashiers(shop):
    _, clients = shop
    for url in ("/dashboard", "/stock", "/stock/movements"):
        clients["Managers"].get(url, status=200)
        clients["Cashiers"].get(url, status=403)


def api_product(client, token):
    client.authorization = ("Bearer", token)
    return client.get("/api/products", {"q": "TEA"}).json["items"][0]


def test_the_api_shows_cost_to_a_manager(staff, catalog, make_user, client_for):
    tenant, clients = staff("pooled", roles=("Managers",))
    import_csv(clients["Managers"], CATALOGUE)
    username, _ = make_user(tenant, ("Managers",))
    token = issue_token(catalog, tenant.slug, username, "t").plaintext
    assert api_product(client_for(tenant), token)["cost"] == COST


def test_the_api_hides_cost_from_a_cashier(staff, catalog, make_user, client_for):
    tenant, clients = staff("pooled", roles=("Managers",))
    import_csv(clients["Managers"], CATALOGUE)
    username, _ = make_user(tenant, ("Cashiers",))
    token = issue_token(catalog, tenant.slug, username, "t").plaintext
    item = api_product(client_for(tenant), token)
    assert item["unit_price"] == "9.99"
    assert "cost" not in item


def test_the_api_shows_cost_to_a_manager_and_takes_the_till_flags(staff, catalog, client_for):
    tenant, clients = staff("pooled", roles=("Managers",))
    import_csv(clients["Managers"], CATALOGUE)
    token = issue_token(catalog, tenant.slug, "admin", "t").plaintext
    item = api_product(client_for(tenant), token)
    assert "cost" in item
    assert item["open_price"] is False
    assert item["sold_by_weight"] is False
