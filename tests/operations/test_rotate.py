"""Rotating the owner role's password and the secret key (issue 15, item 14).

The owner password's rotation runs on a PostgreSQL server of these tests' own that
checks passwords (scram-sha-256) for every role but its superuser: on the shared test
server every local connection is trusted, so an old password would connect all the
same and a wrong store URL would go unnoticed. The secret key's rotation needs no
password checks and runs on a throwaway deployment of the shared server.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
import webtest
from click.testing import CliRunner
from sqlalchemy import func, select

from salesapp import close_app, make_app
from salesapp.accounts.models import User
from salesapp.accounts.services import AccountService, make_password_hasher
from salesapp.cli import Context
from salesapp.cli.rotate import rotate
from salesapp.operations import bootstrap, door, embedded, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.models import Operation, Store
from salesapp.operations.rotate import new_secret_key
from salesapp.security import two_factor_box
from salesapp.sessions import SESSION_COOKIE
from salesapp.settings import ENVIRONMENT
from salesapp.tenancy import urls
from tests.conftest import host_of, new_deployment_settings, sign_in, write_ini


@pytest.fixture(autouse=True)
def no_settings_from_the_environment(monkeypatch):
    """The ini files written here are the whole configuration of the CLI."""
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(scope="module")
def password_server():
    """The superuser URL of a server of our own where every role but the superuser logs
    in with its password (scram-sha-256); stopped and removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="salesapp-rotate-"))
    folder.chmod(0o755)  # as root, the embedded server runs as a user of its own
    data = folder / "pgdata"
    admin_url = embedded.start(data)
    superuser = urls.parse(admin_url).username
    (data / "pg_hba.conf").write_text(f"local all {superuser} trust\nlocal all all scram-sha-256\n")
    with psycopg.connect(urls.libpq_url(admin_url), autocommit=True) as conn:
        conn.execute("select pg_reload_conf()")
    try:
        yield admin_url
    finally:
        embedded.stop(data)
        shutil.rmtree(folder, ignore_errors=True)


def deployment_with_passwords(admin_url):
    """A new deployment whose owner and app roles have passwords."""
    base = new_deployment_settings(admin_url)
    return bootstrap.init_deployment(
        dataclasses.replace(
            base,
            owner_password=f"owner-{secrets.token_hex(8)}",
            app_password=f"app-{secrets.token_hex(8)}",
        )
    )


def ini_for(settings, path: Path) -> Path:
    """An operator's ini file for ``settings`` (passwords and keys included)."""
    write_ini(settings, path)
    extra = {
        "owner_password": settings.owner_password,
        "app_password": settings.app_password,
        "secret_key": settings.secret_key,
        "previous_secret_keys": " ".join(settings.previous_secret_keys),
    }
    lines = [f"salesapp.{key} = {value}" for key, value in extra.items() if value]
    path.write_text(path.read_text() + "\n".join(lines) + "\n")
    return path


def run_rotate(settings, tmp_path, *args, expect=0):
    """`salesapp -c INI rotate ARGS...` (the group alone, as the CLI runs it)."""
    ini = ini_for(settings, tmp_path / f"{secrets.token_hex(4)}.ini")
    context = Context(str(ini))
    try:
        result = CliRunner().invoke(rotate, list(args), obj=context)
    finally:
        context.close()
    assert result.exit_code == expect, (result.output, result.exception)
    return result


def make_tenant(catalog, placement):
    slug = f"r{secrets.token_hex(4)}"
    return provisioning.create_tenant(
        catalog,
        provisioning.TenantRequest(
            name=f"Tenant {slug}",
            slug=slug,
            admin_email=f"admin@{slug}.example.org",
            placement=placement,
        ),
    )


def connects(url: str) -> bool:
    """True if ``url`` logs in; False if the server refuses its password."""
    try:
        psycopg.connect(urls.libpq_url(url), connect_timeout=5).close()
        return True
    except psycopg.OperationalError as exc:
        assert "password authentication failed" in str(exc), exc
        return False


def store_urls(catalog) -> dict[str, str]:
    with catalog.session() as session:
        return {s.name: catalog.store_url(s) for s in session.scalars(select(Store))}


def assert_serves(app, tenant, signed_in=True) -> None:
    """The app answers the tenant's pages, reading its store (as the app role)."""
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
    assert client.get("/login").status_int == 200
    if signed_in:
        sign_in(client, "admin", tenant.admin_password)  # reads and writes the store
        assert client.get("/").status_int == 200


def last_operation(catalog, action) -> Operation:
    with catalog.session() as session:
        return session.scalars(
            select(Operation).where(Operation.action == action).order_by(Operation.id.desc())
        ).first()


