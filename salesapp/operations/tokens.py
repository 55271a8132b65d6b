"""What operators do with API tokens from the console: `salesapp tenant token`.

Like salesapp.operations.workspace's account tools, this reaches the tenant's store through
:func:`salesapp.operations.workspace.tenant_accounts`, that is through the door
(salesapp.operations.door: as the store's owner, bound to the tenant), and records the
operation in the catalog's log, without the token.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..api.services import ApiTokenService, TokenError
from .catalog import Catalog
from .errors import NotFound, OperationError
from .workspace import tenant_accounts


@dataclass(frozen=True)
class IssuedToken:
    slug: str
    username: str
    name: str
    prefix: str
    plaintext: str  # shown once by the caller, stored nowhere
    must_change_password: bool


def default_token_name() -> str:
    return f"issued by an operator on {dt.date.today().isoformat()}"


def issue_token(catalog: Catalog, slug: str, login: str, name: str | None = None) -> IssuedToken:
    """A new API token for the active user ``login`` (username or e-mail) of tenant
    ``slug``. NotFound for an unknown tenant or user; OperationError for a deactivated
    user or a bad name."""
    name = default_token_name() if name is None else name
    with tenant_accounts(catalog, slug) as (tenant, accounts):
        user = accounts.find_by_login(login)
        if user is None:
            raise NotFound(
                f"no user {login!r} in tenant {tenant.slug!r}; see `salesapp tenant users "
                f"{tenant.slug}`"
            )
        if not user.is_active:
            raise OperationError(
                f"user {user.username!r} is deactivated, and a deactivated user's tokens do "
                "not work; an Admin of the workspace must reactivate it first"
            )
        try:
            row, plaintext = ApiTokenService(accounts.db, tenant.id).create(user, name)
        except TokenError as exc:
            raise OperationError(f"--name: {exc}") from None
        issued = IssuedToken(
            slug=tenant.slug,
            username=user.username,
            name=row.name,
            prefix=row.prefix,
            plaintext=plaintext,
            must_change_password=user.must_change_password,
        )
    catalog.record(
        "tenant.token",
        "ok",
        tenant_slug=issued.slug,
        username=issued.username,
        token_name=issued.name,
        token_prefix=issued.prefix,
    )
    return issued
