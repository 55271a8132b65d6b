"""The tenant tween: answer hosts we do not serve, suspended tenants, writes to a tenant
whose trial has ended and writes to a tenant being moved, before any transaction or
database session exists; answer outages (the catalog or the tenant's store cannot be
reached) with 503, not a crash; and under /api answer whatever still escapes with the
API's JSON 500, never the server's text."""

from __future__ import annotations

import logging

from pyramid.renderers import render_to_response

from ..headers import STATIC_PREFIX
from ..http_helpers import SERVER_ERROR_MESSAGE, is_api, json_error, refusal
from . import SiteKind, request_host
from .directory import CatalogUnavailable, PlacementState
from .errors import first_line, is_fence_error, is_unavailable
from .hosts import absolute_target_host, host_problem, normalize_host

log = logging.getLogger(__name__)

#: seconds a client is asked to wait while its tenant moves when the mover's expected
#: pause is not known (the store's fence refused a write the cache did not expect)
RETRY_AFTER = 30
#: a write to a workspace whose trial has ended. 402 Payment Required, not 403: 403 says
#: "you may not" (a role's permission, a suspended workspace), and a client or a person
#: reading it would look for a permission to ask for; 402 says the workspace needs its
#: operator to continue it, which is what ending a trial means, and lets an API client
#: tell the two apart by status alone
TRIAL_ENDED_STATUS = 402
#: writes a workspace whose trial ended still takes: signing in and out, and the
#: password change a one-time password requires, so that its staff can go on reading
SIGN_IN_PATHS = frozenset({"/login", "/logout", "/account/password"})
#: seconds a client is asked to wait while the catalog or its store cannot be reached
OUTAGE_RETRY_AFTER = 15
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: paths served on hosts we serve no tenant on as well (a tenant's host still gets its
#: refusals: a suspended workspace's health check touches no store either)
HOST_INDEPENDENT_PATHS = frozenset({"/healthz"})
#: served whatever the host, without looking at it: files that hold no tenant data
HOST_INDEPENDENT_PREFIX = STATIC_PREFIX
#: what a client can do about a Host refused for its form
HOST_ADVICE = (
    "Send the address exactly as written: lower-case letters, digits, hyphens and dots, "
    "an internationalised name in its xn-- form"
)


#: the message of each refusal page, for JSON clients
MESSAGES = {
    "errors/unknown_host.jinja2": "Not found: there is nothing at this address",
    "errors/suspended.jinja2": "This workspace is suspended; its data is kept. Contact the "
    "service operator to resume it",
    "errors/maintenance.jinja2": "This workspace is being moved to new storage: reads work, "
    "changes are paused. Nothing was saved; send it again after Retry-After seconds",
    "errors/trial_ended.jinja2": "The trial of this workspace has ended: it is read-only. "
    "Nothing was saved. To continue, contact the service operator, who can extend the trial "
    "(salesapp tenant extend-trial)",
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


def bad_host(request, value: str, reason: str):
    """400 for a Host that is not in canonical form (``hosts.host_problem``): it would
    name one tenant to us and perhaps another to whatever sits in front of us."""
    message = f"Bad request: the host {value[:100]!r} is not a host name as written: {reason}. "
    return refusal(request, 400, message + HOST_ADVICE, {"host": reason})


def two_hosts(request, target: str, host: str | None):
    """400 for an absolute-form target naming another host than the Host header: we
    serve by the Host, and something before us may have gone by the target."""
    message = (
        f"Bad request: the request's target names the host {target[:100]!r} but its Host "
        f"header says {(host or '')[:100]!r}. Send one host name in both (or a path alone "
        "as the target)"
    )
    return refusal(request, 400, message, {"host": "differs from the request target's"})


def host_refusal(request, trusted_proxies):
    """The 400 for a request whose host is not in canonical form, or whose absolute-form
    target names another host than its Host header; None for every other request.

    Pure string work before any look-up: it holds for every path (health checks and
    static files too), so no name is ever mapped onto another one anywhere."""
    raw = request_host(request, trusted_proxies)
    reason = host_problem(raw)
    if reason:
        return bad_host(request, raw, reason)
    # the target and the Host header of the same hop: RFC 9112 section 3.2.2
    target = absolute_target_host(request.environ.get("REQUEST_URI"))
    if target is None:
        return None
    host = request.environ.get("HTTP_HOST")
    reason = host_problem(target)
    if reason:
        return bad_host(request, target, reason)
    if normalize_host(target) != normalize_host(host):
        return two_hosts(request, target, host)
    return None


def _page(request, template, status, **values):
    if is_api(request):
        return json_error(status, MESSAGES[template])
    # bare: the layout must not look up the signed-in user (that would open a session)
    response = render_to_response(template, {"bare": True, **values}, request=request)
    response.status_int = status
    return response


def maintenance(request, tenant):
    """503 with Retry-After: the tenant is being moved; its writes are paused for about
    the pause its mover expects (RETRY_AFTER when that is not known)."""
    response = _page(request, "errors/maintenance.jinja2", 503, tenant=tenant)
    response.headers["Retry-After"] = str(tenant.retry_after or RETRY_AFTER)
    return response


def trial_ended(request, tenant):
    """402: the tenant's trial has ended; the workspace is read-only."""
    return _page(request, "errors/trial_ended.jinja2", TRIAL_ENDED_STATUS, tenant=tenant)


def _latest(registry, tenant):
    """The directory's snapshot of ``tenant`` now (a move it had not heard of when the
    request began may have been loaded since), else ``tenant``."""
    try:
        return registry.directory.by_id(tenant.id) or tenant
    except CatalogUnavailable:
        return tenant


def unavailable(request, template, **values):
    """503 with Retry-After: the catalog or the tenant's store cannot be reached now."""
    response = _page(request, template, 503, **values)
    response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER)
    return response


def tenant_refusal(request, registry, tenant, path):
    """The tween's answer for ``tenant`` before any store is touched (suspended, a write
    after its trial ended, a write while a live mover moves it), else None."""
    if tenant.suspended:
        return _page(request, "errors/suspended.jinja2", 403, tenant=tenant)
    writes = request.method not in SAFE_METHODS
    if writes and tenant.trial_ended and path not in SIGN_IN_PATHS:
        return trial_ended(request, tenant)
    if writes and tenant.placement_state == PlacementState.MOVING:
        # a move whose mover stopped beating is void: the write goes on
        moving = registry.directory.current_move(tenant)
        if moving.moving:
            return maintenance(request, moving)
    return None


def site_refusal(request, registry):
    """The answer for a request refused before any transaction (a bad address or host,
    a host we do not serve, a tenant that may not be served now), else None."""
    try:
        path = request.path_info
        request.GET  # noqa: B018  (decoded here once, so views never meet bad bytes)
    except UnicodeDecodeError:
        return bad_address(request)
    refused = host_refusal(request, registry.salesapp_settings.trusted_proxies)
    if refused is not None or path.startswith(HOST_INDEPENDENT_PREFIX):
        return refused
    site = request.site
    if path not in HOST_INDEPENDENT_PATHS:
        if site.kind == SiteKind.UNKNOWN:
            return _page(request, "errors/unknown_host.jinja2", 404)
        if site.kind == SiteKind.UNAVAILABLE:
            return unavailable(request, "errors/directory_unavailable.jinja2")
    if site.tenant is not None:
        return tenant_refusal(request, registry, site.tenant, path)
    return None


def tenant_tween_factory(handler, registry):
    """Sits over pyramid_tm (outermost of ours): a refused request never begins a
    transaction, opens a session or touches a store, and an outage met further in is
    answered here after pyramid_tm has rolled the request back."""

    def tenant_tween(request):
        path = request.environ.get("PATH_INFO", "")
        refused = site_refusal(request, registry)
        if refused is not None:
            return refused
        tenant = None if path.startswith(HOST_INDEPENDENT_PREFIX) else request.tenant
        try:
            return handler(request)
        except Exception as exc:
            # a write met the store's fence: the tenant began moving after this request
            # passed the check above; pyramid_tm has rolled everything back
            if tenant is not None and is_fence_error(exc):
                return maintenance(request, _latest(registry, tenant))
            # the store is down, restarting or overloaded: its tenants wait, others go on
            if tenant is not None and is_unavailable(exc):
                log.warning("store %s unreachable: %s", tenant.store.name, first_line(exc))
                return unavailable(request, "errors/store_unavailable.jinja2", tenant=tenant)
            if not is_api(request):
                raise  # pages: the server's error handling, as before
            # no exception view answered it (raised in a tween, or by an error view):
            # every answer under /api is JSON all the same, never the server's text 500
            log.exception("unexpected error answering %s %s", request.method, path)
            return json_error(500, SERVER_ERROR_MESSAGE)

    return tenant_tween
