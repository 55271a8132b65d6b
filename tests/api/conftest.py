"""Fixtures of the API tests: tenants with a user and an API token per role (ApiStaff),
and a client that sends the token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import webtest

from salesapp.inventory.services import InventoryService
from salesapp.operations.tokens import issue_token
from tests.conftest import ROLES, host_of, sign_in


class ApiClient:
    """A webtest client for one host that sends ``Authorization: Bearer <token>``.

    Every call states the status it expects (webtest checks it) and returns the
    response; ``.json`` is the body.
    """

    def __init__(self, app, host: str, token: str | None):
        self.host = host
        self.app = webtest.TestApp(app, extra_environ={"HTTP_HOST": host})
        self.token = token

    def headers(self, extra=None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path, status=200, params=None, headers=None):
        return self.app.get(path, params=params, headers=self.headers(headers), status=status)

    def post(self, path, body, status=201, headers=None):
        return self.app.post_json(path, body, headers=self.headers(headers), status=status)

    def patch(self, path, body, status=200, headers=None):
        return self.app.patch_json(path, body, headers=self.headers(headers), status=status)

    def raw(
        self, method, path, body: bytes, content_type="application/json", status=400, headers=None
    ):
        """Send ``body`` as it is (bad JSON, other content types)."""
        return self.app.request(
            path,
            method=method,
            body=body,
            environ={"HTTP_HOST": self.host},  # request() would keep blank()'s localhost
            headers=self.headers({"Content-Type": content_type, **(headers or {})}),
            status=status,
            expect_errors=True,
        )


@dataclass
class ApiStaff:
    """A tenant with a user per role, each with an API token and an API client."""

    tenant: object
    users: dict = field(default_factory=dict)  # role -> (username, password)
    tokens: dict = field(default_factory=dict)  # role -> token
    api: dict = field(default_factory=dict)  # role -> ApiClient

    @property
    def admin(self) -> ApiClient:
        return self.api["Admin"]

    @property
    def manager(self) -> ApiClient:
        return self.api["Managers"]

    @property
    def cashier(self) -> ApiClient:
        return self.api["Cashiers"]


@pytest.fixture(scope="session")
def make_api_staff(app, catalog, make_tenant, make_user):
    """make_api_staff(placement) -> ApiStaff."""

    def make(placement="pooled", **kw):
        tenant = make_tenant(placement, **kw)
        made = ApiStaff(tenant)
        for role in ROLES:
            if role == "Admin":
                username, password = "admin", tenant.admin_password
            else:
                username, password = make_user(tenant, (role,))
            made.users[role] = (username, password)
            made.tokens[role] = issue_token(catalog, tenant.slug, username, "tests").plaintext
            made.api[role] = ApiClient(app, host_of(tenant), made.tokens[role])
        return made

    return make


@pytest.fixture
def api_staff(make_api_staff):
    """A fresh ApiStaff in a pooled store: for the rules, which the placement cannot
    change."""
    return make_api_staff("pooled")


@pytest.fixture(params=["pooled", "dedicated"])
def api_staff_per_placement(request, make_api_staff):
    """A fresh ApiStaff in a pooled and in a dedicated store: for what a call writes,
    which must land in the tenant's own store either way."""
    return make_api_staff(request.param)


@pytest.fixture(scope="module")
def module_api_staff(make_api_staff):
    """One ApiStaff for a module's tests that change nothing (refused input)."""
    return make_api_staff("pooled")


@pytest.fixture
def api_client(app):
    """api_client(tenant_or_host, token) -> ApiClient."""

    def make(tenant_or_host, token=None):
        host = tenant_or_host if isinstance(tenant_or_host, str) else host_of(tenant_or_host)
        return ApiClient(app, host, token)

    return make


def browser(client_for, api_staff: ApiStaff, role="Admin"):
    """A web client of ``api_staff``'s tenant signed in as ``role`` (with a session
    cookie)."""
    client = client_for(api_staff.tenant)
    sign_in(client, *api_staff.users[role])
    return client


def new_product(api: ApiClient, sku="A", price="2.50", **fields) -> dict:
    body = {"sku": sku, "name": f"Item {sku}", "unit_price": price, **fields}
    return api.post("/api/products", body).json


@pytest.fixture(autouse=True)
def no_server_error_logged(caplog):
    """Whatever a test sends, the API's catch-all 500 view must not have answered it
    (it logs every exception it answers)."""
    yield
    answered = [r for r in caplog.records if r.name == "salesapp.api.errors"]
    assert not answered, [r.getMessage() for r in answered]


@pytest.fixture
def store(owner_engines):
    """store(tenant) -> a context manager giving a session on the tenant's store as the
    owner, in one transaction bound to the tenant (the door's), to look at rows or set
    them up; committed at the end of the block."""
    return owner_engines.session


def receive(store, tenant, product_id, quantity: str, location_id=None):
    """Goods in, through the inventory service (as the stock page does)."""
    with store(tenant) as db:
        inventory = InventoryService(db, tenant.id)
        where = location_id or inventory.default_location().id
        inventory.receive(uuid.UUID(str(product_id)), where, Decimal(quantity))


def stock(api_staff, store):
    """(api_staff, products): A (2.50 + 16% tax, barcode, 10 on hand) and B (10.00, 5)."""
    manager = api_staff.manager
    a = new_product(manager, "A", "2.50", tax_rate="16", cost="1.00", barcode="4006381333931")
    b = new_product(manager, "B", "10.00", cost="1.00")
    receive(store, api_staff.tenant, a["id"], "10")
    receive(store, api_staff.tenant, b["id"], "5")
    return api_staff, {"A": a, "B": b}


@pytest.fixture
def stocked(api_staff, store):
    """A pooled tenant's API staff with two products in stock (see stock)."""
    return stock(api_staff, store)


@pytest.fixture
def stocked_per_placement(api_staff_per_placement, store):
    """The same in a pooled and in a dedicated tenant."""
    return stock(api_staff_per_placement, store)
