"""Sign-in (throttled), sign-out, one's own password, and the Admin's user pages.

Signing out ends every session of the user, on every device (and any copy of the
cookie): the simplest "sign out everywhere", and a shared till is left signed out. On a
till device (salesapp.accounts.till) a Manager's or Admin's sign-out ends till mode
too; anyone else's ends their turn and locks the till for the next cashier.
"""

from __future__ import annotations

import datetime as dt
import time

from pyramid.httpexceptions import HTTPFound, HTTPNotFound, HTTPSeeOther
from pyramid.security import forget, remember
from pyramid.view import view_config, view_defaults

from ..api.services import ApiTokenService
from ..audit.recorder import record
from ..db import KEEP_WRITES
from ..forms import FormError
from ..http_helpers import client_address
from ..pages import field_errors, refuse
from . import totp
from .forms import parse_new_user, parse_password_reset, parse_pin, parse_places, parse_user_edit
from .models import ROLE_NAMES
from .pins import PinService
from .places import place_choices, set_ties, ties
from .services import AccountError, AccountService, SignInThrottled
from .till import TILL_MAKERS, lock_session

#: how long a correct password waits for its second factor before it must be typed again
CODE_WAIT_SECONDS = 300
#: session keys of a sign-in waiting for its code: the user, and since when
PENDING_USER = "two_factor_user"
PENDING_SINCE = "two_factor_since"


def _throttled(request, refused: SignInThrottled) -> None:
    """Answer a refused attempt: 429 (wait), or 503 (busy, or the catalog is
    unreachable), with Retry-After either way."""
    request.response.status_int = refused.status
    request.response.headers["Retry-After"] = str(refused.retry_after)


def _new_session(request, user) -> list:
    """A new session (and CSRF token) naming the user and their session generation."""
    return remember(request, user.id, generation=user.session_generation)


def _signed_in(request, user):
    """Complete a sign-in: a new session (and CSRF token) naming the user."""
    headers = _new_session(request, user)
    target = "accounts.password" if user.must_change_password else "home"
    return HTTPSeeOther(location=request.route_url(target), headers=headers)


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
        # A refused sign-in answers 400, 429 or 503 but keeps what the service wrote
        # (the audit trail): pyramid_tm's veto rolls back other error responses.
        request = self.request
        request.environ[KEEP_WRITES] = True
        login = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        if not login or not password:
            request.response.status_int = 400
            return self._form("Enter your username (or e-mail) and your password.", login)
        accounts = request.find_service(AccountService)
        try:
            user = accounts.authenticate(login, password, client_address(request))
        except SignInThrottled as refused:
            _throttled(request, refused)
            return self._form(str(refused), login)
        if user is None:
            request.response.status_int = 400
            return self._form("Wrong username or password.", login)
        if accounts.has_two_factor(user):
            # not signed in yet: a new session that only names who is to give a code
            session = request.session
            session.invalidate()
            session["tenant_id"] = request.tenant.id
            session[PENDING_USER] = str(user.id)
            session[PENDING_SINCE] = time.time()
            return HTTPSeeOther(location=request.route_url("accounts.login_code"))
        return _signed_in(request, user)


