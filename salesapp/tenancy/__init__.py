"""The request path's tenancy: which tenant a host names (hosts, the directory kept
fresh by LISTEN/NOTIFY), which store holds it (engines), whether it may write now (the
tween: not while suspended, after its trial ended, or while a live mover moves it) and
the outages a request answers with 503. No business domain is imported here, and nothing
of the operator tools (salesapp.operations)."""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from dataclasses import dataclass

from ..settings import SettingsError
from .directory import (
    CatalogUnavailable,
    Directory,
    PlacementState,
    StoreKind,
    StoreRef,
    TenantSnapshot,
    TenantStatus,
)
from .hosts import HostKind, HostMatch, classify, normalize_host
from .stores import StoreEngines


class SiteKind(enum.StrEnum):
    """What the request's host names."""

    TENANT = "tenant"  # a tenant (the Site carries its snapshot)
    PUBLIC = "public"  # the public site
    UNKNOWN = "unknown"  # nothing we serve
    UNAVAILABLE = "unavailable"  # the catalog is down and the cache cannot say


@dataclass(frozen=True)
class Site:
    """What the request's host names, and the tenant's snapshot for a tenant host."""

    kind: SiteKind
    host: str | None
    tenant: TenantSnapshot | None = None
    base_domain: str | None = None


def request_host(request, trusted_proxies) -> str | None:
    """The host the client asked for.

    ``X-Forwarded-Host`` counts only when the direct peer is a configured trusted proxy;
    from anyone else it is ignored, so a client cannot pick another tenant with it.
    """
    if trusted_proxies and request.remote_addr in trusted_proxies:
        forwarded = request.headers.get("X-Forwarded-Host")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.environ.get("HTTP_HOST")


def site_for_request(request) -> Site:
    settings = request.registry.salesapp_settings
    host = normalize_host(request_host(request, settings.trusted_proxies))
    match = classify(host, settings.base_domains)
    if match is None:
        return Site(SiteKind.UNKNOWN, host)
    if match.kind == HostKind.PUBLIC:
        base = next(b for b in settings.base_domains if host in (b, f"www.{b}"))
        return Site(SiteKind.PUBLIC, host, base_domain=base)
    try:
        tenant = request.registry.directory.lookup(match)
    except CatalogUnavailable:
        return Site(SiteKind.UNAVAILABLE, host)
    if tenant is None:
        return Site(SiteKind.UNKNOWN, host)
    return Site(SiteKind.TENANT, host, tenant=tenant)


def tenant_for_request(request) -> TenantSnapshot | None:
    """``request.tenant``: the tenant of this host, or None on the public site."""
    return request.site.tenant


class SitePredicate:
    """Route predicate ``site="tenant"`` or ``site="public"``."""

    def __init__(self, value, config):
        if value not in (SiteKind.TENANT, SiteKind.PUBLIC):
            raise ValueError(f"site predicate takes 'tenant' or 'public', not {value!r}")
        self.value = value

    def text(self):
        return f"site = {self.value}"

    phash = text

    def __call__(self, info, request):
        return request.site.kind == self.value


def serve_single_tenant(config, settings) -> None:
    """The benchmark's baseline, ``salesapp.tenancy = off``: one tenant answers on every
    host, from one database opened as a role that row-level security does not apply to.
    No host resolution, no tween, no per-transaction tenant setting (salesapp.db): the
    same views and services with the tenancy machinery taken out, so that its cost can
    be measured side by side. The tenant is read from the catalog once, at start-up."""
    directory = Directory(settings)
    try:
        label = settings.single_tenant
        tenant = directory.lookup(HostMatch(HostKind.SUBDOMAIN, label, label))
    finally:
        directory.close()
    if tenant is None:
        raise SettingsError(f"salesapp.single_tenant: no active tenant has subdomain {label!r}")
    tenant = dataclasses.replace(
        tenant, store=StoreRef(0, "single", StoreKind.POOLED, settings.single_database_url)
    )
    config.registry.directory = directory
    config.registry.stores = StoreEngines(settings)
    config.registry.single_tenant = tenant
    config.add_request_method(
        lambda request: Site(SiteKind.TENANT, request.host, tenant=tenant), "site", reify=True
    )
    config.add_request_method(tenant_for_request, "tenant", reify=True)
    config.add_route_predicate("site", SitePredicate)


def includeme(config):
    settings = config.registry.salesapp_settings
    if not settings.tenancy:
        serve_single_tenant(config, settings)
        return
    for proxy in settings.trusted_proxies:
        ipaddress.ip_address(proxy)  # fail at start-up, not per request
    directory = Directory(settings)
    config.registry.directory = directory
    config.registry.stores = StoreEngines(settings)
    if settings.listen:
        directory.start_listener()
    config.add_request_method(site_for_request, "site", reify=True)
    config.add_request_method(tenant_for_request, "tenant", reify=True)
    config.add_route_predicate("site", SitePredicate)
    config.add_tween(
        "salesapp.tenancy.tween.tenant_tween_factory", over="pyramid_tm.tm_tween_factory"
    )


__all__ = [
    "HostKind",
    "HostMatch",
    "PlacementState",
    "Site",
    "SiteKind",
    "StoreKind",
    "TenantSnapshot",
    "TenantStatus",
    "classify",
    "normalize_host",
]
