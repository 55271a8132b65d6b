"""Test fixtures: one PostgreSQL server per test session, uniquely named databases
and roles created for the session and dropped at its end.

With SALESAPP_TEST_DATABASE_URL (a superuser URL of a real server) the tests run there;
otherwise the embedded PostgreSQL (pgserver) starts under var/pgtest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import secrets
import time
from pathlib import Path

import psycopg
import pytest
import webtest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from salesapp import close_app, make_app
from salesapp.operations import bootstrap, door, embedded, pgbouncer, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.door import As
from salesapp.settings import parse_settings
from salesapp.tenancy import urls
from salesapp.tenancy.stores import connect_args

#: fixtures of other modules: the tests' real SMTP server (tests/smtp.py)
pytest_plugins = ["tests.smtp"]

REPO = Path(__file__).resolve().parents[1]
BASE_DOMAIN = "example.test"
TRUSTED_PROXY = "10.0.0.1"
#: with SALESAPP_TEST_PGBOUNCER: the port of the PgBouncer in front of the pooled store
PGBOUNCER: dict = {}


@pytest.fixture(scope="session")
def server_admin_url():
    url = os.environ.get("SALESAPP_TEST_DATABASE_URL")
    if url:
        return urls.plain(url)
    url = embedded.start(REPO / "var" / "pgtest")
    _without_fsync(url)
    return url


def _without_fsync(admin_url: str) -> None:
    """The tests' embedded server (var/pgtest, scratch data) does not fsync: every DROP
    DATABASE is a checkpoint, ten times slower with fsync. A crash of PostgreSQL itself
    loses nothing (the WAL is written at each commit); only a crash of the machine could
    leave var/pgtest unusable (delete it). A real server (SALESAPP_TEST_DATABASE_URL) is
    left as its administrator set it."""
    with psycopg.connect(urls.libpq_url(admin_url), autocommit=True) as conn:
        if conn.execute("show fsync").fetchone()[0] == "on":
            conn.execute("alter system set fsync = off")
            conn.execute("alter system set full_page_writes = off")
            conn.execute("select pg_reload_conf()")


def _drop_everything(admin_url: str, prefix: str) -> None:
    bootstrap.drop_deployment(admin_url, prefix)


def new_deployment_settings(server_admin_url):
    """Settings for a new deployment with its own role and database prefix."""
    prefix = "sat_" + secrets.token_hex(4)
    raw = {
        "here": str(REPO),
        "salesapp.role_prefix": prefix,
        "salesapp.base_domains": f"{BASE_DOMAIN} localhost",
        "salesapp.trusted_proxies": TRUSTED_PROXY,
        # cheap hashes: the suite signs in often; production keeps argon2's defaults
        "salesapp.argon2_time_cost": "1",
        "salesapp.argon2_memory_cost": "1024",
        "salesapp.max_dedicated_engines": "3",
    }
    base = parse_settings(raw, environ={})
    return dataclasses.replace(base, server_admin_url=server_admin_url)


@pytest.fixture(scope="session")
def settings(server_admin_url):
    """The session's deployment. With SALESAPP_TEST_PGBOUNCER=1 its pooled store is
    reached through PgBouncer in transaction mode (started here), as a deployment with a
    pooler in front of its pooled store would be."""
    base = new_deployment_settings(server_admin_url)
    try:
        settings = bootstrap.init_deployment(base)
        if os.environ.get("SALESAPP_TEST_PGBOUNCER"):
            with _behind_pgbouncer(settings) as bounced:
                yield bounced
        else:
            yield settings
    finally:
        _drop_everything(server_admin_url, base.role_prefix)


@contextlib.contextmanager
def _behind_pgbouncer(settings):
    roles = [settings.app_role, settings.owner_role]
    # DISCARD ALL after every transaction: the owner's short-lived connections
    # (provisioning) may prepare statements, which must not reach another client
    with pgbouncer.start(settings.server_admin_url, roles, reset=True) as port:
        catalog = Catalog(settings)
        try:
            with catalog.session() as session:
                name = catalog.default_pooled_store(session).name
            with pgbouncer.route_store(catalog, name, port):
                PGBOUNCER["port"] = port
                yield dataclasses.replace(settings, prepared_statements=False)
        finally:
            catalog.dispose()


@pytest.fixture(scope="module")
def make_deployment(server_admin_url):
    """New, separate deployments (catalog, roles, pool, template) for tests that change
    a whole deployment (migrations, checks); dropped at the end of the module."""
    made = []

    def make():
        settings = bootstrap.init_deployment(new_deployment_settings(server_admin_url))
        made.append(settings)
        return settings

    yield make
    for settings in made:
        _drop_everything(server_admin_url, settings.role_prefix)


@pytest.fixture(scope="session")
def catalog(settings):
    catalog = Catalog(settings)
    yield catalog
    catalog.dispose()


@pytest.fixture(scope="session")
def make_tenant(catalog):
    """Create a tenant with a unique subdomain; returns provisioning's result."""

    def make(placement="pooled", **kw):
        slug = kw.pop("slug", None) or f"t{secrets.token_hex(4)}"
        request = provisioning.TenantRequest(
            name=kw.pop("name", f"Tenant {slug}"),
            slug=slug,
            admin_email=kw.pop("admin_email", f"admin@{slug}.example.org"),
            placement=placement,
            **kw,
        )
        return provisioning.create_tenant(catalog, request)

    return make


