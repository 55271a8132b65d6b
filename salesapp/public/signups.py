"""Self-service sign-up (issue 19): a business asks for a workspace on the public site,
proves its e-mail address, and gets a pooled trial workspace with the signer as Admin.

The web process never makes a workspace: it cannot (the import contracts keep the
operator tools out of it, and its catalog role may not write tenants). It keeps the
request in the catalog's ``signups`` (salesapp.public.models) and moves it along:

1. **pending**: the form was valid; the password is kept only as its Argon2 hash, the
   link's token only as its SHA-256. The link, e-mailed after the row is committed,
   expires LINK_LIFETIME later. Nothing exists in ``tenants`` yet.
2. **verified**: the link was followed (a POST, so that a mail scanner fetching the
   link verifies nothing). Only now is the subdomain held: at most one verified sign-up
   per subdomain (a partial unique index), none for a subdomain a tenant has.
3. **created** or **failed**: `salesapp signup process` (salesapp.operations.signups)
   makes the workspace exactly as `salesapp tenant create` does, or records why it could
   not (the subdomain was taken meanwhile); a failed creation leaves nothing behind.

Throttled before anything is hashed or sent: at most MAX_PENDING_PER_EMAIL live
sign-ups per e-mail address, MAX_PER_CLIENT_PER_HOUR per client address and
MAX_PER_HOUR over the whole deployment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import create_engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..accounts.errors import AccountError
from ..accounts.models import User
from ..accounts.passwords import check_password_policy
from ..mail import check_address
from ..tenancy import urls
from ..tenancy.hosts import RESERVED_SLUGS, SLUG_RE, normalize_host
from .models import SignupStatus, signups, tenants

#: how long a verification link works
LINK_LIFETIME = dt.timedelta(hours=24)
#: live (pending, unexpired) sign-ups one e-mail address may have at once
MAX_PENDING_PER_EMAIL = 3
#: sign-ups one client address may start in an hour
MAX_PER_CLIENT_PER_HOUR = 10
#: sign-ups the whole deployment takes in an hour (a flood of them is refused, not mailed)
MAX_PER_HOUR = 200
#: the username the signer's Admin account gets (they sign in with their e-mail too)
ADMIN_USERNAME = "admin"


#: why a link cannot be used (the verification page and SignupService.verify say the same)
UNKNOWN_LINK = (
    "This link is not one we sent, or it was cut short: copy the whole link from the "
    "e-mail, or sign up again."
)
USED_LINK = "This link has already been used."
EXPIRED_LINK = "This link has expired (links work for 24 hours). Sign up again to get a new one."


class SignupError(ValueError):
    """A refused sign-up; the message says what was wrong and what to do. ``field``
    names the form field it belongs to (None: the whole form)."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class SignupThrottled(SignupError):
    """Too many sign-ups for now (from this address, for this e-mail, or overall)."""

    status = 429


@dataclass(frozen=True)
class Availability:
    """What the subdomain check answers: ``status`` is available, taken, reserved or
    malformed; ``message`` says it in words."""

    subdomain: str
    status: str
    message: str

    @property
    def available(self) -> bool:
        return self.status == "available"


@dataclass(frozen=True)
class Signup:
    """One sign-up as the pages show it."""

    id: int
    business_name: str
    slug: str
    email: str
    status: SignupStatus
    failure: str | None
    expires_at: dt.datetime
    expired: bool


