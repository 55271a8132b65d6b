"""Customer pages through the WSGI app: list and search, new, edit and detail with
purchase history, roles, bad input, and tenant isolation by id."""

import uuid

import pytest
from sqlalchemy import text

from salesapp.ids import uuid7
from tests.products.helpers import count, csrf_token, post, rows, tenant_connection

GOOD = {
    "name": "Ada Lovelace",
    "phone": "+44 20 7946-0101",
    "email": "ada@example.org",
    "notes": "Prefers e-mail.\nPays by card.",
}


def create(client, **fields):
    """Create a customer as ``client``; returns its id (from the redirect)."""
    result = post(client, "/customers/new", {**GOOD, "same_phone_ok": "1", **fields}, status=303)
    return result.location.rstrip("/").rsplit("/", 1)[1]


def customer_rows(owner_engine, tenant):
    return rows(
        owner_engine, tenant, "select name, phone, email, notes from customers order by name"
    )


def listed_names(page):
    return [a.text for a in page.html.select("table.data tbody tr td:first-child a")]


# -- the main flows --------------------------------------------------------------------
@pytest.mark.parametrize("role", ["Managers", "Admin"])
def test_create_through_the_form_shows_the_customer(workspace_per_placement, role, owner_engine):
    tenant, clients = workspace_per_placement
    client = clients[role]
    form = client.get("/customers").click("New customer").forms[1]
    for name, value in GOOD.items():
        form[name] = value
    result = form.submit(status=303)
    detail = result.follow()
    assert "Customer Ada Lovelace was created." in detail.text
    assert "+44 20 7946-0101" in detail.text and "ada@example.org" in detail.text
    assert "Prefers e-mail.<br>\nPays by card." in detail.text
    assert "No purchases yet." in detail.text
    assert customer_rows(owner_engine, tenant) == [tuple(GOOD.values())]
    assert rows(owner_engine, tenant, "select distinct tenant_id from customers") == [(tenant.id,)]
    assert listed_names(client.get("/customers")) == ["Ada Lovelace"]


def test_only_the_name_is_required(workspace, owner_engine):
    tenant, clients = workspace
    create(clients["Managers"], phone="", email="", notes="")
    assert customer_rows(owner_engine, tenant) == [("Ada Lovelace", "", "", "")]


def test_edit_changes_the_customer(workspace, owner_engine):
    tenant, clients = workspace
    cid = create(clients["Managers"])
    form = clients["Managers"].get(f"/customers/{cid}").click("Edit").forms[1]
    assert form["email"].value == "ada@example.org"
    form["name"] = "Ada King"
    form["email"] = ""
    result = form.submit(status=303)
    assert result.location.endswith(f"/customers/{cid}")
    assert "Customer Ada King was saved." in result.follow().text
    assert customer_rows(owner_engine, tenant) == [("Ada King", GOOD["phone"], "", GOOD["notes"])]


# -- roles -----------------------------------------------------------------------------
def test_cashier_can_look_up_and_view_but_not_change(workspace, owner_engine):
    tenant, clients = workspace
    cid = create(clients["Managers"])
    before = customer_rows(owner_engine, tenant)
    cashier = clients["Cashiers"]
    page = cashier.get("/customers", {"q": "ada"}, status=200)
    assert listed_names(page) == ["Ada Lovelace"]
    assert "New customer" not in page.text
    detail = cashier.get(f"/customers/{cid}", status=200)
    assert "ada@example.org" in detail.text
    assert f"/customers/{cid}/edit" not in detail.text
    cashier.get("/customers/new", status=403)
    cashier.get(f"/customers/{cid}/edit", status=403)
    token = csrf_token(cashier)
    cashier.post("/customers/new", {**GOOD, "name": "Eve", "csrf_token": token}, status=403)
    cashier.post(
        f"/customers/{cid}/edit", {**GOOD, "name": "Hacked", "csrf_token": token}, status=403
    )
    assert customer_rows(owner_engine, tenant) == before


