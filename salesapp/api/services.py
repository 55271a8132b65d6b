"""API tokens: made by a user (or an operator for a user), stored as a SHA-256 hash,
shown once, revoked by their owner or an Admin; and the token -> user look-up that
authenticates every /api request.

A token is ``sa_`` and 43 URL-safe characters (256 random bits), so a fast hash is
enough: nobody can guess their way through 2**256 values, and the look-up stays one
indexed query (the unique key is (tenant_id, token_hash)). The session's tenant
setting scopes the look-up: a token of another tenant is simply not found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..services import TenantService
from ..tenancy.errors import is_fence_error
from .models import ApiToken

TOKEN_PREFIX = "sa_"
#: what a token can look like; anything else is refused before the database is asked
TOKEN_PATTERN = re.compile(r"^sa_[A-Za-z0-9_-]{40,60}$")
#: how many characters of a token are kept in clear, to tell tokens apart in lists
SHOWN_PREFIX = 8
MAX_NAME_LENGTH = 60
#: last_used_at is written at most this often per token (one UPDATE, not one per call)
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenError(ValueError):
    """A refused token change; ``field`` names the form field (None: the whole form)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def token_hash(plaintext: str) -> str:
    """The stored form of a token: SHA-256, hex."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ApiTokenService(TenantService):
    """The API tokens of one tenant, on that tenant's session."""

    model = ApiToken

    def create(self, user: User, name: str) -> tuple[ApiToken, str]:
        """A new token of ``user`` called ``name``; returns (row, plaintext). The
        plaintext exists only in this return value: show it once, never store it."""
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
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(
            tenant_id=self.tenant_id,
            user_id=user.id,
            name=name,
            token_hash=token_hash(plaintext),
            prefix=plaintext[:SHOWN_PREFIX],
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

    def user_for_token(self, plaintext: str | None) -> User | None:
        """The active user a token belongs to, or None (malformed, unknown, revoked,
        or its user deactivated). Records the use at most once a minute.

        The use is written in the request's transaction: a request answered with an
        error rolls it back with everything else, so ``last_used_at`` is the last call
        that was answered successfully.
        """
        if not plaintext or not TOKEN_PATTERN.match(plaintext):
            return None
        # the token, its user and the user's roles in one query (every /api request
        # asks this first; three round trips were a third of a short GET's time)
        found = (
            self.db.execute(
                select(ApiToken, User)
                .join(User, and_(User.tenant_id == ApiToken.tenant_id, User.id == ApiToken.user_id))
                .where(ApiToken.token_hash == token_hash(plaintext))
                .options(joinedload(User.roles))
            )
            .unique()
            .first()
        )
        if found is None:
            return None
        token, user = found
        if token.revoked_at is not None or not user.is_active:
            return None
        now = _now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            # conditional, so concurrent calls with one token write once
            # (in a savepoint: while the tenant moves its writes are fenced, and this
            # bookkeeping must not turn a read into an error; it is skipped instead)
            stale = func.now() - LAST_USED_RESOLUTION
            try:
                with self.db.begin_nested():
                    self.db.execute(
                        update(ApiToken)
                        .where(
                            ApiToken.tenant_id == self.tenant_id,
                            ApiToken.id == token.id,
                            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale),
                        )
                        .values(last_used_at=func.now()),
                        execution_options={"synchronize_session": False},
                    )
            except DBAPIError as exc:
                if not is_fence_error(exc):
                    raise
        return user
