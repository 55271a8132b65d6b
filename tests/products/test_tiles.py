"""The till's tiles (salesapp.products.tiles) as the app role sees them, and their
partial (templates/sales/_tiles.jinja2) rendered on its own."""

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from bs4 import BeautifulSoup

import salesapp
from salesapp import localization
from salesapp.db import tenant_session
from salesapp.locations.services import LocationService
from salesapp.products import tiles as tiles_module
from salesapp.products.quickkeys import KeyLook, QuickKeyService
from salesapp.products.services import ProductService
from salesapp.products.tiles import Tile, TillTiles, till_tiles

PRODUCTS = [
    # sku, name, category, price, active, open price, by weight
    ("APL", "Apples", "Fruit", "2.40", True, False, True),
    ("BAN", "Bananas", "Fruit", "1.10", True, False, True),
    ("BRD", "Bread", "Bakery", "1.80", True, False, False),
    ("CAK", "Cake slice", "Bakery", "0", True, True, False),
    ("OLD", "Old stock", "Attic", "1.00", False, False, False),
    ("NOC", "No category", "", "1.00", True, False, False),
]


@pytest.fixture
def session_of(app_engine):
    """A session of ``tenant`` as the app role (RLS applies), in one transaction."""

    def make(tenant):
        return tenant_session(app_engine(tenant.store_name), tenant.id)

    return make


def stock(db, tenant):
    products = ProductService(db, tenant.id)
    made = {}
    for sku, name, category, price, active, open_price, by_weight in PRODUCTS:
        made[sku] = products.create(
            sku=sku,
            name=name,
            category=category,
            unit_price=Decimal(price),
            is_active=active,
            open_price=open_price,
            sold_by_weight=by_weight,
        )
    return made


@pytest.fixture
def shop(make_tenant, session_of):
    """A tenant with the products above and quick keys at its default location (Bread
    as "Loaf" in yellow, then Apples, then the inactive Old stock)."""
    tenant = make_tenant("pooled")
    with session_of(tenant) as db, db.begin():
        made = stock(db, tenant)
        location = LocationService(db, tenant.id).default()
        keys = QuickKeyService(db, tenant.id)
        keys.add(location, made["BRD"], KeyLook("Loaf", "yellow"))
        keys.add(location, made["APL"], KeyLook(None, None))
        old = keys.add(location, made["CAK"], KeyLook(None, "red"))
        made["OLD"].is_active = True  # a key's product deactivated later
        keys.add(location, made["OLD"], KeyLook(None, None))
        made["OLD"].is_active = False
        assert old.position == 2
        location_id = location.id
    return tenant, location_id


def test_quick_keys_in_order_with_their_label_and_colour(shop, session_of):
    tenant, location_id = shop
    with session_of(tenant) as db, db.begin():
        result = till_tiles(db, location_id)
    assert [(t.sku, t.label, t.colour) for t in result.quick_keys] == [
        ("BRD", "Loaf", "yellow"),
        ("APL", "Apples", None),
        ("CAK", "Cake slice", "red"),
    ]  # Old stock is inactive: kept arranged, not shown
    apples = result.quick_keys[1]
    assert apples.price == Decimal("2.40")
    assert isinstance(apples.price, Decimal)
    assert apples.sold_by_weight
    assert not apples.open_price
    assert result.quick_keys[2].open_price
    assert result.products == []
    assert result.category is None
    assert result.location_id == location_id


def test_categories_are_those_of_active_products_sorted(shop, session_of):
    tenant, location_id = shop
    with session_of(tenant) as db, db.begin():
        assert till_tiles(db, location_id).categories == ["Bakery", "Fruit"]


def test_a_category_lists_its_active_products_by_name(shop, session_of):
    tenant, location_id = shop
    with session_of(tenant) as db, db.begin():
        fruit = till_tiles(db, location_id, "Fruit")
        unknown = till_tiles(db, location_id, "Nope")
        attic = till_tiles(db, location_id, "Attic")
    assert fruit.category == "Fruit"
    assert fruit.products == [
        Tile(fruit.products[0].product_id, "Apples", Decimal("2.40"), None, False, True, "APL"),
        Tile(fruit.products[1].product_id, "Bananas", Decimal("1.10"), None, False, True, "BAN"),
    ]
    assert fruit.quick_keys == till_tiles_keys(shop, session_of)
    assert unknown.products == []
    assert attic.products == []


def till_tiles_keys(shop, session_of):
    tenant, location_id = shop
    with session_of(tenant) as db, db.begin():
        return till_tiles(db, location_id).quick_keys


