"""Stub: filled in by its owner (issue 19)."""


def includeme(config):
    pass
