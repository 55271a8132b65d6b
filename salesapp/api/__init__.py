"""The JSON API under /api (token-authenticated) and the API token pages."""

from .services import ApiTokenService


def includeme(config):
    config.register_service_factory(ApiTokenService.factory, iface=ApiTokenService)
