"""Every route of the application, by dotted name."""


def includeme(config):
    config.add_static_view("static", "salesapp:static", cache_max_age=3600)
    config.add_route("healthz", "/healthz")
    # the public site on the bare base domain
    config.add_route("public.home", "/", site="public")
    config.add_route("public.find", "/find", site="public")
    # a tenant's workspace
    config.add_route("home", "/", site="tenant")
    config.add_route("accounts.login", "/login", site="tenant")
    config.add_route("accounts.logout", "/logout", site="tenant")
    config.add_route("accounts.password", "/account/password", site="tenant")
