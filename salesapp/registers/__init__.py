"""Registers (tills) per location, their shifts (a counted float to a counted close) and
the cash put in or taken out of the drawer during a shift."""

#: the routes of registers and shifts (all on a tenant's host)
ROUTES = (
    ("registers.list", "/registers"),
    ("registers.edit", "/registers/{id}/edit"),
    ("registers.detail", "/registers/{id}"),
    ("registers.open", "/registers/{id}/open"),
    ("registers.cash", "/registers/{id}/cash"),
    ("registers.close", "/registers/{id}/close"),
    ("registers.history", "/registers/{id}/shifts"),
    ("shifts.report", "/shifts/{id}/report"),
)


def includeme(config):
    """Routes and services of registers and shifts (their views are found by the scan)."""
    from .services import RegisterService

    config.register_service_factory(RegisterService.factory, iface=RegisterService)
    for name, pattern in ROUTES:
        config.add_route(name, pattern, site="tenant")