# -- the owner role's password ------------------------------------------------------------
def test_owner_password_rotation(password_server, tmp_path):
    settings = deployment_with_passwords(password_server)
    catalog = Catalog(settings)
    pooled, dedicated = make_tenant(catalog, "pooled"), make_tenant(catalog, "dedicated")
    old_urls = store_urls(catalog)
    app = make_app(settings)
    try:
        for tenant in (pooled, dedicated):
            assert_serves(app, tenant)

        result = run_rotate(settings, tmp_path, "owner-password")
        password = re.search(r"New password of the owner role: (\S+)", result.output)[1]
        assert "SALESAPP_OWNER_PASSWORD" in result.output
        assert "SALESAPP_CATALOG_URL" in result.output
        assert settings.owner_password not in result.output

        # the old password connects nowhere any more; the new one everywhere
        assert not connects(settings.catalog_url)
        assert not any(connects(url) for url in old_urls.values())
        new_catalog_url = urls.with_role(settings.catalog_url, settings.owner_role, password)
        assert connects(new_catalog_url)
        rotated = dataclasses.replace(
            settings, catalog_url=new_catalog_url, owner_password=password
        )
        new_catalog = Catalog(rotated)
        new_urls = store_urls(new_catalog)
        assert set(new_urls) == set(old_urls)
        for name, url in new_urls.items():
            assert urls.parse(url).password == password, name
            # only the password changed
            assert urls.parse(url).set(password="-") == urls.parse(old_urls[name]).set(password="-")
            assert connects(url), name
        for tenant in (pooled, dedicated):  # the operator tools reach every store
            with door.tenant_session(new_catalog, tenant) as session:
                assert session.scalar(select(func.count()).select_from(User)) == 1

        # the app (app role) serves every store, running and restarted
        for tenant in (pooled, dedicated):
            assert_serves(app, tenant)
        restarted = make_app(rotated)
        try:
            for tenant in (pooled, dedicated):
                assert_serves(restarted, tenant)
        finally:
            close_app(restarted)

        entry = last_operation(new_catalog, "rotate.owner-password")
        assert entry.outcome == "ok" and entry.finished_at is not None
        assert password not in str(entry.detail)
        new_catalog.dispose()
    finally:
        close_app(app)
        catalog.dispose()


def test_an_owner_password_rotation_a_server_refuses_changes_nothing(password_server, tmp_path):
    settings = deployment_with_passwords(password_server)
    catalog = Catalog(settings)
    # a store on a server that does not answer (port 1), as the owner role
    gone = urls.with_role(
        "postgresql://127.0.0.1:1/nowhere", settings.owner_role, settings.owner_password
    )
    with catalog.session() as session:
        session.add(Store(name="gone", kind="pooled", url_encrypted=catalog.box.encrypt(gone)))
    before = store_urls(catalog)

    result = run_rotate(settings, tmp_path, "owner-password", expect=1)
    assert "nothing was changed" in result.output
    assert connects(settings.catalog_url)  # the catalog's server got the old one back
    assert store_urls(catalog) == before
    assert last_operation(catalog, "rotate.owner-password").outcome == "refused"
    catalog.dispose()


# -- the secret key ---------------------------------------------------------------------
def with_cookie(app, tenant, value):
    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
    client.set_cookie(SESSION_COOKIE, value)
    return client


def two_factor_secret(catalog, tenant, begin=False) -> str:
    """The admin's two-factor secret as the app would read it (begun with ``begin``)."""
    settings = catalog.settings
    with door.tenant_session(catalog, tenant) as session:
        accounts = AccountService(
            session,
            tenant.id,
            make_password_hasher(settings),
            secret_box=two_factor_box(settings),
        )
        return accounts.enrolment_secret(accounts.find_by_login("admin"), new=begin)


def test_secret_key_rotation(make_deployment, tmp_path):
    settings = make_deployment()
    old_key = settings.secret_key
    catalog = Catalog(settings)
    pooled, dedicated = make_tenant(catalog, "pooled"), make_tenant(catalog, "dedicated")
    totp = two_factor_secret(catalog, dedicated, begin=True)
    catalog.dispose()

    app = make_app(settings)
    try:
        browser = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(pooled)})
        sign_in(browser, "admin", pooled.admin_password)
        old_cookie = browser.cookies[SESSION_COOKIE]
    finally:
        close_app(app)

    # step 1: the new key, the old one kept for the grace; the app restarted with them
    new_key = new_secret_key()
    during = dataclasses.replace(settings, secret_key=new_key, previous_secret_keys=(old_key,))
    app = make_app(during)
    try:
        assert with_cookie(app, pooled, old_cookie).get("/").status_int == 200
        for tenant in (pooled, dedicated):
            assert_serves(app, tenant, signed_in=False)

        # step 2: everything re-encrypted under the new key
        result = run_rotate(during, tmp_path, "secret-key")
        assert "Store URLs re-encrypted" in result.output
        assert re.search(r"dedicated-\S+: 1 two-factor secret", result.output)
        again = run_rotate(during, tmp_path, "secret-key")  # a rerun changes nothing
        assert "Store URLs re-encrypted: none" in again.output
        # the two stores' secrets, then the operators' (in the catalog): none left to do
        assert re.findall(r": (\d+) two-factor", again.output) == ["0", "0", "0"]

        # still within the grace: the old cookie works, and so does a new one
        assert with_cookie(app, pooled, old_cookie).get("/").status_int == 200
        browser = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(pooled)})
        sign_in(browser, "admin", pooled.admin_password)
        new_cookie = browser.cookies[SESSION_COOKIE]
    finally:
        close_app(app)

    # step 3: the old key removed: nothing needs it, and its cookies are worthless
    after = dataclasses.replace(during, previous_secret_keys=())
    catalog = Catalog(after)
    assert len(store_urls(catalog)) >= 2  # every store URL decrypts under the new key alone
    assert two_factor_secret(catalog, dedicated) == totp
    catalog.dispose()
    stale = Catalog(settings)
    with pytest.raises(ValueError, match="cannot decrypt"):
        store_urls(stale)
    stale.dispose()

    app = make_app(after)
    try:
        refused = with_cookie(app, pooled, old_cookie).get("/", status=302)
        assert refused.location.endswith("/login")
        assert with_cookie(app, pooled, new_cookie).get("/").status_int == 200
        for tenant in (pooled, dedicated):
            assert_serves(app, tenant)
    finally:
        close_app(app)

    # without previous keys there is nothing to do: it says how to begin
    result = run_rotate(after, tmp_path, "secret-key", expect=1)
    assert "SALESAPP_PREVIOUS_SECRET_KEYS" in result.output
    assert "SALESAPP_SECRET_KEY" in result.output
