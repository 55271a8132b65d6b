"""Accounts: users, roles, sign-in (with an optional second factor) and sign-out on a
tenant host; staff PINs, till devices and the places a user may sell at (issue 17)."""


def includeme(config):
    from .pins import PinService
    from .services import AccountService

    config.register_service_factory(AccountService.factory, iface=AccountService)
    config.register_service_factory(PinService.factory, iface=PinService)
    # the two-factor pages' routes live with the feature (salesapp.routes has the rest)
    config.add_route("accounts.login_code", "/login/code", site="tenant")
    config.add_route("accounts.two_factor", "/account/two-factor", site="tenant")
    # a shared till: one's PIN, making a browser a till device, locking it, the PIN pad
    config.add_route("accounts.pin", "/account/pin", site="tenant")
    config.add_route("till", "/till", site="tenant")
    config.add_route("till.lock", "/till/lock", site="tenant")
    config.add_route("till.unlock", "/till/unlock", site="tenant")
    config.include(".resets")  # forgot password, verify e-mail: links sent by e-mail
