"""Security headers: every kind of answer carries them (pages, JSON, static files, error
pages, the tenant tween's refusals), and production adds HSTS and Secure cookies."""

import dataclasses
import re
import uuid

import pytest
import webtest
from sqlalchemy import update

from salesapp import close_app, make_app
from salesapp.headers import CONTENT_SECURITY_POLICY
from salesapp.operations.models import Tenant
from salesapp.operations.tokens import issue_token
from salesapp.sessions import SESSION_COOKIE
from tests.conftest import BASE_DOMAIN, host_of

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def assert_secure_headers(res):
    csp = res.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"].split()[0] == "'self'"
    assert directives["base-uri"] == "'none'"
    assert directives["object-src"] == "'none'"
    for name, value in EXPECTED.items():
        assert res.headers[name] == value, name
    assert "Strict-Transport-Security" not in res.headers  # not in development
    # how long the app took, for the benchmark and the browser's developer tools
    assert re.fullmatch(r"app;dur=\d+\.\d", res.headers["Server-Timing"])


def test_every_kind_of_answer_carries_the_headers(staff, client_for, tenant_a):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    answers = [
        admin.get("/"),  # a signed-in page
        admin.get("/users"),
        client_for(tenant).get("/login"),  # signed out
        client_for(tenant).get("/", status=302),  # a redirect
        admin.get("/static/app.css"),  # a static file
        admin.get("/static/pos.js"),
        admin.get("/no-such-page", status=404),  # an error page
        admin.post("/logout", status=400),  # no CSRF token: the stale-form page
        client_for(tenant).get("/api/products", status=401),  # JSON
        client_for("nobody." + BASE_DOMAIN).get("/", status=404),  # the tween's refusal
        client_for("nobody." + BASE_DOMAIN).get("/api/products", status=404),
        client_for(BASE_DOMAIN).get("/"),  # the public site
        client_for(tenant_a).get("/healthz"),
        # refused for its size before any view (salesapp.limits)
        client_for(tenant).post("/login", {"username": "x" * (2 * 1024 * 1024)}, status=413),
    ]
    for res in answers:
        assert_secure_headers(res)


def test_a_suspended_tenant_page_carries_the_headers(app, catalog, make_tenant, client_for):
    tenant = make_tenant("pooled")
    with catalog.session() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(status="suspended"))
    app.registry.directory.invalidate(tenant.id)
    res = client_for(tenant).get("/login", status=403)
    assert "suspended" in res.text
    assert_secure_headers(res)


def test_no_template_or_script_needs_unsafe_inline():
    """What the policy would block: inline scripts and styles, event-handler attributes,
    javascript: URLs. None may be in a template or a static file."""
    import re
    from pathlib import Path

    import salesapp

    root = Path(salesapp.__file__).parent
    forbidden = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.I
    )
    # e-mail bodies (``*.html.jinja2``) are read by mail clients, never served under the
    # app's policy: a mail client ignores <link> stylesheets, so they may style inline
    pages = [p for p in root.glob("templates/**/*.jinja2") if not p.name.endswith(".html.jinja2")]
    files = [*pages, *root.glob("static/**/*.js")]
    assert files
    found = [
        f"{path.relative_to(root)}: {match[0]}"
        for path in files
        for match in forbidden.finditer(path.read_text())
    ]
    assert found == []


@pytest.fixture
def production_client(settings, make_tenant):
    app = make_app(dataclasses.replace(settings, production=True, secure_cookies=True))
    tenant = make_tenant("pooled")
    environ = {"HTTP_HOST": host_of(tenant), "wsgi.url_scheme": "https"}
    yield tenant, webtest.TestApp(app, extra_environ=environ)
    close_app(app)


def test_production_adds_hsts_and_secure_cookies(settings, production_client):
    tenant, client = production_client
    res = client.get("/login")
    assert res.headers["Strict-Transport-Security"] == f"max-age={settings.hsts_seconds}"
    assert res.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    [cookie] = [c for c in res.headers.getall("Set-Cookie") if c.startswith(SESSION_COOKIE)]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite"} <= attributes
    # and the sign-in's new cookie as well (over HTTPS a POST must name its origin)
    form = res.forms[0]
    form["username"], form["password"] = "admin", tenant.admin_password
    signed_in = form.submit(headers={"Origin": f"https://{host_of(tenant)}"}, status=303)
    [cookie] = [c for c in signed_in.headers.getall("Set-Cookie") if c.startswith(SESSION_COOKIE)]
    assert "; secure" in cookie.lower()


def test_production_defaults_to_secure_cookies():
    from salesapp.settings import parse_settings

    production = parse_settings(
        {"salesapp.production": "true", "salesapp.secret_key": "x" * 40}, environ={}
    )
    assert production.secure_cookies is True
    assert parse_settings({}, environ={}).secure_cookies is False


def test_hsts_can_be_turned_off(settings):
    from salesapp.headers import security_headers

    headers = security_headers(dataclasses.replace(settings, production=True, hsts_seconds=0))
    assert "Strict-Transport-Security" not in headers


def get_routes(registry, api: bool):
    """(route name, path) of every route a GET reaches, on /api or off it, with its
    placeholders filled in; read from Pyramid's introspector, so a route added later is
    covered without editing this test."""
    placeholder = re.compile(r"\{(\w+)(?::[^}]*)?\}")
    introspector = registry.introspector
    found = set()
    for item in introspector.get_category("views"):
        view = item["introspectable"]
        methods = view["request_methods"]
        if not view["route_name"] or (methods not in (None, "GET") and "GET" not in methods):
            continue
        route = introspector.get("routes", view["route_name"])
        pattern = route["pattern"]
        if route["object"].predicates == []:
            continue  # the static files
        if (pattern == "/api" or pattern.startswith("/api/")) == api:
            found.add((view["route_name"], placeholder.sub(lambda _: str(uuid.uuid4()), pattern)))
    return sorted(found)


def test_no_page_or_api_answer_may_be_stored_by_a_cache(app, catalog, staff, client_for):
    """Signed-in pages and API answers hold a tenant's data: every one says
    ``Cache-Control: no-store``, whatever its status (a random id's 404 included)."""
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    token = issue_token(catalog, tenant.slug, "admin", "cache sweep").plaintext
    api = client_for(tenant, HTTP_AUTHORIZATION=f"Bearer {token}")
    pages, api_routes = get_routes(app.registry, api=False), get_routes(app.registry, api=True)
    assert len(pages) > 20 and len(api_routes) > 5
    answers = [(route, admin.get(path, expect_errors=True)) for route, path in pages]
    answers += [(route, api.get(path, expect_errors=True)) for route, path in api_routes]
    assert any(res.status_int == 200 and route.startswith("api") for route, res in answers)
    for route, res in answers:
        assert res.headers.get("Cache-Control") == "no-store", (route, res.status)
    for res in (client_for(BASE_DOMAIN).get("/"), client_for(tenant).get("/login")):
        assert res.headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_caching_and_not_modified_answers(client_for, tenant_a):
    client = client_for(tenant_a)
    res = client.get("/static/app.css")
    assert "no-store" not in res.headers["Cache-Control"]
    assert "max-age=" in res.headers["Cache-Control"]
    validator = {"If-Modified-Since": res.headers["Last-Modified"]}
    if "ETag" in res.headers:
        validator = {"If-None-Match": res.headers["ETag"]}
    again = client.get("/static/app.css", headers=validator, status=304)
    assert "no-store" not in again.headers.get("Cache-Control", "")
    missing = client.get("/static/no-such-file.css", status=404)
    assert missing.headers["Cache-Control"] == "no-store"
