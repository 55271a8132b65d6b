"""Every form the app takes, a NUL (or another character no keyboard types) in each of
its fields, names included: 400 from the input guard (salesapp.inputs) naming the
field, before any view, so nothing is written and nothing reaches PostgreSQL (whose
text cannot hold a NUL: the sign-in form of a stranger answered 500 with one).

The forms are read from Pyramid's introspector (every view taking POST), their fields
from the pages that show them, so a form added later is swept without editing this
test."""

from __future__ import annotations

import json
import uuid

import pytest
import webtest

from salesapp.operations.tokens import issue_token
from tests.badinput.conftest import FilledWorkspace
from tests.conftest import BASE_DOMAIN, host_of, sign_in
from tests.security.test_csrf import unsafe_views

#: fields of the forms that are easy to miss: sign-in, its second step, one's password
ALWAYS = ("username", "password", "code", "current_password", "new_password", "name", "q")
GUARD = "Nothing was saved"
#: pages whose GET ends the session that asks (the second step of sign-in, begun anew)
SIGNS_OUT = {"accounts.login_code", "accounts.logout"}


@pytest.fixture(scope="module")
def ws(app, catalog, make_tenant):
    return FilledWorkspace(app, catalog, make_tenant("pooled", multi_location=True))


def form_fields(client, path: str) -> set[str]:
    """The names of the fields of every form on the page at ``path`` (when it shows
    one), besides the CSRF token."""
    res = client.get(path, expect_errors=True)
    if res.status_int != 200 or res.content_type != "text/html":
        return set()
    return {name for form in res.forms.values() for name in form.fields} - {"csrf_token", None}


def real_path(ws: FilledWorkspace, route: str, path: str) -> str:
    """``path`` with the workspace's row in place of the introspector's random id."""
    ids = {
        "products": ws.product_id,
        "customers": ws.customer_id,
        "expenses": ws.expense_id,
        "locations": ws.other_location_id,
        "sales": ws.sale_id,
    }
    row = ids.get(route.split(".")[0])
    parts = path.split("/")
    return "/".join(str(row) if row and len(part) == 36 else part for part in parts)


def sweep(client, csrf: str, views, paths) -> list:
    """POST each view with a NUL in each field, one field at a time; the answers that
    were not the guard's 400 naming the field."""
    wrong = []
    for route, path, method, params in views:
        path = paths(route, path)
        shown = set() if route in SIGNS_OUT else form_fields(client, path)
        fields = {*shown, *ALWAYS} - {name for name, _ in params}
        for field in sorted(fields):
            body = {**dict(params), "csrf_token": csrf, field: "tea\x00time"}
            res = getattr(client, method.lower())(path, body, expect_errors=True)
            if res.status_int != 400 or f"{field} must not contain NUL" not in res.text:
                wrong.append((route, method, field, res.status_int, res.text[:200]))
    return wrong


def test_the_sweep_finds_the_forms(app):
    routes = {route for route, *_ in unsafe_views(app.registry)}
    assert {"accounts.login", "accounts.login_code", "accounts.password", "pos.add"} <= routes


def test_a_nul_in_any_field_of_any_form_is_refused_by_the_guard(app, ws):
    before = ws.counts()
    wrong = sweep(ws.client, ws.csrf, unsafe_views(app.registry), lambda r, p: real_path(ws, r, p))
    assert wrong == []
    assert ws.counts() == before
    assert ws.client.get("/", status=200)  # still signed in: the sign-out form refused too


