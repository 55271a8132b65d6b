"""Small HTTP helpers shared by the infrastructure and the domains: what is the API,
the API's JSON error answer, a refusal made before any page can render, and the client's
address as throttling and the audit trail count it.

It sits below everything that uses it (the tenant tween, the body limits, the API's
error views, the security policy, the database session) and imports none of them.
"""

from __future__ import annotations

import ipaddress

from pyramid.response import Response

#: the JSON API's paths: refusals there are JSON, as every answer of the API is
API_PREFIX = "/api"
#: the operator API on the main domain (salesapp.console.api)
OPERATOR_API_PREFIX = "/operator/api"
#: the API's answer to an error nobody foresaw (its details go to the log, never out)
SERVER_ERROR_MESSAGE = (
    "Internal error: nothing was changed. It was logged; try again, or report it "
    "with the time of the request"
)


def is_api(request) -> bool:
    """Under /api, where every answer is JSON and only an API token authenticates.

    Reads the raw PATH_INFO: it is there even when it is not valid UTF-8."""
    raw = request.environ.get("PATH_INFO", "")
    return raw == API_PREFIX or raw.startswith(API_PREFIX + "/")


def json_error(status: int, message: str, errors: dict | None = None, headers=None) -> Response:
    """The API's error answer: ``{"message": ..., "errors": {field: message}}``, never
    cached (salesapp.api.errors answers with it too)."""
    response = Response(
        json={"message": message, "errors": errors or {}},
        status=status,
        content_type="application/json",
        charset="utf-8",
    )
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def is_operator_api(request) -> bool:
    """Under /operator/api, the operator API (salesapp.console.api): JSON answers too."""
    raw = request.environ.get("PATH_INFO", "")
    return raw == OPERATOR_API_PREFIX or raw.startswith(OPERATOR_API_PREFIX + "/")


def refusal(request, status: int, message: str, errors: dict | None = None) -> Response:
    """A refusal made before any view or page can render: the API's JSON under /api,
    the operator API's (``{"error": ...}``) under /operator/api, plain text elsewhere."""
    if is_api(request):
        return json_error(status, message, errors)
    if is_operator_api(request):
        response = Response(json={"error": message}, status=status, charset="utf-8")
        response.headers["Cache-Control"] = "no-store"
        return response
    return Response(message + "\n", status=status, content_type="text/plain", charset="utf-8")


def client_address(request) -> str:
    """The client's network address, for throttling and the audit trail.

    The direct peer, unless it is a configured trusted proxy: then the nearest address
    in ``X-Forwarded-For`` (read from the right, as each proxy appends its peer) that is
    not a trusted proxy. From anyone else the header is ignored, so a client cannot
    pick the address it is counted under. (With waitress's own ``trusted_proxy``, the
    peer address is already the client's.)
    """
    trusted = request.registry.salesapp_settings.trusted_proxies
    address = request.remote_addr or ""
    if address not in trusted:
        return address
    for hop in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
        hop = hop.strip()
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # not an address: what lies before it cannot be trusted either
        address = hop
        if hop not in trusted:
            break
    return address
