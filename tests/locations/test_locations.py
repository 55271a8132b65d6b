"""Locations (Admin): list, create, edit, the one default; a one-location workspace's
Admin turning several locations on."""

import uuid

import pytest
from sqlalchemy import text

from salesapp.db import tenant_session
from salesapp.locations.services import LocationError, LocationService
from tests.accounts.support import csrf_token, fill, form_for, sql


def locations(owner_engine, tenant):
    return {
        row.name: row for row in sql(owner_engine, tenant, "select * from locations order by name")
    }


def snapshot(owner_engine, tenant):
    return sql(owner_engine, tenant, "select * from locations order by id")


@pytest.fixture
def workspace(staff):
    """(tenant, {"Admin": signed-in client}) of a new pooled multi-location tenant (only
    an Admin manages locations): for the rules, which the placement cannot change."""
    return staff("pooled", roles=("Admin",), multi_location=True)


@pytest.fixture(params=["pooled", "dedicated"])
def workspace_per_placement(request, staff):
    """The same in a pooled and in a dedicated store: for what the pages write."""
    return staff(request.param, roles=("Admin",), multi_location=True)


def create(admin, status=303, **values):
    page = admin.get("/locations/new")
    return fill(form_for(page, "/locations/new"), **values).submit(status=status)


def edit_form(admin, owner_engine, tenant, name, testid="location-form"):
    location_id = locations(owner_engine, tenant)[name].id
    return form_for(admin.get(f"/locations/{location_id}/edit"), "/edit", testid=testid)


def test_list_shows_the_default_location(workspace):
    _, clients = workspace
    page = clients["Admin"].get("/locations")
    row = page.html.select_one('tr[data-location="Main"]')
    assert row.select_one('[data-testid="default"]') is not None
    assert "active" in row.text


def test_create_and_edit_a_location(workspace_per_placement, owner_engine):
    tenant, clients = workspace_per_placement
    admin = clients["Admin"]
    res = create(admin, name="  Harbour Shop ", address="1 Quay Street\r\nPort Town")
    assert "Created location Harbour Shop." in res.follow().text
    stored = locations(owner_engine, tenant)["Harbour Shop"]
    assert stored.address == "1 Quay Street\nPort Town"
    assert stored.is_active and not stored.is_default and stored.tenant_id == tenant.id

    form = edit_form(admin, owner_engine, tenant, "Harbour Shop")
    assert form["name"].value == "Harbour Shop"
    fill(form, name="Quay Shop", address="2 Quay Street", active=False).submit(status=303)
    rows = locations(owner_engine, tenant)
    assert "Harbour Shop" not in rows
    assert rows["Quay Shop"].address == "2 Quay Street" and rows["Quay Shop"].is_active is False
    assert (
        "deactivated"
        in admin.get("/locations").html.select_one('tr[data-location="Quay Shop"]').text
    )


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": ""}, "name", "is required"),
        ({"name": "   "}, "name", "is required"),
        ({"name": "x" * 101}, "name", "at most 100"),
        ({"name": "main"}, "name", "A location named 'Main' already exists"),
        ({"name": "Ok", "address": "a" * 501}, "address", "at most 500"),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(
    workspace, owner_engine, values, field, message
):
    tenant, clients = workspace
    before = snapshot(owner_engine, tenant)
    res = create(clients["Admin"], status=400, **values)
    assert message in res.html.select_one(f"#{field}-error").text
    assert snapshot(owner_engine, tenant) == before


def test_edit_refuses_a_taken_name(workspace, owner_engine):
    tenant, clients = workspace
    admin = clients["Admin"]
    create(admin, name="Second")
    before = snapshot(owner_engine, tenant)
    form = edit_form(admin, owner_engine, tenant, "Second")
    res = fill(form, name="MAIN", address="changed too").submit(status=400)
    assert "already exists" in res.html.select_one("#name-error").text
    assert snapshot(owner_engine, tenant) == before


