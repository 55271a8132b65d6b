"""Customers: one business domain (models, services, views)."""


def includeme(config):
    from .services import CustomerService

    config.register_service_factory(CustomerService.factory, iface=CustomerService)
