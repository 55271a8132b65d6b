"""Expenses (Managers and Admin): recording, correcting, the filtered and paged list
with its total, every refused input (400, nothing written), locations, and who may see
the pages. What the pages write in a pooled and in a dedicated tenant; the rules, which
the placement cannot change, in a pooled one."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from salesapp.localization import PLAIN
from tests.accounts.support import fill, sql
from tests.conftest import form_with
from tests.reports.conftest import Books

TODAY = dt.datetime.now(dt.UTC).date()
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture
def workspace(staff):
    """(tenant, signed-in clients by role) of a new pooled tenant: for the rules, which
    the placement cannot change."""
    return staff("pooled")


@pytest.fixture(params=["pooled", "dedicated"])
def workspace_per_placement(request, staff):
    """The same in a pooled and in a dedicated store: for what the pages write."""
    return staff(request.param)


def stored(owner_engine, tenant) -> list:
    """The tenant's expenses with their recorder's username and location's name."""
    return sql(
        owner_engine,
        tenant,
        "select e.*, u.username, l.name as location from expenses e"
        " join users u on u.id = e.user_id join locations l on l.id = e.location_id"
        " order by e.created_at, e.id",
    )


def record(client, status=303, **values):
    form = form_with(client.get("/expenses/new"), "category")
    return fill(form, **values).submit(status=status)


def edit(client, expense_id, status=303, **values):
    form = form_with(client.get(f"/expenses/{expense_id}/edit"), "category")
    return fill(form, **values).submit(status=status)


GOOD = {"category": "Rent", "amount": "1200.50", "spent_on": TODAY.isoformat(), "note": "May"}


def test_record_an_expense_and_see_it_listed(workspace_per_placement, owner_engine):
    tenant, clients = workspace_per_placement
    manager = clients["Managers"]
    new = manager.get("/expenses/new")
    assert new.html.select_one("select#location_id") is None  # one location: no choice
    assert new.html.select_one("#spent_on")["value"] == TODAY.isoformat()
    done = record(manager, **{**GOOD, "category": "  Rent ", "note": "May\r\nand June"}).follow()
    assert f"Recorded an expense of 1,200.50 (Rent) on {PLAIN.day(TODAY)}." in done.text
    (row,) = stored(owner_engine, tenant)
    assert (row.category, row.amount, row.spent_on, row.note) == (
        "Rent",
        D("1200.50"),
        TODAY,
        "May\nand June",
    )
    assert row.location == "Main" and row.tenant_id == tenant.id
    who = manager.get("/").html.select_one("[data-testid=who]").get_text(strip=True)
    assert row.username == who  # the recorder is the signed-in user
    listed = done.html.select_one(f'tr[data-expense="{row.id}"]')
    assert "Rent" in listed.get_text() and listed.select_one("[data-col=amount]").text == "1,200.50"
    assert done.html.select_one("[data-testid=expenses-total] [data-col=amount]").text.strip() == (
        "1,200.50"
    )
    assert "Expenses" in done.html.select_one("nav.menu").get_text()


def test_correcting_an_expense_keeps_who_recorded_it(workspace, owner_engine):
    tenant, clients = workspace
    record(clients["Managers"], **GOOD)
    (before,) = stored(owner_engine, tenant)
    form = form_with(clients["Admin"].get(f"/expenses/{before.id}/edit"), "category")
    assert (form["category"].value, form["amount"].value, form["spent_on"].value) == (
        "Rent",
        "1200.50",
        TODAY.isoformat(),
    )
    res = edit(
        clients["Admin"],
        before.id,
        category="Utilities",
        amount="80",
        spent_on=YESTERDAY.isoformat(),
        note="",
    )
    assert "Saved the expense of 80.00 (Utilities)." in res.follow().text
    (after,) = stored(owner_engine, tenant)
    assert (after.category, after.amount, after.spent_on, after.note) == (
        "Utilities",
        D("80.00"),
        YESTERDAY,
        "",
    )
    assert after.user_id == before.user_id and after.location_id == before.location_id


