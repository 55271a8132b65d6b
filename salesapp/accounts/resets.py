"""Links sent by e-mail: "Forgot your password?" on the sign-in page, and verifying one's
e-mail address (issue 19).

A link carries a random token (``secrets.token_urlsafe(32)``); only its SHA-256 is kept
(:class:`~salesapp.accounts.models.EmailToken`). A link works once, until it expires,
and only while it is the newest of its kind for the user; a reset link also only while
the password it was sent for is still the user's (changed by any means since: void).

Asking for a reset answers the same page whatever was typed: an account or not, with
an e-mail or not, active or not, throttled or not. Nothing on the page, in the status
or in the redirect tells which. Requests are counted in the same table (a row without a
token for one that sent nothing): at most ``RESETS_PER_ACCOUNT`` per account and
``RESETS_PER_ADDRESS`` per client address within ``THROTTLE_WINDOW``; past those the
request sends nothing and answers alike. The e-mail leaves through ``request.mailer``:
only once the request's transaction has committed.

Following a reset link asks for the new password twice, applies the workspace's
password policy as the Change password page does (a refusal leaves the link usable),
ends every session of the user (AccountService.set_password) and sends them to sign
in, with their second factor if they have one: a link in a mailbox never skips it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render
from pyramid.view import view_config, view_defaults
from sqlalchemy import delete, func, select, update

from ..audit.recorder import ACTOR, record
from ..http_helpers import client_address
from ..mail import compose
from .errors import AccountError
from .models import EmailToken, LinkPurpose, User
from .passwords import check_password_policy
from .services import AccountService

#: how long a link works
RESET_LIFETIME = dt.timedelta(hours=1)
VERIFY_LIFETIME = dt.timedelta(hours=24)
#: requests counted per account and per client address within the window
THROTTLE_WINDOW = dt.timedelta(hours=1)
RESETS_PER_ACCOUNT = 3
RESETS_PER_ADDRESS = 10
VERIFICATIONS_PER_ACCOUNT = 3
#: rows older than this are deleted (longer than any lifetime and the window)
KEEP_ROWS = dt.timedelta(days=2)


def token_hash(token: str) -> str:
    """What is stored of a token, and looked up by."""
    return hashlib.sha256((token or "").encode()).hexdigest()


def password_stamp(user: User) -> str:
    """A digest of the user's password hash: changes whenever the password does."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()


