"""The JSON API under /api (token-authenticated, each call within its token's scope) and
the API token pages."""


def includeme(config):
    # imported here, not above: salesapp.api.grants (scopes and lifetimes) stays light
    # for the console, which offers its choices without loading the web application
    from .guard import token_scope
    from .services import ApiTokenService

    config.register_service_factory(ApiTokenService.factory, iface=ApiTokenService)
    # every view with a permission: under /api its token's scope must cover the call
    config.add_view_deriver(token_scope)
