"""The audit trail records sign-ins, sales, voids, refunds, price changes, stock
adjustments, user and role changes; Admin reads it; nobody edits it."""

import pytest

from tests.accounts.support import sql
from tests.conftest import form_with, sign_in
from tests.sales.test_pos_pages import cart_form, scan, submit_complete


def events(admin, **filters):
    """(action, username, target as recorded) of the audit page's rows, and the page."""
    page = admin.get("/audit", params=filters)
    return [
        (tr["data-action"], tr.select("td")[1]["data-username"], tr.select("td")[3]["data-target"])
        for tr in page.html.select("tr[data-action]")
    ], page


def shown(admin, **filters) -> list[tuple[str, ...]]:
    """(action, who, what, details) of the audit page's rows, as a person reads them."""
    page = admin.get("/audit", params=filters)
    return [
        (tr["data-action"], *(tr.select("td")[i].text.strip() for i in (1, 3, 4)))
        for tr in page.html.select("tr[data-action]")
    ]


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
    assert "unit price: 4.00 → 4.50" in page.text
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


def test_the_trail_names_people_and_rows_not_ids(shop, owner_engine):
    """Who acted by name and username; a refund's sale by its number, a movement's
    product and location by name; empty values as "—", never "None"; one query per
    kind of row for the whole page."""
    tenant, clients = shop
    till, manager, admin = clients["Cashiers"], clients["Managers"], clients["Admin"]
    sql(
        owner_engine,
        tenant,
        "update users set full_name = 'Carl Cashier' where username <> 'admin'",
    )
    scan(till, "TEA")
    form = cart_form(till)
    form["pay_cash"] = "4"
    submit_complete(form)
    sale = till.get("/sales").html.select_one("tbody a")["href"]
    refund = form_with(manager.get(sale + "/refund"), "method")
    refund[next(f for f in refund.fields if f.startswith("qty_"))] = "1"
    refund.submit(status=303)
    form = form_with(manager.get("/stock/adjust"), "quantity")
    form.select("product_id", text="Tea (TEA)")
    form["quantity"], form["reason"] = "-1", "broken jar"
    form.submit(status=303)

    rows = shown(admin)
    manager_name = manager.get("/").html.select_one('[data-testid="username"]').text
    refund_row = next(r for r in rows if r[0] == "sale.refund")
    assert refund_row[1] == f"Carl Cashier ({manager_name})"
    assert refund_row[2] == "sale 1"
    adjust = next(r for r in rows if r[0] == "stock.adjust")
    assert adjust[2] == "product Tea (TEA)"
    assert "location: Main" in adjust[3] and "broken jar" in adjust[3]
    page = admin.get("/audit").text
    assert " id " not in " ".join(r[2] for r in rows)
    assert "None" not in page
    assert "location_id" not in page
    signed_in = next(r for r in rows if r[0] == "auth.sign_in")
    assert signed_in[3] == "—"  # no details: a dash, not an empty cell


def test_audit_days_are_the_workspace_s_local_days(shop, owner_engine):
    """The From/To filters are local days: an event at 22:30 UTC is on the next day in
    Nairobi (UTC+3), and its time is shown in Nairobi's zone."""
    tenant, clients = shop
    admin = clients["Admin"]
    sql(
        owner_engine,
        tenant,
        "insert into workspace_settings (tenant_id, time_zone) values (:tid, 'Africa/Nairobi')"
        " on conflict (tenant_id) do update set time_zone = excluded.time_zone",
    )
    sql(
        owner_engine,
        tenant,
        "insert into audit_events (tenant_id, id, at, username, action, target)"
        " values (:tid, gen_random_uuid(), '2026-03-01 22:30+00', 'admin', 'test.late', 'x')",
    )
    rows, page = events(admin, action="test.late", **{"from": "2026-03-02", "to": "2026-03-02"})
    assert [r[0] for r in rows] == ["test.late"]
    assert "Mar 2, 2026" in page.html.select_one("tr[data-action] time").text
    assert "1:30" in page.html.select_one("tr[data-action] time").text
    rows, _ = events(admin, action="test.late", **{"from": "2026-03-01", "to": "2026-03-01"})
    assert rows == []
