"""Reports: one business domain (services, views, charts)."""


def includeme(config):
    from .services import ReportService

    config.register_service_factory(ReportService.factory, iface=ReportService)