BAD = [
    ({"category": ""}, "category", "Category is required"),
    ({"category": "   "}, "category", "Category is required"),
    ({"category": "x" * 61}, "category", "Category is too long (61 characters; at most 60)"),
    ({"amount": ""}, "amount", "Amount is required"),
    ({"amount": "0"}, "amount", "Amount must be at least 0.01"),
    ({"amount": "-5"}, "amount", "Amount must be at least 0.01"),
    ({"amount": "10000000.01"}, "amount", "Amount must be at most 10000000"),
    ({"amount": "1.234"}, "amount", "USD amounts have 2 decimal places; got '1.234'"),
    ({"amount": "1,23"}, "amount", "Amount is ambiguous or badly grouped"),
    ({"amount": "ten"}, "amount", "Amount must be a number"),
    ({"amount": "1e30"}, "amount", "Amount must be a number such as 1,234.5"),
    ({"amount": "12345678901234"}, "amount", "Amount is too large"),
    ({"spent_on": ""}, "spent_on", "Date is required"),
    ({"spent_on": "31/01/2026"}, "spent_on", "Date must be a date written YYYY-MM-DD"),
    ({"spent_on": "2026-02-30"}, "spent_on", "Date must be a date written YYYY-MM-DD"),
    (
        {"spent_on": (TODAY + dt.timedelta(days=1)).isoformat()},
        "spent_on",
        f"Date must not be after {TODAY.isoformat()}",
    ),
    ({"spent_on": "1899-12-31"}, "spent_on", "Date must not be before 1900-01-01"),
    ({"note": "n" * 501}, "note", "Note is too long (501 characters; at most 500)"),
]


def test_every_bad_input_is_refused_with_its_reason_and_nothing_is_written(workspace, owner_engine):
    tenant, clients = workspace
    manager = clients["Managers"]
    for values, field, message in BAD:
        page = record(manager, status=400, **{**GOOD, **values})
        assert message in page.html.select_one(f"#{field}-error").get_text(), values
        assert page.html.select_one(f"#{field}")["aria-invalid"] == "true"
        if field != "category":  # what was typed comes back to be corrected
            assert page.html.select_one("#category")["value"] == "Rent"
    assert stored(owner_engine, tenant) == []

    # the same rules when correcting; the expense stays as it was
    record(manager, **GOOD)
    (before,) = stored(owner_engine, tenant)
    for values, field, message in BAD:
        page = edit(manager, before.id, status=400, **{**GOOD, **values})
        assert message in page.html.select_one(f"#{field}-error").get_text(), values
    assert stored(owner_engine, tenant) == [before]


