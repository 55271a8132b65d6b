"""Workspace settings of a tenant (Admin): negative stock, currency, receipt footer,
two-factor sign-in required of Admins, the selling rules; its time zone, locale, tax
mode and business details, and its logo (issue 18)."""


def includeme(config):
    from .services import SettingsService

    config.register_service_factory(SettingsService.factory, iface=SettingsService)
    # the logo: uploaded and removed by an Admin (POST), served to the workspace's users
    config.add_route("settings.logo", "/settings/logo", site="tenant")
