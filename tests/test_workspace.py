"""The development start-up: demo tenants, fresh admin passwords at every start."""

import pytest
import webtest

from salesapp import close_app, make_app
from salesapp.operations.workspace import ensure_demo_tenants
from tests.conftest import sign_in


@pytest.mark.usefixtures("short_demo_data")  # the start-up's tenants, not their months
def test_demo_tenants_pooled_and_dedicated_with_fresh_passwords(settings):
    first = ensure_demo_tenants(settings, port=6543)
    assert [(url, user, kind) for url, user, _, kind in first] == [
        ("http://demo.example.test:6543/", "admin", "pooled"),
        ("http://acme.example.test:6543/", "admin", "dedicated"),
    ]
    second = ensure_demo_tenants(settings, port=6543)
    app = make_app(settings)
    try:
        for (_, _, old, _), (url, _, new, _) in zip(first, second, strict=True):
            assert old != new and len(new) >= 16
            host = url.split("//")[1].split(":")[0]
            client = webtest.TestApp(app, extra_environ={"HTTP_HOST": host})
            sign_in(client, "admin", old, status=400)
            sign_in(client, "admin", new)
            assert client.get("/").status_int == 200
    finally:
        close_app(app)
