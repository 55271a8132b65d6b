"""The app installable on a tablet or a phone (issue 17, item 8): the web app manifest
and the service worker.

The service worker is served at ``/sw.js``, not under ``/static/``: a worker controls
only the pages under its own path, and it must control the till (``/pos``) and every
other page. Its cache name carries a digest of the static files, computed once at start
up, so a deployment that changes any of them makes browsers install a new worker, which
drops the old cache: cache-first for static files never serves yesterday's CSS. Pages
and API answers are never cached (they are ``no-store``, salesapp.headers): the server is
the truth, the cart included.

The manifest is per workspace (its name on the home screen is the workspace's) and
needs no sign-in: browsers fetch it without the session cookie.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pyramid.response import Response

STATIC = Path(__file__).parent / "static"
#: the worker's source; ``__CACHE_VERSION__`` and ``__PRECACHE__`` are filled in at start up
WORKER_SOURCE = STATIC / "sw.js"
#: the brand's colour (app.css --brand): the installed app's title bar
THEME_COLOR = "#1f6feb"
ICON_SIZES = (192, 512)


def static_files() -> list[Path]:
    """Every file the static view serves, but the worker itself (it is served here)."""
    return sorted(path for path in STATIC.rglob("*") if path.is_file() and path != WORKER_SOURCE)


def cache_version(files: list[Path], root: Path = STATIC) -> str:
    """A short digest of the files' names (under ``root``) and contents: changes when
    any of them does."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def worker_script() -> bytes:
    """The service worker's source with its cache version and the URLs it precaches."""
    files = static_files()
    urls = ["/static/" + path.relative_to(STATIC).as_posix() for path in files]
    source = WORKER_SOURCE.read_text(encoding="utf-8")
    source = source.replace("__CACHE_VERSION__", cache_version(files))
    return source.replace('["__PRECACHE__"]', json.dumps(urls)).encode("utf-8")


def manifest_for(request) -> dict:
    """The web app manifest of the request's workspace (the public site's without one)."""
    name = request.tenant.name if request.tenant is not None else "salesapp"
    return {
        "name": name,
        "short_name": name[:12],
        "description": "The till and back office of " + name,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f5f7fa",
        "theme_color": THEME_COLOR,
        "icons": [
            {
                "src": request.static_path(f"salesapp:static/icons/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in ICON_SIZES
        ],
    }


def manifest_view(request):
    """``GET /manifest.webmanifest``: the manifest, as ``application/manifest+json``."""
    body = json.dumps(manifest_for(request), indent=1).encode("utf-8")
    return Response(body=body, content_type="application/manifest+json", charset="utf-8")


class WorkerView:
    """``GET /sw.js``: the service worker, allowed to control the whole origin.

    ``Service-Worker-Allowed: /`` states the scope outright, so the worker keeps
    controlling every page even if it is ever served from a deeper path."""

    def __init__(self, body: bytes):
        self.body = body

    def __call__(self, request):
        response = Response(body=self.body, content_type="text/javascript", charset="utf-8")
        response.headers["Service-Worker-Allowed"] = "/"
        return response


def includeme(config):
    """The two routes, on every host (a workspace's and the public site)."""
    config.add_route("pwa.service_worker", "/sw.js")
    config.add_route("pwa.manifest", "/manifest.webmanifest")
    config.add_view(
        WorkerView(worker_script()), route_name="pwa.service_worker", request_method="GET"
    )
    config.add_view(manifest_view, route_name="pwa.manifest", request_method="GET")
