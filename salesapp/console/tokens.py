"""The console's API tokens page (/operator/tokens): an operator's own operator API
tokens, listed; a new one made (shown on that one answer only, never again) and one
revoked (it stops working at its next call). The same functions as `salesapp operator
token` (salesapp.operations.operator_tokens), in the operator's name.

A viewer may make and revoke tokens too (their own, and read tokens only: a viewer's
write token is refused by the service, and the form does not offer one). These forms
change nothing but the operator's own tokens, so they need the operator signed in, not
the operator role; Pyramid's default CSRF check guards them (the views keep it on).
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther

from ..operations import operator_tokens
from ..operations.errors import OperationError
from ..operations.operator_models import OperatorTokenScope
from .auth import flash, require

#: the expiries offered: (form value, label); "" never expires
EXPIRIES = (("30", "in 30 days"), ("90", "in 90 days"), ("365", "in 1 year"), ("", "never"))
DEFAULT_EXPIRY = "90"


def _page(request, operator, *, new_token=None, error=None, label="", scope=None, expiry=None):
    scopes = {
        scope.value: text
        for scope, text in operator_tokens.SCOPE_DESCRIPTIONS.items()
        if operator.can_change or scope == OperatorTokenScope.READ
    }
    return {
        "tokens": operator_tokens.list_tokens(request.catalog, operator.name),
        "new_token": new_token,
        "error": error,
        "label": label,
        "scopes": scopes,
        "scope": scope or OperatorTokenScope.READ.value,
        "expiries": EXPIRIES,
        "expiry": DEFAULT_EXPIRY if expiry is None else expiry,
        "max_label": operator_tokens.MAX_LABEL_LENGTH,
        "api_url": request.route_url("console.api.openapi"),
    }


def tokens_page(request):
    return _page(request, require(request))


def create_token(request):
    operator = require(request)
    label = request.POST.get("label", "")[:500]
    scope = request.POST.get("scope", "")[:20]
    expiry = request.POST.get("expires_days", "")[:10]
    try:
        if expiry and not expiry.isdigit():
            raise OperationError(f"choose when the token expires ({expiry!r} given)")
        issued = operator_tokens.create_token(
            request.catalog,
            operator.name,
            scope,
            label=label,
            expires_days=int(expiry) if expiry else None,
        )
    except OperationError as exc:
        request.response.status_int = 400
        return _page(request, operator, error=str(exc), label=label, scope=scope, expiry=expiry)
    # shown on this one answer only: never in a redirect, the session or a cache
    request.response.headers["Cache-Control"] = "no-store"
    return _page(request, operator, new_token=issued)


def revoke_token(request):
    operator = require(request)
    raw = request.matchdict["id"]
    try:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
            raise OperationError(f"no API token of yours with id {raw[:20]!r}")
        info = operator_tokens.revoke_token(request.catalog, int(raw), operator_name=operator.name)
    except OperationError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"Token {info['prefix']}… was revoked; it no longer works.")
    return HTTPSeeOther(location=request.route_url("console.tokens"))


def includeme(config):
    config.add_route("console.tokens", "/operator/tokens", site="public")
    config.add_route("console.tokens.revoke", "/operator/tokens/{id}/revoke", site="public")
    renderer = "console/tokens.jinja2"
    config.add_view(
        tokens_page, route_name="console.tokens", renderer=renderer, request_method="GET"
    )
    # these posts keep Pyramid's default CSRF check (csrf_token, as every console form)
    config.add_view(
        create_token, route_name="console.tokens", renderer=renderer, request_method="POST"
    )
    config.add_view(revoke_token, route_name="console.tokens.revoke", request_method="POST")
