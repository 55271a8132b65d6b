"""One's own API tokens: list, create with a scope and a lifetime (the token is shown
once), revoke. An Admin also sees everyone else's tokens in the workspace and may revoke
them.

Only Managers and Admins make tokens (the ``tokens.create`` permission; issue 17): a
token outlives the session and works from anywhere, which a shared till's cashier has
no need of. A Cashier still sees and revokes the tokens they have."""

from __future__ import annotations

import datetime as dt

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..pages import field_errors, refuse
from .grants import DEFAULT_LIFETIME, DEFAULT_SCOPE, LIFETIMES, SCOPE_DESCRIPTIONS
from .services import MAX_NAME_LENGTH, ApiTokenService, TokenError

#: what a refused form shows again of a chosen value (a scope or a lifetime is short)
KEPT_CHOICE = 20


@view_defaults(
    route_name="account.tokens", renderer="api/tokens.jinja2", permission="workspace.view"
)
class TokensView:
    def __init__(self, request):
        self.request = request
        self.tokens = request.find_service(ApiTokenService)
        self.admin = bool(request.has_permission("users.manage"))
        self.can_create = bool(request.has_permission("tokens.create"))

    def page(
        self,
        *,
        new_token=None,
        name="",
        scope=DEFAULT_SCOPE,
        lifetime=DEFAULT_LIFETIME,
        errors=None,
    ) -> dict:
        user = self.request.user
        return {
            "tokens": self.tokens.for_user(user),
            "others": self.tokens.of_others(user) if self.admin else [],
            "admin": self.admin,
            "can_create": self.can_create,
            "new_token": new_token,
            "name": name,
            "scopes": SCOPE_DESCRIPTIONS,
            "scope": scope,
            "lifetimes": {key: label for key, (label, _) in LIFETIMES.items()},
            "lifetime": lifetime,
            "now": dt.datetime.now(dt.UTC),
            "errors": errors or {},
            "max_name_length": MAX_NAME_LENGTH,
            "api_url": self.request.route_url("api.openapi"),
        }

    @view_config(request_method="GET")
    def get(self):
        return self.page()

    @view_config(request_method="POST", permission="tokens.create")
    def create(self):
        request = self.request
        name = request.POST.get("name", "")
        scope = request.POST.get("scope", "")
        lifetime = request.POST.get("expires_in", "")
        try:
            row, plaintext = self.tokens.create(request.user, name, scope, lifetime)
        except TokenError as exc:
            kept = {
                "name": name[:200],
                "scope": scope[:KEPT_CHOICE],
                "lifetime": lifetime[:KEPT_CHOICE],
            }
            return refuse(request, self.page(**kept, errors=field_errors(exc)))
        # shown on this one answer only: never in a redirect, the session or a cache
        request.response.headers["Cache-Control"] = "no-store"
        return self.page(new_token={"row": row, "plaintext": plaintext})


@view_config(route_name="account.tokens.revoke", request_method="POST", permission="workspace.view")
def revoke(request):
    tokens = request.find_service(ApiTokenService)
    try:
        token = tokens.revoke(
            request.user,
            request.matchdict["id"],
            any_user=bool(request.has_permission("users.manage")),
        )
    except TokenError:
        raise HTTPNotFound() from None
    request.session.flash(f"Token {token.name} ({token.prefix}…) was revoked; it no longer works.")
    return HTTPSeeOther(location=request.route_url("account.tokens"))