def token_hash(token: str) -> str:
    """What the catalog keeps of a link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def normal_subdomain(text: str | None) -> str:
    return (text or "").strip().lower()


class SignupService:
    """Sign-ups in the catalog, as the app role; one per process (``registry.signups``).

    Its engine is made at the first use (most processes never see a sign-up) and has a
    pool of its own, so that a burst of sign-ups cannot take the directory's
    connections."""

    def __init__(self, settings, hasher):
        self.settings = settings
        self.hasher = hasher
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            settings = self.settings
            self._engine = create_engine(
                urls.sqlalchemy_url(
                    urls.with_role(settings.catalog_url, settings.app_role, settings.app_password)
                ),
                pool_size=1,
                max_overflow=2,
                pool_timeout=settings.connect_timeout,
                pool_pre_ping=True,
                connect_args=urls.connect_args(settings),
            )
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- the subdomain ---------------------------------------------------------------
    def availability(self, text: str | None, base_domain: str) -> Availability:
        """Whether ``text`` can be asked for: well-formed, not reserved, and held by no
        workspace nor by a verified sign-up waiting for its workspace."""
        slug = normal_subdomain(text)
        if not SLUG_RE.match(slug) or normalize_host(f"{slug}.{base_domain}") is None:
            return Availability(
                slug,
                "malformed",
                "Use 1-63 lower-case letters, digits and hyphens, not starting or ending "
                "with a hyphen.",
            )
        if slug in RESERVED_SLUGS:
            return Availability(slug, "reserved", f"{slug} is reserved; choose another name.")
        with self.engine.connect() as conn:
            if self._taken(conn, slug):
                return Availability(
                    slug, "taken", f"{slug}.{base_domain} is taken; choose another."
                )
        return Availability(slug, "available", f"{slug}.{base_domain} is available.")

    @staticmethod
    def _taken(conn, slug: str) -> bool:
        held = select(signups.c.id).where(
            signups.c.slug == slug, signups.c.status == SignupStatus.VERIFIED
        )
        return conn.scalar(
            select(
                or_(
                    select(tenants.c.id).where(tenants.c.slug == slug).exists(),
                    held.exists(),
                )
            )
        )

    # -- asking ----------------------------------------------------------------------
    def submit(
        self,
        *,
        business_name: str,
        subdomain: str,
        email: str,
        password: str,
        address: str,
        base_domain: str,
    ) -> tuple[int, str]:
        """Check the form, the throttles and the subdomain, then keep the sign-up as
        pending; return its id and the link's token (for the e-mail only).

        Raises SignupError (400) or SignupThrottled (429), with nothing kept."""
        name = " ".join((business_name or "").split())
        if not name or len(name) > 200:
            raise SignupError(
                "Type your business's name (at most 200 characters).", "business_name"
            )
        available = self.availability(subdomain, base_domain)
        if not available.available:
            raise SignupError(available.message, "subdomain")
        slug = available.subdomain
        email = check_address(email or "")
        if email is None:
            raise SignupError("Type an e-mail address such as you@example.com.", "email")
        email = email.lower()
        try:
            check_password_policy(
                password, User(username=ADMIN_USERNAME, email=email), related=(name, slug)
            )
        except AccountError as exc:
            raise SignupError(str(exc), "password") from None
        with self.engine.begin() as conn:
            self._check_throttles(conn, email, address)
            token = secrets.token_urlsafe(32)
            signup_id = conn.scalar(
                insert(signups)
                .values(
                    token_hash=token_hash(token),
                    business_name=name,
                    slug=slug,
                    email=email,
                    password_hash=self.hasher.hash(password),
                    address=address,
                    expires_at=func.now() + LINK_LIFETIME,
                )
                .returning(signups.c.id)
            )
        return signup_id, token

    def _check_throttles(self, conn, email: str, address: str) -> None:
        # one sign-up at a time per e-mail address is counted exactly: the row lock on
        # nothing would not serialise two; an advisory lock per address does
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext("signup:" + email))))
        hour_ago = func.now() - dt.timedelta(hours=1)
        counts = conn.execute(
            select(
                select(func.count())
                .where(
                    signups.c.email == email,
                    signups.c.status == SignupStatus.PENDING,
                    signups.c.expires_at > func.now(),
                )
                .scalar_subquery()
                .label("pending"),
                select(func.count())
                .where(signups.c.address == address, signups.c.created_at > hour_ago)
                .scalar_subquery()
                .label("client"),
                select(func.count())
                .where(signups.c.created_at > hour_ago)
                .scalar_subquery()
                .label("overall"),
            )
        ).one()
        if counts.pending >= MAX_PENDING_PER_EMAIL:
            raise SignupThrottled(
                f"{email} already has {counts.pending} sign-ups waiting for their e-mail link. "
                "Follow the link in one of those e-mails, or try again once they expire "
                "(24 hours after they were sent)."
            )
        if counts.client >= MAX_PER_CLIENT_PER_HOUR:
            raise SignupThrottled(
                "Too many sign-ups from your network address in the last hour. "
                "Try again in an hour."
            )
        if counts.overall >= MAX_PER_HOUR:
            raise SignupThrottled(
                "We are taking too many sign-ups right now. Try again in an hour."
            )

    # -- the link --------------------------------------------------------------------
    def find(self, token: str) -> Signup | None:
        """The sign-up whose link carries ``token``, or None."""
        with self.engine.connect() as conn:
            return self._find(conn, token)

    @staticmethod
    def _find(conn, token: str) -> Signup | None:
        row = conn.execute(
            select(
                signups.c.id,
                signups.c.business_name,
                signups.c.slug,
                signups.c.email,
                signups.c.status,
                signups.c.failure,
                signups.c.expires_at,
                (signups.c.expires_at <= func.now()).label("expired"),
            ).where(signups.c.token_hash == token_hash(token or ""))
        ).first()
        if row is None:
            return None
        return Signup(**{**row._mapping, "status": SignupStatus(row.status)})

    def verify(self, token: str) -> Signup:
        """Follow the link: the pending, unexpired sign-up turns verified and holds its
        subdomain until `salesapp signup process` makes the workspace.

        Raises SignupError when the link is unknown, expired or used, or the subdomain
        was taken since (the sign-up then fails, kept so: the form can be filled in
        again with another subdomain)."""
        with self.engine.begin() as conn:
            signup = self._find(conn, token)
            if signup is None:
                raise SignupError(UNKNOWN_LINK)
            if signup.status != SignupStatus.PENDING:
                raise SignupError(USED_LINK)
            if signup.expired:
                raise SignupError(EXPIRED_LINK)
            taken = self._taken(conn, signup.slug)
            if not taken:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            update(signups)
                            .where(
                                signups.c.id == signup.id,
                                signups.c.status == SignupStatus.PENDING,
                            )
                            .values(status=SignupStatus.VERIFIED, verified_at=func.now())
                        )
                except IntegrityError:  # another sign-up of it was verified meanwhile
                    taken = True
            if taken:  # kept failed (committed), so the status page says why
                self._fail(conn, signup.id, f"{signup.slug} was taken before the link was followed")
        if taken:
            raise SignupError(
                f"Sorry: the subdomain {signup.slug} was taken since you signed up. "
                "Sign up again with another one."
            )
        return self.find(token)

    @staticmethod
    def _fail(conn, signup_id: int, why: str) -> None:
        conn.execute(
            update(signups)
            .where(signups.c.id == signup_id)
            .values(status=SignupStatus.FAILED, failure=why, finished_at=func.now())
        )
