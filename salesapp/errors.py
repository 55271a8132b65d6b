"""Error pages: not found, forbidden (or: sign in first), a stale form (CSRF)."""

from __future__ import annotations

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPFound
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config


@notfound_view_config(renderer="errors/not_found.jinja2")
def not_found(request):
    request.response.status_int = 404
    return {}


@forbidden_view_config(renderer="errors/forbidden.jinja2")
def forbidden(request):
    if request.tenant is not None and request.user is None:
        return HTTPFound(location=request.route_url("accounts.login"))
    step = request.required_step
    if step == "password":
        return HTTPFound(location=request.route_url("accounts.password"))
    if step == "two_factor":
        return HTTPFound(location=request.route_url("accounts.two_factor"))
    request.response.status_int = 403
    return {}


@exception_view_config(BadCSRFToken, renderer="errors/bad_csrf.jinja2")
def bad_csrf(request):
    request.response.status_int = 400
    return {}