@view_defaults(route_name="accounts.login_code", renderer="accounts/login_code.jinja2")
class LoginCodeView:
    """The second step of a sign-in with two-factor: the code of the user's app."""

    def __init__(self, request):
        self.request = request
        self.accounts = request.find_service(AccountService)

    def _pending_user(self):
        session = self.request.session
        since = session.get(PENDING_SINCE) or 0
        if (
            session.get("tenant_id") != self.request.tenant.id
            or not 0 <= time.time() - since <= CODE_WAIT_SECONDS
        ):
            return None
        user = self.accounts.get_user(session.get(PENDING_USER))
        return user if user is not None and user.is_active else None

    def _back_to_sign_in(self):
        self.request.session.invalidate()
        return HTTPSeeOther(location=self.request.route_url("accounts.login"))

    @view_config(request_method="GET")
    def get(self):
        if self._pending_user() is None:
            return self._back_to_sign_in()
        return {"error": None}

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        request.environ[KEEP_WRITES] = True  # the failure counts, as for a password
        user = self._pending_user()
        if user is None:
            return self._back_to_sign_in()
        try:
            right = self.accounts.verify_code(
                user, request.POST.get("code", ""), client_address(request)
            )
        except SignInThrottled as refused:
            _throttled(request, refused)
            request.session.invalidate()  # the password must be typed again later
            return {"error": str(refused)}
        if not right:
            request.response.status_int = 400
            return {
                "error": "That code is not right. Enter the 6 digits your authenticator "
                "app shows now, or one of your recovery codes (each code works once)."
            }
        return _signed_in(request, user)


@view_config(route_name="accounts.logout", request_method="POST")
def logout(request):
    """Sign out: every session of the user ends, here and on any other device."""
    user = request.user
    if user is not None:
        record(request.dbsession, "auth.sign_out", f"user {user.username}", who=user)
        request.find_service(AccountService).end_sessions(user)
        if request.till_device is not None and not user.role_names & TILL_MAKERS:
            # a cashier cannot end till mode: their turn ends, the till locks
            headers = lock_session(request)
            return HTTPSeeOther(location=request.route_url("till.unlock"), headers=headers)
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
        # every other session of the user ended with the change; this one goes on
        headers = _new_session(request, user)
        request.session.flash("Your password was changed; you were signed out everywhere else.")
        return HTTPSeeOther(location=request.route_url("home"), headers=headers)


@view_defaults(
    route_name="accounts.two_factor",
    renderer="accounts/two_factor.jinja2",
    permission="account.two_factor",
)
class TwoFactorView:
    """Set up two-factor sign-in (a TOTP app), or turn it off, for oneself."""

    def __init__(self, request):
        self.request = request
        self.user = request.user
        self.accounts = request.find_service(AccountService)

    def _page(self, error=None, recovery_codes=None):
        user, tenant = self.user, self.request.tenant
        row = self.accounts.two_factor(user)
        enabled = row is not None and row.enabled_at is not None
        page = {
            "enabled": enabled,
            "enabled_at": row.enabled_at if row is not None else None,
            "secret": None,
            "uri": None,
            "qr": None,
            "required": self.request.required_step == "two_factor",
            "error": error,
            "recovery_codes": recovery_codes,
            "codes_left": self.accounts.recovery_codes_left(user) if enabled else 0,
        }
        if row is not None and row.enabled_at is None:
            page["secret"] = secret = self.accounts.enrolment_secret(user)
            page["uri"] = uri = totp.provisioning_uri(secret, user.username, tenant.name)
            page["qr"] = totp.qr_svg(uri)
        if error:
            self.request.response.status_int = 400
        return page

    @view_config(request_method="GET")
    def get(self):
        return self._page()

    @view_config(request_method="POST", request_param="action=begin")
    def begin(self):
        self.accounts.enrolment_secret(self.user, new=True)
        return HTTPSeeOther(location=self.request.route_url("accounts.two_factor"))

    @view_config(request_method="POST", request_param="action=confirm")
    def confirm(self):
        """Turn it on; the answer shows the recovery codes, this once (never a
        redirect: the codes are in no session and no URL)."""
        try:
            codes = self.accounts.confirm_two_factor(self.user, self.request.POST.get("code", ""))
        except AccountError as exc:
            return self._page(str(exc))
        return self._page(recovery_codes=codes)

    def _with_current_code(self, change):
        """``change(user, code, address)`` given the posted current code of the app: a
        wrong one counts as a failed sign-in (kept, though the answer is an error).
        Returns (what ``change`` returned, None), or (None, the page saying why not)."""
        request = self.request
        request.environ[KEEP_WRITES] = True
        try:
            done = change(self.user, request.POST.get("code", ""), client_address(request))
        except AccountError as exc:
            return None, self._page(str(exc))
        except SignInThrottled as refused:
            page = self._page(str(refused))
            _throttled(request, refused)
            return None, page
        return done, None

    @view_config(request_method="POST", request_param="action=recovery-codes")
    def new_codes(self):
        """A new set of recovery codes, shown this once; the old set is void."""
        codes, refused = self._with_current_code(self.accounts.new_recovery_codes)
        return refused or self._page(recovery_codes=codes)

    @view_config(request_method="POST", request_param="action=disable")
    def disable(self):
        _, refused = self._with_current_code(self.accounts.disable_two_factor)
        if refused:
            return refused
        self.request.session.flash("Two-factor sign-in is off.")
        return HTTPSeeOther(location=self.request.route_url("accounts.two_factor"))


