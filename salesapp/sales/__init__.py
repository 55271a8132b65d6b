"""Sales: the point of sale (the till), sales, receipts, voids and refunds."""

#: the till's routes beyond the original five in salesapp/routes.py (all on a tenant's
#: host): parking, the register picker and the customer quick add (issue 17)
ROUTES = (
    ("pos.park", "/pos/park"),
    ("pos.carts", "/pos/carts"),
    ("pos.resume", "/pos/carts/{id}/resume"),
    ("pos.discard", "/pos/carts/{id}/discard"),
    ("pos.register", "/pos/register"),
    ("pos.customer", "/pos/customer"),
)


def includeme(config):
    from .services import SaleService

    config.register_service_factory(SaleService.factory, iface=SaleService)
    for name, pattern in ROUTES:
        config.add_route(name, pattern, site="tenant")