# -- bad input -------------------------------------------------------------------------
BAD_INPUT = [
    ("name", "", "Name is required"),
    ("name", "N" * 201, "Name is too long (201 characters; at most 200)"),
    ("phone", "1" * 51, "Phone is too long (51 characters; at most 50)"),
    ("email", "not-an-address", "E-mail is not a valid e-mail address: 'not-an-address'"),
    ("email", "ada@localhost", "E-mail is not a valid e-mail address: 'ada@localhost'"),
    ("email", "ada lovelace@example.org", "E-mail is not a valid e-mail address"),
    ("email", "a@" + "b" * 250 + ".org", "E-mail is too long"),
    ("notes", "x" * 2001, "Notes is too long (2001 characters; at most 2000)"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_input_on_new_is_400_with_the_fields_message_and_writes_nothing(
    staff, owner_engine, field, value, message
):
    tenant, clients = staff("pooled", roles=("Managers",))
    page = post(clients["Managers"], "/customers/new", {**GOOD, field: value}, status=400)
    error = page.html.select_one(f"#{field}-error")
    assert error is not None and "field-error" in error["class"]
    assert message in error.text
    assert count(owner_engine, tenant, "customers") == 0


def test_bad_input_on_edit_is_400_and_changes_nothing(workspace, owner_engine):
    tenant, clients = workspace
    cid = create(clients["Managers"])
    before = customer_rows(owner_engine, tenant)
    page = post(
        clients["Managers"],
        f"/customers/{cid}/edit",
        {**GOOD, "name": "", "email": "nope"},
        status=400,
    )
    assert "Name is required" in page.text
    assert "E-mail is not a valid e-mail address" in page.text
    assert 'value="nope"' in page.text
    assert customer_rows(owner_engine, tenant) == before


# -- search and paging -----------------------------------------------------------------
def add_customers(owner_engine, tenant, *customers):
    with tenant_connection(owner_engine, tenant) as conn:
        for name, phone, email in customers:
            conn.execute(
                text(
                    "insert into customers (tenant_id, id, name, phone, email)"
                    " values (:t, :id, :name, :phone, :email)"
                ),
                {"t": tenant.id, "id": uuid7(), "name": name, "phone": phone, "email": email},
            )


def test_search_by_name_phone_and_email(workspace, owner_engine):
    tenant, clients = workspace
    add_customers(
        owner_engine,
        tenant,
        ("Ada Lovelace", "555-0101", "ada@example.org"),
        ("Charles Babbage", "(555) 0199", "charles@engines.test"),
        ("Grace Hopper", "777 1234", "grace@navy.test"),
    )
    cashier = clients["Cashiers"]
    assert listed_names(cashier.get("/customers", {"q": "LOVE"})) == ["Ada Lovelace"]
    assert listed_names(cashier.get("/customers", {"q": "555"})) == [
        "Ada Lovelace",
        "Charles Babbage",
    ]
    # phone digits match whatever the punctuation
    assert listed_names(cashier.get("/customers", {"q": "555 0199"})) == ["Charles Babbage"]
    assert listed_names(cashier.get("/customers", {"q": "7771234"})) == ["Grace Hopper"]
    assert listed_names(cashier.get("/customers", {"q": "engines.test"})) == ["Charles Babbage"]
    assert listed_names(cashier.get("/customers", {"q": ""})) == [
        "Ada Lovelace",
        "Charles Babbage",
        "Grace Hopper",
    ]
    assert "No customer matches this search." in cashier.get("/customers", {"q": "zz"}).text


def test_search_treats_percent_and_underscore_literally(workspace, owner_engine):
    tenant, clients = workspace
    add_customers(
        owner_engine,
        tenant,
        ("Half_Price Ltd", "", "buyer_1@shop.test"),
        ("HalfXPrice Ltd", "", "buyerX1@shop.test"),
        ("100% Organic", "", ""),
        ("1000 Organic", "", ""),
    )
    cashier = clients["Cashiers"]
    assert listed_names(cashier.get("/customers", {"q": "half_"})) == ["Half_Price Ltd"]
    assert listed_names(cashier.get("/customers", {"q": "buyer_"})) == ["Half_Price Ltd"]
    assert listed_names(cashier.get("/customers", {"q": "100%"})) == ["100% Organic"]
    assert listed_names(cashier.get("/customers", {"q": "%"})) == ["100% Organic"]


def test_the_list_pages_by_50(workspace, owner_engine):
    tenant, clients = workspace
    add_customers(owner_engine, tenant, *[(f"Customer {i:03d}", "", "") for i in range(75)])
    first = clients["Cashiers"].get("/customers")
    assert len(listed_names(first)) == 50
    assert "75 customers · page 1 of 2" in first.text
    second = first.click("Next")
    assert listed_names(second) == [f"Customer {i:03d}" for i in range(50, 75)]
    assert "Next" not in second.text
    clients["Cashiers"].get("/customers", {"page": "0"}, status=400)


# -- isolation and bad ids -------------------------------------------------------------
@pytest.mark.parametrize("placements", [("pooled", "pooled"), ("pooled", "dedicated")])
def test_another_tenants_customer_is_404_by_id(staff, owner_engine, placements):
    owner, owner_clients = staff(placements[0], roles=("Managers", "Cashiers"))
    _other, other_clients = staff(placements[1], roles=("Managers", "Cashiers"))
    cid = create(owner_clients["Managers"])
    other_clients["Cashiers"].get(f"/customers/{cid}", status=404)
    other_clients["Managers"].get(f"/customers/{cid}/edit", status=404)
    post(
        other_clients["Managers"], f"/customers/{cid}/edit", {**GOOD, "name": "Stolen"}, status=404
    )
    assert customer_rows(owner_engine, owner)[0][0] == "Ada Lovelace"
    owner_clients["Cashiers"].get(f"/customers/{cid}", status=200)


def test_unknown_and_malformed_ids_are_404(workspace):
    _tenant, clients = workspace
    for path in (
        f"/customers/{uuid.uuid4()}",
        "/customers/not-a-uuid",
        "/customers/1",
        "/customers/not-a-uuid/edit",
    ):
        clients["Managers"].get(path, status=404)


# -- purchase history ------------------------------------------------------------------
def insert_sale(
    conn, tenant, customer_id, number, total, *, username="admin", status="completed", minutes_ago=0
):
    location_id = conn.scalar(text("select id from locations where is_default"))
    user_id = conn.scalar(text("select id from users where username = :u"), {"u": username})
    sale_id = uuid7()
    conn.execute(
        text(
            "insert into sales (tenant_id, id, number, location_id, user_id, customer_id,"
            " status, subtotal, discount_total, tax_total, total, paid_total, change_due,"
            " created_at)"
            " values (:t, :id, :number, :location, :user, :customer, :status, :total, 0, 0,"
            " :total, :total, 0, now() - make_interval(mins => :ago))"
        ),
        {
            "t": tenant.id,
            "id": sale_id,
            "number": number,
            "location": location_id,
            "user": user_id,
            "customer": customer_id,
            "status": status,
            "total": total,
            "ago": minutes_ago,
        },
    )
    return sale_id


def cashier_username(conn):
    return conn.scalar(
        text(
            "select u.username from users u join user_roles ur on ur.user_id = u.id"
            " join roles r on r.id = ur.role_id where r.name = 'Cashiers'"
        )
    )


def history(page):
    return [
        tuple(cell.text.strip() for cell in row.select("td"))
        for row in page.html.select("table.data tbody tr")
    ]


def test_detail_shows_the_customers_sales_newest_first(workspace, owner_engine):
    tenant, clients = workspace
    cid = create(clients["Managers"])
    other = create(clients["Managers"], name="Someone else")
    with tenant_connection(owner_engine, tenant) as conn:
        older = insert_sale(conn, tenant, cid, 1, "10.00", minutes_ago=60)
        newer = insert_sale(conn, tenant, cid, 3, "25.50", status="voided", minutes_ago=5)
        insert_sale(conn, tenant, other, 2, "99.99", minutes_ago=30)
    page = clients["Managers"].get(f"/customers/{cid}")
    assert [(r[0], r[2], r[3]) for r in history(page)] == [
        ("3", "25.50", "voided"),
        ("1", "10.00", "completed"),
    ]
    links = [a["href"] for a in page.html.select("table.data tbody a")]
    assert links[0].endswith(f"/sales/{newer}") and links[1].endswith(f"/sales/{older}")
    assert page.html.select_one("table.data .badge.bad").text == "voided"


def test_history_shows_at_most_the_50_newest_sales(workspace, owner_engine):
    tenant, clients = workspace
    cid = create(clients["Managers"])
    with tenant_connection(owner_engine, tenant) as conn:
        for number in range(1, 53):
            insert_sale(conn, tenant, cid, number, "1.00", minutes_ago=100 - number)
    numbers = [int(row[0]) for row in history(clients["Admin"].get(f"/customers/{cid}"))]
    assert numbers == list(range(52, 2, -1))


def test_a_cashier_sees_only_their_own_sales_in_the_history(workspace, owner_engine):
    tenant, clients = workspace
    cid = create(clients["Managers"])
    with tenant_connection(owner_engine, tenant) as conn:
        insert_sale(conn, tenant, cid, 1, "10.00")
        insert_sale(conn, tenant, cid, 2, "20.00", username=cashier_username(conn))
    assert [r[0] for r in history(clients["Cashiers"].get(f"/customers/{cid}"))] == ["2"]
    assert [r[0] for r in history(clients["Managers"].get(f"/customers/{cid}"))] == ["2", "1"]
