"""Operator API tokens (issue 19): made, listed and revoked by `salesapp operator token`
and the console's API tokens page; checked at every call of the operator API
(salesapp.console.api).

A token is ``sop_`` and 43 URL-safe characters (256 random bits), stored as its SHA-256
hash with the same function as the workspaces' API tokens
(:func:`salesapp.api.services.token_hash`): nobody guesses 2**256 values, so a fast hash
is enough and the look-up is one indexed query. The ``sop_`` prefix tells it apart from
a workspace's ``sa_`` token at a glance (and in a leaked-secret scanner).

A token belongs to one operator and has a scope: ``read`` (GET only) or ``write``
(every call). A viewer may hold ``read`` tokens only; a token is also never more than
its operator's role allows at the time of the call. It works while it is not revoked,
not expired and its operator is not disabled, each checked at every call: a revocation
or a disabling takes effect at the next call. Making and revoking a token are recorded
in the operations log (``operator.token.create``, ``operator.token.revoke``), the
operator named in the detail; the token itself never is.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import or_, select, update

from ..accounts.throttle import normalise_login
from ..api.services import token_hash
from .catalog import Catalog
from .errors import NotFound, OperationError
from .models import OperationOutcome
from .operator_models import Operator, OperatorRole, OperatorToken, OperatorTokenScope

TOKEN_PREFIX = "sop_"
#: what a token can look like; anything else is refused before the catalog is asked
TOKEN_PATTERN = re.compile(r"^sop_[A-Za-z0-9_-]{40,60}$")
#: how many characters of a token are kept in clear, to tell tokens apart in lists
SHOWN_PREFIX = 10
MAX_LABEL_LENGTH = 100
MAX_EXPIRES_DAYS = 3650
#: last_used_at is written at most this often per token (one UPDATE, not one per call)
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
SCOPES = tuple(scope.value for scope in OperatorTokenScope)
SCOPE_DESCRIPTIONS = {
    OperatorTokenScope.READ: "GET only: list and show tenants, domains and jobs",
    OperatorTokenScope.WRITE: "every call: create, suspend, resume and delete tenants, "
    "domains, moves and backups (operators only, not viewers)",
}


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: ``plaintext`` is shown once by the caller and stored nowhere."""

    id: int
    operator: str
    scope: str
    label: str
    prefix: str
    plaintext: str
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class TokenHolder:
    """Who a token that authenticated acts for, and what it may do now."""

    token_id: int
    operator: str
    role: str
    scope: str  # the token's scope, narrowed to what the operator's role allows

    @property
    def can_write(self) -> bool:
        return self.scope == OperatorTokenScope.WRITE


@dataclass(frozen=True)
class TokenRefusal:
    """Why a token presented did not authenticate, in words for a 401 answer."""

    reason: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value else None


def _check_scope(scope: str) -> OperatorTokenScope:
    try:
        return OperatorTokenScope(scope)
    except ValueError:
        raise OperationError(
            f"unknown token scope {str(scope)[:40]!r}; give read or write"
        ) from None


def _check_label(label: str | None) -> str:
    label = (label or "").strip()
    if len(label) > MAX_LABEL_LENGTH:
        raise OperationError(
            f"a token label has at most {MAX_LABEL_LENGTH} characters ({len(label)} given)"
        )
    if "\x00" in label:
        raise OperationError("a token label must not contain NUL characters")
    return label


def _check_days(expires_days: int | None) -> int | None:
    if expires_days is None:
        return None
    if isinstance(expires_days, bool) or not isinstance(expires_days, int):
        raise OperationError("expires days must be a whole number of days")
    if not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise OperationError(
            f"a token expires in 1 to {MAX_EXPIRES_DAYS} days ({expires_days} given); "
            "leave it out for a token that never expires"
        )
    return expires_days


def _operator_named(session, name: str) -> Operator:
    """The operator called ``name`` (any case), or NotFound saying what to do."""
    login = normalise_login(name or "")
    operator = session.scalars(select(Operator).where(Operator.name == login)).first()
    if operator is None:
        raise NotFound(f"no operator named {login!r}; see `salesapp operator list`")
    return operator


def describe(token: OperatorToken, operator_name: str, now: dt.datetime | None = None) -> dict:
    """A token as `operator token list` and the console show it (never its hash)."""
    now = now or _now()
    if token.revoked_at is not None:
        state = "revoked"
    elif token.expires_at is not None and token.expires_at <= now:
        state = "expired"
    else:
        state = "active"
    return {
        "id": token.id,
        "operator": operator_name,
        "label": token.label,
        "prefix": token.prefix,
        "scope": token.scope,
        "state": state,
        "created_at": _iso(token.created_at),
        "last_used_at": _iso(token.last_used_at),
        "expires_at": _iso(token.expires_at),
        "revoked_at": _iso(token.revoked_at),
    }


