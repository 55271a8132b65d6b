"""No page of the app scrolls sideways (issue 17, item 2): every GET page a person can
reach, as an Admin and as a Cashier (and the public site and sign-in page as a
stranger), at a phone's (390x844), a tablet's (768x1024) and a laptop's (1366x768) size.

The pages come from Pyramid's route table, so a page added later is walked without
editing this test; placeholders are filled with the rows of a workspace with one of
everything (a product and a customer with long unbroken names among them, as real
data has). A page may scroll a wide table inside its own box (``.table-wrap``); the
document itself must never be wider than the window. Every page is photographed into
tests/browser/artifacts/ (``sideways-<who>-<width>-<route>.png``).
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal

import pytest

from salesapp.customers.services import CustomerService
from salesapp.operations import jobs, operators
from salesapp.operations.workspace import tenant_accounts
from salesapp.products.services import ProductService
from salesapp.reports.definitions import REPORTS
from tests.badinput.conftest import FilledWorkspace
from tests.badinput.test_query_sweep import get_routes
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_selling import sign_in
from tests.console.conftest import code_for

VIEWPORTS = {"phone": (390, 844), "tablet": (768, 1024), "laptop": (1366, 768)}
PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
#: an id no row has: a route whose rows this workspace lacks still shows its 404 page
NO_SUCH_ROW = "00000000-0000-0000-0000-000000000001"
#: GET routes that are not pages: files, JSON, the service worker and the manifest, the
#: health check, sign-out
NOT_PAGES = re.compile(r"^(api\.|pwa\.|static|healthz$|accounts\.logout$|accounts\.login_code$)")
DOWNLOADS = (".csv", ".json")
#: what is in the document but wider than the window: the overflow's culprits, by tag,
#: class and text, for the failure message (the widest first)
CULPRITS = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)
  .filter(e => !e.closest('.table-wrap, [hidden], .visually-hidden'))
  .sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right)
  .slice(0, 4)
  .map(e => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(
      e.getBoundingClientRect().right)}px "${e.textContent.trim().slice(0, 30)}"`)"""
#: a word with no break opportunity, as SKUs, e-mail addresses and pasted codes are
LONG_WORD = "SUPERCALIFRAGILISTICEXPIALIDOCIOUS-0123456789-ABCDEFGHIJ"


class Workspace(FilledWorkspace):
    """FilledWorkspace (one of everything), plus a product and a customer whose names
    are long unbroken words, and the Admin's and a Cashier's accounts."""

    def __init__(self, app, catalog, tenant, cashier):
        super().__init__(app, catalog, tenant)
        self.cashier = cashier
        with tenant_accounts(catalog, tenant.slug) as (_, accounts):
            db = accounts.db
            ProductService(db, tenant.id).create(
                sku=LONG_WORD[:40], name=LONG_WORD, unit_price=Decimal("1234567.89")
            )
            CustomerService(db, tenant.id).create(name=LONG_WORD, email=f"{LONG_WORD}@x.org")
            self.user_id = accounts.find_by_login(cashier[0]).id

    def ids(self) -> dict[str, object]:
        """A row's id for each route name or its first part."""
        return {
            "products": self.product_id,
            "customers": self.customer_id,
            "sales": self.sale_id,
            "expenses": self.expense_id,
            "locations": self.other_location_id,
            "users": self.user_id,
        }


@pytest.fixture(scope="module")
def workspace(app, catalog, make_tenant, make_user):
    tenant = make_tenant("pooled", multi_location=True)
    return Workspace(app, catalog, tenant, make_user(tenant, ("Cashiers",)))


def page_paths(registry, ws: Workspace, site: str) -> list[tuple[str, str]]:
    """(route name, path) of every GET page of ``site``, placeholders filled."""
    found = []
    ids = ws.ids()
    for name, pattern, route_site in get_routes(registry):
        if route_site != site or NOT_PAGES.match(name) or pattern.endswith(DOWNLOADS):
            continue
        if "{name}" in pattern:
            found += [(f"{name}.{report}", pattern.replace("{name}", report)) for report in REPORTS]
            continue
        row = ids.get(name, ids.get(name.split(".")[0], NO_SUCH_ROW))
        path = PLACEHOLDER.sub(str(row), pattern)
        found.append((name, path if path.startswith("/") else "/" + path))
    return found


def overflows(page) -> list[str]:
    """What makes the document wider than the window (empty when it is not)."""
    wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    if not wide:
        return []
    return page.evaluate(CULPRITS) or ["(no single element)"]


