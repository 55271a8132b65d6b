"""A clone or a restored copy of a tenant has credentials of its own (issue 15, item 13).

A "training" clone of production must not open with production's passwords or API
tokens: every user of the copy gets a one-time password (none of the source's password
hashes carries over; two-factor enrolments go with them) and every working API token a
new key, all printed once for the operator to hand out. The source keeps its own.
A deleted tenant brought back as itself may keep the archive's (``keep_credentials``).
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select, text

from salesapp.accounts.models import User
from salesapp.operations import archive, door, lifecycle
from salesapp.operations.models import Operation
from salesapp.operations.tokens import issue_token
from tests.api.conftest import ApiClient
from tests.conftest import BASE_DOMAIN, form_with, sign_in, wait_for

MANAGER_PASSWORD = "manager-" + secrets.token_hex(6)


def host(slug):
    return f"{slug}.{BASE_DOMAIN}"


@pytest.fixture(scope="module")
def source(catalog, make_tenant, make_user):
    """A pooled tenant with a manager and API tokens: one working, one revoked."""
    tenant = make_tenant("pooled")
    make_user(tenant, ("Managers",), username="mgr", password=MANAGER_PASSWORD)
    working = issue_token(catalog, tenant.slug, "admin", "stock sync").plaintext
    revoked = issue_token(catalog, tenant.slug, "mgr", "old script").plaintext
    with door.tenant_session(catalog, tenant) as db:
        db.execute(text("update api_tokens set revoked_at = now() where name = 'old script'"))
    return tenant, working, revoked


def hashes(catalog, slug) -> dict[str, str]:
    with door.tenant_session(catalog, slug) as db:
        return {u.username: u.password_hash for u in db.scalars(select(User))}


def token_hashes(catalog, slug) -> set[str]:
    with door.tenant_session(catalog, slug) as db:
        return set(db.scalars(text("select token_hash from api_tokens")))


def assert_own_credentials(app, catalog, client_for, source, result):
    """The copy's credentials are its own; the source's work on the source only."""
    tenant, working, revoked = source
    slug = result["slug"]
    credentials = result["credentials"]
    passwords = dict(credentials.passwords)
    assert set(passwords) == {"admin", "mgr"}
    (token,) = credentials.tokens
    assert (token.username, token.name) == ("admin", "stock sync")
    assert credentials.tokens_retired == 1
    printed = "\n".join(result["credential_lines"])
    assert all(password in printed for password in passwords.values())
    assert token.plaintext in printed
    assert tenant.admin_password not in printed and working not in printed

    # nothing of the source's secrets is in the copy
    theirs, ours = hashes(catalog, tenant.slug), hashes(catalog, slug)
    assert set(ours) == set(theirs) and not set(ours.values()) & set(theirs.values())
    assert not token_hashes(catalog, slug) & token_hashes(catalog, tenant.slug)

    client = client_for(host(slug))
    assert wait_for(lambda: client.get("/login", expect_errors=True).status_int == 200)
    sign_in(client, "admin", tenant.admin_password, status=400)
    sign_in(client, "mgr", MANAGER_PASSWORD, status=400)
    for secret in (working, revoked):
        ApiClient(app, host(slug), secret).get("/api/products", status=401)
    # the new token works once its user has changed the one-time password
    api = ApiClient(app, host(slug), token.plaintext)
    assert "one-time password" in api.get("/api/products", status=403).json["message"]
    assert sign_in(client, "admin", passwords["admin"]).location.endswith("/account/password")
    form = form_with(client.get("/account/password"), "new_password")
    new_password = "chosen-" + secrets.token_hex(6)
    form["current_password"] = passwords["admin"]
    form["new_password"] = form["confirm_password"] = new_password
    form.submit(status=303)
    api.get("/api/products", status=200)

    # the source is untouched
    ApiClient(app, host(tenant.slug), working).get("/api/products", status=200)
    sign_in(client_for(tenant), "admin", tenant.admin_password)


def test_a_clone_gets_one_time_passwords_and_new_token_keys(app, catalog, client_for, source):
    tenant = source[0]
    slug = f"train{secrets.token_hex(3)}"
    result = archive.clone_tenant(catalog, tenant.slug, slug)
    assert_own_credentials(app, catalog, client_for, source, result)
    with catalog.session() as session:
        (op,) = session.scalars(
            select(Operation).where(
                Operation.tenant_slug == slug, Operation.action == "tenant.clone"
            )
        ).all()
        assert op.outcome == "ok" and op.finished_at is not None
        assert tenant.admin_password not in str(op.detail)


def test_a_restore_under_another_subdomain_gets_them_too(
    app, catalog, client_for, source, tmp_path
):
    tenant = source[0]
    path = tmp_path / "backup.zip"
    archive.backup_tenant(catalog, tenant.slug, path)
    result = archive.restore_tenant(catalog, path, slug=f"rest{secrets.token_hex(3)}")
    assert_own_credentials(app, catalog, client_for, source, result)


def test_a_deleted_tenant_restored_as_itself_may_keep_its_credentials(
    app, catalog, client_for, make_tenant, tmp_path
):
    tenant = make_tenant("pooled")
    working = issue_token(catalog, tenant.slug, "admin", "till").plaintext
    path = tmp_path / "itself.zip"
    archive.backup_tenant(catalog, tenant.slug, path)
    lifecycle.delete_tenant(catalog, tenant.slug)

    result = archive.restore_tenant(catalog, path, keep_credentials=True)

    assert result["credentials"] is None
    assert "passwords they had" in "\n".join(result["credential_lines"])
    client = client_for(tenant)
    assert wait_for(lambda: client.get("/login", expect_errors=True).status_int == 200)
    assert sign_in(client, "admin", tenant.admin_password).location.endswith("/")
    ApiClient(app, host(tenant.slug), working).get("/api/products", status=200)


def test_a_refused_restore_is_logged(catalog, tmp_path):
    missing = tmp_path / "nowhere.zip"
    slug = f"gone{secrets.token_hex(3)}"
    with pytest.raises(archive.ArchiveError, match="no such file"):
        archive.restore_tenant(catalog, missing, slug=slug)
    with catalog.session() as session:
        (op,) = session.scalars(
            select(Operation).where(
                Operation.tenant_slug == slug, Operation.action == "tenant.restore"
            )
        ).all()
    assert op.outcome == "refused" and "no such file" in op.detail["error"]