class EmailTokenService:
    """Reset and verify links of one tenant's users, on the request's session."""

    def __init__(self, dbsession, tenant_id: int, accounts: AccountService):
        self.db = dbsession
        self.tenant_id = tenant_id
        self.accounts = accounts

    @classmethod
    def factory(cls, context, request):
        return cls(request.dbsession, request.tenant.id, request.find_service(AccountService))

    # -- asking ----------------------------------------------------------------------
    def request_reset(self, login: str, address: str) -> tuple[User, str] | None:
        """A reset link for the active user with this username or e-mail, if they have
        an e-mail and neither they nor ``address`` asked too often: (user, token) to
        send. None otherwise, for the caller to answer exactly as if sent."""
        address = address[:64]  # as stored
        self._forget_old()
        user = self.accounts.find_by_login(login)
        if self._count(EmailToken.address == address) >= RESETS_PER_ADDRESS:
            return None
        if user is not None and self._count(EmailToken.user_id == user.id) >= RESETS_PER_ACCOUNT:
            return None
        if user is None or not user.is_active or not user.email:
            self._count_only(user, LinkPurpose.RESET, address)
            return None
        token = self._issue(user, LinkPurpose.RESET, address, RESET_LIFETIME)
        record(self.db, "auth.password_reset_sent", f"user {user.username}", email=user.email)
        return user, token

    def request_verification(self, user: User, address: str) -> str:
        """A link that verifies the user's current e-mail address (the token to send);
        AccountError when they have none, or asked too often."""
        self._forget_old()
        if not user.email:
            raise AccountError(
                "Your account has no e-mail address; ask an Admin to add it, then verify it."
            )
        if self._count(EmailToken.user_id == user.id, LinkPurpose.VERIFY) >= (
            VERIFICATIONS_PER_ACCOUNT
        ):
            raise AccountError(
                f"We sent {VERIFICATIONS_PER_ACCOUNT} links within the hour already; use the "
                "newest one, or ask again later."
            )
        return self._issue(user, LinkPurpose.VERIFY, address, VERIFY_LIFETIME)

    # -- following -------------------------------------------------------------------
    def valid(self, token: str, purpose: LinkPurpose, *, lock: bool = False) -> EmailToken | None:
        """The token's row if its link works now (see the module's docstring), else None.
        ``lock``: the row is locked until the transaction ends, so that of two requests
        with one link, only one uses it."""
        query = select(EmailToken).where(
            EmailToken.token_hash == token_hash(token),
            EmailToken.purpose == purpose,
            EmailToken.used_at.is_(None),
            EmailToken.expires_at > func.now(),
        )
        row = self.db.scalars(query.with_for_update() if lock else query).first()
        if row is None:
            return None
        user = self.accounts.get_user(row.user_id)
        if user is None or not user.is_active or user.email != row.email:
            return None
        if purpose == LinkPurpose.RESET and password_stamp(user) != row.password_stamp:
            return None  # the password changed since the link was sent
        return row

    def user_of(self, row: EmailToken) -> User:
        return self.accounts.get_user(row.user_id)

    def reset_password(self, token: str, new: str, confirm: str) -> User | None:
        """Set the password of the reset link's user: None if the link does not work
        (any more); AccountError (the link still usable) if the passwords differ or the
        policy refuses it. Every session of the user ends; every reset link of theirs
        is spent."""
        row = self.valid(token, LinkPurpose.RESET, lock=True)
        if row is None:
            return None
        user = self.user_of(row)
        if new != confirm:
            raise AccountError("The new password and its repetition differ.", "password")
        check_password_policy(new, user, related=self.accounts.workspace_words)
        # the user acts, though not signed in: the trail's password event names them
        self.db.info[ACTOR] = {"id": user.id, "username": user.username}
        self.accounts.set_password(user, new)
        self._void(user, LinkPurpose.RESET, used=True)
        record(self.db, "auth.password_reset", f"user {user.username}", who=user)
        return user

    def verify_email(self, token: str) -> User | None:
        """Mark the verify link's user's e-mail verified; None if the link does not work."""
        row = self.valid(token, LinkPurpose.VERIFY, lock=True)
        if row is None:
            return None
        user = self.user_of(row)
        user.email_verified_at = func.now()
        self._void(user, LinkPurpose.VERIFY, used=True)
        record(self.db, "user.email_verified", f"user {user.username}", who=user, email=user.email)
        self.db.flush()
        self.db.refresh(user, ["email_verified_at"])
        return user

    # -- rows ------------------------------------------------------------------------
    def _issue(self, user: User, purpose: LinkPurpose, address: str, lifetime) -> str:
        """A new link for ``user``, voiding their unused older ones of the purpose."""
        self._void(user, purpose)
        token = secrets.token_urlsafe(32)
        self.db.add(
            EmailToken(
                tenant_id=self.tenant_id,
                user_id=user.id,
                purpose=purpose,
                token_hash=token_hash(token),
                email=user.email,
                address=address[:64],
                password_stamp=password_stamp(user),
                expires_at=func.now() + lifetime,
            )
        )
        self.db.flush()
        return token

    def _count_only(self, user: User | None, purpose: LinkPurpose, address: str) -> None:
        """A request that sends nothing, counted like one that does (no token)."""
        self.db.add(
            EmailToken(
                tenant_id=self.tenant_id,
                user_id=user.id if user is not None else None,
                purpose=purpose,
                address=address[:64],
                expires_at=func.now(),
            )
        )
        self.db.flush()

    def _void(self, user: User, purpose: LinkPurpose, *, used: bool = False) -> None:
        """End the user's working links of ``purpose``: spent (``used``: the one
        followed, with any others) or expired now (a newer one replaces them)."""
        self.db.execute(
            update(EmailToken)
            .where(
                EmailToken.user_id == user.id,
                EmailToken.purpose == purpose,
                EmailToken.token_hash.is_not(None),
                EmailToken.used_at.is_(None),
                EmailToken.expires_at > func.now(),
            )
            .values({"used_at" if used else "expires_at": func.now()}),
            execution_options={"synchronize_session": False},
        )

    def _count(self, which, purpose: LinkPurpose = LinkPurpose.RESET) -> int:
        """Requests of ``purpose`` matching ``which`` within THROTTLE_WINDOW."""
        return self.db.scalar(
            select(func.count())
            .select_from(EmailToken)
            .where(
                which,
                EmailToken.purpose == purpose,
                EmailToken.created_at > func.now() - THROTTLE_WINDOW,
            )
        )

    def _forget_old(self) -> None:
        """Delete rows past any use: every link has expired, every count has left the
        window."""
        self.db.execute(
            delete(EmailToken).where(EmailToken.created_at < func.now() - KEEP_ROWS),
            execution_options={"synchronize_session": False},
        )


