"""Products: one business domain (models, services, views), with the till's quick keys
and tiles."""


def includeme(config):
    from .quickkeys import QuickKeyService
    from .services import ProductService

    config.register_service_factory(ProductService.factory, iface=ProductService)
    config.register_service_factory(QuickKeyService.factory, iface=QuickKeyService)
    # the quick keys' pages (issue 17); to move into salesapp/routes.py with the others
    config.add_route("quick_keys", "/quick-keys", site="tenant")
    config.add_route("locations.quick_keys", "/locations/{id}/quick-keys", site="tenant")
