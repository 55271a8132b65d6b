"""Purchasing: suppliers, purchase orders and goods receipts (goods in, scanned into a
list and posted as one receipt)."""

#: the routes of purchasing (all on a tenant's host)
ROUTES = (
    ("suppliers.list", "/suppliers"),
    ("suppliers.new", "/suppliers/new"),
    ("suppliers.edit", "/suppliers/{id}/edit"),
    ("orders.list", "/purchase-orders"),
    ("orders.new", "/purchase-orders/new"),
    ("orders.detail", "/purchase-orders/{id}"),
    ("orders.edit", "/purchase-orders/{id}/edit"),
    ("stock.goods_in", "/stock/goods-in"),
    ("stock.receipts", "/stock/receipts"),
    ("stock.receipt", "/stock/receipts/{id}"),
)


def includeme(config):
    """Routes and services of purchasing (its views are found by the scan)."""
    from .services import PurchasingService

    config.register_service_factory(PurchasingService.factory, iface=PurchasingService)
    for name, pattern in ROUTES:
        config.add_route(name, pattern, site="tenant")