def test_the_default_cannot_be_deactivated(workspace, owner_engine):
    tenant, clients = workspace
    before = snapshot(owner_engine, tenant)
    form = edit_form(clients["Admin"], owner_engine, tenant, "Main")
    res = fill(form, name="Main renamed", active=False).submit(status=400)
    assert "cannot be deactivated" in res.html.select_one("#active-error").text
    assert snapshot(owner_engine, tenant) == before


def test_make_default_moves_the_one_default(workspace, owner_engine):
    tenant, clients = workspace
    admin = clients["Admin"]
    create(admin, name="Second")
    main_id = locations(owner_engine, tenant)["Main"].id
    main_page = admin.get(f"/locations/{main_id}/edit")
    # the default is not offered to become the default
    assert main_page.html.select_one('[data-testid="default-form"]') is None
    form = edit_form(admin, owner_engine, tenant, "Second", testid="default-form")
    res = form.submit(status=303)
    assert "Second is now the default location." in res.follow().text
    rows = locations(owner_engine, tenant)
    assert [name for name, row in rows.items() if row.is_default] == ["Second"]
    # the old default may now be deactivated
    fill(edit_form(admin, owner_engine, tenant, "Main"), active=False).submit(status=303)
    assert locations(owner_engine, tenant)["Main"].is_active is False


def test_an_inactive_location_cannot_become_the_default(workspace, owner_engine):
    tenant, clients = workspace
    admin = clients["Admin"]
    create(admin, name="Closed")
    fill(edit_form(admin, owner_engine, tenant, "Closed"), active=False).submit(status=303)
    before = snapshot(owner_engine, tenant)
    res = edit_form(admin, owner_engine, tenant, "Closed", testid="default-form").submit(status=400)
    assert "activate it before making it the default" in res.text
    assert snapshot(owner_engine, tenant) == before


@pytest.mark.parametrize("location_id", ["nope", str(uuid.uuid4())])
def test_unknown_location_ids_are_404(workspace, location_id):
    _, clients = workspace
    admin = clients["Admin"]
    admin.get(f"/locations/{location_id}/edit", status=404)
    admin.post(
        f"/locations/{location_id}/edit",
        {"csrf_token": csrf_token(admin), "name": "x"},
        status=404,
    )


def test_a_location_of_another_tenant_is_not_reachable(staff, owner_engine):
    tenant_a, _ = staff("dedicated", multi_location=True)
    _, clients_b = staff("pooled", roles=("Admin",), multi_location=True)
    before = snapshot(owner_engine, tenant_a)
    location_id = locations(owner_engine, tenant_a)["Main"].id
    admin_b = clients_b["Admin"]
    admin_b.get(f"/locations/{location_id}/edit", status=404)
    for action in ("save", "make-default"):
        admin_b.post(
            f"/locations/{location_id}/edit",
            {"csrf_token": csrf_token(admin_b), "action": action, "name": "Taken"},
            status=404,
        )
    assert snapshot(owner_engine, tenant_a) == before


@pytest.mark.parametrize("role", ["Admin", "Managers", "Cashiers"])
def test_a_single_location_tenant_has_only_the_list_and_only_for_its_admin(
    staff, catalog, owner_engine, role
):
    """One location: no page to add or edit locations; the list (its one location and
    the way to have several) is the Admin's only."""
    tenant, clients = staff("pooled")
    client = clients[role]
    location_id = locations(owner_engine, tenant)["Main"].id
    before = snapshot(owner_engine, tenant)
    client.get("/locations", status=200 if role == "Admin" else 403)
    for url in ("/locations/new", f"/locations/{location_id}/edit"):
        client.get(url, status=404)
    token = csrf_token(client)
    client.post("/locations/new", {"csrf_token": token, "name": "Second"}, status=404)
    client.post(
        f"/locations/{location_id}/edit",
        {"csrf_token": token, "action": "save", "name": "Renamed"},
        status=404,
    )
    if role != "Admin":
        client.post("/locations", {"csrf_token": token, "action": "multi-location"}, status=403)
        assert not catalog_multi_location(catalog, tenant)
    assert snapshot(owner_engine, tenant) == before


