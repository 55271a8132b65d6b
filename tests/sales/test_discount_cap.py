"""The discount caps (issues 16 and 17): a Cashier may take at most the workspace's cap
(10% by default, an Admin's setting) off a price, at the till and through the API;
Managers have a cap only when an Admin sets one, Admins none. A sale over it is refused,
saying the cap and that a Manager must ring or approve it, and nothing is written."""

import pytest

from tests.accounts.support import fill, sql
from tests.api.conftest import ApiClient
from tests.conftest import form_with, host_of, sign_in
from tests.sales.test_pos_pages import cart_form, open_shopfront, scan, submit_complete


@pytest.fixture
def shopfront(staff, client_for):
    """A pooled tenant's stocked shopfront with all three roles signed in (product B:
    10.00, no tax, 5 on hand)."""
    tenant, clients = open_shopfront(staff, "pooled")
    clients["Admin"] = client_for(tenant)
    sign_in(clients["Admin"], "admin", tenant.admin_password)
    return tenant, clients


def sell_b_with_discount(till, discount, status):
    """Ring one B (10.00) with ``discount`` off and pay what is due in cash."""
    scan(till, "B").follow()
    form = cart_form(till)
    form["discount_0"] = discount
    form.submit(status=303)
    form = cart_form(till)
    form["pay_cash"] = "10.00"
    return submit_complete(form, status=status)


def sales_count(owner_engine, tenant) -> int:
    return sql(owner_engine, tenant, "select count(*) from sales")[0][0]


def test_a_cashier_over_the_cap_is_refused_and_nothing_is_written(shopfront, owner_engine):
    tenant, clients = shopfront
    page = sell_b_with_discount(clients["Cashiers"], "1.01", status=400)
    message = " ".join(page.html.select_one(".field-error").text.split())
    assert "cap of 10%" in message
    assert "at most 1.00" in message
    assert "a Manager must ring the sale, or approve the discount" in message
    assert sales_count(owner_engine, tenant) == 0
    # the cart is kept: at the cap itself the same till sells
    form = cart_form(clients["Cashiers"])
    form["discount_0"], form["pay_cash"] = "1.00", "9.00"
    submit_complete(form)
    assert sales_count(owner_engine, tenant) == 1


@pytest.mark.parametrize("role", ["Managers", "Admin"])
def test_managers_and_admins_have_no_cap(shopfront, role, owner_engine):
    tenant, clients = shopfront
    sell_b_with_discount(clients[role], "9.00", status=303)
    assert sales_count(owner_engine, tenant) == 1


def test_an_admin_sets_the_cap_and_the_till_follows_it(shopfront, owner_engine):
    tenant, clients = shopfront
    admin, till = clients["Admin"], clients["Cashiers"]
    form = form_with(admin.get("/settings"), "cashier_discount_cap")
    assert form["cashier_discount_cap"].value == "10"
    fill(form, cashier_discount_cap="0").submit(status=303)
    assert "cap of 0%" in sell_b_with_discount(till, "0.01", status=400).text
    form = form_with(admin.get("/settings"), "cashier_discount_cap")
    fill(form, cashier_discount_cap="50").submit(status=303)
    form = cart_form(till)
    form["discount_0"], form["pay_cash"] = "5.00", "5.00"
    submit_complete(form)
    assert sales_count(owner_engine, tenant) == 1
    assert sql(owner_engine, tenant, "select cashier_discount_cap from sale_policies")[0][0] == 50


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("101", "at most 100"),
        ("-1", "at least 0"),
        ("lots", "must be a number"),
        ("2.555", "more than 2 decimal places"),
    ],
)
def test_a_bad_cap_is_refused_and_nothing_changes(shopfront, owner_engine, value, message):
    tenant, clients = shopfront
    form = form_with(clients["Admin"].get("/settings"), "cashier_discount_cap")
    page = fill(form, cashier_discount_cap=value).submit(status=400)
    assert message in page.html.select_one("#cashier_discount_cap-error").text
    assert sql(owner_engine, tenant, "select * from sale_policies") == []


def test_a_cashiers_api_sale_over_the_cap_is_refused(shopfront, catalog, app, owner_engine):
    from salesapp.operations.tokens import issue_token

    tenant, _clients = shopfront
    cashier = sql(
        owner_engine,
        tenant,
        "select u.username from users u join user_roles ur on ur.user_id = u.id "
        "join roles r on r.id = ur.role_id where r.name = 'Cashiers'",
    )[0][0]
    api = ApiClient(app, host_of(tenant), issue_token(catalog, tenant.slug, cashier, "t").plaintext)
    sale = {
        "lines": [{"sku": "B", "quantity": "1", "discount": "1.01"}],
        "payments": [{"method": "cash", "amount": "8.99"}],
    }
    res = api.post("/api/sales", sale, status=422)
    assert "a Manager must ring the sale" in res.json["errors"]["lines[0].discount"]
    sale["lines"][0]["discount"], sale["payments"][0]["amount"] = "1.00", "9.00"
    api.post("/api/sales", sale)
    assert sales_count(owner_engine, tenant) == 1
