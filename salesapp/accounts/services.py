"""Account logic: password hashing, authentication, user and role creation."""

from __future__ import annotations

import datetime as dt
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select

from .models import ROLE_NAMES, Role, User, UserRole


class AccountError(ValueError):
    """A refused account change; the message says what was wrong and what to do."""


def make_password_hasher(settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
    )


MIN_PASSWORD_LENGTH = 10


def check_password_policy(password: str, user: User | None = None) -> None:
    """At least 10 characters, at most 200, and not the username or e-mail."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > 200:
        raise AccountError("A password may have at most 200 characters.")
    if user is not None and password.lower() in {user.username, (user.email or "").lower()}:
        raise AccountError("A password must not be your username or e-mail.")


class AccountService:
    """Users and roles of one tenant, on that tenant's session."""

    def __init__(self, dbsession, tenant_id: int, hasher: PasswordHasher):
        self.db = dbsession
        self.tenant_id = tenant_id
        self.hasher = hasher
        # Verifying against this when no user matches costs the same time as a real
        # check, so response time does not tell which usernames exist.
        self._dummy_hash = None

    @classmethod
    def factory(cls, context, request):
        return cls(request.dbsession, request.tenant.id, request.registry.password_hasher)

    # -- queries ---------------------------------------------------------------------
    def get_user(self, user_id) -> User | None:
        try:
            key = uuid.UUID(str(user_id))
        except ValueError:
            return None
        return self.db.get(User, (self.tenant_id, key))

    def find_by_login(self, login: str) -> User | None:
        login = (login or "").strip().lower()
        if not login:
            return None
        return self.db.scalars(
            select(User).where(or_(User.username == login, User.email == login))
        ).first()

    def user_count(self) -> int:
        return self.db.scalar(select(func.count()).select_from(User))

    # -- authentication --------------------------------------------------------------
    def authenticate(self, login: str, password: str) -> User | None:
        """The active user with this username or e-mail and password, else None."""
        user = self.find_by_login(login)
        if user is None or not user.is_active:
            self._burn_time(password)
            return None
        try:
            self.hasher.verify(user.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)
        user.last_login_at = dt.datetime.now(dt.UTC)
        return user

    def _burn_time(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("not a real password")
        try:
            self.hasher.verify(self._dummy_hash, password or "")
        except (VerificationError, InvalidHashError):
            pass

    # -- changes ---------------------------------------------------------------------
    def ensure_roles(self) -> dict[str, Role]:
        existing = {r.name: r for r in self.db.scalars(select(Role))}
        for name in ROLE_NAMES:
            if name not in existing:
                existing[name] = Role(tenant_id=self.tenant_id, name=name)
                self.db.add(existing[name])
        self.db.flush()
        return existing

    def create_user(
        self,
        *,
        username: str,
        password: str,
        email: str | None = None,
        full_name: str = "",
        roles: tuple[str, ...] = (),
        must_change_password: bool = False,
    ) -> User:
        username = username.strip().lower()
        email = email.strip().lower() if email else None
        if self.db.scalar(select(User.id).where(User.username == username)) is not None:
            raise AccountError(f"username {username!r} is taken in this workspace")
        if email and self.db.scalar(select(User.id).where(User.email == email)) is not None:
            raise AccountError(f"e-mail {email!r} belongs to another user of this workspace")
        user = User(
            tenant_id=self.tenant_id,
            username=username,
            email=email,
            full_name=full_name,
            password_hash=self.hasher.hash(password),
            must_change_password=must_change_password,
        )
        self.db.add(user)
        self.db.flush()
        known = self.ensure_roles()
        for name in roles:
            if name not in known:
                raise AccountError(f"unknown role {name!r}; roles are {', '.join(ROLE_NAMES)}")
            self.db.add(UserRole(tenant_id=self.tenant_id, user_id=user.id, role_id=known[name].id))
        self.db.flush()
        self.db.expire(user, ["roles"])
        return user

    def change_password(self, user: User, current: str, new: str, confirm: str) -> None:
        """A user's own change: the current password, then a new one twice."""
        try:
            self.hasher.verify(user.password_hash, current or "")
        except (VerificationError, InvalidHashError):
            raise AccountError("The current password is wrong.") from None
        if new != confirm:
            raise AccountError("The new password and its repetition differ.")
        check_password_policy(new, user)
        if new == current:
            raise AccountError("Choose a new password, not the current one.")
        self.set_password(user, new)

    def set_password(self, user: User, password: str, *, must_change: bool = False) -> None:
        user.password_hash = self.hasher.hash(password)
        user.must_change_password = must_change