@pytest.fixture(scope="session")
def tenant_a(make_tenant):
    return make_tenant("pooled")


@pytest.fixture(scope="session")
def tenant_b(make_tenant):
    return make_tenant("pooled")


@pytest.fixture(scope="session")
def tenant_d(make_tenant):
    """A dedicated tenant."""
    return make_tenant("dedicated")


@pytest.fixture(autouse=True)
def forget_failed_sign_ins(request):
    """Failed sign-ins count across the deployment (the catalog's failed_sign_ins), and
    most tests sign in from no address: each test starts with none counted."""
    uses = {"app", "catalog"} & set(request.fixturenames)
    catalog = request.getfixturevalue("catalog") if uses else None
    yield
    if catalog is not None:
        with catalog.session() as session:
            session.execute(text("delete from failed_sign_ins"))
            session.commit()


@pytest.fixture(scope="session")
def app(settings, smtp_session_server):
    """The WSGI app on the session's deployment (tenants made later are found as they
    come: the directory looks up a host it does not know)."""
    app = make_app(dataclasses.replace(settings, mail=smtp_session_server.mail_settings()))
    yield app
    close_app(app)


def wait_for(predicate, timeout=5.0) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (NOTIFY is asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def host_of(tenant) -> str:
    return f"{tenant.slug}.{BASE_DOMAIN}"


@pytest.fixture
def client_for(app):
    """A webtest client for one host (a tenant or any host string)."""

    def make(tenant_or_host, **environ):
        host = tenant_or_host if isinstance(tenant_or_host, str) else host_of(tenant_or_host)
        return webtest.TestApp(app, extra_environ={"HTTP_HOST": host, **environ})

    return make


def sign_in(client, username, password, status=303):
    form = client.get("/login").forms[0]
    form["username"] = username
    form["password"] = password
    return form.submit(status=status)


def _store_engines(catalog, role: As, **defaults):
    """(make, engines): make(store name, **engine options) -> an engine on the store as
    ``role``, at the URL the door gives and with the deployment's connection options."""
    engines = []

    def make(store_name, **kw):
        url = door.store_url(catalog, store_name, role)
        options = {"connect_args": connect_args(catalog.settings), **defaults, **kw}
        engine = create_engine(urls.sqlalchemy_url(url), **options)
        engines.append(engine)
        return engine

    return make, engines


class OwnerEngines:
    """The door's pool-less owner engines on the session deployment's stores, one per
    store, kept for the session: the test helpers open many short transactions, and a
    new engine for each (a catalog lookup, a first-connect handshake) costs more than the
    work. Pool-less, an engine holds no connection between uses (a store can be dropped)."""

    def __init__(self, catalog):
        self.catalog, self.engines = catalog, {}

    def __call__(self, store_name: str):
        engine = self.engines.get(store_name)
        if engine is None:
            engine = self.engines[store_name] = door.store_engine(self.catalog, store_name)
        return engine

    def session(self, tenant):
        """A session on the tenant's store in one transaction bound to the tenant (as
        door.tenant_session), committed at the end of the block."""
        return door.engine_session(self(tenant.store_name), tenant.id)

    def dispose(self):
        for engine in self.engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def owner_engines(catalog):
    engines = OwnerEngines(catalog)
    yield engines
    engines.dispose()


@pytest.fixture
def owner_engine(catalog, owner_engines):
    """owner_engine(store name) -> a pool-less engine on the store as the owner role, to
    look at or set up rows, never to test isolation (engine options given: a new engine,
    disposed after the test)."""
    make, engines = _store_engines(catalog, As.OWNER, poolclass=NullPool)

    def engine(store_name, **kw):
        return make(store_name, **kw) if kw else owner_engines(store_name)

    yield engine
    for made in engines:
        made.dispose()


@pytest.fixture
def app_engine(catalog):
    """app_engine(store name, **engine options) -> a pooled engine on the store as the app
    role, what web requests use and isolation tests must connect as (options such as
    pool_size go to create_engine); disposed after the test."""
    make, engines = _store_engines(catalog, As.APP)
    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def admin_conn(server_admin_url):
    with psycopg.connect(urls.libpq_url(server_admin_url), autocommit=True) as conn:
        yield conn


def write_ini(settings, path: Path) -> Path:
    """An ini file for a test deployment, as an operator's `-c INI` would be."""
    keys = (
        "role_prefix",
        "base_domains",
        "trusted_proxies",
        "argon2_time_cost",
        "argon2_memory_cost",
        "max_dedicated_engines",
    )
    lines = [
        "[app:main]",
        "use = egg:salesapp",
        "salesapp.catalog_url = " + settings.catalog_url.replace("%", "%%"),  # ini interpolates %
        f"salesapp.log_dir = {path.parent / 'logs'}",
    ]
    lines += [f"salesapp.{key} = {settings.raw[f'salesapp.{key}']}" for key in keys]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def ini_file(settings, tmp_path_factory):
    return write_ini(settings, tmp_path_factory.mktemp("ini") / "test.ini")


def run_cli(ini_path, *args, input=None, expect=0):
    """Run `salesapp -c INI ARGS...`; returns click's Result (exit_code, output)."""
    from click.testing import CliRunner

    from salesapp.cli import cli as salesapp_cli

    result = CliRunner().invoke(salesapp_cli, ["-c", str(ini_path), *args], input=input)
    if expect is not None:
        assert result.exit_code == expect, (result.exit_code, result.output, result.exception)
    return result


@pytest.fixture
def cli(ini_file):
    """Run `salesapp -c <test ini> ARGS...`; returns click's Result (exit_code, output)."""

    def run(*args, input=None, expect=0):
        return run_cli(ini_file, *args, input=input, expect=expect)

    return run


@pytest.fixture(scope="session")
def make_user(catalog, owner_engines):
    """Create a user with roles in a tenant (as the owner, under the tenant's setting);
    returns (username, password)."""
    from salesapp.accounts.services import AccountService, make_password_hasher

    def make(tenant, roles=("Cashiers",), username=None, password=None, **kw):
        username = username or f"u{secrets.token_hex(3)}"
        password = password or secrets.token_urlsafe(12)
        with owner_engines.session(tenant) as db:
            AccountService(db, tenant.id, make_password_hasher(catalog.settings)).create_user(
                username=username, password=password, roles=tuple(roles), **kw
            )
        return username, password

    return make


#: the roles every tenant has, as the staff fixture signs them in
ROLES = ("Admin", "Managers", "Cashiers")


@pytest.fixture
def staff(make_tenant, make_user, client_for):
    """A fresh tenant with a signed-in client per role:
    staff(placement) -> (tenant, {"Admin": client, "Managers": client, "Cashiers": client}).
    staff(placement, roles=("Managers",)) makes and signs in only those roles' users (the
    admin, made with the tenant, is there either way)."""

    def make(placement="pooled", roles=ROLES, **kw):
        tenant = make_tenant(placement, **kw)
        clients = {}
        for role in roles:
            if role == "Admin":
                username, password = "admin", tenant.admin_password
            else:
                username, password = make_user(tenant, (role,))
            client = client_for(tenant)
            sign_in(client, username, password)
            clients[role] = client
        return tenant, clients

    return make


@contextlib.contextmanager
def short_demo():
    """Within the block, demo data (``--demo-data``, demo tenants) is one month of sales
    instead of three: for tests that need a demo tenant's staff and shape but not its
    volume (what the generator makes is tests/test_demo.py's)."""
    from salesapp.operations import demo

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "generate", functools.partial(demo.generate, months=1))
        yield


@pytest.fixture
def short_demo_data():
    """The test's demo data is one month of sales (see short_demo)."""
    with short_demo():
        yield


def form_with(page, field):
    """The first form on ``page`` that has ``field`` (the layout's sign-out form comes
    first on every page, so forms[0] is rarely the one a test means)."""
    for form in page.forms.values():
        if field in form.fields:
            return form
    raise AssertionError(f"no form with field {field!r} on {page.request.path}")


@pytest.fixture(scope="session")
def with_demo_staff(make_tenant, make_user):
    """A tenant with the demo staff `tenant create --demo-data` adds (manager, then
    cashier, each with a one-time password), without the months of demo sales."""

    def make(placement="pooled", **kw):
        tenant = make_tenant(placement, **kw)
        for username, role in (("manager", "Managers"), ("cashier", "Cashiers")):
            make_user(tenant, (role,), username=username, must_change_password=True)
        return tenant

    return make
