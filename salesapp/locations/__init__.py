"""Locations of a tenant: where stock is kept and sales are made."""


def includeme(config):
    pass
