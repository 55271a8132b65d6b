"""API tokens: made by a user (or an operator for a user) with a scope and a lifetime
(salesapp.api.grants), stored as a SHA-256 hash, shown once, revoked by their owner or
an Admin; and the token -> user look-up that authenticates every /api request.

A token is ``sa_`` and 43 URL-safe characters (256 random bits), so a fast hash is
enough: nobody can guess their way through 2**256 values, and the look-up stays one
indexed query (the unique key is (tenant_id, token_hash)). The session's tenant
setting scopes the look-up: a token of another tenant is simply not found.

The look-up also leaves what it found in the request's database session
(:meth:`ApiTokenService.last_check`): the scope of the token that authenticated, which
the scope check reads (salesapp.api.guard), or the expiry that refused it, which the 401
answer names (salesapp.api.errors). No second query, and nothing to keep in sync.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, exists, func, or_, select, true, update
from sqlalchemy.exc import DBAPIError

from ..accounts.models import Role, TwoFactor, User, UserRole
from ..preferences.models import SignInPolicy
from ..services import TenantService
from ..tenancy.errors import is_fence_error
from .grants import LIFETIMES, NEVER, SCOPE_NAMES, Scope, choices_text, expiry
from .models import ApiToken, expired

TOKEN_PREFIX = "sa_"
#: what a token can look like; anything else is refused before the database is asked
TOKEN_PATTERN = re.compile(r"^sa_[A-Za-z0-9_-]{40,60}$")
#: how many characters of a token are kept in clear, to tell tokens apart in lists
SHOWN_PREFIX = 8
MAX_NAME_LENGTH = 60
#: last_used_at is written at most this often per token (one UPDATE, not one per call)
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
#: where the last look-up's outcome is kept: the session is the request's own
CHECK_KEY = "salesapp.api.token_check"


class TokenError(ValueError):
    """A refused token change; ``field`` names the form field (None: the whole form)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TokenCheck:
    """What the last token look-up on a session found: the scope of the token that
    authenticated (None: none did), or when the token presented expired (None: it did
    not, or was refused for another reason)."""

    scope: str | None = None
    expired_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiUser:
    """The user an API token acts for, read with the token in one statement: what a
    request under /api asks of its user (the security policy: roles, the steps it may
    owe; the services: who acts; the audit trail: id and username). Not an ORM object:
    loading one (and its roles) for every call was most of an API read's CPU
    (docs/benchmarks.md, "Read path"). Immutable: a change to the user is made on the
    ORM ``User``, and the next request reads it."""

    tenant_id: int
    id: uuid.UUID
    username: str
    full_name: str
    email: str | None
    must_change_password: bool
    two_factor_due: bool
    role_names: frozenset[str]
    session_generation: int
    is_active: bool = True  # only an active user's token authenticates


def _authentication_query():
    """The token (by its hash), its user and the user's role names, in one statement,
    built once (SQLAlchemy Core: its compiled form is cached, no ORM loading). A revoked
    token or an inactive user is not found; expiry is judged by the caller, which
    names the moment in its 401."""
    t, u = ApiToken.__table__, User.__table__
    ur, r = UserRole.__table__, Role.__table__
    policy, factor = SignInPolicy.__table__, TwoFactor.__table__
    roles = (
        select(func.array_agg(r.c.name))
        .select_from(ur.join(r, and_(r.c.tenant_id == ur.c.tenant_id, r.c.id == ur.c.role_id)))
        .where(ur.c.tenant_id == u.c.tenant_id, ur.c.user_id == u.c.id)
        .scalar_subquery()
    )
    two_factor_due = and_(
        exists().where(policy.c.tenant_id == u.c.tenant_id, policy.c.admins_need_two_factor),
        ~exists().where(
            factor.c.tenant_id == u.c.tenant_id,
            factor.c.user_id == u.c.id,
            factor.c.enabled_at.is_not(None),
        ),
    )
    return (
        select(
            t.c.id,
            t.c.scope,
            t.c.expires_at,
            t.c.last_used_at,
            u.c.tenant_id,
            u.c.id,
            u.c.username,
            u.c.full_name,
            u.c.email,
            u.c.must_change_password,
            two_factor_due,
            roles,
            u.c.session_generation,
        )
        .select_from(t.join(u, and_(u.c.tenant_id == t.c.tenant_id, u.c.id == t.c.user_id)))
        .where(
            t.c.token_hash == bindparam("token_hash"),
            t.c.revoked_at.is_(None),
            u.c.is_active == true(),
        )
    )


#: built once: SQLAlchemy keeps a statement's cache key and compiled form with it
AUTHENTICATE = _authentication_query()


def token_hash(plaintext: str) -> str:
    """The stored form of a token: SHA-256, hex."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _checked_name(name: str | None) -> str:
    """A token's name, stripped; TokenError if it is empty, too long or has a NUL."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Give the token a name (what or who will use it).", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(
            f"A token name has at most {MAX_NAME_LENGTH} characters ({len(name)} given).",
            "name",
        )
    if "\x00" in name:
        raise TokenError("A token name must not contain NUL characters.", "name")
    return name


def _check_choice(value, choices, field: str, what: str) -> None:
    """TokenError on ``field`` unless ``value`` is one of ``choices`` (naming them)."""
    if value not in choices:
        raise TokenError(f"{what}: {choices_text(choices)} ({str(value)[:40]!r} given).", field)


