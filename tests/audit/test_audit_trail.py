"""The audit trail records sign-ins, sales, voids, refunds, price changes, stock
adjustments, user and role changes; Admin reads it; nobody edits it."""

import pytest

from tests.conftest import form_with, sign_in
from tests.sales.test_pos_pages import cart_form, scan, submit_complete


def events(admin, **filters):
    page = admin.get("/audit", params=filters)
    return [
        (tr["data-action"], *(td.text.strip() for td in tr.select("td")[1:5:2]))
        for tr in page.html.select("tr[data-action]")
    ], page


@pytest.fixture(params=["pooled", "dedicated"])
def shop(request, staff):
    tenant, clients = staff(request.param)
    manager = clients["Managers"]
    form = form_with(manager.get("/products/new"), "sku")
    form["sku"], form["name"], form["unit_price"], form["cost"] = "TEA", "Tea", "4.00", "1.00"
    form.submit(status=303)
    form = form_with(manager.get("/stock/receive"), "quantity")
    form.select("product_id", text="Tea (TEA)")
    form["quantity"] = "10"
    form.submit(status=303)
    return tenant, clients


def test_sign_ins_are_recorded_with_who_and_from_where(shop):
    _tenant, clients = shop
    rows, page = events(clients["Admin"], action="auth.")
    who = {(action, user) for action, user, _ in rows}
    assert ("auth.sign_in", "admin") in who
    assert sum(1 for action, *_ in rows if action == "auth.sign_in") >= 3  # one per role
    failed = clients["Admin"].app  # the same app, a new browser
    import webtest

    stranger = webtest.TestApp(
        failed,
        extra_environ={
            "HTTP_HOST": clients["Admin"].extra_environ["HTTP_HOST"],
            "REMOTE_ADDR": "198.51.100.7",
        },
    )
    sign_in(stranger, "admin", "not the password", status=400)
    rows, page = events(clients["Admin"], action="auth.sign_in_failed")
    assert rows[0][:2] == ("auth.sign_in_failed", "admin")
    assert "198.51.100.7" in page.html.select_one("tr[data-action]").text


def test_a_sale_its_void_and_a_refund_are_recorded_by_their_actors(shop):
    _tenant, clients = shop
    till, manager = clients["Cashiers"], clients["Managers"]
    cashier = till.get("/").html.select_one('[data-testid="username"]').text
    for _ in range(2):
        scan(till, "TEA")
        form = cart_form(till)
        form["pay_cash"] = "4"
        submit_complete(form)
    sales = till.get("/sales").html.select("tbody a")
    first, second = (a["href"] for a in sales[::-1])
    void = form_with(manager.get(first), "reason")
    void["reason"] = "scanned twice"
    void.submit(status=303)
    refund = form_with(manager.get(second + "/refund"), "method")
    refund[next(f for f in refund.fields if f.startswith("qty_"))] = "1"
    refund.submit(status=303)
    rows, _ = events(clients["Admin"], action="sale.")
    actions = [(action, user) for action, user, _ in rows]
    assert actions.count(("sale.complete", cashier)) == 2
    manager_name = manager.get("/").html.select_one('[data-testid="username"]').text
    assert ("sale.void", manager_name) in actions and ("sale.refund", manager_name) in actions
    assert any(target == "sale 1" for action, _, target in rows if action == "sale.void")


def test_price_changes_and_stock_adjustments_are_recorded(shop):
    _tenant, clients = shop
    manager = clients["Managers"]
    page = manager.get("/products")
    edit = page.html.select_one('a[href*="/edit"]')["href"]
    form = form_with(manager.get(edit), "unit_price")
    form["unit_price"] = "4.50"
    form.submit(status=303)
    form = form_with(manager.get("/stock/adjust"), "quantity")
    form.select("product_id", text="Tea (TEA)")
    form["quantity"], form["reason"] = "-1", "broken jar"
    form.submit(status=303)
    rows, page = events(clients["Admin"])
    price = next(r for r in rows if r[0] == "product.price")
    assert price[2] == "product TEA"
    assert "unit_price: 4.00 → 4.50" in page.text
    assert any(r[0] == "stock.adjust" for r in rows) and "broken jar" in page.text
    assert any(r[0] == "stock.receive" for r in rows)


def test_user_and_role_changes_are_recorded(shop):
    _tenant, clients = shop
    admin = clients["Admin"]
    form = form_with(admin.get("/users/new"), "username")
    form["username"], form["full_name"] = "newbie", "New Bie"
    form["password"] = "a-Temporary-pass-1"
    for field in form.fields.get("roles", []):
        if field._value == "Cashiers" if hasattr(field, "_value") else False:
            field.checked = True
    form.set(
        "roles",
        True,
        index=[f.pos for f in form.fields["roles"]].index(
            next(f.pos for f in form.fields["roles"] if f._value == "Cashiers")
        ),
    )
    form.submit(status=303)
    rows, _ = events(admin, action="user.")
    assert ("user.create", "admin", "user newbie") in rows
    assert ("user.role.add", "admin", "user newbie") in rows


def test_only_admins_read_the_trail(shop):
    _tenant, clients = shop
    clients["Managers"].get("/audit", status=403)
    clients["Cashiers"].get("/audit", status=403)
    assert "Audit" not in clients["Managers"].get("/").html.select_one("nav.menu").text
    assert "Audit" in clients["Admin"].get("/").html.select_one("nav.menu").text


def test_filters_and_bad_filters(shop):
    _tenant, clients = shop
    admin = clients["Admin"]
    rows, _ = events(admin, username="admin")
    assert rows and {user for _, user, _ in rows} == {"admin"}
    admin.get("/audit", params={"from": "yesterday"}, status=400)
    admin.get("/audit", params={"from": "2026-12-01", "to": "2026-11-01"}, status=400)
    admin.get("/audit", params={"page": "0"}, status=400)


def test_a_refused_change_leaves_no_event(shop):
    _tenant, clients = shop
    manager = clients["Managers"]
    before, _ = events(clients["Admin"], action="stock.adjust")
    form = form_with(manager.get("/stock/adjust"), "quantity")
    form.select("product_id", text="Tea (TEA)")
    form["quantity"], form["reason"] = "-99", "too many"
    form.submit(status=400)
    after, _ = events(clients["Admin"], action="stock.adjust")
    assert after == before