@view_defaults(route_name="accounts.pin", renderer="accounts/pin.jinja2", permission="account.pin")
class PinView:
    """Set, change or remove one's own PIN for a shared till (never shown)."""

    def __init__(self, request):
        self.request = request
        self.user = request.user
        self.pins = request.find_service(PinService)

    def _page(self, errors=None) -> dict:
        return {"set_at": self.pins.set_at(self.user), "errors": errors or {}}

    @view_config(request_method="GET")
    def get(self):
        return self._page()

    @view_config(request_method="POST", request_param="action=set")
    def set(self):
        request = self.request
        try:
            self.pins.set_pin(self.user, parse_pin(request.POST))
        except (FormError, AccountError) as exc:
            return refuse(request, self._page(field_errors(exc)))
        request.session.flash("Your PIN is set: use it to take a till after Lock till.")
        return HTTPSeeOther(location=request.route_url("accounts.pin"))

    @view_config(request_method="POST", request_param="action=clear")
    def clear(self):
        request = self.request
        self.pins.clear_pin(self.user)
        request.session.flash("Your PIN is removed: you can no longer take a till by PIN.")
        return HTTPSeeOther(location=request.route_url("accounts.pin"))


# -- the Admin's user pages ----------------------------------------------------------
def _typed(request, *names: str) -> dict:
    """What was typed (never a password), to show again with the errors."""
    values = {name: request.POST.get(name, "") for name in names}
    values["roles"] = request.POST.getall("roles")
    values["active"] = bool(request.POST.get("active"))
    return values


@view_config(
    route_name="users.list",
    renderer="accounts/users.jinja2",
    permission="users.manage",
    request_method="GET",
)
def users_list(request):
    accounts = request.find_service(AccountService)
    return {
        "users": accounts.users(),
        "active_count": accounts.active_user_count(),
        "max_users": request.tenant.max_users,
        "now": dt.datetime.now(dt.UTC),
    }


@view_defaults(
    route_name="users.new", renderer="accounts/user_new.jinja2", permission="users.manage"
)
class UserNewView:
    """Create a user with a temporary password (changed at the first sign-in)."""

    def __init__(self, request):
        self.request = request
        self.accounts = request.find_service(AccountService)

    def _page(self, values=None, errors=None):
        return {
            # no role ticked: the Admin chooses (a default would give access unasked)
            "values": values or {"roles": []},
            "errors": errors or {},
            "role_names": ROLE_NAMES,
        }

    @view_config(request_method="GET")
    def get(self):
        return self._page()

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        values = _typed(request, "username", "full_name", "email")
        try:
            fields = parse_new_user(request.POST)
            user = self.accounts.add_user(
                username=fields.username,
                full_name=fields.full_name,
                email=fields.email,
                roles=fields.roles,
                password=fields.password,
            )
        except (FormError, AccountError) as exc:
            return refuse(request, self._page(values, field_errors(exc)))
        request.session.flash(
            f"Created {user.username}; they must change the temporary password at their "
            "first sign-in."
        )
        return HTTPSeeOther(location=request.route_url("users.list"))


