"""salesapp: multi-tenant sales management on Pyramid."""
from __future__ import annotations

from pyramid.config import Configurator

from .settings import parse_settings


def main(global_config, **raw_settings):
    """The WSGI application; reads like a table of contents."""
    settings = parse_settings({**global_config, **raw_settings})
    from .startup import prepare  # starts the embedded server when no catalog is configured

    settings = prepare(settings)
    with Configurator(settings=raw_settings) as config:
        config.registry.salesapp_settings = settings
        config.include("pyramid_jinja2")
        config.add_jinja2_search_path("salesapp:templates", name=".jinja2")
        config.include("pyramid_tm")
        config.include("pyramid_services")
        config.include(".db")  # request.dbsession, joined to pyramid_tm
        config.include(".tenancy")  # request.site, request.tenant and the tenant tween
        config.include(".security")  # tenant-bound sessions, request.user, permissions
        config.include(".accounts")
        config.include(".locations")
        config.include(".routes")
        config.scan(ignore=["salesapp.cli", "salesapp.tests"])
    return config.make_wsgi_app()
