"""The console's tenant pages: the list (search, filters, usage), one tenant (everything
`tenant show` says, its usage, its jobs) and its actions.

Every action is a form post that calls the function the `salesapp tenant ...` command
calls (salesapp.cli.tenant, tenant_data), on ``request.catalog``, so the operations log
names the operator. Long ones (move, backup, restore) are queued as jobs
(salesapp.operations.jobs) and the answer is the job's page. An expected failure
(OperationError) is the page again with the message beside the form and what was typed
kept; nothing is half-made, as the operations guarantee. A viewer sees every page
without the action forms, and a post of theirs is refused (console.auth.require).

A one-time secret (a new tenant's generated Admin password, a reset password) is
shown on the answer to the post itself, never kept for a later page, and that answer is
not cached.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from pyramid.httpexceptions import HTTPSeeOther
from sqlalchemy import select
from sqlalchemy.engine import URL

from ..operations import jobs, lifecycle, provisioning, usage
from ..operations.errors import NotFound, OperationError
from ..operations.models import Store
from ..operations.workspace import reset_password
from ..tenancy.directory import PLACEMENT_KINDS, StoreKind, TenantStatus
from .auth import flash, require

#: the archive an upload is saved as (the jobs' restore reads it from there)
UPLOADS = "uploads"
NO_STORE = "no-store"


def _int(value: str, label: str, low: int, high: int, *, required=False) -> int | None:
    """A whole number typed in a form, or OperationError saying what to type."""
    value = (value or "").strip()
    if not value:
        if required:
            raise OperationError(f"{label}: give a whole number from {low} to {high}")
        return None
    try:
        number = int(value)
    except ValueError:
        raise OperationError(
            f"{label}: {value!r} is not a whole number; give one from {low} to {high}"
        ) from None
    if not low <= number <= high:
        raise OperationError(f"{label}: {number} is outside {low} to {high}")
    return number


def _text(params, name: str) -> str | None:
    return (params.get(name) or "").strip() or None


def _no_store(request) -> None:
    request.response.headers["Cache-Control"] = NO_STORE


# -- the list ------------------------------------------------------------------------


def _filter(params) -> usage.TenantFilter:
    return usage.TenantFilter(
        search=params.get("q", "").strip(),
        status=params.get("status", "").strip(),
        store=params.get("store", "").strip(),
        kind=params.get("kind", "").strip(),
        trial_within_days=_int(params.get("trial_within", ""), "Trial ending within", 0, 3650),
        size=params.get("size", "").strip(),
    )


def tenants_page(request):
    """Every tenant matching the filters, with its usage."""
    require(request)
    error, found = None, []
    try:
        found = usage.find_tenants(request.catalog, _filter(request.GET))
    except OperationError as exc:
        request.response.status_int = 400
        error = str(exc)
    with request.catalog.session() as session:
        stores = list(session.scalars(select(Store.name).order_by(Store.name)))
    return {
        "tenants": found,
        "error": error,
        "query": request.GET,
        "stores": stores,
        "statuses": [s.value for s in TenantStatus],
        "kinds": [k.value for k in PLACEMENT_KINDS],
        "sizes": list(usage.SIZE_BANDS),
        "window": usage.SALES_WINDOW_DAYS,
    }


# -- one tenant ----------------------------------------------------------------------


def _tenant_page(request, slug: str, *, errors=None, values=None) -> dict:
    """Everything about the tenant, with ``errors`` (form -> message) and what was typed
    (form -> fields) when an action was refused."""
    info = usage.show_tenant_usage(request.catalog, slug)
    return {
        "tenant": info,
        "jobs": jobs.list_jobs(request.catalog, tenant_slug=info["slug"], limit=10),
        "errors": errors or {},
        "values": values or {},
        "kinds": [k.value for k in PLACEMENT_KINDS],
        "window": usage.SALES_WINDOW_DAYS,
        "can_change": request.operator.can_change,
    }


def tenant_page(request):
    require(request)
    try:
        return _tenant_page(request, request.matchdict["slug"])
    except NotFound as exc:
        request.response.status_int = 404
        request.override_renderer = "console/refused.jinja2"
        return {"title": "No such tenant", "message": str(exc)}


def _tenant_url(request, slug: str) -> str:
    return request.route_url("console.tenant", slug=slug)


def _job_url(request, job_id: int) -> str:
    return request.route_url("console.job", id=job_id)


def _action(form: str, do):
    """A tenant action's view: ``do(request, catalog, slug, params)`` returns where to go
    next (a URL, after a notice was flashed) or a page's values; an OperationError is
    the tenant's page again with the message beside form ``form``."""

    def view(request):
        require(request, write=True)
        slug = request.matchdict["slug"]
        try:
            answer = do(request, request.catalog, slug, request.POST)
        except NotFound as exc:
            if "tenant with subdomain" not in str(exc):
                return _refused(request, slug, form, exc)
            request.response.status_int = 404
            request.override_renderer = "console/refused.jinja2"
            return {"title": "No such tenant", "message": str(exc)}
        except OperationError as exc:
            return _refused(request, slug, form, exc)
        if isinstance(answer, str):
            return HTTPSeeOther(location=answer)
        return answer

    view.__name__ = f"tenant_{form.replace('-', '_')}"
    return view


