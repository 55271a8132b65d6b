"""Registers (tills) per location, their shifts (a counted float to a counted close) and
the cash put in or taken out of the drawer during a shift."""


def includeme(config):
    """Routes and services of registers and shifts (their views are found by the scan)."""
