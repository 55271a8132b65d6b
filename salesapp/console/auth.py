"""The console's sign-in (a name, a password and a TOTP code), sign-out, the forced
change of a one-time password, and what every console view stands on:
``request.operator``, ``request.catalog``, ``request.console_csrf_token`` and
:func:`require`.

An operator's session is a cookie of its own, ``salesapp_operator``: signed with the
operators' key (salesapp.operations.operators.session_serializer, never a tenant's or
the public site's), host-only on the main domain, HttpOnly, SameSite=Strict, and Secure
on https. It holds :func:`operators.session_claims`; each request checks them against
the catalog (``operator_for_session``), so a disabled operator, a reset or a changed
password ends every session at once.

The CSRF token of the console's forms is the public site's session token (the main
domain's ``salesapp_session``): Pyramid's default check, on for every form post of the
app, and :func:`require` then check the same token, so a console view is protected
whether or not it opts out of the default. A sign-in starts a new one.
"""

from __future__ import annotations

import hmac
import threading
from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPFound, HTTPSeeOther
from pyramid.interfaces import IRoutesMapper
from pyramid.session import BaseCookieSessionFactory

from ..http_helpers import client_address
from ..operations import operators
from ..operations.catalog import Catalog
from ..operations.errors import OperationError
from ..operations.operator_models import Operator
from ..sessions import SESSION_SECONDS

#: the form field and header a console form's CSRF token comes in
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
VIEWER_REFUSAL = "Viewers can look but not change; ask an operator."
#: methods that change nothing: no CSRF token needed
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_REFUSAL = (
    "This form has expired (its security token is missing or out of date); nothing was "
    "changed. Reload the page and send the form again."
)
#: seconds between reissues of the operator's cookie (its idle timeout is SESSION_SECONDS)
REISSUE_SECONDS = 300
_catalog_lock = threading.Lock()


# -- the catalog ---------------------------------------------------------------------


def console_catalog(registry) -> Catalog:
    """The deployment's catalog for the console, one per process (made at the first
    operator request, disposed by salesapp.close_app)."""
    catalog = getattr(registry, "console_catalog", None)
    if catalog is None:
        with _catalog_lock:
            catalog = getattr(registry, "console_catalog", None)
            if catalog is None:
                catalog = registry.console_catalog = Catalog(registry.salesapp_settings)
    return catalog


def catalog_for_request(request) -> Catalog:
    """``request.catalog``: the catalog acting as the signed-in operator (every
    operation logged in their name); the plain catalog before anyone signed in."""
    catalog = console_catalog(request.registry)
    operator = request.operator
    return catalog.acting_as(operator.name) if operator is not None else catalog


# -- the operator's session ----------------------------------------------------------


class _OperatorSessions:
    """Two cookie session factories of the operators' key, one Secure (for https
    requests) and one not (development's http)."""

    def __init__(self, settings):
        serializer = operators.session_serializer(settings)

        def factory(secure: bool):
            return BaseCookieSessionFactory(
                serializer,
                cookie_name=operators.SESSION_COOKIE,
                secure=secure,
                httponly=True,
                samesite="Strict",
                timeout=SESSION_SECONDS,
                reissue_time=REISSUE_SECONDS,
            )

        self._plain, self._secure = factory(False), factory(True)

    def __call__(self, request):
        secure = request.scheme == "https" or request.registry.salesapp_settings.secure_cookies
        return (self._secure if secure else self._plain)(request)


def operator_session(request):
    """``request.operator_session``: the operator's cookie session (a dict of claims)."""
    return request.registry.operator_sessions(request)


def operator_for_request(request) -> Operator | None:
    """``request.operator``: the operator the request acts for, or None. Only on the main
    domain: elsewhere the cookie is not even read."""
    settings = request.registry.salesapp_settings
    host = request.site.host
    if not operators.is_console_host(settings, host):
        return None
    claims = dict(request.operator_session)
    if not claims:
        return None
    return operators.operator_for_session(console_catalog(request.registry), claims, host)


#: the console's sections: (route, label, the route names' second parts it covers)
NAV = (
    ("console.tenants", "Tenants", ("tenants", "tenant")),
    ("console.stores", "Stores", ("stores", "store", "check")),
    ("console.jobs", "Jobs", ("jobs", "job")),
    ("console.operations", "Operations", ("operations",)),
    ("console.tokens", "API tokens", ("tokens",)),
)


def console_nav(request) -> list[dict]:
    """``request.console_nav``: the layout's links (url, label, current), for the
    sections whose routes exist."""
    mapper = request.registry.getUtility(IRoutesMapper)
    route = request.matched_route.name if request.matched_route else ""
    section = route.split(".")[1] if route.count(".") else ""
    return [
        {"url": request.route_url(name), "label": label, "current": section in sections}
        for name, label, sections in NAV
        if mapper.get_route(name) is not None
    ]


def console_csrf_token(request) -> str:
    """``request.console_csrf_token``: the token every console form carries."""
    return request.session.get_csrf_token()


def _start_session(request, operator: Operator) -> None:
    """A fresh operator session naming ``operator`` (and a new CSRF token)."""
    session = request.operator_session
    session.invalidate()
    session.update(operators.session_claims(request.registry.salesapp_settings, operator))
    request.session.new_csrf_token()


# -- what every console view calls first ---------------------------------------------


def _csrf_ok(request) -> bool:
    sent = request.POST.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = request.session.get_csrf_token()
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


def _login_url(request) -> str:
    path = request.path_qs if request.method == "GET" else request.path
    return request.route_url("console.login", _query={"next": path})


