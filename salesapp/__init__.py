"""salesapp: multi-tenant sales management on Pyramid."""

from __future__ import annotations

import gc

from pyramid.config import Configurator

from .localization import JINJA2_FILTERS
from .settings import Settings, parse_settings


def main(global_config, **raw_settings):
    """The WSGI application factory that pserve calls."""
    from .startup import prepare  # starts the embedded server when no catalog is configured

    settings = prepare(parse_settings({**global_config, **raw_settings}))
    app = make_app(settings)
    # What start-up made (modules, mappers, templates, routes) lives as long as the
    # process: frozen out of the collector's sight, a full collection scans only what
    # requests made, 3 ms instead of a 100 ms pause of every thread (docs/benchmarks.md)
    gc.collect()
    gc.freeze()
    return app


def make_app(settings: Settings):
    """The WSGI application for validated settings; reads like a table of contents."""
    with Configurator(settings=settings.raw) as config:
        config.registry.salesapp_settings = settings
        config.add_settings(
            {
                "jinja2.filters": "qty = salesapp.formatting:quantity\n"
                "plural = salesapp.formatting:plural\n"
                "size = salesapp.formatting:size\n" + JINJA2_FILTERS
            }
        )
        config.include("pyramid_jinja2")
        config.add_jinja2_search_path("salesapp:templates", name=".jinja2")
        config.add_settings({"tm.commit_veto": "salesapp.db.commit_veto"})
        config.include("pyramid_tm")
        config.include("pyramid_services")
        config.include(".limits")  # request body size limits (413)
        config.include(".inputs")  # no NUL, control characters or bad UTF-8 in input (400)
        config.include(".headers")  # security headers on every response
        config.include(".db")  # request.dbsession, joined to pyramid_tm
        config.include(".mail")  # request.mailer: mail leaves only when the request commits
        config.include(".tenancy")  # request.site, request.tenant and the tenant tween
        config.include(".localization")  # request.local: the workspace's zone, locale, currency
        config.include(".security")  # tenant-bound sessions, request.user, permissions
        config.include(".accounts")
        config.include(".locations")
        config.include(".preferences")
        config.include(".products")
        config.include(".taxes")  # named tax rates per workspace
        config.include(".inventory")
        config.include(".purchasing")
        config.include(".customers")
        config.include(".sales")
        config.include(".registers")
        config.include(".dashboard")
        config.include(".expenses")
        config.include(".reports")
        config.include(".audit")
        config.include(".api")
        config.include(".public")  # self-service sign-up, when salesapp.signup_enabled
        config.include(".console")  # the operator console and API, on the main domain
        config.include(".pwa")  # installable: the web app manifest, the service worker at /sw.js
        config.include(".routes")
        config.scan(
            ignore=["salesapp.cli", "salesapp.operations"]
        )  # operator tools: never in a web process
    return config.make_wsgi_app()


def close_app(app) -> None:
    """Stop the app's catalog listener and close its engines (tests, shutdown)."""
    registry = app.registry
    registry.directory.close()
    registry.stores.dispose()
    throttle = getattr(registry, "sign_in_throttle", None)
    if throttle is not None:  # not with tenancy off
        throttle.close()
    console_catalog = getattr(registry, "console_catalog", None)
    if console_catalog is not None:  # made at the first operator request
        console_catalog.dispose()
    signups = getattr(registry, "signups", None)
    if signups is not None:  # only with sign-up on
        signups.close()
