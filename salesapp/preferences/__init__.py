"""Workspace settings of a tenant (Admin): negative stock, currency, receipt footer,
two-factor sign-in required of Admins."""


def includeme(config):
    from .services import SettingsService

    config.register_service_factory(SettingsService.factory, iface=SettingsService)