def _refused(request, slug, form, exc):
    request.response.status_int = 400
    kept = {k: v for k, v in request.POST.items() if k != "csrf_token" and "password" not in k}
    return _tenant_page(request, slug, errors={form: str(exc)}, values={form: kept})


def _suspend(request, catalog, slug, params):
    reason = _text(params, "reason")
    if reason is None:
        raise OperationError("Say why the tenant is suspended (its staff are stopped at once).")
    info = lifecycle.set_status(catalog, slug, TenantStatus.SUSPENDED, reason)
    flash(request, f"Suspended {info['slug']}: {reason}")
    return _tenant_url(request, info["slug"])


def _resume(request, catalog, slug, params):
    info = lifecycle.set_status(catalog, slug, TenantStatus.ACTIVE, _text(params, "reason"))
    flash(request, f"Resumed {info['slug']}: its staff can work again.")
    return _tenant_url(request, info["slug"])


def _extend_trial(request, catalog, slug, params):
    days = _int(params.get("days", ""), "Days", 1, 3650, required=True)
    info = lifecycle.extend_trial(catalog, slug, days)
    flash(request, f"Trial of {info['slug']} now ends {info['trial_ends_at'][:16]} UTC.")
    return _tenant_url(request, info["slug"])


def _domain_change(change, done: str):
    def do(request, catalog, slug, params):
        host = _text(params, "host")
        if host is None:
            raise OperationError("Type the domain, as in shop.example.com.")
        args = (params.get("primary") == "on",) if change is lifecycle.add_domain else ()
        info = change(catalog, slug, host, *args)
        flash(
            request,
            f"{done.format(host=host.lower())}; domains: " + (", ".join(info["domains"]) or "none"),
        )
        return _tenant_url(request, info["slug"])

    return do


def _reset_password(request, catalog, slug, params):
    info = lifecycle.show_tenant(catalog, slug)
    login = _text(params, "user") or info["admin_email"]
    password = reset_password(catalog, info["slug"], login)
    _no_store(request)
    request.override_renderer = "console/tenant_password.jinja2"
    return {"tenant": info, "login": login, "password": password}


def _move(request, catalog, slug, params):
    to = _text(params, "to")
    job_params = {"slug": slug, "to": to, "keep_source": params.get("keep_source") == "on"}
    job_params |= {
        key: value
        for key, value in (
            ("store", _text(params, "store")),
            ("database_url", _text(params, "database_url")),
        )
        if value
    }
    job_id = jobs.enqueue(catalog, "move", job_params, tenant_slug=slug)
    flash(request, f"Move of {slug} to {to} queued as job {job_id}.")
    return _job_url(request, job_id)


