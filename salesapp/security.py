"""The security policy, bound to the tenant: who a request acts for, and what they may do.

Pages act for the user of the tenant-bound session cookie (salesapp.sessions). The
JSON API under /api takes no cookie at all: a per-user API token in an
``Authorization: Bearer`` header, looked up in the request's tenant (salesapp.api).
Outside /api the header is ignored: a token is never a web session, so it cannot reach
a page, pass a CSRF check or skip the second factor.

Every form post needs the session's CSRF token (``require_csrf``). A signed-in user may
owe a step before anything else (``request.required_step``): changing a one-time
password, or, for an Admin of a workspace that requires it, setting up two-factor
sign-in. ``client_address`` is the address sign-in throttling counts under.

A session names its user's session generation at sign-in; a request whose session
names an older one acts for nobody. Signing out, a new password, deactivation and new
roles move the generation on (AccountService.end_sessions), so every copy of the
user's cookies ends at once, not 8 hours later.

A shared till (issue 17, salesapp.accounts.till): a browser a Manager or Admin made a
till device keeps that in its session (TILL_KEYS) across the cashiers who switch in with
their PIN (``remember(..., keep_till=True, by_pin=True)``). A session begun by a PIN
acts only while its till device is valid (the Manager who made it has not signed out
everywhere since) and may not do what a 4-digit number should never open
(PIN_SESSION_DENIED): administer users or settings, make API tokens, change one's
password, PIN or two-factor sign-in. For those one signs in with the password.
"""

from __future__ import annotations

from cryptography.fernet import MultiFernet
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.security import Allowed, Denied
from sqlalchemy import create_engine

from .accounts.services import AccountService, dummy_hash, make_password_hasher, step_due
from .accounts.throttle import HashingGate, SignInThrottle
from .accounts.till import BY_PIN, TILL_KEYS, till_device_for_request
from .api.services import ApiTokenService
from .http_helpers import is_api
from .sessions import TenantSessionFactory
from .tenancy import urls
from .tenancy.crypto import key_ring

#: what users' TOTP secrets are encrypted for (a key derived for this alone)
TWO_FACTOR_PURPOSE = "two-factor"

ADMIN = frozenset({"Admin"})
MANAGERS = frozenset({"Admin", "Managers"})
ANYONE = None  # any signed-in user of the tenant (Admin, Managers, Cashiers)

#: permission -> the roles that hold it. Admin: everything; Managers: products, stock,
#: customers, voids, refunds; Cashiers: the point of sale, their own sales, customer
#: look-up.
PERMISSIONS = {
    "workspace.view": ANYONE,
    "account.password": ANYONE,
    "account.two_factor": ANYONE,
    "dashboard.view": MANAGERS,
    "users.manage": ADMIN,
    "settings.manage": ADMIN,
    "audit.view": ADMIN,
    "locations.manage": ADMIN,
    "products.view": ANYONE,
    "products.edit": MANAGERS,
    "stock.view": MANAGERS,
    "stock.edit": MANAGERS,
    "customers.view": ANYONE,
    "customers.edit": MANAGERS,
    "sales.create": ANYONE,
    "sales.view": ANYONE,  # Cashiers see their own sales only (the sales service filters)
    "sales.view_all": MANAGERS,
    "sales.void": MANAGERS,
    "sales.refund": MANAGERS,
    "expenses.view": MANAGERS,
    "expenses.edit": MANAGERS,
    "reports.view": MANAGERS,
    # the till (issue 17)
    "customers.quick_add": ANYONE,  # a name and a phone at the till, nothing else
    "registers.manage": ADMIN,  # add, rename, retire registers
    "shifts.use": ANYONE,  # open a shift, move cash, close it (the staff at the register)
    "tokens.create": MANAGERS,  # API tokens: Cashiers make none
    "account.pin": ANYONE,  # one's own PIN for a shared till
    "till.manage": MANAGERS,  # make this browser a till device, or end that
}
#: what a session begun with a PIN at a till device may never do, whatever the role:
#: what outlives the session (a token, a credential) or runs the workspace
PIN_SESSION_DENIED = frozenset(
    {
        "users.manage",
        "settings.manage",
        "locations.manage",
        "registers.manage",
        "audit.view",
        "tokens.create",
        "account.password",
        "account.pin",
        "account.two_factor",
        "till.manage",
    }
)
#: what a signed-in user may do while a step is required of them (required_step):
#: with a one-time password, change it; an Admin the workspace requires two-factor
#: sign-in of, enrol (or change their password)
REQUIRED_STEP_PERMISSIONS = {
    "password": frozenset({"account.password"}),
    "two_factor": frozenset({"account.two_factor", "account.password"}),
}