def test_the_largest_amount_and_todays_date_are_accepted(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Admin",))
    record(clients["Admin"], **{**GOOD, "amount": "10000000.00", "note": "n" * 500})
    record(clients["Admin"], **{**GOOD, "category": "c" * 60, "amount": "0.01"})
    assert [(row.amount, len(row.category)) for row in stored(owner_engine, tenant)] == [
        (D("10000000.00"), 4),
        (D("0.01"), 60),
    ]


@pytest.fixture
def many(workspace, app_engine, owner_engine):
    """60 expenses over 60 days in three categories."""
    tenant, clients = workspace
    books = Books(tenant, app_engine(tenant.store_name, pool_size=2), owner_engine)
    categories = ("Rent", "Fuel", "Wages")
    made = []
    for n in range(60):
        amount = D(f"{n + 1}.{n % 100:02d}")
        spent_on = TODAY - dt.timedelta(days=n)
        books.expense(categories[n % 3], amount, spent_on)
        made.append((categories[n % 3], amount, spent_on))
    return tenant, clients, made


def listing(client, status=200, **query):
    page = client.get("/expenses", params=query, status=status)
    amounts = [amount(td.text) for td in page.html.select("tbody [data-col=amount]")]
    total = page.html.select_one("[data-testid=expenses-total] [data-col=amount]")
    return page, amounts, amount(total.text) if total is not None else None


def amount(text: str) -> D:
    """An amount as an en_US page shows it ("1,200.50")."""
    return PLAIN.parse_number(text.strip())


def test_the_list_filters_pages_and_totals(many):
    _tenant, clients, made = many
    manager = clients["Managers"]
    page, amounts, total = listing(manager)
    assert len(amounts) == 50 and total == sum(a for _, a, _ in made)
    assert amounts == [a for _, a, _ in made[:50]]  # newest first
    assert "60 expenses · page 1 of 2" in page.text
    page2 = manager.get(page.html.select_one("a[rel=next]")["href"])
    assert [amount(td.text) for td in page2.html.select("tbody [data-col=amount]")] == [
        a for _, a, _ in made[50:]
    ]

    week = {"from": (TODAY - dt.timedelta(days=6)).isoformat(), "to": TODAY.isoformat()}
    _, amounts, total = listing(manager, **week)
    assert amounts == [a for _, a, _ in made[:7]] and total == sum(amounts)

    _, amounts, total = listing(manager, category="Fuel")
    fuel = [a for c, a, _ in made if c == "Fuel"]
    assert amounts == fuel and total == sum(fuel)

    both = {**week, "category": "Rent"}
    page, amounts, total = listing(manager, **both)
    rent_week = [a for c, a, d in made if c == "Rent" and d >= TODAY - dt.timedelta(days=6)]
    assert amounts == rent_week and total == sum(rent_week)
    assert page.html.select_one("select#category option[selected]")["value"] == "Rent"

    # paging keeps the filters
    rent = [a for c, a, _ in made if c == "Rent"]
    assert len(rent) == 20
    page, _, _ = listing(manager, category="Rent", page="1")
    assert page.html.select_one("a[rel=next]") is None
    _, amounts, total = listing(manager, category="Nothing")
    assert amounts == [] and total is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "yesterday"}, "From must be a date written YYYY-MM-DD"),
        ({"to": "2026-02-30"}, "To must be a date written YYYY-MM-DD"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "To must not be before From (Mar 2, 2026)"),
        ({"page": "0"}, "Page must be at least 1"),
        ({"page": "x"}, "Page must be a number"),
    ],
)
def test_bad_list_filters_are_a_400_with_the_reason(staff, query, message):
    _, clients = staff("pooled", roles=("Managers",))
    page = clients["Managers"].get("/expenses", params=query, status=400)
    assert message in page.html.select_one("[role=alert]").get_text()


def test_cashiers_get_403_on_every_expense_page_and_change_nothing(workspace, owner_engine):
    tenant, clients = workspace
    record(clients["Managers"], **GOOD)
    (before,) = stored(owner_engine, tenant)
    cashier = clients["Cashiers"]
    assert "Expenses" not in cashier.get("/").html.select_one("nav.menu").get_text()
    token = cashier.get("/").forms[0]["csrf_token"].value
    cashier.get("/expenses", status=403)
    cashier.get("/expenses/new", status=403)
    cashier.get(f"/expenses/{before.id}/edit", status=403)
    posted = {**GOOD, "csrf_token": token, "amount": "1.00"}
    cashier.post("/expenses/new", posted, status=403)
    cashier.post(f"/expenses/{before.id}/edit", posted, status=403)
    assert stored(owner_engine, tenant) == [before]


def test_signed_out_visitors_are_sent_to_sign_in(staff, client_for):
    tenant, _ = staff("pooled")
    anonymous = client_for(tenant)
    for path in ("/expenses", "/expenses/new"):
        assert anonymous.get(path, status=302).location.endswith("/login")


def test_an_unknown_expense_is_a_404(staff):
    _, clients = staff("dedicated", roles=("Admin",))
    clients["Admin"].get("/expenses/0190f0f0-0000-7000-8000-000000000000/edit", status=404)
    clients["Admin"].get("/expenses/not-an-id/edit", status=404)


