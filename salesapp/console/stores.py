"""The stores in the console: ``/operator/stores`` (every store's kind, placement mark,
health, server version, schema revision against head, connections, size and tenants,
and on demand the promotion advice with its figures), ``/operator/stores/{name}`` (one
store: its tenants with their rows and size, its migration status, and an operator's
actions: accept, drain, migrate) and ``/operator/check`` (`salesapp check`, and its
``--probe`` on demand).

The same functions as the ``salesapp`` command: storeinfo and stats read, placement
marks a store accepting, and draining or migrating a store are jobs
(salesapp.operations.jobs) that ``salesapp worker`` runs, shown on the job's page.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther

from ..operations import jobs, placement, storeinfo
from ..operations.checks import run_checks
from ..operations.errors import NotFound, OperationError
from ..operations.stats import tenant_stats
from ..tenancy.directory import StoreKind
from .auth import flash, require
from .oplog import when_utc

#: what every store page's template is given beside its own values
HELPERS = {"when": when_utc}


def stores_view(request):
    """Every store, measured live; with ``?advice=1`` also every tenant counted and
    the candidates for a dedicated store with their figures (reads every tenant row:
    asked for, not done on each visit)."""
    require(request)
    catalog = request.catalog
    advice = None
    if request.GET.get("advice") == "1":
        counted = tenant_stats(catalog)
        advice = {
            "counted": len(counted),
            "candidates": [r for r in counted if r.get("dedicated_candidate")],
            "errors": [r for r in counted if r.get("error")],
        }
    return {
        **HELPERS,
        "stores": storeinfo.store_infos(catalog),
        "advice": advice,
        "settings": catalog.settings,
        "connect_timeout": storeinfo.CONNECT_TIMEOUT,
    }


def _store_or_404(request) -> storeinfo.StoreInfo:
    try:
        return storeinfo.store_info(request.catalog, request.matchdict["name"])
    except NotFound as exc:
        raise HTTPNotFound(str(exc)) from None


def store_view(request):
    """One store: what the list shows, its migration status, and its tenants with their
    rows, size and promotion advice (counted now: one store's tenants)."""
    operator = require(request)
    info = _store_or_404(request)
    counted = []
    if info.kind != StoreKind.DEDICATED_SERVER:
        counted = tenant_stats(request.catalog, store=info.name)
    return {
        **HELPERS,
        "store": info,
        "tenants": counted,
        "can_change": operator.can_change,
        "pooled": info.kind == StoreKind.POOLED,
        "settings": request.catalog.settings,
    }


def _back(request):
    return HTTPSeeOther(location=request.route_url("console.store", name=request.matchdict["name"]))


def accept_view(request):
    """Mark the store accepting new tenants (as `salesapp store accept`)."""
    require(request, write=True)
    try:
        result = placement.accept_store(request.catalog, request.matchdict["name"])
    except OperationError as exc:
        flash(request, str(exc), "error")
    else:
        was = "" if result["changed"] else " (it already did)"
        flash(request, f"Store {result['name']} accepts new tenants{was}.")
    return _back(request)


def _enqueue(request, kind: str):
    """Queue a job of ``kind`` on this store and show it; a refusal stays on the store."""
    require(request, write=True)
    name = request.matchdict["name"]
    try:
        job_id = jobs.enqueue(request.catalog, kind, {"store": name}, store_name=name)
    except OperationError as exc:
        flash(request, str(exc), "error")
        return _back(request)
    return HTTPSeeOther(location=request.route_url("console.job", id=job_id))


def drain_view(request):
    """Mark the store draining and move its tenants out, one at a time (a drain job, as
    `salesapp store drain`)."""
    return _enqueue(request, "drain")


def migrate_view(request):
    """Migrate this store to head (a migrate job, as `salesapp migrate --store`)."""
    return _enqueue(request, "migrate")


def check_view(request):
    """`salesapp check` now, each finding with its fix; ``?probe=1`` adds the live
    isolation probe of every store (as the app role, rolled back: a read, seconds long)."""
    require(request)
    probe = request.GET.get("probe") == "1"
    results = run_checks(request.catalog, probe=probe)
    failed = [r for r in results if not r.ok]
    return {"results": results, "failed": failed, "probe": probe}


#: (route, pattern, view, renderer, request method)
VIEWS = (
    ("console.stores", "/operator/stores", stores_view, "console/stores.jinja2", "GET"),
    ("console.check", "/operator/check", check_view, "console/check.jinja2", "GET"),
    ("console.store", "/operator/stores/{name}", store_view, "console/store.jinja2", "GET"),
    ("console.store.accept", "/operator/stores/{name}/accept", accept_view, None, "POST"),
    ("console.store.drain", "/operator/stores/{name}/drain", drain_view, None, "POST"),
    ("console.store.migrate", "/operator/stores/{name}/migrate", migrate_view, None, "POST"),
)


def includeme(config):
    for route, pattern, view, renderer, method in VIEWS:
        config.add_route(route, pattern, site="public")
        # require(request, write=True) checks the console's CSRF token and answers a
        # missing one with the console's own page
        config.add_view(
            view, route_name=route, renderer=renderer, request_method=method, require_csrf=False
        )
