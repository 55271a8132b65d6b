"""Fixtures of the API tests: tenants with a user and an API token per role, and a
client that sends the token."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import webtest

from salesapp.inventory.services import InventoryService
from salesapp.operations.tokens import issue_token
from salesapp.operations.workspace import tenant_accounts
from tests.conftest import host_of, sign_in

ROLES = ("Admin", "Managers", "Cashiers")


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
class Shop:
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
def make_shop(app, catalog, make_tenant, make_user):
    """make_shop(placement) -> Shop."""

    def make(placement="pooled", **kw):
        tenant = make_tenant(placement, **kw)
        shop = Shop(tenant)
        for role in ROLES:
            if role == "Admin":
                username, password = "admin", tenant.admin_password
            else:
                username, password = make_user(tenant, (role,))
            shop.users[role] = (username, password)
            shop.tokens[role] = issue_token(catalog, tenant.slug, username, "tests").plaintext
            shop.api[role] = ApiClient(app, host_of(tenant), shop.tokens[role])
        return shop

    return make


@pytest.fixture(params=["pooled", "dedicated"])
def shop(request, make_shop):
    """A fresh Shop in a pooled and in a dedicated store."""
    return make_shop(request.param)


@pytest.fixture
def pooled_shop(make_shop):
    """A fresh Shop where the placement does not matter."""
    return make_shop("pooled")


@pytest.fixture(scope="module")
def module_shop(make_shop):
    """One Shop for a module's tests that change nothing (refused input)."""
    return make_shop("pooled")


@pytest.fixture
def api_client(app):
    """api_client(tenant_or_host, token) -> ApiClient."""

    def make(tenant_or_host, token=None):
        host = tenant_or_host if isinstance(tenant_or_host, str) else host_of(tenant_or_host)
        return ApiClient(app, host, token)

    return make


def browser(client_for, shop: Shop, role="Admin"):
    """A web client of ``shop`` signed in as ``role`` (with a session cookie)."""
    client = client_for(shop.tenant)
    sign_in(client, *shop.users[role])
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
def store(catalog):
    """store(tenant) -> a context manager giving a session on the tenant's store (as
    the owner, under the tenant's setting), to look at rows or set them up."""

    @contextmanager
    def session(tenant):
        with tenant_accounts(catalog, tenant.slug) as (_, accounts):
            yield accounts.db

    return session


def receive(store, tenant, product_id, quantity: str, location_id=None):
    """Goods in, through the inventory service (as the stock page does)."""
    with store(tenant) as db:
        inventory = InventoryService(db, tenant.id)
        where = location_id or inventory.default_location().id
        inventory.receive(uuid.UUID(str(product_id)), where, Decimal(quantity))
