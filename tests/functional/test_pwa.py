"""The app is installable (issue 17, item 8): the manifest and the service worker are
served with the types and headers browsers require, every page links them, and the
worker's cache is named after the static files' contents."""

from __future__ import annotations

import json
import re
import struct

from salesapp import pwa
from salesapp.headers import CONTENT_SECURITY_POLICY
from tests.conftest import BASE_DOMAIN, sign_in


def test_the_service_worker_is_served_for_the_whole_site(client_for, tenant_a):
    res = client_for(tenant_a).get("/sw.js")
    assert res.content_type == "text/javascript"
    assert res.charset == "utf-8"
    # a worker at /sw.js controls every page; the header says so outright
    assert res.headers["Service-Worker-Allowed"] == "/"
    # never cached by the browser's HTTP cache: a new deployment's worker is seen at once
    assert res.headers["Cache-Control"] == "no-store"
    assert res.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in res.headers["Content-Security-Policy"]
    body = res.text
    assert "__" not in body, "every placeholder is filled in"
    assert re.search(r'"salesapp-static-[0-9a-f]{12}"', body)
    precache = json.loads(re.search(r"var PRECACHE = (\[.*?\]);", body).group(1))
    assert {"/static/app.css", "/static/offline.js", "/static/icons/icon-192.png"} <= set(precache)
    assert "/static/sw.js" not in precache
    # what it precaches is there to be fetched (a missing file would fail the install)
    for url in precache:
        assert client_for(tenant_a).get(url).status_int == 200, url


def test_the_service_worker_caches_only_static_files():
    """The worker answers from its cache only under /static/: pages and the API go to
    the network (read from its source: the browser test shows the behaviour)."""
    source = pwa.WORKER_SOURCE.read_text()
    assert 'url.pathname.indexOf("/static/") !== 0' in source
    assert source.count("cache.put(") == 1


def test_the_cache_version_follows_the_static_files(tmp_path):
    first, second = tmp_path / "a.css", tmp_path / "b.js"
    first.write_text("a {}")
    second.write_text("1;")
    before = pwa.cache_version([first, second], root=tmp_path)
    assert before == pwa.cache_version([first, second], root=tmp_path)
    first.write_text("a { color: red }")
    assert pwa.cache_version([first, second], root=tmp_path) != before
    assert re.fullmatch(r"[0-9a-f]{12}", pwa.cache_version(pwa.static_files()))


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_manifest_names_the_workspace(client_for, tenant_a):
    client = client_for(tenant_a)
    res = client.get("/manifest.webmanifest")  # no sign-in: browsers send no cookie for it
    assert res.content_type == "application/manifest+json"
    assert res.headers["Cache-Control"] == "no-store"
    manifest = res.json
    assert manifest["name"] == tenant_a.name
    assert manifest["start_url"] == manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == pwa.THEME_COLOR
    sizes = {icon["sizes"]: icon for icon in manifest["icons"]}
    assert set(sizes) == {"192x192", "512x512"}
    for size, icon in sizes.items():
        image = client.get(icon["src"])
        assert image.content_type == "image/png"
        assert png_size(image.body) == tuple(map(int, size.split("x")))


def test_the_public_site_has_a_manifest_too(client_for):
    res = client_for(BASE_DOMAIN).get("/manifest.webmanifest")
    assert res.content_type == "application/manifest+json"
    assert res.json["name"] == "salesapp"


def test_every_page_links_the_manifest_and_the_worker(client_for, tenant_a):
    client = client_for(tenant_a)
    pages = [client.get("/login")]
    sign_in(client, "admin", tenant_a.admin_password)
    pages.append(client.get("/pos"))
    for page in pages:
        html = page.html
        assert html.select_one("link[rel=manifest]")["href"] == "/manifest.webmanifest"
        assert html.select_one("meta[name=theme-color]")["content"] == pwa.THEME_COLOR
        script = html.select_one("script[data-sw]")
        assert script["data-sw"] == "/sw.js"
        assert script["src"].endswith("/static/offline.js")
        banner = html.select_one("#offline-banner")
        assert banner.has_attr("hidden")
    till_banner = pages[1].html.select_one("#offline-banner").get_text()
    assert till_banner == "Offline: the cart is kept; it will be saved when the connection is back"
