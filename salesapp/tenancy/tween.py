"""The tenant tween: answer hosts we do not serve, suspended tenants and writes to a
tenant being moved, before any transaction or database session exists."""

from __future__ import annotations

from pyramid.renderers import render_to_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: paths served whatever the host: they touch no tenant data
HOST_INDEPENDENT_PATHS = frozenset({"/healthz"})
HOST_INDEPENDENT_PREFIX = "/static/"


def _page(request, template, status, **values):
    # bare: the layout must not look up the signed-in user (that would open a session)
    response = render_to_response(template, {"bare": True, **values}, request=request)
    response.status_int = status
    return response


def tenant_tween_factory(handler, registry):
    """Sits over pyramid_tm (outermost of ours): a refused request never begins a
    transaction, opens a session or touches a store."""

    def tenant_tween(request):
        path = request.path_info
        if path in HOST_INDEPENDENT_PATHS or path.startswith(HOST_INDEPENDENT_PREFIX):
            return handler(request)
        site = request.site
        if site.kind == "unknown":
            return _page(request, "errors/unknown_host.jinja2", 404)
        tenant = site.tenant
        if tenant is not None:
            if tenant.suspended:
                return _page(request, "errors/suspended.jinja2", 403, tenant=tenant)
            if tenant.moving and request.method not in SAFE_METHODS:
                response = _page(request, "errors/maintenance.jinja2", 503, tenant=tenant)
                response.headers["Retry-After"] = "30"
                return response
        return handler(request)

    return tenant_tween
