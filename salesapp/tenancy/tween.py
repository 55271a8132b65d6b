"""The tenant tween: answer hosts we do not serve, suspended tenants and writes to a
tenant being moved, before any transaction or database session exists; and answer
outages (the catalog or the tenant's store cannot be reached) with 503, not a crash."""

from __future__ import annotations

import logging

from pyramid.renderers import render_to_response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..http_helpers import is_api, json_error, refusal
from . import SiteKind
from .errors import first_line, is_fence_error, is_unavailable

log = logging.getLogger(__name__)

#: seconds a client is asked to wait while its tenant moves (a move fences for seconds)
RETRY_AFTER = 30
#: seconds a client is asked to wait while the catalog or its store cannot be reached
OUTAGE_RETRY_AFTER = 15
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: paths served whatever the host: they touch no tenant data
HOST_INDEPENDENT_PATHS = frozenset({"/healthz"})
HOST_INDEPENDENT_PREFIX = "/static/"


#: the message of each refusal page, for JSON clients
MESSAGES = {
    "errors/unknown_host.jinja2": "Not found: there is nothing at this address",
    "errors/suspended.jinja2": "This workspace is suspended; its data is kept. Contact the "
    "service operator to resume it",
    "errors/maintenance.jinja2": "This workspace is being moved to new storage: reads work, "
    "changes are paused. Nothing was saved; send it again after Retry-After seconds",
    "errors/store_unavailable.jinja2": "This workspace's storage cannot be reached just now. "
    "Try again after Retry-After seconds; if you sent a change, check whether it was saved "
    "before sending it again",
    "errors/directory_unavailable.jinja2": "This service cannot look up workspaces just now. "
    "Nothing was changed; try again after Retry-After seconds",
}


def bad_address(request):
    """400 for an address that is not valid UTF-8 (it cannot name any page)."""
    message = "Bad request: the address is not valid UTF-8; check the link"
    return refusal(request, 400, message, {"url": "is not valid UTF-8"})


def _page(request, template, status, **values):
    if is_api(request):
        return json_error(status, MESSAGES[template])
    # bare: the layout must not look up the signed-in user (that would open a session)
    response = render_to_response(template, {"bare": True, **values}, request=request)
    response.status_int = status
    return response


def maintenance(request, tenant):
    """503 with Retry-After: the tenant is being moved; its writes are paused."""
    response = _page(request, "errors/maintenance.jinja2", 503, tenant=tenant)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def unavailable(request, template, **values):
    """503 with Retry-After: the catalog or the tenant's store cannot be reached now."""
    response = _page(request, template, 503, **values)
    response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER)
    return response


def tenant_tween_factory(handler, registry):
    """Sits over pyramid_tm (outermost of ours): a refused request never begins a
    transaction, opens a session or touches a store, and an outage met further in is
    answered here after pyramid_tm has rolled the request back."""

    def tenant_tween(request):
        try:
            path = request.path_info
            request.GET  # noqa: B018  (decoded here once, so views never meet bad bytes)
        except UnicodeDecodeError:
            return bad_address(request)
        if path in HOST_INDEPENDENT_PATHS or path.startswith(HOST_INDEPENDENT_PREFIX):
            return handler(request)
        site = request.site
        if site.kind == SiteKind.UNKNOWN:
            return _page(request, "errors/unknown_host.jinja2", 404)
        if site.kind == SiteKind.UNAVAILABLE:
            return unavailable(request, "errors/directory_unavailable.jinja2")
        tenant = site.tenant
        if tenant is not None:
            if tenant.suspended:
                return _page(request, "errors/suspended.jinja2", 403, tenant=tenant)
            if tenant.moving and request.method not in SAFE_METHODS:
                return maintenance(request, tenant)
        try:
            return handler(request)
        except (DBAPIError, PoolTimeout) as exc:
            # a write met the store's fence: the tenant began moving after this request
            # passed the check above; pyramid_tm has rolled everything back
            if tenant is not None and is_fence_error(exc):
                return maintenance(request, tenant)
            # the store is down, restarting or overloaded: its tenants wait, others go on
            if tenant is not None and is_unavailable(exc):
                log.warning("store %s unreachable: %s", tenant.store.name, first_line(exc))
                return unavailable(request, "errors/store_unavailable.jinja2", tenant=tenant)
            raise

    return tenant_tween