def test_without_a_location_there_are_no_quick_keys(shop, session_of):
    tenant, _ = shop
    with session_of(tenant) as db, db.begin():
        result = till_tiles(db, None, "Bakery")
    assert result.quick_keys == []
    assert [t.sku for t in result.products] == ["BRD", "CAK"]


def test_a_category_shows_at_most_60_products(make_tenant, session_of, monkeypatch):
    tenant = make_tenant("pooled")
    with session_of(tenant) as db, db.begin():
        products = ProductService(db, tenant.id)
        for n in range(61):
            products.create(sku=f"S{n:02}", name=f"Item {60 - n:02}", category="Many",
                            unit_price=Decimal(1), is_active=True)  # fmt: skip
    with session_of(tenant) as db, db.begin():
        shown = till_tiles(db, None, "Many").products
    assert tiles_module.MAX_CATEGORY_TILES == 60
    assert len(shown) == 60
    assert [t.label for t in shown[:2]] == ["Item 00", "Item 01"]


@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
def test_another_tenants_products_and_keys_are_never_tiles(
    shop, make_tenant, session_of, placement
):
    """The app role, bound to another tenant, sees none of the shop's tiles, even given
    the shop's location id."""
    _, location_id = shop
    other = make_tenant(placement)
    with session_of(other) as db, db.begin():
        result = till_tiles(db, location_id, "Fruit")
    assert result.quick_keys == []
    assert result.products == []
    assert result.categories == []


# -- the partial -------------------------------------------------------------------------
TEMPLATES = Path(salesapp.__file__).parent / "templates"


def render(tiles: TillTiles, *, manager=False) -> BeautifulSoup:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters.update({name: getattr(localization, name) for name in localization.FILTER_NAMES})
    request = SimpleNamespace(
        has_permission=lambda permission: manager and permission == "products.edit",
        route_url=lambda name, **kw: f"/locations/{kw['id']}/quick-keys",
    )
    html = env.get_template("sales/_tiles.jinja2").render(
        tiles=tiles, add_form_id="till-add", request=request
    )
    return BeautifulSoup(html, "html.parser")


def tile(label, colour=None, **kw):
    values = {"price": Decimal("1.50"), "open_price": False, "sold_by_weight": False}
    return Tile(product_id=f"id-{label}", label=label, colour=colour, sku=f"S-{label}",
                **{**values, **kw})  # fmt: skip


def test_each_tile_is_a_submit_button_of_the_add_form():
    page = render(
        TillTiles(
            quick_keys=[tile("Loaf", "yellow"), tile("Rice", sold_by_weight=True)],
            categories=["Bakery", "Fruit & Veg"],
            products=[tile("Flowers", open_price=True, price=Decimal("0"))],
            category="Fruit & Veg",
        )
    )
    buttons = page.select("button")
    assert [(b["type"], b["name"], b["value"], b["form"], b["class"]) for b in buttons] == [
        ("submit", "add_product", "id-Loaf", "till-add", ["tile", "tile-yellow"]),
        ("submit", "add_product", "id-Rice", "till-add", ["tile"]),
        ("submit", "add_product", "id-Flowers", "till-add", ["tile"]),
    ]
    assert [b.select_one(".tile-price").text for b in buttons] == ["1.50", "1.50/kg", "Open price"]
    links = page.select('[data-testid="categories"] a')
    assert [(a["href"], a.text) for a in links][:2] == [
        ("?category=Bakery", "Bakery"),
        ("?category=Fruit%20%26%20Veg", "Fruit & Veg"),
    ]
    assert links[1]["aria-current"] == "true"
    assert not links[0].has_attr("aria-current")
    assert page.select_one('[data-testid="category-products"]') is not None
    assert page.select("[style]") == []
    assert page.select("script") == []


def test_labels_are_escaped_and_empty_parts_are_left_out():
    page = render(TillTiles(quick_keys=[tile("<b>x</b>")], categories=[], products=[]))
    assert page.select_one(".tile-label").text == "<b>x</b>"
    assert page.select("b") == []
    assert page.select_one('[data-testid="categories"]') is None
    assert page.select_one('[data-testid="category-products"]') is None


def test_managers_get_a_link_to_arrange_the_keys():
    tiles = TillTiles(quick_keys=[], categories=[], products=[], location_id="L1")
    assert render(tiles, manager=True).select_one('a[href="/locations/L1/quick-keys"]')
    assert render(tiles).select_one('a[href="/locations/L1/quick-keys"]') is None
