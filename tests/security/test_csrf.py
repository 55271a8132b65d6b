"""CSRF: every view outside /api that takes POST (or any unsafe method) refuses a
request without the session's token, and every form the app renders carries it.

The views are read from Pyramid's introspector, so a view added later is covered
without editing this test."""

import re
import uuid
from pathlib import Path

import salesapp
from tests.accounts.support import csrf_token
from tests.conftest import BASE_DOMAIN

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
STALE_FORM = "This form has expired"


def site_of(route) -> str:
    """'tenant' or 'public': the site a route answers on (its ``site`` predicate)."""
    texts = {predicate.text() for predicate in route.predicates}
    return "public" if "site = public" in texts else "tenant"


def unsafe_views(registry, site="tenant"):
    """(route name, path, method, params) for each view that changes state: a route's
    view taking an unsafe method (or any method), on ``site``, outside /api and the
    operator API (/operator/api), which take no cookie."""
    introspector = registry.introspector
    found = set()
    for item in introspector.get_category("views"):
        view = item["introspectable"]
        if not view["route_name"]:
            continue
        route = introspector.get("routes", view["route_name"])
        pattern = route["pattern"]
        if (
            pattern in ("/api", "/operator/api")
            or pattern.startswith(("/api/", "/operator/api/"))
            or route["object"].predicates == []
        ):
            continue  # the APIs (token-authenticated, no cookie) and the static files
        if site_of(route["object"]) != site:
            continue
        methods = view["request_methods"]
        methods = (
            UNSAFE_METHODS
            if methods is None
            else [methods]
            if isinstance(methods, str)
            else methods
        )
        wanted = view["request_param"] or ()
        wanted = [wanted] if isinstance(wanted, str) else wanted
        params = tuple(tuple(param.split("=", 1)) for param in wanted)
        path = PLACEHOLDER.sub(lambda _: str(uuid.uuid4()), pattern)
        for method in methods:
            if method not in SAFE_METHODS:
                found.add((view["route_name"], path, method, params))
    return sorted(found)


def test_the_enumeration_finds_the_forms_it_must(app):
    views = unsafe_views(app.registry)
    routes = {route for route, *_ in views}
    assert {"accounts.login", "accounts.logout", "users.new", "settings", "pos.complete"} <= routes
    assert ("users.edit", (("action", "reset-password"),)) in {(r, p) for r, _, _, p in views}
    assert not any(path.startswith("/api") for _, path, _, _ in views)


def test_every_unsafe_view_refuses_a_request_without_a_valid_token(app, staff):
    _tenant, clients = staff(roles=("Admin",), multi_location=True)
    admin = clients["Admin"]
    token = csrf_token(admin)
    views = unsafe_views(app.registry)
    assert len(views) > 20
    for route, path, method, params in views:
        for sent in ({}, {"csrf_token": "not-the-token"}):
            send = getattr(admin, method.lower())  # webtest's post, put, patch, delete
            res = send(path, dict(params, **sent), expect_errors=True)
            assert res.status_int == 400 and STALE_FORM in res.text, (route, method, params)
            assert "Content-Security-Policy" in res.headers
    # the Admin is still signed in, with the same token: nothing above acted
    assert csrf_token(admin) == token


def test_the_public_site_refuses_a_post_without_a_token(app, client_for):
    views = unsafe_views(app.registry, site="public")
    assert views  # at least its pages, which take any method
    client = client_for(BASE_DOMAIN)
    for route, path, method, params in views:
        send = getattr(client, method.lower())
        res = send(path, dict(params), expect_errors=True)
        assert res.status_int == 400 and STALE_FORM in res.text, (route, method)


def test_a_header_token_of_another_session_is_refused(staff, client_for):
    _tenant, clients = staff(roles=("Admin", "Managers"))
    other_token = csrf_token(clients["Managers"])
    res = clients["Admin"].post("/logout", headers={"X-CSRF-Token": other_token}, status=400)
    assert STALE_FORM in res.text
    assert clients["Admin"].get("/").status_int == 200  # still signed in


def test_every_template_form_that_posts_carries_the_token():
    root = Path(salesapp.__file__).parent / "templates"
    form_re = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
    token_field = '<input type="hidden" name="csrf_token" value="{{ get_csrf_token() }}">'
    posting = 0
    for path in root.glob("**/*.jinja2"):
        for attributes, body in form_re.findall(path.read_text()):
            if 'method="post"' in attributes.lower():
                posting += 1
                assert token_field in body, f"{path.relative_to(root)}: {attributes.strip()}"
    assert posting > 20


def test_every_page_s_forms_carry_the_session_token(app, staff):
    """Each page without a path parameter, as an Admin sees it: every form that posts
    carries the token of the Admin's session."""
    _tenant, clients = staff(roles=("Admin",), multi_location=True)
    admin = clients["Admin"]
    token = csrf_token(admin)
    introspector = app.registry.introspector
    pages = sorted(
        {
            route["pattern"]
            for route in introspector.get_category("routes")
            for route in [route["introspectable"]]
            if "{" not in route["pattern"]
            and not route["pattern"].startswith(("/api", "/static", "/logout", "/login/code"))
            and route["object"].predicates
        }
    )
    forms = 0
    for path in pages:
        res = admin.get(path, expect_errors=True)
        if res.content_type != "text/html" or res.status_int != 200:
            continue
        for form in res.forms.values():
            if (form.method or "").upper() == "POST":
                forms += 1
                assert form["csrf_token"].value == token, (path, form.action)
    assert forms > 10