def test_a_stranger_s_sign_in_with_a_nul_is_400_not_a_server_error(ws):
    stranger = webtest.TestApp(ws.app, extra_environ={"HTTP_HOST": host_of(ws.tenant)})
    page = stranger.get("/login")
    csrf = page.forms[0]["csrf_token"].value
    for fields in (
        {"username": "admin\x00", "password": "whatever-it-is"},
        {"username": "admin", "password": "pass\x00word"},
        {"username": "\x00", "password": "\x00"},
    ):
        res = stranger.post("/login", {**fields, "csrf_token": csrf}, expect_errors=True)
        assert res.status_int == 400, res.text[:500]
        assert "must not contain NUL characters" in res.text
        assert GUARD in res.text
        assert "Traceback" not in res.text
    res = stranger.post("/login/code", {"code": "12\x0034", "csrf_token": csrf}, status=400)
    assert "code must not contain NUL characters" in res.text
    # the right password still signs in: the refusals counted no failed attempt
    sign_in(stranger, "admin", ws.tenant.admin_password)


def test_the_public_site_s_form_refuses_a_nul(ws):
    public = webtest.TestApp(ws.app, extra_environ={"HTTP_HOST": BASE_DOMAIN})
    res = public.get("/find", params={"workspace": "acme\x00"}, status=400)
    assert "workspace must not contain NUL characters" in res.text


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a\x01b", "control characters (U+0001)"),
        ("a\x1bb", "control characters (U+001B)"),
        ("a\x0bb", "control characters (U+000B)"),
    ],
)
def test_other_control_characters_are_refused(ws, value, problem):
    before = ws.counts()
    res = ws.post("/customers/new", {"name": value, "notes": ""})
    assert res.status_int == 400
    assert f"name must not contain {problem}" in res.text
    assert ws.counts() == before


def test_tabs_and_line_breaks_of_a_textarea_are_kept(ws):
    res = ws.post("/customers/new", {"name": "Tab\tby", "notes": "line one\r\nline two"})
    assert res.status_int == 303, res.text[:500]


def test_a_form_body_that_is_not_utf8_is_refused(ws):
    before = ws.counts()
    body = f"csrf_token={ws.csrf}&name=Caf%E9&notes=".encode()
    res = ws.client.post(
        "/customers/new",
        body,
        content_type="application/x-www-form-urlencoded",
        expect_errors=True,
    )
    assert res.status_int == 400
    assert "body is not valid UTF-8" in res.text
    assert ws.counts() == before
    # a replacement character typed as such is text like any other
    res = ws.post("/customers/new", {"name": "Caf\ufffd", "notes": ""})
    assert res.status_int == 303


def test_a_field_name_with_a_nul_is_refused(ws):
    res = ws.post("/customers/new", {"name": "Bo", "no\x00tes": "x"})
    assert res.status_int == 400
    assert "the name of a field" in res.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sku": "S-\u0000", "name": "x", "unit_price": "1"}, "sku"),
        ({"sku": "S-2", "name": "x\u0007", "unit_price": "1"}, "name"),
        ({"sku": "S-3", "name": "x", "unit_price": "1", "bad\u0000key": "1"}, "bad\\x00key"),
    ],
)
def test_api_json_fields_with_control_characters_are_refused(catalog, ws, body, field):
    token = issue_token(catalog, ws.tenant.slug, "admin", "guard").plaintext
    before = ws.counts()
    res = ws.client.post(
        "/api/products",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
        expect_errors=True,
    )
    assert res.status_int == 400
    assert res.content_type == "application/json"
    assert field in res.json["errors"], res.json
    assert ws.counts() == before


def test_a_nested_json_field_is_named_by_its_path(catalog, ws):
    token = issue_token(catalog, ws.tenant.slug, "admin", "guard").plaintext
    body = {"lines": [{"sku": "P-1\u0000", "quantity": "1"}], "payments": []}
    res = ws.client.post(
        "/api/sales",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
        expect_errors=True,
    )
    assert res.status_int == 400
    assert res.json["errors"] == {"lines[0].sku": "must not contain NUL characters"}


def test_an_unknown_id_in_a_path_is_still_404(ws):
    """The guard reads no path: an id that is not one is the view's 404."""
    ws.client.get(f"/customers/{uuid.uuid4()}", status=404)
    ws.client.get("/customers/%00", status=404)
