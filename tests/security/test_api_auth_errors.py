"""A database error while an API token is read is the API's JSON error (issue 15, item 9).

Authentication under /api reads the token from the tenant's store. When that read fails
(a privilege missing in the store, a prepared-statement clash behind a transaction-mode
pooler), the answer must still be the API's JSON 500, never an exception escaping to
the server (waitress answers those with a text/plain 500 that no API client can parse).
"""

from __future__ import annotations

import psycopg
import pytest
import webtest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from salesapp.api.services import ApiTokenService
from salesapp.operations import door
from salesapp.operations.tokens import issue_token
from tests.conftest import host_of


@pytest.fixture
def with_token(app, catalog, make_tenant):
    """with_token(placement) -> (API client of a new tenant, its Admin's token)."""

    def make(placement="pooled"):
        tenant = make_tenant(placement)
        token = issue_token(catalog, tenant.slug, "admin", "tests").plaintext
        client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host_of(tenant)})
        return tenant, client, {"Authorization": f"Bearer {token}"}

    return make


def assert_json_500(res) -> None:
    assert res.content_type == "application/json"
    assert res.json["message"].startswith("Internal error: nothing was changed")
    assert res.json["errors"] == {}
    assert "Traceback" not in res.text


def test_a_store_refusing_the_token_read_is_a_json_500(catalog, with_token, caplog):
    """A real database error: the app role may no longer read the tenant's tokens."""
    tenant, client, auth = with_token("dedicated")  # its own store: nobody else is hurt
    client.get("/api/products", headers=auth, status=200)
    with door.store_connection(catalog, tenant.store_name) as conn:
        conn.execute(text(f'REVOKE SELECT ON api_tokens FROM "{catalog.settings.app_role}"'))

    assert_json_500(client.get("/api/products", headers=auth, status=500))
    res = client.post_json("/api/customers", {"name": "Nobody"}, headers=auth, status=500)
    assert_json_500(res)
    assert "permission denied" not in res.text  # the database's words stay in the log
    logged = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged and "permission denied" in str(logged[-1].exc_info[1])
    caplog.clear()


def test_a_prepared_statement_clash_during_authentication_is_a_json_500(
    with_token, monkeypatch, caplog
):
    """What a store behind PgBouncer in transaction mode answers when prepared
    statements are left on."""
    _, client, auth = with_token()

    def clash(self, plaintext):
        raise ProgrammingError(
            "select api_tokens ...",
            {},
            psycopg.errors.DuplicatePreparedStatement('prepared statement "_pg3_0" already exists'),
        )

    monkeypatch.setattr(ApiTokenService, "authenticate", clash)
    assert_json_500(client.get("/api/products", headers=auth, status=500))
    assert_json_500(client.post_json("/api/customers", {"name": "X"}, headers=auth, status=500))
    caplog.clear()


def test_an_error_no_exception_view_answers_is_still_a_json_500(with_token, monkeypatch, caplog):
    """The last line: whatever escapes the exception views under /api (here the API's
    own error view fails) is answered by the tenant tween with the same JSON 500."""
    from salesapp.api import errors
    from salesapp.products.services import ProductService

    _, client, auth = with_token()

    def broken(*args, **kw):
        raise RuntimeError("the error view itself failed")

    monkeypatch.setattr(ProductService, "listing", broken)
    monkeypatch.setattr(errors, "json_error", broken)
    assert_json_500(client.get("/api/products", headers=auth, status=500))
    caplog.clear()
