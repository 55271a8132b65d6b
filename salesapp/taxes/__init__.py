"""Named tax rates of a workspace (standard, reduced, zero, exempt), chosen per product."""

#: the tax-rate pages (on a tenant's host); edited by whoever edits products
ROUTES = (
    ("taxes.list", "/taxes"),
    ("taxes.edit", "/taxes/{id}/edit"),
)


def includeme(config):
    """The tax-rate service and routes (the views are found by the scan)."""
    from .services import TaxService

    config.register_service_factory(TaxService.factory, iface=TaxService)
    for name, pattern in ROUTES:
        config.add_route(name, pattern, site="tenant")
