"""Expenses: one business domain (models, services, views)."""


def includeme(config):
    pass