def create_token(
    catalog: Catalog,
    operator_name: str,
    scope: str,
    *,
    label: str | None = None,
    expires_days: int | None = None,
) -> IssuedToken:
    """A new token of operator ``operator_name`` with ``scope`` (read or write), an
    optional ``label`` and an expiry ``expires_days`` from now (None: never). Refused
    (OperationError) for a disabled operator, a write token of a viewer, a bad scope,
    label or expiry; NotFound for an unknown operator. Logged as operator.token.create."""
    scope = _check_scope(scope)
    label = _check_label(label)
    expires_days = _check_days(expires_days)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with catalog.session() as session:
        operator = _operator_named(session, operator_name)
        if operator.is_disabled:
            raise OperationError(
                f"operator {operator.name!r} is disabled; a disabled operator's tokens do not "
                f"work (`salesapp operator enable {operator.name}` first)"
            )
        if scope == OperatorTokenScope.WRITE and operator.role != OperatorRole.OPERATOR:
            raise OperationError(
                f"operator {operator.name!r} is a viewer: a viewer may only hold read tokens "
                "(give --scope read)"
            )
        now = _now()
        token = OperatorToken(
            operator_id=operator.id,
            label=label,
            token_hash=token_hash(plaintext),
            prefix=plaintext[:SHOWN_PREFIX],
            scope=scope.value,
            expires_at=now + dt.timedelta(days=expires_days) if expires_days else None,
        )
        session.add(token)
        session.flush()
        issued = IssuedToken(
            token.id, operator.name, token.scope, label, token.prefix, plaintext, token.expires_at
        )
    catalog.record(
        "operator.token.create",
        OperationOutcome.OK,
        operator=issued.operator,
        token_id=issued.id,
        token_prefix=issued.prefix,
        scope=issued.scope,
        label=issued.label,
        expires_at=_iso(issued.expires_at),
    )
    return issued


def list_tokens(catalog: Catalog, operator_name: str | None = None) -> list[dict]:
    """Every token (of ``operator_name`` only, if given), newest first, revoked and
    expired ones included (their ``state`` says so). NotFound for an unknown operator."""
    with catalog.session() as session:
        query = select(OperatorToken, Operator.name).join(
            Operator, Operator.id == OperatorToken.operator_id
        )
        if operator_name is not None:
            operator = _operator_named(session, operator_name)
            query = query.where(OperatorToken.operator_id == operator.id)
        query = query.order_by(OperatorToken.created_at.desc(), OperatorToken.id.desc())
        now = _now()
        return [describe(token, name, now) for token, name in session.execute(query)]


def revoke_token(catalog: Catalog, token_id: int, *, operator_name: str | None = None) -> dict:
    """Revoke token ``token_id`` (of ``operator_name`` only, if given: an operator
    revokes their own; another's is "not found", so ids tell nothing). It stops working
    at its next call. Refused if revoked already. Logged as operator.token.revoke."""
    with catalog.session() as session:
        query = (
            select(OperatorToken, Operator.name)
            .join(Operator, Operator.id == OperatorToken.operator_id)
            .where(OperatorToken.id == token_id)
            .with_for_update(of=OperatorToken)
        )
        if operator_name is not None:
            query = query.where(Operator.name == normalise_login(operator_name))
        found = session.execute(query).first()
        if found is None:
            mine = " of yours" if operator_name is not None else ""
            raise NotFound(f"no API token{mine} with id {token_id}; see the token list")
        token, name = found
        if token.revoked_at is not None:
            raise OperationError(
                f"token {token.id} ({token.prefix}…) was revoked already, on "
                f"{token.revoked_at:%Y-%m-%d %H:%M} UTC"
            )
        token.revoked_at = _now()
        session.flush()
        info = describe(token, name)
    catalog.record(
        "operator.token.revoke",
        OperationOutcome.OK,
        operator=info["operator"],
        token_id=info["id"],
        token_prefix=info["prefix"],
        scope=info["scope"],
        label=info["label"],
    )
    return info


def holder_of(catalog: Catalog, plaintext: str | None) -> TokenHolder | TokenRefusal:
    """Who ``plaintext`` authenticates, or why it does not (malformed or unknown,
    revoked, expired, its operator disabled). Checked at every call, so a revocation or
    a disabling counts at once. The use is recorded at most once a minute per token."""
    if not plaintext or not TOKEN_PATTERN.match(plaintext):
        return TokenRefusal("The token is not a valid operator API token")
    with catalog.session() as session:
        found = session.execute(
            select(OperatorToken, Operator)
            .join(Operator, Operator.id == OperatorToken.operator_id)
            .where(OperatorToken.token_hash == token_hash(plaintext))
        ).first()
        if found is None:
            return TokenRefusal("The token is not a valid operator API token")
        token, operator = found
        if operator.is_disabled:  # (the disabling revoked it too: this says more)
            return TokenRefusal("This token's operator is disabled")
        if token.revoked_at is not None:
            return TokenRefusal(f"This token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC")
        now = _now()
        if token.expires_at is not None and token.expires_at <= now:
            return TokenRefusal(
                f"This token expired on {token.expires_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
            )
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            # conditional: concurrent calls with one token write once
            session.execute(
                update(OperatorToken)
                .where(
                    OperatorToken.id == token.id,
                    or_(
                        OperatorToken.last_used_at.is_(None),
                        OperatorToken.last_used_at <= now - LAST_USED_RESOLUTION,
                    ),
                )
                .values(last_used_at=now),
                execution_options={"synchronize_session": False},
            )
        scope = token.scope if operator.can_change else OperatorTokenScope.READ.value
        return TokenHolder(token.id, operator.name, operator.role, scope)
