"""The till's catalogue in Chromium at a phone's, a tablet's and a laptop's size (issue
17): a Manager arranges quick keys by tapping buttons only (no JavaScript needed), and
the tile grid (sales/_tiles.jinja2 with static/tiles.css) has big buttons, 3 to 6
columns by width, and never makes the page scroll sideways. Screenshots are kept in
tests/browser/artifacts/ (``catalogue-*.png``)."""

from decimal import Decimal

import jinja2
import pytest
from playwright.sync_api import expect

from salesapp import localization
from salesapp.db import tenant_session
from salesapp.locations.services import LocationService
from salesapp.products.quickkeys import KeyLook, QuickKeyService
from salesapp.products.services import ProductService
from salesapp.products.tiles import till_tiles
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_selling import sign_in
from tests.products.test_tiles import TEMPLATES

VIEWPORTS = {"phone": (390, 844), "tablet": (768, 1024), "laptop": (1366, 768)}
#: tile columns the grid has at each size when it has the whole page's width
COLUMNS = {"phone": 3, "tablet": 5, "laptop": 6}
NAMES = [
    ("Sourdough loaf", "Bakery", "yellow"),
    ("Croissant", "Bakery", "orange"),
    ("Flat white", "Coffee", "teal"),
    ("Espresso", "Coffee", "red"),
    ("Bananas", "Fruit", "green"),
    ("Cut flowers by the stem, mixed", "Garden", "pink"),
    ("Basmati rice", "Bulk", "purple"),
    ("Gift card", "Other", "blue"),
    ("Paper bag", "Other", None),
]


@pytest.fixture(params=list(VIEWPORTS))
def sized_page(browser, request):
    """(page, size name) at each size."""
    width, height = VIEWPORTS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page, request.param
    context.close()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"catalogue-{name}.png"), full_page=True)


@pytest.fixture
def shop(make_tenant, make_user, app_engine):
    """A tenant with products in categories and all but one of them as quick keys;
    (tenant, location id, manager's login)."""
    tenant = make_tenant("pooled")
    with tenant_session(app_engine(tenant.store_name), tenant.id) as db, db.begin():
        products = ProductService(db, tenant.id)
        location = LocationService(db, tenant.id).default()
        keys = QuickKeyService(db, tenant.id)
        for n, (name, category, colour) in enumerate(NAMES):
            product = products.create(
                sku=f"SKU-{n}",
                name=name,
                category=category,
                unit_price=Decimal("0") if category == "Garden" else Decimal("3.20"),
                is_active=True,
                open_price=category == "Garden",
                sold_by_weight=category in ("Fruit", "Bulk"),
            )
            if n < len(NAMES) - 1:
                keys.add(location, product, KeyLook(None, colour))
        location_id = location.id
    return tenant, location_id, make_user(tenant, ("Managers",))


def no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width}px wide"


def test_a_manager_arranges_quick_keys_by_buttons(sized_page, url_for, shop):
    page, size = sized_page
    tenant, location_id, (username, password) = shop
    sign_in(page, url_for, tenant, username, password)
    page.goto(url_for(tenant, f"/locations/{location_id}/quick-keys"))
    items = page.locator("[data-testid=quick-keys] li")
    expect(items).to_have_count(len(NAMES) - 1)
    no_sideways_scroll(page)
    shot(page, f"quick-keys-{size}")
    # move the second key up, then label it
    items.nth(1).locator("button[value=up]").click()
    expect(items.nth(0)).to_have_attribute("data-product", "SKU-1")
    first = items.nth(0)
    first.locator("input[name=label]").fill("Croissant ☕")
    first.locator("select[name=colour]").select_option("blue")
    first.locator("button[value=save]").click()
    expect(page.locator(".notice")).to_have_text("The quick key was saved.")
    expect(items.nth(0).locator(".qk-swatch")).to_have_text("Croissant ☕")
    expect(items.nth(0).locator(".qk-swatch")).to_have_class("qk-swatch tile-blue")
    # add the one product that is not a key yet, from the search
    page.fill("#q", "paper")
    page.click("button:has-text('Search')")
    page.locator("[data-testid=matches] button[value=add]").click()
    expect(items).to_have_count(len(NAMES))
    expect(items.last).to_have_attribute("data-product", f"SKU-{len(NAMES) - 1}")
    # the buttons a finger presses are at least 44 px high
    for button in page.locator(".qk-item button").all()[:4]:
        assert button.bounding_box()["height"] >= 44
    no_sideways_scroll(page)
    shot(page, f"quick-keys-arranged-{size}")


def tiles_page(url_for, tenant, tiles) -> str:
    """A page with the app's stylesheets and the tiles partial, as the till includes it."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters.update({name: getattr(localization, name) for name in localization.FILTER_NAMES})
    request = type("Request", (), {"has_permission": lambda self, p: False})()
    partial = env.get_template("sales/_tiles.jinja2").render(
        tiles=tiles, add_form_id="till-add", request=request
    )
    static = url_for(tenant, "/static")
    return (
        '<!doctype html><html><head><meta name="viewport" content="width=device-width">'
        f'<link rel="stylesheet" href="{static}/app.css">'
        f'<link rel="stylesheet" href="{static}/tiles.css"></head>'
        f'<body><main class="page"><form id="till-add" method="post"></form>{partial}</main>'
        "</body></html>"
    )


def test_the_tile_grid_at_each_size(sized_page, url_for, shop, app_engine):
    page, size = sized_page
    tenant, location_id, _ = shop
    with tenant_session(app_engine(tenant.store_name), tenant.id) as db, db.begin():
        tiles = till_tiles(db, location_id, "Other")
    page.goto(url_for(tenant, "/static/tiles.css"))  # the tenant's origin, for the links
    page.set_content(tiles_page(url_for, tenant, tiles))
    page.wait_for_load_state("networkidle")
    buttons = page.locator("[data-testid=quick-keys] button.tile")
    expect(buttons).to_have_count(len(NAMES) - 1)
    boxes = [button.bounding_box() for button in buttons.all()]
    assert min(box["height"] for box in boxes) >= 44
    columns = len({round(box["x"]) for box in boxes})
    assert columns == COLUMNS[size]
    for link in page.locator("[data-testid=categories] a").all():
        assert link.bounding_box()["height"] >= 44
    # a coloured tile really has its palette's colour (the stylesheet is applied)
    red = page.locator("button.tile-red")
    assert red.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(180, 35, 24)"
    no_sideways_scroll(page)
    shot(page, f"tiles-{size}")