def require(request, write: bool = False) -> Operator:
    """The signed-in operator, or raise what the request gets instead: a redirect to
    the sign-in (no operator), to the change of password (a one-time password), 403 (a
    viewer wants to change something), 400 (a change without its CSRF token: checked
    first, signed in or not, as every form post of the app is)."""
    if request.method not in SAFE_METHODS and not _csrf_ok(request):
        raise ConsoleRefusal(400, CSRF_REFUSAL)
    operator = request.operator
    if operator is None:
        raise HTTPSeeOther(location=_login_url(request))
    if operator.must_change_password:
        raise HTTPSeeOther(location=request.route_url("console.password"))
    if write and not operator.can_change:
        raise ConsoleRefusal(403, VIEWER_REFUSAL)
    return operator


class ConsoleRefusal(Exception):
    """A console request refused (403 a viewer's change, 400 a bad CSRF token), answered
    with a console page saying why (:func:`refused_page`); raise it from any view."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def refused_page(exc: ConsoleRefusal, request):
    request.response.status_int = exc.status
    title = "Not allowed" if exc.status == 403 else "Not done"
    return {"title": title, "message": str(exc)}


def flash(request, message: str, queue: str = "") -> None:
    """A notice for the next console page (kept in the main domain's session)."""
    request.session.flash(message, queue)


def _safe_next(request, target: str | None) -> str:
    """Where to go after signing in: a path of the console only (never another host)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/operator"):
            return target
    return request.route_url("console.tenants")


# -- the views -----------------------------------------------------------------------


def login_form(request):
    if request.operator is not None:
        return HTTPFound(location=_safe_next(request, request.params.get("next")))
    return {"error": None, "name": "", "next": request.params.get("next", "")}


def login_submit(request):
    """Check the name, password and code (salesapp.operations.operators.authenticate);
    every refusal in the same words, a throttle with how long to wait."""
    params = request.POST
    name = params.get("name", "").strip()
    target = params.get("next", "")
    values = {"name": name, "next": target}
    if not _csrf_ok(request):
        request.response.status_int = 400
        return {**values, "error": CSRF_REFUSAL}
    try:
        operator = operators.authenticate(
            console_catalog(request.registry),
            name,
            params.get("password", ""),
            params.get("code", "").strip().replace(" ", ""),
            client_address(request),
        )
    except operators.SignInRefused as refused:
        request.response.status_int = 400
        return {**values, "error": str(refused)}
    except (
        operators.AddressThrottled,
        operators.LoginThrottled,
        operators.AccountLocked,
    ) as refused:
        request.response.status_int = refused.status
        request.response.headers["Retry-After"] = str(refused.retry_after)
        return {**values, "error": str(refused)}
    _start_session(request, operator)
    if operator.must_change_password:
        return HTTPSeeOther(location=request.route_url("console.password"))
    return HTTPSeeOther(location=_safe_next(request, target))


def logout(request):
    """Sign out (POST with the CSRF token): the cookie is emptied."""
    if not _csrf_ok(request):
        raise ConsoleRefusal(400, CSRF_REFUSAL)
    request.operator_session.invalidate()
    request.session.new_csrf_token()
    return HTTPSeeOther(location=request.route_url("console.login"))


def password_form(request):
    operator = _signed_in(request)
    return {"error": None, "forced": operator.must_change_password}


def password_submit(request):
    """An operator's own new password: the current one, then the new one twice. The
    session goes on under the new session generation; every other one ends."""
    if not _csrf_ok(request):
        raise ConsoleRefusal(400, CSRF_REFUSAL)
    operator = _signed_in(request)
    forced = operator.must_change_password
    params = request.POST
    new = params.get("new_password", "")
    try:
        if new != params.get("confirm_password", ""):
            raise OperationError("The two new passwords differ; nothing was changed.")
        changed = operators.change_password(
            console_catalog(request.registry),
            operator.name,
            params.get("current_password", ""),
            new,
        )
    except OperationError as exc:
        request.response.status_int = 400
        return {"error": str(exc), "forced": forced}
    _start_session(request, changed)
    flash(request, "Your password was changed.")
    return HTTPSeeOther(location=request.route_url("console.tenants"))


def _signed_in(request) -> Operator:
    """The operator, who may still owe a new password (unlike :func:`require`)."""
    operator = request.operator
    if operator is None:
        raise HTTPSeeOther(location=_login_url(request))
    return operator


def home(request):
    require(request)
    return HTTPFound(location=request.route_url("console.tenants"))


#: (route, pattern, view, renderer, request method)
VIEWS = (
    ("console.home", "/operator", home, None, "GET"),
    ("console.login", "/operator/login", login_form, "console/login.jinja2", "GET"),
    ("console.login", "/operator/login", login_submit, "console/login.jinja2", "POST"),
    ("console.logout", "/operator/logout", logout, None, "POST"),
    ("console.password", "/operator/password", password_form, "console/password.jinja2", "GET"),
    ("console.password", "/operator/password", password_submit, "console/password.jinja2", "POST"),
)


def includeme(config):
    config.registry.operator_sessions = _OperatorSessions(config.registry.salesapp_settings)
    config.add_request_method(operator_session, "operator_session", reify=True)
    config.add_request_method(operator_for_request, "operator", reify=True)
    config.add_request_method(catalog_for_request, "catalog", reify=True)
    config.add_request_method(console_csrf_token, "console_csrf_token", reify=True)
    config.add_request_method(console_nav, "console_nav", reify=True)
    config.add_exception_view(
        refused_page, context=ConsoleRefusal, renderer="console/refused.jinja2"
    )
    added = set()
    for route, pattern, view, renderer, method in VIEWS:
        if route not in added:
            config.add_route(route, pattern, site="public")
            added.add(route)
        # the CSRF token is checked here, with the console's own answer (see the module)
        config.add_view(
            view, route_name=route, renderer=renderer, request_method=method, require_csrf=False
        )