@view_defaults(
    route_name="users.edit", renderer="accounts/user_edit.jinja2", permission="users.manage"
)
class UserEditView:
    """Edit a user (name, e-mail, roles, active) or give them a new temporary password."""

    def __init__(self, request):
        self.request = request
        self.accounts = request.find_service(AccountService)
        self.user = self.accounts.get_user(request.matchdict["id"])
        if self.user is None:
            raise HTTPNotFound()

    def _page(self, values=None, errors=None, password_errors=None):
        user = self.user
        if values is None:
            tied = ties(self.request.dbsession, user)
            values = {
                "full_name": user.full_name,
                "email": user.email or "",
                "roles": sorted(user.role_names),
                "active": user.is_active,
                "locations": [str(i) for i in tied.locations],
                "registers": [str(i) for i in tied.registers],
            }
        locations, registers = place_choices(self.request.dbsession)
        return {
            "user": user,
            "values": values,
            "errors": errors or {},
            "password_errors": password_errors or {},
            "role_names": ROLE_NAMES,
            "is_self": user.id == self.request.user.id,
            "locations": locations,
            "registers": registers,
            "has_pin": self.request.find_service(PinService).has_pin(user),
        }

    def _places(self) -> tuple[list, list]:
        """The ticked locations and registers, among those the page offers."""
        locations, registers = place_choices(self.request.dbsession)
        return parse_places(
            self.request.POST, [loc.id for loc in locations], [reg.id for reg, _ in registers]
        )

    @view_config(request_method="GET")
    def get(self):
        return self._page()

    @view_config(request_method="POST")
    def save(self):
        request = self.request
        values = _typed(request, "full_name", "email")
        values["locations"] = request.POST.getall("locations")
        values["registers"] = request.POST.getall("registers")
        try:
            fields = parse_user_edit(request.POST, self.user.username)
            location_ids, register_ids = self._places()
            self.accounts.update_user(
                self.user,
                full_name=fields.full_name,
                email=fields.email,
                roles=fields.roles,
                active=fields.active,
                actor=request.user,
            )
            set_ties(request.dbsession, request.tenant.id, self.user, location_ids, register_ids)
        except (FormError, AccountError) as exc:
            return refuse(request, self._page(values, field_errors(exc)))
        if not self.user.is_active:
            # reactivating the user later must not bring their old tokens back
            request.find_service(ApiTokenService).revoke_all_of(self.user)
        headers = []
        if self.user.id == request.user.id:
            # new roles end the user's sessions: the Admin who saved goes on here
            headers = _new_session(request, self.user)
        request.session.flash(f"Saved {self.user.username}.")
        return HTTPSeeOther(location=request.route_url("users.list"), headers=headers)

    @view_config(request_method="POST", request_param="action=reset-password")
    def reset_password(self):
        request = self.request
        try:
            password = parse_password_reset(request.POST)
            self.accounts.reset_password(self.user, password, actor=request.user)
        except (FormError, AccountError) as exc:
            return refuse(request, self._page(password_errors=field_errors(exc)))
        request.session.flash(
            f"{self.user.username} has a new temporary password; they must change it at "
            "their next sign-in."
        )
        return HTTPSeeOther(location=request.route_url("users.list"))

    @view_config(request_method="POST", request_param="action=clear-pin")
    def clear_pin(self):
        """Remove the user's PIN (forgotten, or known to someone else): they set a new
        one on their PIN page."""
        request = self.request
        removed = request.find_service(PinService).clear_pin(self.user)
        request.session.flash(
            f"{self.user.username}'s PIN was removed; they can set a new one on their PIN page."
            if removed
            else f"{self.user.username} has no PIN."
        )
        return HTTPSeeOther(location=request.route_url("users.edit", id=self.user.id))