def _backup(request, catalog, slug, params):
    job_id = jobs.enqueue(catalog, "backup", {"slug": slug}, tenant_slug=slug)
    flash(request, f"Backup of {slug} queued as job {job_id}; download it from this page.")
    return _job_url(request, job_id)


def _delete(request, catalog, slug, params):
    info = lifecycle.show_tenant(catalog, slug)
    typed = (params.get("confirm") or "").strip().lower()
    if typed != info["slug"]:
        raise OperationError(
            f"The subdomain typed ({typed or 'nothing'}) is not {info['slug']}: nothing was "
            f"deleted. Type {info['slug']} to confirm."
        )
    result = lifecycle.delete_tenant(
        catalog, info["slug"], keep_database=params.get("keep_database") == "on"
    )
    flash(request, f"Deleted {result['slug']}: " + "; ".join(result["lines"] or ["done"]))
    return request.route_url("console.tenants")


ACTIONS = (
    ("suspend", _suspend),
    ("resume", _resume),
    ("extend-trial", _extend_trial),
    ("domain-add", _domain_change(lifecycle.add_domain, "Added {host}")),
    ("domain-remove", _domain_change(lifecycle.remove_domain, "Removed {host}")),
    ("domain-primary", _domain_change(lifecycle.make_primary, "{host} is the primary domain")),
    ("reset-password", _reset_password),
    ("move", _move),
    ("backup", _backup),
    ("delete", _delete),
)


# -- create, restore -----------------------------------------------------------------


def _database_url(params) -> str | None:
    """The dedicated database, as --database-url or the --database-* options give it."""
    url = _text(params, "database_url")
    parts = {
        name: _text(params, f"database_{name}")
        for name in ("host", "port", "user", "password", "name")
    }
    if url and any(parts.values()):
        raise OperationError("Give a database URL or the database's parts, not both.")
    if not any(parts.values()):
        return url
    if not (parts["host"] and parts["user"] and parts["name"]):
        raise OperationError(
            "The database's host, user and name are all needed (with its port and password "
            "as required)."
        )
    return URL.create(
        "postgresql",
        username=parts["user"],
        password=parts["password"],
        host=parts["host"],
        port=_int(parts["port"] or "", "Database port", 1, 65535),
        database=parts["name"],
    ).render_as_string(hide_password=False)


def tenant_request(params) -> provisioning.TenantRequest:
    """What the create form asks for, as `salesapp tenant create` builds it."""
    placement = _text(params, "placement") or StoreKind.POOLED.value
    if placement not in PLACEMENT_KINDS:
        raise OperationError(f"Placement must be pooled or dedicated, not {placement!r}.")
    url = _database_url(params)
    if url and placement == StoreKind.POOLED:
        raise OperationError("A database of its own is a dedicated placement: choose dedicated.")
    domains = [d.strip() for d in (params.get("domains") or "").split() if d.strip()]
    return provisioning.TenantRequest(
        name=(params.get("name") or "").strip(),
        slug=(params.get("subdomain") or "").strip(),
        admin_email=(params.get("admin_email") or "").strip(),
        placement=StoreKind(placement),
        store_name=_text(params, "store"),
        database_url=url,
        admin_username=_text(params, "admin_username") or "admin",
        admin_password=params.get("admin_password") or None,
        max_users=_int(params.get("max_users", ""), "Max users", 1, 100_000) or 50,
        multi_location=params.get("multi_location") == "on",
        trial_days=_int(params.get("trial_days", ""), "Trial days", 1, 3650),
        domains=domains,
        demo_data=params.get("demo_data") == "on",
    )


def _new_page(request, **values) -> dict:
    with request.catalog.session() as session:
        stores = session.execute(select(Store.name, Store.kind).order_by(Store.name)).all()
    return {
        "values": {},
        "error": None,
        "plan": None,
        "restore_values": {},
        "restore_error": None,
        "stores": stores,
        "trial_days": request.registry.salesapp_settings.trial_days,
        **values,
    }


