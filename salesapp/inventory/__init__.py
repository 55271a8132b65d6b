"""Inventory: stock per product and location as an append-only ledger, reorder levels
per location, and stock counts."""

#: the stock routes beyond the original ones in salesapp/routes.py (issue 18)
ROUTES = (
    ("stock.reorder", "/stock/reorder-levels"),
    ("stock.counts", "/stock/counts"),
    ("stock.count", "/stock/counts/{id}"),
)


def includeme(config):
    from .counts import StockCountService
    from .services import InventoryService

    config.register_service_factory(InventoryService.factory, iface=InventoryService)
    config.register_service_factory(StockCountService.factory, iface=StockCountService)
    for name, pattern in ROUTES:
        config.add_route(name, pattern, site="tenant")
