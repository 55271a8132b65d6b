"""Every error under /api answers JSON: ``{"message": ..., "errors": {field: message}}``.

These views carry a ``path_info`` predicate, so Pyramid prefers them to the HTML error
pages of :mod:`salesapp.errors` for /api paths only (a view with more predicates is
tried first) and falls back to the pages everywhere else. An unexpected exception under
/api becomes a JSON 500 without a traceback (the traceback goes to the log): bad input
never gets there, because every input is checked first (tests/api show it).
"""

from __future__ import annotations

import datetime as dt
import logging

from pyramid.exceptions import PredicateMismatch
from pyramid.httpexceptions import HTTPException
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from ..http_helpers import SERVER_ERROR_MESSAGE, json_error
from ..tenancy.errors import is_fence_error, is_unavailable
from .jsonio import ApiError
from .openapi import methods_of
from .services import ApiTokenService

log = logging.getLogger(__name__)

#: the paths of the API (a regular expression, as Pyramid's path_info predicate takes)
API_PATHS = r"/api(/|$)"


@exception_view_config(ApiError)
def api_error(exc, request):
    return json_error(exc.status, exc.message, exc.errors, exc.headers)


@notfound_view_config(path_info=API_PATHS)
def api_not_found(exc, request):
    route = request.matched_route
    if isinstance(exc, PredicateMismatch) and route is not None:
        # the path exists, the method does not
        allowed = methods_of(route.pattern)
        if allowed and request.method not in allowed:
            return json_error(
                405,
                f"{request.method[:20]} is not allowed on {route.pattern}; "
                f"use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
    return json_error(404, "Not found: there is nothing at this address (or it is not yours)")


def bearer_given(request) -> bool:
    return "Authorization" in request.headers


def unauthorized(request):
    """401: no token, a token that is not valid here, or one that expired (named, with
    its date: the client's owner must make a new one, not retry)."""
    if not bearer_given(request):
        message = (
            "Authenticate with an API token: send Authorization: Bearer <token> "
            "(make one under API tokens in the workspace)"
        )
        return json_error(401, message, headers={"WWW-Authenticate": "Bearer"})
    expired_at = None
    if request.tenant is not None:
        expired_at = request.find_service(ApiTokenService).last_check().expired_at
    if expired_at is not None:
        when = expired_at.astimezone(dt.UTC)
        message = (
            f"This API token expired on {when:%Y-%m-%d %H:%M} UTC and no longer works: "
            "make a new one under API tokens in the workspace and send that as "
            "Authorization: Bearer <token>"
        )
        challenge = 'Bearer error="invalid_token", error_description="The token expired"'
    else:
        message = (
            "The API token is not valid: send Authorization: Bearer <token> with an "
            "active token of this workspace (make one under API tokens)"
        )
        challenge = 'Bearer error="invalid_token"'
    return json_error(401, message, headers={"WWW-Authenticate": challenge})


@forbidden_view_config(path_info=API_PATHS)
def api_forbidden(exc, request):
    user = request.user
    if user is None:
        return unauthorized(request)
    if user.must_change_password:
        return json_error(
            403,
            "This account has a one-time password: sign in to the workspace and change "
            "it before using the API",
        )
    if request.required_step == "two_factor":
        return json_error(
            403,
            "This workspace requires two-factor sign-in of Admins: sign in to the "
            "workspace and set it up (Two-factor sign-in) before using the API",
        )
    return json_error(
        403, "Your role does not allow this; ask an administrator of this workspace if you need it"
    )


@exception_view_config(UnicodeDecodeError, path_info=API_PATHS)
def api_bad_encoding(exc, request):
    return json_error(
        400,
        "The address is not valid UTF-8 once percent-decoded",
        {"url": "is not valid UTF-8 once percent-decoded"},
    )


@exception_view_config(HTTPException, path_info=API_PATHS)
def api_http_exception(exc, request):
    """Any other HTTP error raised under /api (400, 405, ...), as JSON."""
    kept = {name: exc.headers[name] for name in ("Allow", "Retry-After") if name in exc.headers}
    return json_error(exc.code, exc.explanation or exc.title, headers=kept)


@exception_view_config(Exception, path_info=API_PATHS)
def api_server_error(exc, request):
    """A bug, or a database that failed: logged with its traceback, answered without."""
    if is_fence_error(exc) or is_unavailable(exc):
        raise exc  # the tenant tween answers it: 503, the tenant is moving or unreachable
    log.exception("unexpected error answering %s %s", request.method, request.path_info)
    return json_error(500, SERVER_ERROR_MESSAGE)
