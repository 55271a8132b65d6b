"""Sales: the point of sale, sales, receipts, voids and refunds."""


def includeme(config):
    from .services import SaleService

    config.register_service_factory(SaleService.factory, iface=SaleService)
