"""Accounts: users, roles, sign-in and sign-out on a tenant host."""


def includeme(config):
    from .services import AccountService

    config.register_service_factory(AccountService.factory, iface=AccountService)
