"""What operators do with API tokens from the console: `salesapp tenant token`.

Like salesapp.operations.workspace's account tools, this reaches the tenant's store through
:func:`salesapp.operations.workspace.tenant_accounts`, that is through the door
(salesapp.operations.door: as the store's owner, bound to the tenant), and records the
operation in the catalog's log, without the token.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import and_, func, select, update

from ..accounts.models import User
from ..api.grants import NEVER, Scope
from ..api.models import ApiToken, expired
from ..api.services import SHOWN_PREFIX, TOKEN_PREFIX, ApiTokenService, TokenError, token_hash
from .catalog import Catalog
from .errors import OperationError
from .workspace import active_user, tenant_accounts


@dataclass(frozen=True)
class IssuedToken:
    slug: str
    username: str
    name: str
    prefix: str
    plaintext: str  # shown once by the caller, stored nowhere
    must_change_password: bool
    scope: str = Scope.FULL.value
    expires_at: dt.datetime | None = None  # None: never


def default_token_name() -> str:
    return f"issued by an operator on {dt.date.today().isoformat()}"


def issue_token(
    catalog: Catalog,
    slug: str,
    login: str,
    name: str | None = None,
    *,
    scope: str = Scope.FULL,
    lifetime: str = NEVER,
) -> IssuedToken:
    """A new API token for the active user ``login`` (username or e-mail) of tenant
    ``slug``, with ``scope`` and ``lifetime`` (salesapp.api.grants; the defaults are a
    token as it was before scopes, for scripts and tests; the console offers the tokens
    page's defaults). NotFound for an unknown tenant or user; OperationError for a
    deactivated user, a bad name, scope or lifetime (naming the console's option)."""
    name = default_token_name() if name is None else name
    with tenant_accounts(catalog, slug) as (tenant, accounts):
        user = active_user(
            tenant, accounts, login, why=", and a deactivated user's tokens do not work"
        )
        try:
            row, plaintext = ApiTokenService(accounts.db, tenant.id).create(
                user, name, scope, lifetime
            )
        except TokenError as exc:
            option = (exc.field or "name").replace("_", "-")
            raise OperationError(f"--{option}: {exc}") from None
        issued = IssuedToken(
            slug=tenant.slug,
            username=user.username,
            name=row.name,
            prefix=row.prefix,
            plaintext=plaintext,
            must_change_password=user.must_change_password,
            scope=row.scope,
            expires_at=row.expires_at.astimezone(dt.UTC) if row.expires_at else None,
        )
    catalog.record(
        "tenant.token",
        "ok",
        tenant_slug=issued.slug,
        username=issued.username,
        token_name=issued.name,
        token_prefix=issued.prefix,
        token_scope=issued.scope,
        token_expires_at=issued.expires_at.isoformat() if issued.expires_at else None,
    )
    return issued


@dataclass(frozen=True)
class RekeyedToken:
    """A token of a copied workspace under a new key: shown once by the caller."""

    username: str
    name: str
    plaintext: str


def rekey_tokens(session, tenant_id: int) -> tuple[list[RekeyedToken], int]:
    """Give every API token of a copied workspace (a restore, a clone) a new key, so that
    none of the source's tokens works on the copy; return (the new keys of the tokens
    that still work: active, unexpired tokens of active users, the number of the others,
    which get a key nobody knows and are marked revoked unless they expired).

    ``session`` is the copy's store session, bound to ``tenant_id``. The change is made
    with SQL in the copy's transaction (bulk UPDATE: the workspace's own audit trail
    stays as the source's; the catalog's operations log records the copy).
    """
    rows = session.execute(
        select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.revoked_at,
            ApiToken.expires_at,
            User.username,
            User.is_active,
        )
        .join(User, and_(User.tenant_id == ApiToken.tenant_id, User.id == ApiToken.user_id))
        .order_by(User.username, ApiToken.name, ApiToken.id)
    ).all()
    now = dt.datetime.now(dt.UTC)
    working, retired = [], 0
    for token_id, name, revoked_at, expires_at, username, user_active in rows:
        gone = expired(expires_at, now)
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        values = {
            "token_hash": token_hash(plaintext),
            "prefix": plaintext[:SHOWN_PREFIX],
            "last_used_at": None,
        }
        if revoked_at is None and user_active and not gone:
            working.append(RekeyedToken(username, name, plaintext))
        else:
            if not gone:  # an expired token stays marked expired
                values["revoked_at"] = revoked_at or func.now()
            retired += 1
        session.execute(
            update(ApiToken)
            .where(ApiToken.tenant_id == tenant_id, ApiToken.id == token_id)
            .values(**values),
            execution_options={"synchronize_session": False},
        )
    return working, retired