def bearer_token(request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def user_for_request(request):
    """``request.user``: the user of this tenant the request acts for, or None.

    Under /api only an API token counts (the user is then an ApiUser, read with the
    token in one statement): a bad, unknown or revoked token is no user,
    and a browser's cookie can never act there (so CSRF cannot apply). The token is
    looked up in the request's tenant only: another tenant's is unknown. Elsewhere only
    the signed-in user of the tenant-bound session counts; an Authorization header is
    ignored there (a leaked token must not open the pages, whose forms would then pass
    the CSRF check of the session the same requests create).
    """
    tenant = request.tenant
    if tenant is None:
        return None
    if is_api(request):
        return request.find_service(ApiTokenService).authenticate(bearer_token(request))
    session = request.session
    if session.get("tenant_id") != tenant.id or not session.get("user_id"):
        return None
    user = request.find_service(AccountService).get_user(session["user_id"])
    if user is None or not user.is_active:
        return None
    if session.get("generation") != user.session_generation:
        return None  # signed out everywhere, a new password or new roles since
    if session.get(BY_PIN) and request.till_device is None:
        return None  # a PIN acts on a till device only, while it is one
    return user


def required_step(request) -> str | None:
    """``request.required_step``: what the signed-in user must do before anything else.

    "password": they signed in with a one-time password; "two_factor": they are an
    Admin, the workspace requires two-factor sign-in of Admins and they have not set it
    up; None: nothing.
    """
    user = request.user
    if user is None or request.tenant is None:
        return None
    return step_due(user)


def sign_in_throttle(settings) -> SignInThrottle:
    """The process's sign-in throttle, on the catalog as the app role. Its own small
    pool: sign-in under attack must not take the directory's connections."""
    engine = create_engine(
        urls.sqlalchemy_url(
            urls.with_role(settings.catalog_url, settings.app_role, settings.app_password)
        ),
        pool_size=2,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.connect_timeout,
        pool_pre_ping=True,
        connect_args=urls.connect_args(settings),
    )
    return SignInThrottle(engine, settings.max_failed_logins_per_address)


def two_factor_box(settings) -> MultiFernet:
    """Encrypts users' TOTP secrets at rest, with a key of their own (decrypts under the
    previous secret keys too, until `salesapp rotate secret-key` re-encrypts them)."""
    return key_ring(settings.secret_key, settings.previous_secret_keys, TWO_FACTOR_PURPOSE)


def _by_pin(request) -> bool:
    """Is the request's session one begun with a PIN at a till device? (Never under
    /api, where no session counts.)"""
    return not is_api(request) and bool(request.session.get(BY_PIN))


class SecurityPolicy:
    def identity(self, request):
        return request.user

    def authenticated_userid(self, request):
        user = request.user
        return str(user.id) if user is not None else None

    def permits(self, request, context, permission):
        user = request.user
        if user is None:
            return Denied("not signed in")
        if permission not in PERMISSIONS:
            return Denied(f"unknown permission {permission}")
        step = request.required_step
        if step is not None and permission not in REQUIRED_STEP_PERMISSIONS[step]:
            return Denied(f"the {step} step is required first")
        if permission in PIN_SESSION_DENIED and _by_pin(request):
            return Denied(f"{permission} needs a sign-in with the password, not a PIN")
        roles = PERMISSIONS[permission]
        if roles is None or user.role_names & roles:
            return Allowed(f"{permission} granted")
        return Denied(f"{permission} needs one of {sorted(roles)}")

    def remember(
        self,
        request,
        userid,
        *,
        generation: int = 0,
        keep_till: bool = False,
        by_pin: bool = False,
        **kw,
    ):
        """A fresh session (and CSRF token) naming the user and their session
        ``generation`` (User.session_generation) as it is now.

        ``keep_till``: the new session keeps the till device's keys (TILL_KEYS), as a
        switch of cashier at a till does; any other sign-in ends till mode. ``by_pin``:
        the session was begun with a PIN (PIN_SESSION_DENIED applies). ``userid`` None
        with ``keep_till``: a locked till, its device kept and nobody signed in."""
        session = request.session
        kept = {key: session[key] for key in TILL_KEYS if key in session} if keep_till else {}
        session.invalidate()
        session["tenant_id"] = request.tenant.id
        session.update(kept)
        if userid is None:
            return []
        session["user_id"] = str(userid)
        session["generation"] = generation
        if by_pin:
            session[BY_PIN] = True
        return []

    def forget(self, request, **kw):
        request.session.invalidate()
        return []


def includeme(config):
    settings = config.registry.salesapp_settings
    # pyramid_tm would otherwise ask for the user (to name it on the transaction) in its
    # tween, outside the exception views: a database error while reading the API token
    # or the session's user would escape them all (a text 500 from the server, never the
    # API's JSON). The user is looked up by the permission check instead, in the view.
    config.add_settings({"tm.annotate_user": False})
    config.registry.password_hasher = hasher = make_password_hasher(settings)
    dummy_hash(hasher)  # made now, once: not by the first unknown login's request
    config.registry.hashing_gate = HashingGate(settings.sign_in_hashing_slots)
    config.registry.sign_in_throttle = sign_in_throttle(settings)
    config.registry.two_factor_box = two_factor_box(settings)
    config.set_session_factory(TenantSessionFactory(settings))
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True)
    config.set_security_policy(SecurityPolicy())
    config.add_request_method(user_for_request, "user", reify=True)
    config.add_request_method(required_step, "required_step", reify=True)
    config.add_request_method(till_device_for_request, "till_device", reify=True)
