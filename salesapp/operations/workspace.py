"""What a tenant's workspace starts with, the operators' account tools, and the
development demo tenants.

This module joins the tenancy machinery to the business domains: provisioning calls
:func:`seed` by dotted name, so ``salesapp.tenancy`` never imports a business domain.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from ..accounts.models import ROLE_NAMES, Role, TwoFactor, User, UserRole
from ..accounts.services import AccountService, make_password_hasher
from ..locations.models import Location
from ..preferences.models import WorkspaceSettings
from ..tenancy.directory import StoreKind
from . import door, provisioning
from .catalog import Catalog
from .errors import NotFound, OperationError

log = logging.getLogger(__name__)

DEMO_TENANTS = (
    ("demo", "Demo Traders", StoreKind.POOLED),
    ("acme", "Acme Supplies", StoreKind.DEDICATED),
)
DEMO_STAFF = (
    ("manager", "Maria Manager", "Managers"),
    ("cashier", "Carl Cashier", "Cashiers"),
)


def seed(
    session,
    tenant_id,
    *,
    admin_username,
    admin_email,
    admin_password,
    settings,
    multi_location=False,
    demo_data=False,
):
    """Roles, the admin (with the Admin role) and the default location of a new tenant;
    with ``demo_data``, demo staff (a second location for multi-location tenants) and a
    few months of demo catalogue, stock, customers, expenses and sales (salesapp.operations.demo).

    Returns the (username, one-time password) of each demo staff member, for the caller
    to show once: they are stored only hashed and must be changed at the first sign-in."""
    accounts = AccountService(session, tenant_id, make_password_hasher(settings))
    accounts.ensure_roles()
    accounts.create_user(
        username=admin_username,
        email=admin_email,
        password=admin_password,
        full_name="Administrator",
        roles=("Admin",),
    )
    session.add(Location(tenant_id=tenant_id, name="Main", is_default=True))
    session.add(WorkspaceSettings(tenant_id=tenant_id))
    one_time = []
    if demo_data:
        for username, full_name, role in DEMO_STAFF:
            password = provisioning.generate_password()
            accounts.create_user(
                username=username,
                password=password,
                full_name=full_name,
                roles=(role,),
                must_change_password=True,
            )
            one_time.append((username, password))
        if multi_location:
            session.add(Location(tenant_id=tenant_id, name="Warehouse"))
        session.flush()
        from .demo import generate

        generate(session, tenant_id, seed=tenant_id)
    session.flush()
    return one_time


@contextmanager
def tenant_accounts(catalog: Catalog, slug: str):
    """(tenant, AccountService) on the tenant's store, in one transaction as the owner
    (salesapp.operations.door); ``tenant`` is its catalog row."""
    with catalog.session() as session:
        tenant = catalog.tenant(session, slug)
        _, store = catalog.placement(session, tenant)
    where = door.TenantAddress(tenant.id, store.name)
    with door.tenant_session(catalog, where) as db:
        yield tenant, AccountService(db, tenant.id, make_password_hasher(catalog.settings))


def _user_row(user: User) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "full_name": user.full_name,
        "roles": sorted(user.role_names),
        "active": user.is_active,
        "must_change_password": user.must_change_password,
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


def check_users(catalog: Catalog, slug: str, *, fix=False) -> dict:
    """List a tenant's users and roles and check them: the roles exist, the admin exists,
    is active and has the Admin role, the active users fit max-users. With ``fix``,
    repair: create missing roles, reactivate the admin and give it Admin, and deactivate
    the most recently created non-admin users beyond max-users. ``problems`` in the
    result is what remains wrong afterwards (``found`` what was found before repairs).
    """
    problems, repairs = [], []
    with tenant_accounts(catalog, slug) as (tenant, accounts):
        db = accounts.db
        roles = {r.name for r in db.scalars(select(Role))}
        missing = [name for name in ROLE_NAMES if name not in roles]
        if missing:
            problems.append(f"roles missing: {', '.join(missing)}")
            if fix:
                accounts.ensure_roles()
                repairs.append(f"created roles {', '.join(missing)}")
        users = db.scalars(select(User).order_by(User.created_at, User.username)).all()
        admin = next((u for u in users if u.email == tenant.admin_email), None) or next(
            (u for u in users if u.username == "admin"), None
        )
        if admin is None:
            problems.append(f"no admin user (username admin or e-mail {tenant.admin_email})")
        else:
            if not admin.is_active:
                problems.append(f"admin {admin.username!r} is deactivated")
                if fix:
                    admin.is_active = True
                    repairs.append(f"reactivated {admin.username!r}")
            if "Admin" not in admin.role_names:
                problems.append(f"admin {admin.username!r} lacks the Admin role")
                if fix:
                    role = accounts.ensure_roles()["Admin"]
                    db.add(UserRole(tenant_id=tenant.id, user_id=admin.id, role_id=role.id))
                    db.flush()
                    db.expire(admin, ["roles"])
                    repairs.append(f"gave {admin.username!r} the Admin role")
        active = [u for u in users if u.is_active]
        if len(active) > tenant.max_users:
            excess = len(active) - tenant.max_users
            problems.append(f"{len(active)} active users exceed max-users {tenant.max_users}")
            if fix:
                newest = [u for u in reversed(active) if u is not admin][:excess]
                for user in newest:
                    user.is_active = False
                repairs.append("deactivated " + ", ".join(repr(u.username) for u in newest))
        db.flush()
        rows = [_user_row(u) for u in users]
        slug, max_users = tenant.slug, tenant.max_users
    remaining = problems
    if fix:
        if repairs:
            catalog.record("tenant.users.fix", "ok", tenant_slug=slug, repairs=repairs)
        # what --fix could not repair (e.g. no admin at all) is still a problem
        after = check_users(catalog, slug)
        remaining, rows = after["problems"], after["users"]
    return {
        "slug": slug,
        "max_users": max_users,
        "users": rows,
        "problems": remaining,
        "found": problems,
        "repairs": repairs,
    }


def active_user(tenant, accounts: AccountService, login: str, why: str = "") -> User:
    """The active user ``login`` (username or e-mail) of the tenant, for an operator's
    command: NotFound if there is none, OperationError if it is deactivated (``why``
    says what that means for the command)."""
    user = accounts.find_by_login(login)
    if user is None:
        raise NotFound(
            f"no user {login!r} in tenant {tenant.slug!r}; see `salesapp tenant users "
            f"{tenant.slug}`"
        )
    if not user.is_active:
        raise OperationError(
            f"user {user.username!r} is deactivated{why}; an Admin of the workspace must "
            "reactivate it first"
        )
    return user


def reset_password(catalog: Catalog, slug: str, login: str) -> str:
    """Give a user a one-time password, to be changed at the next sign-in; return it."""
    password = provisioning.generate_password()
    with tenant_accounts(catalog, slug) as (tenant, accounts):
        user = active_user(tenant, accounts, login)
        accounts.set_password(user, password, must_change=True)
        slug, username = tenant.slug, user.username
    catalog.record("tenant.reset-password", "ok", tenant_slug=slug, username=username)
    return password


@dataclass(frozen=True)
class NewCredentials:
    """What the users and integrations of a copied workspace (a restore, a clone) get
    instead of the source's: shown once by the caller, stored only hashed."""

    #: (username, one-time password) of every active user, changed at the first sign-in
    passwords: tuple[tuple[str, str], ...]
    #: the active API tokens under new keys (salesapp.operations.tokens.RekeyedToken)
    tokens: tuple
    #: deactivated users: a new password nobody knows (an Admin resets it on reactivating)
    deactivated: tuple[str, ...]
    #: tokens that did not work in the source (revoked, or of a deactivated user): a new
    #: key nobody knows, marked revoked
    tokens_retired: int

    def lines(self) -> list[str]:
        """What to tell the operator, who hands the passwords and tokens out."""
        lines = ["  New credentials (the source's passwords and API tokens do not work here):"]
        width = max((len(name) for name, _ in self.passwords), default=0)
        for username, password in self.passwords:
            lines.append(f"    {username:<{width}}  {password}   (one-time password)")
        for token in self.tokens:
            lines.append(f"    API token {token.name!r} of {token.username}: {token.plaintext}")
        if self.deactivated:
            lines.append(
                "    Deactivated users get no password: "
                + ", ".join(self.deactivated)
                + " (an Admin resets it when reactivating them)"
            )
        if self.tokens_retired:
            lines.append(
                f"    {self.tokens_retired} API tokens that did not work in the source (revoked, "
                "or of a deactivated user) stay revoked"
            )
        lines.append(
            "  Shown once: hand them out now. Each password must be changed at the first "
            "sign-in; a user's API tokens work once that is done."
        )
        return lines


