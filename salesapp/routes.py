"""Every route of the application, by dotted name."""

TENANT = {"site": "tenant"}


def includeme(config):
    config.add_static_view("static", "salesapp:static", cache_max_age=3600)
    config.add_route("healthz", "/healthz")
    # the public site on the bare base domain
    config.add_route("public.home", "/", site="public")
    config.add_route("public.find", "/find", site="public")

    # a tenant's workspace
    add = lambda name, pattern: config.add_route(name, pattern, **TENANT)  # noqa: E731
    add("home", "/")
    add("accounts.login", "/login")
    add("accounts.logout", "/logout")
    add("accounts.password", "/account/password")
    add("dashboard", "/dashboard")

    add("users.list", "/users")
    add("users.new", "/users/new")
    add("users.edit", "/users/{id}/edit")
    add("locations.list", "/locations")
    add("locations.new", "/locations/new")
    add("locations.edit", "/locations/{id}/edit")
    add("settings", "/settings")
    add("audit", "/audit")

    add("products.list", "/products")
    add("products.new", "/products/new")
    add("products.import", "/products/import")
    add("products.export", "/products/export.csv")
    add("products.edit", "/products/{id}/edit")

    add("stock.list", "/stock")
    add("stock.low", "/stock/low")
    add("stock.receive", "/stock/receive")
    add("stock.adjust", "/stock/adjust")
    add("stock.transfer", "/stock/transfer")
    add("stock.movements", "/stock/movements")

    add("customers.list", "/customers")
    add("customers.new", "/customers/new")
    add("customers.detail", "/customers/{id}")
    add("customers.edit", "/customers/{id}/edit")

    add("pos", "/pos")
    add("pos.add", "/pos/add")
    add("pos.update", "/pos/update")
    add("pos.clear", "/pos/clear")
    add("pos.location", "/pos/location")
    add("pos.complete", "/pos/complete")
    add("sales.list", "/sales")
    add("sales.detail", "/sales/{id}")
    add("sales.receipt", "/sales/{id}/receipt")
    add("sales.void", "/sales/{id}/void")
    add("sales.refund", "/sales/{id}/refund")

    # the JSON API (token-authenticated, salesapp.api) and one's own API tokens
    add("api.openapi", "/api/openapi.json")
    add("api.products", "/api/products")
    add("api.product", "/api/products/{id}")
    add("api.customers", "/api/customers")
    add("api.sales", "/api/sales")
    add("api.sale", "/api/sales/{id}")
    add("api.stock", "/api/stock")
    add("account.tokens", "/account/tokens")
    add("account.tokens.revoke", "/account/tokens/{id}/revoke")

    add("expenses.list", "/expenses")
    add("expenses.new", "/expenses/new")
    add("expenses.edit", "/expenses/{id}/edit")
    add("reports.index", "/reports")
    add("reports.csv", "/reports/{name}.csv")
    add("reports.show", "/reports/{name}")