def new_tenant_form(request):
    require(request, write=True)
    return _new_page(request)


def new_tenant_submit(request):
    """Create the tenant (or, with "check only", say what would be done)."""
    require(request, write=True)
    catalog = request.catalog
    kept = {k: v for k, v in request.POST.items() if k != "csrf_token" and "password" not in k}
    try:
        wanted = tenant_request(request.POST)
        if request.POST.get("dry_run"):
            return _new_page(request, values=kept, plan=provisioning.plan(catalog, wanted))
        created = provisioning.create_tenant(catalog, wanted)
    except OperationError as exc:
        request.response.status_int = 400
        return _new_page(request, values=kept, error=str(exc))
    _no_store(request)
    request.override_renderer = "console/tenant_created.jinja2"
    return {"created": created, "tenant": lifecycle.show_tenant(catalog, created.slug)}


def restore_submit(request):
    """Save the uploaded archive under var/uploads and queue its restore."""
    require(request, write=True)
    params = request.POST
    upload = params.get("archive")
    kept = {k: v for k, v in params.items() if k not in ("csrf_token", "archive")}
    path = None
    try:
        if not hasattr(upload, "file") or not upload.filename:
            raise OperationError("Choose the backup file (.zip) to restore.")
        folder = request.registry.salesapp_settings.var_dir / UPLOADS
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"restore-{secrets.token_hex(8)}.zip"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        job_params = {"path": str(path), "keep_credentials": params.get("keep_credentials") == "on"}
        for key, field in (
            ("slug", "as_subdomain"),
            ("name", "name"),
            ("placement", "placement"),
            ("store", "store"),
        ):
            value = _text(params, field)
            if value:
                job_params[key] = value
        job_id = jobs.enqueue(request.catalog, "restore", job_params)
    except OperationError as exc:
        if path is not None:
            Path(path).unlink(missing_ok=True)  # nothing queued: nothing kept
        request.response.status_int = 400
        return _new_page(request, restore_values=kept, restore_error=str(exc))
    flash(request, f"Restore queued as job {job_id}.")
    return HTTPSeeOther(location=_job_url(request, job_id))


def includeme(config):
    # /new and /new/restore before /{slug}: their paths would match it too
    routes = (
        ("console.tenants", "/operator/tenants"),
        ("console.tenants.new", "/operator/tenants/new"),
        ("console.tenants.restore", "/operator/tenants/new/restore"),
        ("console.tenant", "/operator/tenants/{slug}"),
    )
    for name, pattern in routes:
        config.add_route(name, pattern, site="public")
    # require() checks each post's CSRF token with the console's own answer (console.auth)
    view = {"require_csrf": False}
    config.add_view(
        tenants_page,
        route_name="console.tenants",
        renderer="console/tenants.jinja2",
        request_method="GET",
        **view,
    )
    config.add_view(
        new_tenant_form,
        route_name="console.tenants.new",
        renderer="console/tenant_new.jinja2",
        request_method="GET",
        **view,
    )
    config.add_view(
        new_tenant_submit,
        route_name="console.tenants.new",
        renderer="console/tenant_new.jinja2",
        request_method="POST",
        **view,
    )
    config.add_view(
        restore_submit,
        route_name="console.tenants.restore",
        renderer="console/tenant_new.jinja2",
        request_method="POST",
        **view,
    )
    config.add_view(
        tenant_page,
        route_name="console.tenant",
        renderer="console/tenant.jinja2",
        request_method="GET",
        **view,
    )
    for action, do in ACTIONS:
        route = f"console.tenant.{action}"
        config.add_route(route, f"/operator/tenants/{{slug}}/{action}", site="public")
        config.add_view(
            _action(action, do),
            route_name=route,
            renderer="console/tenant.jinja2",
            request_method="POST",
            **view,
        )