# -- the e-mails ---------------------------------------------------------------------------
def _message(request, template: str, subject: str, user: User, link: str, lifetime):
    """The e-mail of a link: text and HTML from the same values."""
    values = {
        "user": user,
        "workspace": request.tenant.name,
        "link": link,
        "hours": int(lifetime.total_seconds() // 3600),
    }
    text = render(f"accounts/{template}_email.txt.jinja2", values, request=request)
    html = render(f"accounts/{template}_email.html.jinja2", values, request=request)
    return compose(subject, user.email, text, html)


# -- the pages -----------------------------------------------------------------------------
@view_defaults(route_name="accounts.forgot", renderer="accounts/forgot.jinja2")
class ForgotView:
    """Ask for a reset link by username or e-mail; the answer never tells if one left."""

    def __init__(self, request):
        self.request = request

    @view_config(request_method="GET")
    def get(self):
        return {"error": None, "login": ""}

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        login = request.POST.get("login", "").strip()
        if not login:
            request.response.status_int = 400
            return {"error": "Enter your username or e-mail address.", "login": login}
        links = request.find_service(EmailTokenService)
        asked = links.request_reset(login, client_address(request))
        if asked is not None:
            user, token = asked
            link = request.route_url("accounts.reset", token=token)
            subject = f"Set a new password for {request.tenant.name}"
            request.mailer.send(_message(request, "reset", subject, user, link, RESET_LIFETIME))
        return HTTPSeeOther(location=request.route_url("accounts.forgot_sent"))


@view_config(
    route_name="accounts.forgot_sent", request_method="GET", renderer="accounts/forgot_sent.jinja2"
)
def forgot_sent(request):
    """The one answer to every request for a reset link."""
    return {"hours": int(RESET_LIFETIME.total_seconds() // 3600)}


def _link_gone(request, template: str) -> dict:
    """The page of a link that does not work (unknown, used, expired, replaced)."""
    request.override_renderer = template
    request.response.status_int = 410
    return {}


@view_defaults(route_name="accounts.reset", renderer="accounts/reset.jinja2")
class ResetView:
    """Follow a reset link: choose a new password (twice)."""

    def __init__(self, request):
        self.request = request
        self.token = request.matchdict["token"]
        self.links = request.find_service(EmailTokenService)

    @view_config(request_method="GET")
    def get(self):
        row = self.links.valid(self.token, LinkPurpose.RESET)
        if row is None:
            return _link_gone(self.request, "accounts/reset_invalid.jinja2")
        return {"error": None, "user": self.links.user_of(row)}

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        try:
            user = self.links.reset_password(
                self.token,
                request.POST.get("new_password", ""),
                request.POST.get("confirm_password", ""),
            )
        except AccountError as exc:
            request.response.status_int = 400  # rolled back: the link still works
            row = self.links.valid(self.token, LinkPurpose.RESET)
            if row is None:
                return _link_gone(request, "accounts/reset_invalid.jinja2")
            return {"error": str(exc), "user": self.links.user_of(row)}
        if user is None:
            return _link_gone(request, "accounts/reset_invalid.jinja2")
        return HTTPSeeOther(location=request.route_url("accounts.reset_done"))


@view_config(
    route_name="accounts.reset_done", request_method="GET", renderer="accounts/reset_done.jinja2"
)
def reset_done(request):
    return {}


@view_config(
    route_name="accounts.verify_send", request_method="POST", permission="account.password"
)
def verify_send(request):
    """Send the signed-in user a link that verifies their e-mail address."""
    user = request.user
    links = request.find_service(EmailTokenService)
    back = HTTPSeeOther(location=request.route_url("accounts.password"))
    try:
        token = links.request_verification(user, client_address(request))
    except AccountError as exc:
        request.session.flash(str(exc), "error")
        return back
    link = request.route_url("accounts.verify", token=token)
    subject = f"Verify your e-mail address for {request.tenant.name}"
    request.mailer.send(_message(request, "verify", subject, user, link, VERIFY_LIFETIME))
    request.session.flash(
        f"We sent a link to {user.email}; follow it within "
        f"{int(VERIFY_LIFETIME.total_seconds() // 3600)} hours to verify the address."
    )
    return back


@view_config(route_name="accounts.verify", request_method="GET", renderer="accounts/verify.jinja2")
def verify(request):
    """Follow a verify link: the address it was sent to is the user's."""
    user = request.find_service(EmailTokenService).verify_email(request.matchdict["token"])
    if user is None:
        return _link_gone(request, "accounts/verify_invalid.jinja2")
    return {"verified": user}


def includeme(config):
    config.register_service_factory(EmailTokenService.factory, iface=EmailTokenService)
    site = {"site": "tenant"}
    config.add_route("accounts.forgot", "/password/forgot", **site)
    config.add_route("accounts.forgot_sent", "/password/forgot/sent", **site)
    config.add_route("accounts.reset", "/password/reset/{token}", **site)
    config.add_route("accounts.reset_done", "/password/reset-done", **site)
    config.add_route("accounts.verify_send", "/account/email/verify", **site)
    config.add_route("accounts.verify", "/account/email/verify/{token}", **site)
