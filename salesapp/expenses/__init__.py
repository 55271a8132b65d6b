"""Expenses: one business domain (models, services, views)."""


def includeme(config):
    from .services import ExpenseService

    config.register_service_factory(ExpenseService.factory, iface=ExpenseService)
