"""The quick keys page: a Manager arranges a location's keys for the till (add, label
and colour, up and down, remove), within the rules (one key per product, at most 48,
active products, the palette), in the tenant's own store, and nobody else may."""

import uuid

import pytest

from salesapp.db import tenant_session
from salesapp.locations.services import LocationService
from salesapp.products import quickkeys
from salesapp.products.models import PALETTE
from salesapp.products.quickkeys import KeyLook, QuickKeyError, QuickKeyService
from salesapp.products.services import ProductService
from tests.products.helpers import (
    csrf_token,
    default_location_id,
    import_csv,
    post,
    product_ids,
    rows,
)

CATALOGUE = (
    "sku,name,category,unit_price,active,open_price,sold_by_weight\n"
    "APL,Apples,Fruit,2.40,yes,no,yes\n"
    "BRD,Bread,Bakery,1.80,yes,no,no\n"
    "CAK,Cake slice,Bakery,0,yes,yes,no\n"
    "OLD,Old stock,Bakery,1.00,no,no,no\n"
)


def keys(owner_engine, tenant, location_id=None):
    """(position, sku, label, colour) of the location's keys (the default one's)."""
    location_id = location_id or default_location_id(owner_engine, tenant)
    return [
        tuple(row)
        for row in rows(
            owner_engine,
            tenant,
            "select k.position, p.sku, k.label, k.colour from quick_keys k"
            " join products p on p.tenant_id = k.tenant_id and p.id = k.product_id"
            " where k.location_id = :location order by k.position",
            location=location_id,
        )
    ]


def page_url(owner_engine, tenant, location_id=None):
    return f"/locations/{location_id or default_location_id(owner_engine, tenant)}/quick-keys"


def act(client, url, status=303, **data):
    """POST one action of the quick keys page."""
    return post(client, url, data, status=status)


def add(client, url, product_id, status=303, **data):
    return act(client, url, status=status, action="add", product_id=str(product_id), **data)


def key_id(owner_engine, tenant, sku):
    return rows(
        owner_engine,
        tenant,
        "select k.id from quick_keys k join products p on p.id = k.product_id"
        " and p.tenant_id = k.tenant_id where p.sku = :sku",
        sku=sku,
    )[0][0]


@pytest.fixture
def shop(workspace, owner_engine):
    """(tenant, clients, the default location's page, SKU -> product id) with the
    catalogue imported."""
    tenant, clients = workspace
    import_csv(clients["Managers"], CATALOGUE)
    return tenant, clients, page_url(owner_engine, tenant), product_ids(owner_engine, tenant)


# -- the main flow ---------------------------------------------------------------------
@pytest.mark.parametrize("role", ["Managers", "Admin"])
def test_arrange_keys_through_the_page(workspace_per_placement, owner_engine, role):
    tenant, clients = workspace_per_placement
    client = clients[role]
    import_csv(clients["Managers"], CATALOGUE)
    # from the products list to the default location's page
    listing = client.get("/products")
    page = listing.click("Quick keys").follow()
    assert "Quick keys of Main" in page.text
    assert page.html.select_one('[data-testid="no-keys"]') is not None
    # search, then add from the matches
    found = client.get(page.request.path, {"q": "a"})
    matches = found.html.select_one('[data-testid="matches"]').text
    assert "Apples" in matches
    assert "Bread" in matches
    assert "Old stock" not in matches
    for form in [f for f in found.forms.values() if "product_id" in f.fields][:3]:
        done = form.submit("action", status=303)
        assert done.location.endswith("quick-keys?q=a")
    assert [row[1] for row in keys(owner_engine, tenant)] == ["APL", "BRD", "CAK"]
    shown = client.get(page.request.path)
    items = shown.html.select('[data-testid="quick-keys"] li')
    assert [item["data-product"] for item in items] == ["APL", "BRD", "CAK"]
    assert "2.40/kg" in items[0].text
    assert "open price" in items[2].text
    # every row written to this tenant's own store
    assert rows(owner_engine, tenant, "select distinct tenant_id from quick_keys") == [(tenant.id,)]