def catalog_multi_location(catalog, tenant) -> bool:
    with catalog.session() as session:
        return session.execute(
            text("select multi_location from tenants where id = :id"), {"id": tenant.id}
        ).scalar_one()


def test_the_admin_of_one_location_turns_several_on(staff, catalog, owner_engine):
    tenant, clients = staff("pooled", roles=("Admin", "Managers"))
    admin = clients["Admin"]
    page = admin.get("/locations")
    assert [tr["data-location"] for tr in page.html.select("tr[data-location]")] == ["Main"]
    assert "the business address" in page.text  # no receipt address of its own
    assert page.html.select_one("a[href$='/locations/new']") is None
    form = form_for(page, "/locations", testid=None)
    res = form.submit(status=303)
    assert catalog_multi_location(catalog, tenant)
    listing = res.follow()
    assert "Several locations are on" in listing.text
    assert listing.html.select_one('[data-testid="multi-location"]') is None
    create(admin, name="Warehouse")
    assert set(locations(owner_engine, tenant)) == {"Main", "Warehouse"}
    # the other pages see it too (their expense form offers the locations)
    assert clients["Managers"].get("/expenses/new").html.select_one("select#location_id")
    [(event,)] = sql(
        owner_engine,
        tenant,
        "select detail from audit_events where action = 'settings.update' and target = 'locations'",
    )
    assert event == {"multi_location": [False, True]}


def test_the_receipt_address_is_labelled_as_an_override(workspace):
    _, clients = workspace
    page = clients["Admin"].get("/locations/new")
    label = page.html.select_one("label[for=address]").get_text(" ", strip=True)
    assert label.startswith("Receipt address") and "blank" in label


# -- the service other domains call ----------------------------------------------------
def service(owner_engine, tenant):
    engine = owner_engine(tenant.store_name)
    return tenant_session(engine, tenant.id)


def test_service_default_active_and_get(make_tenant, owner_engine):
    tenant = make_tenant("pooled", multi_location=True)
    with service(owner_engine, tenant) as db, db.begin():
        locations_ = LocationService(db, tenant.id)
        main = locations_.default()
        assert main.name == "Main" and main.is_default
        zoo = locations_.create(name="Zoo Road", address="")
        annex = locations_.create(name="Annex", address="")
        locations_.update(annex, name="Annex", address="", active=False)
        assert [loc.name for loc in locations_.active()] == ["Main", "Zoo Road"]
        assert locations_.get(zoo.id) is zoo
        assert locations_.get(str(zoo.id)) is zoo
        assert locations_.get("not-an-id") is None
        assert locations_.get(uuid.uuid4()) is None
        with pytest.raises(LocationError, match="activate it"):
            locations_.make_default(annex)
        locations_.make_default(zoo)
        assert locations_.default() is zoo
        assert [loc.name for loc in locations_.all() if loc.is_default] == ["Zoo Road"]


def test_service_repairs_a_missing_default(make_tenant, owner_engine):
    tenant = make_tenant("pooled", multi_location=True)
    sql(owner_engine, tenant, "update locations set is_default = false")
    with service(owner_engine, tenant) as db, db.begin():
        assert LocationService(db, tenant.id).default().name == "Main"
    assert [
        r.name for r in sql(owner_engine, tenant, "select name from locations where is_default")
    ] == ["Main"]


def test_service_cannot_see_another_tenants_locations(make_tenant, owner_engine):
    tenant_a = make_tenant("pooled", multi_location=True)
    tenant_b = make_tenant("pooled", multi_location=True)
    main_a = locations(owner_engine, tenant_a)["Main"]
    with service(owner_engine, tenant_b) as db, db.begin():
        assert LocationService(db, tenant_b.id).get(main_a.id) is None
