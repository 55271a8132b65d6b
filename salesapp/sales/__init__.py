"""Sales: the point of sale (the till), sales, receipts, voids and refunds."""

#: the till's routes beyond the original five in salesapp/routes.py (all on a tenant's
#: host): parking, the register picker, the customer quick add and a Manager's approval
#: of a discount over the cap (issue 17)
ROUTES = (
    ("pos.park", "/pos/park"),
    ("pos.carts", "/pos/carts"),
    ("pos.resume", "/pos/carts/{id}/resume"),
    ("pos.discard", "/pos/carts/{id}/discard"),
    ("pos.register", "/pos/register"),
    ("pos.customer", "/pos/customer"),
    ("pos.approve", "/pos/approve"),
)


def includeme(config):
    from .services import SaleService

    config.register_service_factory(SaleService.factory, iface=SaleService)
    config.include(".receipts")  # credit notes, e-mailed receipts
    for name, pattern in ROUTES:
        config.add_route(name, pattern, site="tenant")