def test_label_and_colour_then_move_and_remove(shop, owner_engine):
    tenant, clients, url, ids = shop
    manager = clients["Managers"]
    for sku in ("APL", "BRD", "CAK"):
        add(manager, url, ids[sku])
    act(manager, url, action="save", key_id=key_id(owner_engine, tenant, "BRD"),
        label="  Loaf ", colour="yellow")  # fmt: skip
    assert keys(owner_engine, tenant) == [
        (0, "APL", None, None),
        (1, "BRD", "Loaf", "yellow"),
        (2, "CAK", None, None),
    ]
    act(manager, url, action="up", key_id=key_id(owner_engine, tenant, "CAK"))
    assert [row[1] for row in keys(owner_engine, tenant)] == ["APL", "CAK", "BRD"]
    act(manager, url, action="down", key_id=key_id(owner_engine, tenant, "APL"))
    assert [row[1] for row in keys(owner_engine, tenant)] == ["CAK", "APL", "BRD"]
    # the first cannot go up, the last cannot go down: nothing changes
    act(manager, url, action="up", key_id=key_id(owner_engine, tenant, "CAK"))
    act(manager, url, action="down", key_id=key_id(owner_engine, tenant, "BRD"))
    assert [row[1] for row in keys(owner_engine, tenant)] == ["CAK", "APL", "BRD"]
    # removing closes the gap
    done = act(manager, url, action="remove", key_id=key_id(owner_engine, tenant, "CAK"))
    assert "The quick key was removed." in done.follow().text
    assert keys(owner_engine, tenant) == [(0, "APL", None, None), (1, "BRD", "Loaf", "yellow")]
    # clearing the label and the colour
    act(manager, url, action="save", key_id=key_id(owner_engine, tenant, "BRD"),
        label="", colour="")  # fmt: skip
    assert keys(owner_engine, tenant)[1] == (1, "BRD", None, None)


def test_the_page_shows_the_first_key_without_up_and_the_last_without_down(shop):
    _tenant, clients, url, ids = shop
    manager = clients["Managers"]
    for sku in ("APL", "BRD"):
        add(manager, url, ids[sku])
    page = manager.get(url)
    first, last = page.html.select('[data-testid="quick-keys"] li')
    assert first.select_one('button[value="up"]').has_attr("disabled")
    assert not first.select_one('button[value="down"]').has_attr("disabled")
    assert last.select_one('button[value="down"]').has_attr("disabled")
    assert 'class="qk-swatch tile-none"' in str(first)


# -- the rules -------------------------------------------------------------------------
def test_a_product_is_a_key_once_per_location(shop, owner_engine):
    tenant, clients, url, ids = shop
    add(clients["Managers"], url, ids["APL"])
    page = add(clients["Managers"], url, ids["APL"], status=400)
    assert "Apples is already quick key 1 of Main." in page.text
    assert len(keys(owner_engine, tenant)) == 1


def test_an_inactive_product_is_refused(shop, owner_engine):
    tenant, clients, url, ids = shop
    page = add(clients["Managers"], url, ids["OLD"], status=400)
    assert "Old stock is inactive" in page.text
    assert keys(owner_engine, tenant) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"product_id": ""}, "Choose a product to add"),
        ({"product_id": "not-an-id"}, "Choose a product to add"),
        ({"product_id": str(uuid.uuid4())}, "Choose a product to add"),
        ({"colour": "gold"}, "Colour must be one of grey, red"),
        ({"label": "L" * 41}, "Label is too long (41 characters; at most 40)"),
    ],
    ids=["no-product", "malformed-id", "unknown-id", "colour-off-palette", "long-label"],
)
def test_bad_input_on_add_is_400_and_writes_nothing(shop, owner_engine, data, message):
    tenant, clients, url, ids = shop
    page = act(
        clients["Managers"], url, status=400, **{"action": "add", "product_id": ids["APL"], **data}
    )
    assert message in page.html.select_one('[data-testid="errors"]').text
    assert keys(owner_engine, tenant) == []


def test_bad_input_on_save_is_400_and_changes_nothing(shop, owner_engine):
    tenant, clients, url, ids = shop
    manager = clients["Managers"]
    add(manager, url, ids["APL"], label="Apple", colour="green")
    key = key_id(owner_engine, tenant, "APL")
    page = act(manager, url, status=400, action="save", key_id=key, label="x", colour="#fff")
    assert "Colour must be one of" in page.text
    act(manager, url, status=400, action="save", key_id=key, label="L" * 41, colour="red")
    assert keys(owner_engine, tenant) == [(0, "APL", "Apple", "green")]


@pytest.mark.parametrize("action", ["save", "up", "down", "remove"])
def test_an_unknown_or_other_locations_key_is_400(shop, staff, owner_engine, action):
    tenant, clients, url, ids = shop
    manager = clients["Managers"]
    add(manager, url, ids["APL"])
    for bad in ("", "nonsense", str(uuid.uuid4())):
        page = act(manager, url, status=400, action=action, key_id=bad, colour="red")
        assert "no longer on the till of Main" in page.text
    assert keys(owner_engine, tenant) == [(0, "APL", None, None)]


def test_a_post_without_an_action_or_csrf_token_is_refused(shop, owner_engine):
    tenant, clients, url, ids = shop
    manager = clients["Managers"]
    page = act(manager, url, status=400, product_id=ids["APL"])
    assert "Choose what to do" in page.text
    manager.post(url, {"action": "add", "product_id": str(ids["APL"])}, status=400)
    assert keys(owner_engine, tenant) == []


