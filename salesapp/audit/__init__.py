"""The audit trail: who did what and when; append-only, viewable by Admin."""


def includeme(config):
    from . import recorder  # noqa: F401  (registers the before_flush listener)
    from .services import AuditService

    config.register_service_factory(AuditService.factory, iface=AuditService)