def test_expenses_of_another_tenant_are_a_404(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Admin",))
    record(clients["Admin"], **GOOD)
    (theirs,) = stored(owner_engine, tenant)
    _, other = staff("pooled", roles=("Admin",))
    other["Admin"].get(f"/expenses/{theirs.id}/edit", status=404)
    assert other["Admin"].get("/expenses").html.select("tbody tr") == []


def test_a_multi_location_tenant_chooses_the_location(staff, owner_engine, app_engine):
    tenant, clients = staff("dedicated", roles=("Admin",), multi_location=True)
    books = Books(tenant, app_engine(tenant.store_name, pool_size=2), owner_engine)
    harbour = books.add_location("Harbour")
    closed = books.add_location("Closed shop")
    admin = clients["Admin"]
    page = admin.get("/expenses/new")
    options = {o.get_text(strip=True): o for o in page.html.select("select#location_id option")}
    assert set(options) == {"Main", "Harbour", "Closed shop"}
    assert options["Main"].has_attr("selected")  # the default location first

    record(admin, **GOOD, location_id=str(harbour))
    (row,) = stored(owner_engine, tenant)
    assert row.location == "Harbour"
    assert "Harbour" in admin.get("/expenses").html.select_one("tbody tr").get_text()

    # a deactivated location takes no new expenses, but keeps the ones it has
    record(admin, **GOOD, location_id=str(closed))
    sql(owner_engine, tenant, "update locations set is_active = false where name = 'Closed shop'")
    token = admin.get("/").forms[0]["csrf_token"].value
    page = admin.post(
        "/expenses/new", {**GOOD, "csrf_token": token, "location_id": str(closed)}, status=400
    )
    assert "Closed shop is deactivated: choose an active location." in page.text
    unknown = "0190f0f0-0000-7000-8000-000000000000"
    page = admin.post(
        "/expenses/new", {**GOOD, "csrf_token": token, "location_id": unknown}, status=400
    )
    assert "No such location: choose one from the list." in page.text
    page = admin.post(
        "/expenses/new", {**GOOD, "csrf_token": token, "location_id": "x"}, status=400
    )
    assert "Location is not a valid id" in page.text
    assert len(stored(owner_engine, tenant)) == 2

    at_closed = stored(owner_engine, tenant)[1]
    form = form_with(admin.get(f"/expenses/{at_closed.id}/edit"), "category")
    assert form["location_id"].value == str(at_closed.location_id)
    fill(form, amount="9.99").submit(status=303)
    assert stored(owner_engine, tenant)[1].amount == D("9.99")
    assert stored(owner_engine, tenant)[1].location == "Closed shop"
    edit(admin, at_closed.id, status=303, location_id=str(harbour))
    assert stored(owner_engine, tenant)[1].location == "Harbour"


def test_a_single_location_tenant_ignores_a_posted_location(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Admin",))
    token = clients["Admin"].get("/").forms[0]["csrf_token"].value
    clients["Admin"].post(
        "/expenses/new",
        {**GOOD, "csrf_token": token, "location_id": secrets.token_hex(4)},
        status=303,
    )
    assert [row.location for row in stored(owner_engine, tenant)] == ["Main"]


def set_workspace(owner_engine, tenant, **values):
    """Set the workspace's settings (zone, locale, currency) as the settings page would."""
    columns = ", ".join(values)
    sql(
        owner_engine,
        tenant,
        f"insert into workspace_settings (tenant_id, {columns})"
        f" values (:tid, {', '.join(':' + k for k in values)})"
        f" on conflict (tenant_id) do update set "
        + ", ".join(f"{k} = excluded.{k}" for k in values),
        **values,
    )


def test_the_list_filters_by_location_and_shows_it(staff, owner_engine, app_engine):
    tenant, clients = staff("pooled", roles=("Managers",), multi_location=True)
    books = Books(tenant, app_engine(tenant.store_name, pool_size=2), owner_engine)
    harbour = books.add_location("Harbour")
    manager = clients["Managers"]
    record(manager, **{**GOOD, "amount": "10.00"})  # Main, the default
    record(manager, **{**GOOD, "amount": "7.25", "location_id": str(harbour)})
    record(manager, **{**GOOD, "amount": "2.75", "location_id": str(harbour)})
    page, amounts, total = listing(manager)
    assert sorted(amounts) == [D("2.75"), D("7.25"), D("10.00")] and total == D("20.00")
    shown = [tr.select("td")[2].get_text(strip=True) for tr in page.html.select("tbody tr")]
    assert sorted(shown) == ["Harbour", "Harbour", "Main"]
    options = [o.get_text(strip=True) for o in page.html.select("select#location option")]
    assert options == ["All locations", "Harbour", "Main"]

    page, amounts, total = listing(manager, location=str(harbour))
    assert sorted(amounts) == [D("2.75"), D("7.25")] and total == D("10.00")
    assert page.html.select_one("select#location option[selected]")["value"] == str(harbour)
    page, _, _ = listing(manager, location=str(harbour), category="Rent")
    assert "2 expenses · page 1 of 1" in page.text
    page = manager.get("/expenses", params={"location": "x"}, status=400)
    assert "Location is not a valid id" in page.html.select_one("[role=alert]").get_text()


def test_amounts_are_read_and_shown_in_the_workspace_s_locale(staff, owner_engine):
    """In German 1.234,50 is one thousand two hundred and thirty-four euros fifty; the
    list and the edit form show it back as German writes it; yen have no cents."""
    tenant, clients = staff("pooled", roles=("Managers",))
    manager = clients["Managers"]
    set_workspace(owner_engine, tenant, locale="de_DE", currency="EUR")
    done = record(manager, **{**GOOD, "amount": "1.234,50"}).follow()
    (row,) = stored(owner_engine, tenant)
    assert row.amount == D("1234.50")
    assert done.html.select_one("tbody [data-col=amount]").text == "1.234,50"
    form = form_with(manager.get(f"/expenses/{row.id}/edit"), "category")
    assert form["amount"].value == "1234,50"  # parses back unchanged
    page = record(manager, status=400, **{**GOOD, "amount": "1,234.50"})
    assert "Deutsch" in page.html.select_one("#amount-error").text  # written the wrong way

    set_workspace(owner_engine, tenant, locale="ja_JP", currency="JPY")
    page = record(manager, status=400, **{**GOOD, "amount": "100.5"})
    assert "JPY amounts have no decimal places" in page.html.select_one("#amount-error").text
    record(manager, **{**GOOD, "amount": "1,500"})
    assert stored(owner_engine, tenant)[-1].amount == D("1500")


def test_today_is_the_workspace_s_local_day(staff, owner_engine):
    """The date offered, and the latest one allowed, is today where the shop is: Kiritimati
    (UTC+14) is a day ahead of UTC most of the day, Niue (UTC-11) a day behind."""
    tenant, clients = staff("pooled", roles=("Managers",))
    manager = clients["Managers"]
    for zone in ("Pacific/Kiritimati", "Pacific/Niue"):
        set_workspace(owner_engine, tenant, time_zone=zone)
        local_today = dt.datetime.now(ZoneInfo(zone)).date()
        page = manager.get("/expenses/new")
        assert page.html.select_one("#spent_on")["value"] == local_today.isoformat()
        assert page.html.select_one("#spent_on")["max"] == local_today.isoformat()
        record(manager, **{**GOOD, "spent_on": local_today.isoformat()})
        tomorrow = (local_today + dt.timedelta(days=1)).isoformat()
        record(manager, status=400, **{**GOOD, "spent_on": tomorrow})
    assert len(stored(owner_engine, tenant)) == 2