def renew_credentials(session, tenant_id: int, settings) -> NewCredentials:
    """Give a copied workspace credentials of its own: a one-time password for every user
    (the source's password hashes do not carry over; two-factor enrolments go, as with
    any one-time password) and new keys for its API tokens
    (salesapp.operations.tokens.rekey_tokens). A production credential then opens
    nothing in a training copy.

    ``session`` is the copy's store session bound to ``tenant_id``, in the transaction
    that loaded it: the copy appears with its new credentials or not at all. Bulk SQL,
    so the copy's own audit trail and row counts stay the source's.
    """
    from .tokens import rekey_tokens

    hasher = make_password_hasher(settings)  # as every stored password (no cheaper hash)
    passwords, deactivated = [], []
    users = session.execute(
        select(User.id, User.username, User.is_active).order_by(User.username)
    ).all()
    for user_id, username, active in users:
        password = provisioning.generate_password()
        session.execute(
            update(User)
            .where(User.tenant_id == tenant_id, User.id == user_id)
            .values(
                password_hash=hasher.hash(password),
                must_change_password=True,
                failed_logins=0,
                locked_until=None,
            ),
            execution_options={"synchronize_session": False},
        )
        if active:
            passwords.append((username, password))
        else:
            deactivated.append(username)
    session.execute(
        delete(TwoFactor).where(TwoFactor.tenant_id == tenant_id),
        execution_options={"synchronize_session": False},
    )
    tokens, retired = rekey_tokens(session, tenant_id)
    return NewCredentials(
        passwords=tuple(passwords),
        tokens=tuple(tokens),
        deactivated=tuple(deactivated),
        tokens_retired=retired,
    )


def ensure_demo_tenants(settings, port: int | str = 6543) -> list[tuple[str, str, str, str]]:
    """Create the demo tenants if missing; give each admin a fresh generated password.

    Returns (url, username, password, kind) per demo tenant; the caller prints it once.
    """
    catalog = Catalog(settings)
    base = settings.base_domains[0]
    shown = []
    try:
        for slug, name, kind in DEMO_TENANTS:
            password = provisioning.generate_password()
            try:
                with tenant_accounts(catalog, slug) as (_, accounts):
                    admin = accounts.find_by_login("admin")
                    if admin is not None:
                        accounts.set_password(admin, password)
            except NotFound:
                provisioning.create_tenant(
                    catalog,
                    provisioning.TenantRequest(
                        name=name,
                        slug=slug,
                        admin_email=f"admin@{slug}.example.com",
                        placement=kind,
                        admin_password=password,
                        multi_location=kind == StoreKind.DEDICATED,
                        demo_data=True,
                    ),
                )
            shown.append((f"http://{slug}.{base}:{port}/", "admin", password, kind))
    finally:
        catalog.dispose()
    return shown
