"""The public site on a base domain (find your workspace, self-service sign-up) and the
host-independent health check: the pages that belong to the platform rather than to a
tenant."""


def includeme(config):
    """Self-service sign-up, when ``salesapp.signup_enabled``: its routes, views and the
    process's SignupService (``registry.signups``). Off, none of it exists (404)."""
    settings = config.registry.salesapp_settings
    if not settings.signup_enabled:
        return
    from .signup_views import add_views
    from .signups import SignupService

    config.registry.signups = SignupService(settings, config.registry.password_hasher)
    add_views(config)
