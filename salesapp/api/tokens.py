"""One's own API tokens: list, create (the token is shown once), revoke. An Admin
also sees everyone else's tokens in the workspace and may revoke them."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..pages import field_errors, refuse
from .services import MAX_NAME_LENGTH, ApiTokenService, TokenError


@view_defaults(
    route_name="account.tokens", renderer="api/tokens.jinja2", permission="workspace.view"
)
class TokensView:
    def __init__(self, request):
        self.request = request
        self.tokens = request.find_service(ApiTokenService)
        self.admin = bool(request.has_permission("users.manage"))

    def page(self, *, new_token=None, name="", errors=None) -> dict:
        user = self.request.user
        return {
            "tokens": self.tokens.for_user(user),
            "others": self.tokens.of_others(user) if self.admin else [],
            "admin": self.admin,
            "new_token": new_token,
            "name": name,
            "errors": errors or {},
            "max_name_length": MAX_NAME_LENGTH,
            "api_url": self.request.route_url("api.openapi"),
        }

    @view_config(request_method="GET")
    def get(self):
        return self.page()

    @view_config(request_method="POST")
    def create(self):
        request = self.request
        name = request.POST.get("name", "")
        try:
            row, plaintext = self.tokens.create(request.user, name)
        except TokenError as exc:
            return refuse(request, self.page(name=name[:200], errors=field_errors(exc)))
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
