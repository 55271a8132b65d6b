"""The dashboard: today's sales, top products, low stock."""


def includeme(config):
    from .services import DashboardService

    config.register_service_factory(DashboardService.factory, iface=DashboardService)
