"""GET /healthz on any host."""

from tests.conftest import BASE_DOMAIN


def test_healthz_on_public_and_unknown_hosts(client_for):
    for host in (BASE_DOMAIN, "127.0.0.1", "nobody." + BASE_DOMAIN):
        res = client_for(host).get("/healthz")
        assert res.json == {"status": "ok", "catalog": "ok"}


def test_healthz_on_tenant_hosts_checks_the_store(client_for, tenant_a, tenant_d):
    for tenant in (tenant_a, tenant_d):
        res = client_for(tenant).get("/healthz")
        assert res.json == {"status": "ok", "catalog": "ok", "store": "ok"}