class ApiTokenService(TenantService):
    """The API tokens of one tenant, on that tenant's session."""

    model = ApiToken

    def create(
        self, user: User, name: str, scope: str = Scope.FULL, lifetime: str = NEVER
    ) -> tuple[ApiToken, str]:
        """A new token of ``user`` called ``name`` with ``scope`` (a Scope) that works
        for ``lifetime`` (a key of grants.LIFETIMES); returns (row, plaintext). The
        plaintext exists only in this return value: show it once, never store it.

        The defaults are what a token was before scopes and expiry existed; the tokens
        page and the console offer grants.DEFAULT_SCOPE and DEFAULT_LIFETIME instead."""
        name = _checked_name(name)
        _check_choice(scope, SCOPE_NAMES, "scope", "Choose what the token may do")
        _check_choice(lifetime, LIFETIMES, "expires_in", "Choose when the token expires")
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(
            tenant_id=self.tenant_id,
            user_id=user.id,
            name=name,
            token_hash=token_hash(plaintext),
            prefix=plaintext[:SHOWN_PREFIX],
            scope=Scope(scope).value,
            expires_at=expiry(lifetime, _now()),
        )
        self.db.add(row)
        self.db.flush()
        return row, plaintext

    def for_user(self, user: User) -> list[ApiToken]:
        """``user``'s tokens, newest first, revoked ones included (marked)."""
        query = select(ApiToken).where(ApiToken.user_id == user.id)
        return list(self.db.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id)))

    def of_others(self, user: User) -> list[tuple[ApiToken, User]]:
        """Every other user's tokens with their owner, newest first (for an Admin)."""
        query = (
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.user_id != user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id)
        )
        return [(token, owner) for token, owner in self.db.execute(query)]

    def revoke(self, actor: User, token_id, *, any_user: bool = False) -> ApiToken:
        """Revoke a token of ``actor`` (``any_user``: of anyone in the tenant, for an
        Admin). Revoking a revoked token changes nothing. TokenError if there is no
        such token for this actor: another user's token is "not found", not "not yours",
        so ids of other users' tokens tell nothing."""
        token = self.get(token_id)
        if token is None or (token.user_id != actor.id and not any_user):
            raise TokenError("No such token; it may have been deleted with its user.")
        if token.revoked_at is None:
            token.revoked_at = _now()
            self.db.flush()
        return token

    def last_check(self) -> TokenCheck:
        """What the last :meth:`user_for_token` on this session found (on a request:
        the request's token, as the security policy looked it up)."""
        return self.db.info.get(CHECK_KEY) or TokenCheck()

    def _remember(self, check: TokenCheck) -> None:
        self.db.info[CHECK_KEY] = check

    def authenticate(self, plaintext: str | None) -> ApiUser | None:
        """The active user a token belongs to, as an :class:`ApiUser`, or None
        (malformed, unknown, revoked, expired, or its user deactivated): one statement,
        on current data (no cache). Records the use at most once a minute, and what was
        found for :meth:`last_check`.

        The use is written in the request's transaction: a request answered with an
        error rolls it back with everything else, so ``last_used_at`` is the last call
        that was answered successfully.
        """
        self._remember(TokenCheck())
        if not plaintext or not TOKEN_PATTERN.match(plaintext):
            return None
        found = self.db.execute(AUTHENTICATE, {"token_hash": token_hash(plaintext)}).first()
        if found is None:
            return None
        token_id, scope, expires_at, last_used_at, *user = found
        now = _now()
        if expired(expires_at, now):
            self._remember(TokenCheck(expired_at=expires_at))
            return None
        self._remember(TokenCheck(scope=scope))
        if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
            self._touch(token_id)
        *fields, roles, generation = user
        return ApiUser(*fields, frozenset(roles or ()), generation)  # no role: NULL

    def _touch(self, token_id) -> None:
        """Set the token's ``last_used_at`` to now unless another call did within the
        last minute (conditional, so concurrent calls with one token write once). In a
        savepoint: while the tenant moves its writes are fenced, and this bookkeeping
        must not turn a read into an error; it is skipped instead."""
        stale = func.now() - LAST_USED_RESOLUTION
        try:
            with self.db.begin_nested():
                self.db.execute(
                    update(ApiToken)
                    .where(
                        ApiToken.tenant_id == self.tenant_id,
                        ApiToken.id == token_id,
                        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale),
                    )
                    .values(last_used_at=func.now()),
                    execution_options={"synchronize_session": False},
                )
        except DBAPIError as exc:
            if not is_fence_error(exc):
                raise

    def user_for_token(self, plaintext: str | None) -> User | None:
        """:meth:`authenticate`, answered with the ORM ``User`` (for callers that
        change or relate it; a web request's /api path uses the ApiUser)."""
        found = self.authenticate(plaintext)
        return None if found is None else self.db.get(User, (found.tenant_id, found.id))

    def revoke_all_of(self, user: User) -> int:
        """Revoke every token of ``user`` still in force (the user was deactivated:
        reactivating them must not bring old tokens back); each is recorded in the
        audit trail like a revocation by hand. Returns how many were revoked."""
        live = self.db.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        ).all()
        now = _now()
        for token in live:
            token.revoked_at = now
        self.db.flush()
        return len(live)
