"""Views that belong to the platform rather than to a tenant: the public site, health."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config
from sqlalchemy import text

from ..headers import workspace_redirect_policy
from ..tenancy import SiteKind, TenantStatus
from ..tenancy.hosts import SLUG_RE, normalize_host


def workspace_url(request, label: str, path: str = "/login") -> str:
    """``path`` on the workspace ``label`` under this public site's base domain, with
    this request's scheme and port (development's :6543)."""
    port = request.host_port
    default = {"http": "80", "https": "443"}.get(request.scheme)
    netloc = f"{label}.{request.site.base_domain}" + ("" if port == default else f":{port}")
    return f"{request.scheme}://{netloc}{path}"


def _find_form_page(request, **values) -> dict:
    """The find-your-workspace page: its form may lead to a workspace's host."""
    settings = request.registry.salesapp_settings
    request.response.headers["Content-Security-Policy"] = workspace_redirect_policy(
        settings.base_domains
    )
    return {
        "error": None,
        "workspace": "",
        "base_domain": request.site.base_domain,
        "signup": settings.signup_enabled,
        **values,
    }


@view_config(route_name="public.home", renderer="public/home.jinja2")
def public_home(request):
    return _find_form_page(request)


@view_config(route_name="public.find", renderer="public/home.jinja2")
def find_workspace(request):
    """Redirect to the workspace typed in. Never lists tenants, never says which exist."""
    label = (request.params.get("workspace") or "").strip().lower()
    base = request.site.base_domain
    if label.endswith("." + base):
        label = label[: -len(base) - 1]
    if not SLUG_RE.match(label) or normalize_host(f"{label}.{base}") is None:
        request.response.status_int = 400
        return _find_form_page(
            request,
            error=f"Type your workspace's name: letters, digits and hyphens, as in yourshop.{base}",
            workspace=label,
        )
    return HTTPFound(location=workspace_url(request, label))


def store_in_use(tenant) -> bool:
    """Whether ``tenant``'s store is one its host should report on: only an active
    workspace whose trial has not ended. A suspended one is refused before this (the
    tenant tween), and none of the others is worth a connection to its store: a health
    check anyone can send must not open connections to stores of workspaces that serve
    nobody (nor hold a dedicated store's engine open)."""
    return tenant.status == TenantStatus.ACTIVE and not tenant.trial_ended


@view_config(route_name="healthz", renderer="json")
def healthz(request):
    """Liveness for load balancers: the catalog, and on an active tenant's host its
    store (``store_in_use``)."""
    checks = {"catalog": "ok" if request.registry.directory.ping() else "unreachable"}
    if request.site.kind == SiteKind.TENANT and store_in_use(request.tenant):
        try:
            # A connection of its own: no tenant data is read, no transaction is joined.
            with request.registry.stores.engine_for(request.tenant).connect() as conn:
                conn.execute(text("select 1"))
            checks["store"] = "ok"
        except Exception:
            checks["store"] = "unreachable"
    healthy = all(value == "ok" for value in checks.values())
    request.response.status_int = 200 if healthy else 503
    return {"status": "ok" if healthy else "degraded", **checks}