def test_at_most_max_keys_per_location(shop, owner_engine, monkeypatch):
    tenant, clients, url, ids = shop
    monkeypatch.setattr(quickkeys, "MAX_QUICK_KEYS", 2)  # the rule, without 48 products
    add(clients["Managers"], url, ids["APL"])
    add(clients["Managers"], url, ids["BRD"])
    page = add(clients["Managers"], url, ids["CAK"], status=400)
    assert "Main already has 2 quick keys, the most a till shows" in page.text
    assert [row[1] for row in keys(owner_engine, tenant)] == ["APL", "BRD"]


def test_the_limit_is_48(workspace, app_engine):
    """The real limit, through the service: 48 products fit, the 49th is refused."""
    tenant, _ = workspace
    with tenant_session(app_engine(tenant.store_name), tenant.id) as db, db.begin():
        products = ProductService(db, tenant.id)
        service = QuickKeyService(db, tenant.id)
        location = LocationService(db, tenant.id).default()
        made = [
            products.create(sku=f"S{n:02}", name=f"Item {n:02}", unit_price=1, is_active=True)
            for n in range(49)
        ]
        for product in made[:48]:
            service.add(location, product, KeyLook(None, None))
        with pytest.raises(QuickKeyError, match="already has 48 quick keys"):
            service.add(location, made[48], KeyLook(None, None))
        assert [item.key.position for item in service.arranged(location)] == list(range(48))


def test_keys_belong_to_their_location(staff, owner_engine):
    tenant, clients = staff("pooled", roles=("Admin", "Managers"), multi_location=True)
    admin = clients["Admin"]
    post(admin, "/locations/new", {"name": "Harbour"})
    harbour = rows(owner_engine, tenant, "select id from locations where name = 'Harbour'")[0][0]
    import_csv(clients["Managers"], CATALOGUE)
    ids = product_ids(owner_engine, tenant)
    main_url, harbour_url = page_url(owner_engine, tenant), page_url(owner_engine, tenant, harbour)
    add(clients["Managers"], main_url, ids["APL"])
    add(clients["Managers"], harbour_url, ids["APL"])  # another location: fine
    add(clients["Managers"], harbour_url, ids["BRD"])
    assert [r[1] for r in keys(owner_engine, tenant)] == ["APL"]
    assert [r[1] for r in keys(owner_engine, tenant, harbour)] == ["APL", "BRD"]
    # Main's key cannot be moved through Harbour's page
    page = act(clients["Managers"], harbour_url, status=400, action="remove",
               key_id=key_id_at(owner_engine, tenant, "APL", main_url))  # fmt: skip
    assert "no longer on the till of Harbour" in page.text
    # the page offers the other locations; the Admin's locations list links each
    page = clients["Managers"].get(harbour_url)
    assert page.html.select_one(f'.qk-locations a[href$="{main_url}"]') is not None
    listing = admin.get("/locations")
    assert listing.html.select_one(f'a[href$="{harbour_url}"]') is not None


def key_id_at(owner_engine, tenant, sku, url):
    location = url.split("/")[2]
    return rows(
        owner_engine,
        tenant,
        "select k.id from quick_keys k join products p on p.id = k.product_id"
        " and p.tenant_id = k.tenant_id where p.sku = :sku and k.location_id = :location",
        sku=sku,
        location=location,
    )[0][0]


# -- who may -----------------------------------------------------------------------------
def test_a_cashier_may_not_see_or_change_the_keys(shop, owner_engine):
    tenant, clients, url, ids = shop
    add(clients["Managers"], url, ids["APL"])
    cashier = clients["Cashiers"]
    cashier.get(url, status=403)
    cashier.get("/quick-keys", status=403)
    token = csrf_token(cashier)
    key = str(key_id(owner_engine, tenant, "APL"))
    for data in (
        {"action": "add", "product_id": str(ids["BRD"])},
        {"action": "save", "key_id": key, "label": "Mine", "colour": "red"},
        {"action": "up", "key_id": key},
        {"action": "remove", "key_id": key},
    ):
        cashier.post(url, {**data, "csrf_token": token}, status=403)
    assert keys(owner_engine, tenant) == [(0, "APL", None, None)]
    assert "Quick keys" not in cashier.get("/products").text


def test_unknown_and_other_tenants_locations_are_404(shop, staff, owner_engine):
    _tenant, clients, _url, ids = shop
    other, _ = staff("pooled", roles=())
    foreign = default_location_id(owner_engine, other)
    manager = clients["Managers"]
    for location in (foreign, uuid.uuid4(), "nonsense"):
        manager.get(f"/locations/{location}/quick-keys", status=404)
        post(manager, f"/locations/{location}/quick-keys",
             {"action": "add", "product_id": str(ids["APL"])}, status=404)  # fmt: skip
    assert keys(owner_engine, other) == []


def test_palette_matches_the_stylesheet():
    """Every colour a key may have has its class in the till's stylesheet."""
    from pathlib import Path

    import salesapp

    css = (Path(salesapp.__file__).parent / "static" / "tiles.css").read_text()
    for colour in (*PALETTE, "none"):
        assert f".tile-{colour} " in css or f".tile-{colour}," in css
