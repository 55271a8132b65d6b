"""Locations of a tenant: where stock is kept and sales are made."""


class MultiLocationPredicate:
    """View predicate ``multi_location=True``: the view exists only for tenants with
    several locations. Elsewhere nothing matches, so every locations page is a 404 for
    everyone (a permission check would come later and say 403 instead)."""

    def __init__(self, value, config):
        self.value = bool(value)

    def text(self):
        return f"multi_location = {self.value}"

    phash = text

    def __call__(self, context, request):
        tenant = request.tenant
        return tenant is not None and bool(tenant.multi_location) == self.value


def includeme(config):
    from .services import LocationService

    config.add_view_predicate("multi_location", MultiLocationPredicate)
    config.register_service_factory(LocationService.factory, iface=LocationService)
