"""Fixtures of the fault tests: PostgreSQL servers of their own (embedded, in temporary
directories) that a test may stop, crash, freeze and start again, and a deployment
spread over them so that one part can go down while the rest stays up."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
import webtest

from salesapp import close_app, make_app
from salesapp.operations import bootstrap, embedded, provisioning, storeadmin
from salesapp.operations.catalog import Catalog
from salesapp.operations.tokens import issue_token
from salesapp.tenancy import urls
from tests.conftest import REPO, host_of, new_deployment_settings, sign_in

#: where the fault tests' own embedded servers keep their data (removed after)
FAULT_SERVERS = REPO / "var" / "faults"


@dataclasses.dataclass
class Server:
    """An embedded server a test may take down."""

    data_dir: Path
    admin_url: str

    def stop(self, mode="immediate"):
        embedded.stop(self.data_dir, mode)

    def start(self):
        assert embedded.start(self.data_dir) == self.admin_url  # back at the same address

    @contextmanager
    def frozen(self):
        """The postmaster stopped (SIGSTOP): connections already made still answer, new
        ones wait for ever, as with a server overwhelmed or behind a black hole."""
        pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)


@pytest.fixture(scope="package")
def embedded_server():
    """embedded_server() -> a new Server; every one is stopped when the package ends."""
    started = []

    def start():
        # under var/, not pytest's temp root: a pytest session started beside this one
        # resets that root to mode 0700, and the server's own user could no longer reach
        # its data (pg_ctl failed mid-test)
        data_dir = FAULT_SERVERS / secrets.token_hex(4) / "data"
        data_dir.parent.mkdir(parents=True)
        server = Server(data_dir, embedded.start(data_dir))
        started.append(server)
        return server

    yield start
    for server in started:
        embedded.start(server.data_dir)  # running, whatever a failed test left it in
        server.stop("fast")
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)


@dataclasses.dataclass
class Split:
    """A deployment over three servers: the catalog (with its own pooled store and a
    dedicated tenant) on one, a dedicated tenant alone on another, and a pooled store
    on the test session's server, holding a tenant that outlives both."""

    settings: object
    catalog: Catalog
    catalog_server: Server
    store_server: Server
    pooled: object  # pooled store on the session's server
    local: object  # dedicated, on the catalog's server
    remote: object  # dedicated, alone on store_server
    tokens: dict


@pytest.fixture(scope="package")
def split(server_admin_url, embedded_server):
    catalog_server = embedded_server()
    store_server = embedded_server()
    settings = bootstrap.init_deployment(new_deployment_settings(catalog_server.admin_url))
    catalog = Catalog(settings)
    try:
        for admin_url in (server_admin_url, store_server.admin_url):
            bootstrap.ensure_roles(admin_url, settings)

        def owner(admin_url, database):
            return urls.with_role(
                urls.with_database(admin_url, database),
                settings.owner_role,
                settings.owner_password,
            )

        main_db = settings.database_name("poolmain")
        storeadmin.add_store(catalog, "poolmain", owner(server_admin_url, main_db), "pooled")
        storeadmin.add_store(
            catalog, "remote", owner(store_server.admin_url, "postgres"), "dedicated-server"
        )

        def tenant(placement, store_name=None):
            slug = f"f{secrets.token_hex(4)}"
            return provisioning.create_tenant(
                catalog,
                provisioning.TenantRequest(
                    name=f"Tenant {slug}",
                    slug=slug,
                    admin_email=f"admin@{slug}.example.org",
                    placement=placement,
                    store_name=store_name,
                ),
            )

        pooled = tenant("pooled", "poolmain")
        local = tenant("dedicated")
        remote = tenant("dedicated", "remote")
        tokens = {
            t.slug: issue_token(catalog, t.slug, "admin", "faults").plaintext
            for t in (pooled, local, remote)
        }
        yield Split(settings, catalog, catalog_server, store_server, pooled, local, remote, tokens)
    finally:
        catalog.dispose()
        bootstrap.drop_deployment(server_admin_url, settings.role_prefix)


@pytest.fixture
def split_app(split):
    """split_app(**settings) -> a new app on the split deployment (closed after)."""
    apps = []

    def make(**overrides):
        app = make_app(dataclasses.replace(split.settings, **overrides))
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_app(app)


def api_client(app, tenant, token):
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
    client.authorization = ("Bearer", token)
    return client


def web_client(app, tenant):
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
    sign_in(client, "admin", tenant.admin_password)
    return client
