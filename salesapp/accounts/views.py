"""Sign-in, sign-out and the signed-in home page of a tenant's workspace."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPSeeOther
from pyramid.security import forget, remember
from pyramid.view import view_config, view_defaults

from .services import AccountError, AccountService


@view_defaults(route_name="accounts.login", renderer="accounts/login.jinja2")
class LoginView:
    def __init__(self, request):
        self.request = request

    def _form(self, error=None, login=""):
        return {"error": error, "login": login, "tenant": self.request.tenant}

    @view_config(request_method="GET")
    def get(self):
        if self.request.user is not None:
            return HTTPFound(location=self.request.route_url("home"))
        return self._form()

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        login = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        if not login or not password:
            request.response.status_int = 400
            return self._form("Enter your username (or e-mail) and your password.", login)
        user = request.find_service(AccountService).authenticate(login, password)
        if user is None:
            request.response.status_int = 400
            return self._form("Wrong username or password.", login)
        headers = remember(request, user.id)
        target = "accounts.password" if user.must_change_password else "home"
        return HTTPSeeOther(location=request.route_url(target), headers=headers)


@view_config(route_name="accounts.logout", request_method="POST")
def logout(request):
    headers = forget(request)
    return HTTPSeeOther(location=request.route_url("accounts.login"), headers=headers)


@view_config(route_name="home", renderer="home.jinja2", permission="workspace.view")
def home(request):
    return {"tenant": request.tenant, "user": request.user}


@view_defaults(
    route_name="accounts.password",
    renderer="accounts/password.jinja2",
    permission="account.password",
)
class PasswordView:
    """Change one's own password; required after a one-time password."""

    def __init__(self, request):
        self.request = request

    @view_config(request_method="GET")
    def get(self):
        return {"error": None, "forced": self.request.user.must_change_password}

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        user = request.user
        forced = user.must_change_password
        try:
            request.find_service(AccountService).change_password(
                user,
                request.POST.get("current_password", ""),
                request.POST.get("new_password", ""),
                request.POST.get("confirm_password", ""),
            )
        except AccountError as exc:
            request.response.status_int = 400
            return {"error": str(exc), "forced": forced}
        request.session.flash("Your password was changed.")
        return HTTPSeeOther(location=request.route_url("home"))
