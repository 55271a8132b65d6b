"""A body that cannot be parsed as what it says it is gets a 4xx, never a 500: a
multipart form without its boundary (schemathesis found it in CI) on a page and on
every kind of API write."""

from __future__ import annotations

import pytest

from salesapp.operations.tokens import issue_token
from tests.conftest import form_with

BROKEN = {"Content-Type": "multipart/form-data"}  # no boundary


def test_a_multipart_form_without_its_boundary_is_400_on_a_page(staff):
    _, clients = staff("pooled", roles=("Managers",))
    client = clients["Managers"]
    csrf = form_with(client.get("/customers/new"), "csrf_token")["csrf_token"].value
    res = client.post(
        "/customers/new",
        params=f"csrf_token={csrf}&name=Ada",
        headers=BROKEN,
        expect_errors=True,
    )
    assert res.status_int == 400
    assert "not a readable form" in res.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/products"), ("post", "/api/customers"), ("post", "/api/sales")],
)
def test_a_multipart_body_without_its_boundary_is_refused_by_the_api(
    staff, catalog, client_for, method, path
):
    tenant, _ = staff("pooled", roles=())
    token = issue_token(catalog, tenant.slug, "admin", "t").plaintext
    res = getattr(client_for(tenant), method)(
        path,
        params="name=x",
        headers={**BROKEN, "Authorization": f"Bearer {token}"},
        expect_errors=True,
    )
    assert 400 <= res.status_int < 500
    assert res.content_type == "application/json"