def walk(browser, base_url, pages, who, viewport, sign_in_as=None) -> dict[str, list]:
    """Visit ``pages`` at ``viewport`` (signed in as ``sign_in_as``, if given):
    {route name: culprits} for each page that scrolls sideways."""
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    failures = {}
    try:
        if sign_in_as:
            sign_in(page, *sign_in_as)
            page.wait_for_url(re.compile(r"/(dashboard|pos)?$"))
        for name, path in pages:
            page.goto(base_url + path)
            page.screenshot(
                path=str(ARTIFACTS / f"sideways-{who}-{width}-{name}.png"), full_page=True
            )
            culprits = overflows(page)
            if culprits:
                failures[f"{name} {path}"] = culprits
    finally:
        context.close()
    return failures


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("role", ["Admin", "Cashiers"])
def test_no_page_scrolls_sideways(browser, app, url_for, workspace, role, viewport):
    ARTIFACTS.mkdir(exist_ok=True)
    tenant = workspace.tenant
    login = ("admin", tenant.admin_password) if role == "Admin" else workspace.cashier
    pages = page_paths(app.registry, workspace, "tenant")
    assert ("pos", "/pos") in pages, pages  # the till is walked too
    assert len(pages) > 25, pages
    base_url = url_for(tenant, "")
    failures = walk(browser, base_url, pages, role, VIEWPORTS[viewport], (url_for, tenant, *login))
    assert failures == {}, failures


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_no_stranger_page_scrolls_sideways(browser, app, url_for, live_server, workspace, viewport):
    """The sign-in page, a workspace's pages seen signed out, and the public site."""
    ARTIFACTS.mkdir(exist_ok=True)
    tenant_pages = [("accounts.login", "/login"), ("home", "/")]
    public_pages = [
        (name, path)
        for name, path in page_paths(app.registry, workspace, "public")
        if not name.startswith("console.")  # the operator console: walked below
    ]
    assert [name for name, _ in public_pages] == ["public.find", "public.home"], public_pages
    failures = walk(
        browser, url_for(workspace.tenant, ""), tenant_pages, "stranger", VIEWPORTS[viewport]
    )
    failures |= walk(
        browser, f"http://localhost:{live_server}", public_pages, "public", VIEWPORTS[viewport]
    )
    assert failures == {}, failures


#: the console's GET routes that are not pages: the API, JSON, a download, sign-out
CONSOLE_NOT_PAGES = re.compile(r"^console\.(api\.|logout$|job\.status$|job\.download$)")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_no_console_page_scrolls_sideways(
    browser, app, catalog, console_server, workspace, viewport
):
    """Every page of the operator console (on the main domain), signed in as an operator
    with two factors, a tenant, a store and a finished job filling the placeholders."""
    ARTIFACTS.mkdir(exist_ok=True)
    port, _settings = console_server
    tenant = workspace.tenant
    made = operators.create_operator(catalog, f"walk{secrets.token_hex(4)}", "operator")
    job_id = jobs.enqueue(
        catalog.acting_as(made.name), "backup", {"slug": tenant.slug}, tenant_slug=tenant.slug
    )
    jobs.work(catalog, once=True)  # the job's page shows a finished backup
    fill = {"slug": tenant.slug, "name": tenant.store_name, "id": str(job_id)}
    pages = [
        (name, PLACEHOLDER.sub(lambda m: fill[m.group(1)], pattern))
        for name, pattern, _site in get_routes(app.registry)
        if name.startswith("console.") and not CONSOLE_NOT_PAGES.match(name)
    ]
    assert len(pages) >= 10, pages
    width, height = VIEWPORTS[viewport]
    base = f"http://localhost:{port}"
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(base + "/operator/login")
        page.fill("input[name=name]", made.name)
        page.fill("input[name=password]", made.password)
        page.fill("input[name=code]", code_for(made.secret))
        with page.expect_navigation():
            page.keyboard.press("Enter")
        new_password = f"Walk-{secrets.token_urlsafe(12)}"
        page.fill("input[name=current_password]", made.password)
        page.fill("input[name=new_password]", new_password)
        page.fill("input[name=confirm_password]", new_password)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith("/operator/tenants"), page.url
        failures = {}
        for name, path in pages:
            answer = page.goto(base + path)
            assert answer.status == 200, (name, path, answer.status)
            page.screenshot(
                path=str(ARTIFACTS / f"sideways-operator-{width}-{name}.png"), full_page=True
            )
            culprits = overflows(page)
            if culprits:
                failures[f"{name} {path}"] = culprits
    finally:
        context.close()
    assert failures == {}, failures
