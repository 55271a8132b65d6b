"""The catalog down: tenants resolved before keep being served from the directory's
cache for salesapp.catalog_grace seconds past the TTL; a host the cache does not know
gets 503 (it cannot be told unknown); nothing crashes; when the catalog is back the
directory reloads and its LISTEN/NOTIFY listener reconnects by itself."""

from __future__ import annotations

import time

import webtest

from salesapp.operations import lifecycle
from tests.conftest import BASE_DOMAIN, wait_for
from tests.faults.conftest import api_client, web_client

CACHE_TTL = 1.0
GRACE = 3.0


def test_the_catalog_down_then_back(split, split_app):
    app = split_app(connect_timeout=2, cache_ttl=CACHE_TTL, catalog_grace=GRACE)
    directory = app.registry.directory
    assert wait_for(directory.listening.is_set, timeout=10)
    # their stores stay up: the pooled store on the session's server, the remote one
    apis = [api_client(app, t, split.tokens[t.slug]) for t in (split.pooled, split.remote)]
    web = web_client(app, split.pooled)
    stranger = webtest.TestApp(app, extra_environ={"HTTP_HOST": f"nobody.{BASE_DOMAIN}"})
    public = webtest.TestApp(app, extra_environ={"HTTP_HOST": BASE_DOMAIN})
    stranger.get("/", status=404)

    def statuses():
        return {api.get("/api/products", expect_errors=True).status_int for api in apis}

    served_from = time.monotonic()  # the directory was loaded at most CACHE_TTL before
    assert statuses() == {200}
    split.catalog_server.stop("immediate")
    try:
        _served_through_the_grace(split, directory, statuses, stranger, public, web, served_from)
    finally:
        split.catalog_server.start()  # back (and the tests after this one need it)

    # back: served again, unknown hosts unknown again, the listener listens again
    assert wait_for(lambda: statuses() == {200}, timeout=10)
    assert wait_for(directory.listening.is_set, timeout=10)
    assert not directory.catalog_unreachable
    stranger.get("/", status=404)
    assert web.get("/").status_int == 200
    lifecycle.set_status(split.catalog, split.pooled.slug, "suspended", "faults test")
    try:
        assert wait_for(lambda: web.get("/", expect_errors=True).status_int == 403)
    finally:
        lifecycle.set_status(split.catalog, split.pooled.slug, "active")


def _served_through_the_grace(split, directory, statuses, stranger, public, web, served_from):
    # the TTL runs out, the reload fails: the cache goes on answering
    assert wait_for(lambda: statuses() == {200} and directory.catalog_unreachable, timeout=5)
    assert time.monotonic() - served_from < GRACE  # (else the grace ended already)
    page = stranger.get("/", status=503)  # not cached: cannot be told unknown
    assert page.headers["Retry-After"] and "cannot look up" in page.text
    res = stranger.get("/api/products", status=503)
    assert res.headers["Retry-After"] and res.json["errors"] == {}
    assert "cannot look up" in res.json["message"]
    assert public.get("/").status_int == 200  # the public site needs no catalog
    health = web.get("/healthz", status=503).json
    assert (health["catalog"], health["store"]) == ("unreachable", "ok")
    assert web.get("/").status_int == 200  # signed in, reading pages

    # until the grace runs out, then 503 for everyone
    seen = []
    while time.monotonic() < served_from + CACHE_TTL + GRACE + 2:
        now = statuses()
        seen.append((round(time.monotonic() - served_from, 2), now))
        if now != {200}:
            if now != {503}:  # the grace ended between the two calls: the next are both 503
                now = statuses()
                seen.append((round(time.monotonic() - served_from, 2), now))
            break
        time.sleep(0.1)
    ended_at, last = seen[-1]
    assert last == {503}, seen
    assert GRACE <= ended_at <= CACHE_TTL + GRACE + 0.5, seen
    assert web.get("/", status=503).headers["Retry-After"]
    print(f"catalog down: cached tenants served {ended_at} s (TTL {CACHE_TTL}, grace {GRACE})")
