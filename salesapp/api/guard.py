"""The token scope check of every API call, as a view deriver: no API view can leave it
out, because no view declares it.

Pyramid passes every view through its derivers when it is configured. This one wraps
every view that needs a permission, and under /api (where only a token authenticates,
salesapp.security) refuses the call unless the token's scope covers it. It sits inside
Pyramid's permission check (a deriver's default place), so the role is asked first: a
scope narrows the role and never widens it, and a call the role forbids is refused as
the role's. The scope a call needs comes from its method and permission
(salesapp.api.grants.required_scope), the same rule the OpenAPI document states.
"""

from __future__ import annotations

from pyramid.security import NO_PERMISSION_REQUIRED

from ..http_helpers import is_api
from .grants import SCOPE_DESCRIPTIONS, Scope, covers, required_scope
from .jsonio import ApiError
from .services import ApiTokenService


def scope_refusal(request, granted: str | None, needed: Scope) -> ApiError:
    """403: what the token's scope allows, what the call needs, and to make a new token
    (a scope cannot be widened). ``WWW-Authenticate`` says it as RFC 6750 does."""
    route = request.matched_route
    call = f"{request.method[:20]} {route.pattern if route else request.path_info[:200]}"
    wider = "" if needed is Scope.FULL else " (or wider)"
    have = (
        f"This token's scope is {granted} ({SCOPE_DESCRIPTIONS[Scope(granted)]})"
        if granted in SCOPE_DESCRIPTIONS
        else "This token has no scope that allows it"
    )
    return ApiError(
        403,
        f"{have}: {call} needs a token with scope {needed}{wider}. A token's scope cannot "
        f"be changed: make a new token with scope {needed} under API tokens in the "
        "workspace and use that for this call",
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{needed}"'},
    )


def check_scope(request, permission: str) -> None:
    """Raise scope_refusal unless the request's token covers this call."""
    needed = required_scope(request.method, permission)
    granted = request.find_service(ApiTokenService).last_check().scope
    if granted is None or not covers(granted, needed):
        raise scope_refusal(request, granted, needed)


def token_scope(view, info):
    """The view deriver: views that need a permission get the scope check under /api;
    public views (the OpenAPI document) and exception views are left as they are."""
    permission = info.options.get("permission")
    if permission in (None, NO_PERMISSION_REQUIRED) or info.exception_only:
        return view

    def scoped(context, request):
        if is_api(request):
            check_scope(request, permission)
        return view(context, request)

    return scoped
