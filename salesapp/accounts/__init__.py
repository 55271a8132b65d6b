"""Accounts: users, roles, sign-in (with an optional second factor) and sign-out on a
tenant host."""


def includeme(config):
    from .services import AccountService

    config.register_service_factory(AccountService.factory, iface=AccountService)
    # the two-factor pages' routes live with the feature (salesapp.routes has the rest)
    config.add_route("accounts.login_code", "/login/code", site="tenant")
    config.add_route("accounts.two_factor", "/account/two-factor", site="tenant")
