"""A store that goes down costs its own tenants only, and only while it is down: they
get a clean 503 with Retry-After within the connect timeout, everyone else keeps being
served without one error, and when the store is back its tenants are served again by
the same process, without a restart and without an error from a connection of before."""

from __future__ import annotations

import time

from tests.faults.conftest import api_client, web_client

CONNECT_TIMEOUT = 2  # libpq's least


def served(clients, rounds=3):
    """Every client's page, ``rounds`` times: all 200 (the statuses, for the message)."""
    statuses = [
        client.get(path, expect_errors=True).status_int for client, path in clients * rounds
    ]
    return set(statuses) == {200}, statuses


def refused_in_time(client, path):
    """The tenant's answer while its store is down: 503, Retry-After, in time."""
    started = time.monotonic()
    res = client.get(path, status=503)
    took = time.monotonic() - started
    assert took < CONNECT_TIMEOUT + 1, took
    assert int(res.headers["Retry-After"]) > 0
    assert "Traceback" not in res.text
    return res, took


def test_a_dedicated_store_down_costs_its_tenant_only(split, split_app):
    app = split_app(connect_timeout=CONNECT_TIMEOUT)
    token = split.tokens
    remote_api = api_client(app, split.remote, token[split.remote.slug])
    remote_web = web_client(app, split.remote)
    others = [
        (api_client(app, t, token[t.slug]), "/api/products") for t in (split.pooled, split.local)
    ] + [(web_client(app, split.pooled), "/"), (web_client(app, split.local), "/")]
    everyone = [(remote_api, "/api/products"), (remote_web, "/"), *others]
    assert served(everyone)[0]  # and every engine now holds pooled connections

    # 1. The store crashes while nobody of its tenant asks; when it is back, the first
    # request is served although the pool holds only connections of before the crash.
    split.store_server.stop("immediate")
    assert served(others) == (True, [200] * len(others) * 3)
    split.store_server.start()
    assert remote_api.get("/api/products").status_int == 200
    assert remote_web.get("/").status_int == 200

    # 2. Down while its tenant asks: 503 at once, as JSON under /api, as a page elsewhere.
    split.store_server.stop("immediate")
    for _ in range(3):
        res, took = refused_in_time(remote_api, "/api/products")
        assert res.content_type == "application/json"
        assert res.json == {"message": res.json["message"], "errors": {}}
        assert "cannot be reached" in res.json["message"]
        res = remote_api.post_json("/api/customers", {"name": "Lost"}, status=503)
        assert res.json["errors"] == {}
        res, took = refused_in_time(remote_web, "/")
        assert res.content_type == "text/html"
        assert "cannot be reached" in res.text and split.remote.name in res.text
        ok, statuses = served(others, rounds=1)
        assert ok, statuses
    print(f"store down: 503 in {took:.3f} s (connect timeout {CONNECT_TIMEOUT} s)")

    # 3. Back: served again by the same app, no restart.
    split.store_server.start()
    assert served(everyone, rounds=2)[0]
    assert remote_api.get("/api/customers").json["total"] == 0  # the refused write is nowhere


def test_a_store_that_takes_no_connection_is_given_up_after_the_connect_timeout(split, split_app):
    """A server that accepts no connection (frozen postmaster: as one overwhelmed, or
    behind a network black hole) holds a request no longer than the connect timeout."""
    app = split_app(connect_timeout=CONNECT_TIMEOUT)
    remote_api = api_client(app, split.remote, split.tokens[split.remote.slug])
    pooled_api = api_client(app, split.pooled, split.tokens[split.pooled.slug])
    with split.store_server.frozen():
        started = time.monotonic()
        res = remote_api.get("/api/products", status=503)  # a new engine: it must connect
        took = time.monotonic() - started
        assert res.headers["Retry-After"] and res.json["errors"] == {}
        assert CONNECT_TIMEOUT - 0.5 < took < CONNECT_TIMEOUT + 2, took  # (a busy machine)
        assert pooled_api.get("/api/products").status_int == 200
    print(f"frozen store: 503 in {took:.3f} s (connect timeout {CONNECT_TIMEOUT} s)")
    assert remote_api.get("/api/products").status_int == 200
