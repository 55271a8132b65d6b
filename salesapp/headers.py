"""Security headers on every response: pages, JSON, static files, error pages and the
tenant tween's refusals (unknown host, suspended, moving).

The Content-Security-Policy allows scripts, styles and images from the app's own origin
only: no inline script or style, no ``javascript:`` URL, no event-handler attribute can
run, so an injected fragment of HTML stays inert. Templates keep to that (a test reads
them all). In production, Strict-Transport-Security tells browsers to come back over
HTTPS only.

Every answer but a static file says ``Cache-Control: no-store``: pages and API answers
hold a signed-in user's or an API token's data, and a shared cache (or the browser's,
on a shared computer) must keep none of it. Deciding by the path rather than by "is
someone signed in" keeps it simple and fails safe: a sign-in page, a refusal or a
health check loses nothing by not being cached. Static files (``STATIC_PREFIX``) keep
the caching their view gives them (max-age, Last-Modified, 304 answers).

Every answer also says how long the app took to make it, ``Server-Timing: app;dur=<ms>``
(the W3C header browsers show in their developer tools): from this outermost tween's
start to its end, the transaction's commit included, the network and the proxy not. The
benchmark reads it as the till's server time. It tells a client nothing it could not
time itself.
"""

from __future__ import annotations

import time

from pyramid.tweens import INGRESS, MAIN

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def workspace_redirect_policy(base_domains) -> str:
    """The Content-Security-Policy of the public site's find-your-workspace page: as
    every page's, but its form may lead to a workspace's host (``*.BASE`` on any port,
    the page's own scheme), where /find redirects it. Browsers hold a form's redirect
    to ``form-action`` too, so with ``'self'`` alone Chromium stops at the redirect."""
    hosts = " ".join(f"*.{base}:*" for base in base_domains)
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {hosts}")


#: where the static files are served (salesapp.routes): the only answers that may be cached
STATIC_PREFIX = "/static/"
#: static answers that keep their own caching headers: the file, a part of it, "not
#: modified"; an error page under /static/ is a page like any other
STATIC_CACHEABLE = frozenset({200, 206, 304})

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def security_headers(settings) -> dict[str, str]:
    """The headers every response carries under ``settings``.

    HSTS has no ``includeSubDomains``: a tenant's custom domain is the customer's, and
    the header would bind every other site under it to HTTPS as well.
    """
    headers = dict(HEADERS)
    if settings.production and settings.hsts_seconds > 0:
        headers["Strict-Transport-Security"] = f"max-age={settings.hsts_seconds}"
    return headers


#: the one ``Cache-Control`` a view may set besides a static file's: kept by the browser
#: but checked with the server every time (the workspace's logo, with its ETag; issue 18)
REVALIDATED = "private, no-cache"


def cacheable(request, response) -> bool:
    """A static file's answer, which keeps its own caching headers. Reads the raw
    PATH_INFO: it is there even when it is not valid UTF-8."""
    path = request.environ.get("PATH_INFO", "")
    return path.startswith(STATIC_PREFIX) and response.status_int in STATIC_CACHEABLE


def headers_tween_factory(handler, registry):
    """Outermost of all tweens (under INGRESS), so the answers of every tween below it
    (the tenant tween's refusals, body-size refusals, pyramid_tm, error views) get the
    headers too. A security header a view set itself is kept; ``Cache-Control`` is not:
    nothing but a static file may be cached, whatever a view says, except that a view may
    ask for REVALIDATED (kept, but never used unchecked)."""
    headers = tuple(security_headers(registry.salesapp_settings).items())

    def headers_tween(request):
        started = time.perf_counter()
        response = handler(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        for name, value in headers:
            response.headers.setdefault(name, value)
        if (
            not cacheable(request, response)
            and response.headers.get("Cache-Control") != REVALIDATED
        ):
            response.headers["Cache-Control"] = "no-store"
        return response

    return headers_tween


#: the tweens whose answers must get the headers too (those present: tenancy off has no
#: tenant tween)
BELOW = (
    "salesapp.limits.body_limit_tween_factory",
    "salesapp.tenancy.tween.tenant_tween_factory",
    "pyramid_tm.tm_tween_factory",
    MAIN,
)


def includeme(config):
    config.add_tween("salesapp.headers.headers_tween_factory", under=INGRESS, over=BELOW)
