"""Products: one business domain (models, services, views)."""


def includeme(config):
    from .services import ProductService

    config.register_service_factory(ProductService.factory, iface=ProductService)
