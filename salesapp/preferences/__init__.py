"""Workspace settings of a tenant (Admin): negative stock, currency, receipt footer."""


def includeme(config):
    pass
