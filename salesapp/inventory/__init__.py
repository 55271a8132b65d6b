"""Inventory: stock per product and location as an append-only ledger."""


def includeme(config):
    from .services import InventoryService

    config.register_service_factory(InventoryService.factory, iface=InventoryService)
