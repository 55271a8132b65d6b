"""Account logic: password hashing, authentication with throttling, and the Admin's
user management (create, edit, reset a password) under the workspace's rules."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import uuid
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.recorder import record
from ..ids import uuid7
from . import totp
from .errors import AccountError
from .models import ROLE_NAMES, Role, SignInFailure, TwoFactor, User, UserRole
from .passwords import check_password_policy

#: consecutive wrong passwords (or second-factor codes) that lock an account, and for
#: how long
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
#: the window over which failed sign-ins from one address are counted
ADDRESS_WINDOW = dt.timedelta(minutes=15)
ADMIN_ROLE = "Admin"


class SignInThrottled(Exception):
    """Sign-in refused because of too many failed sign-ins, until ``until``."""

    #: what is throttled, in the message ("" for the account)
    source = ""

    def __init__(self, until: dt.datetime, now: dt.datetime):
        self.until = until
        self.minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        unit = "minute" if self.minutes == 1 else "minutes"
        super().__init__(
            f"Too many failed sign-ins{self.source}. Try again in {self.minutes} {unit}."
        )

    @property
    def retry_after(self) -> int:
        """Seconds, for the Retry-After header."""
        return self.minutes * 60


class AccountLocked(SignInThrottled):
    """The account is locked: ``MAX_FAILED_LOGINS`` failures in a row."""


class AddressThrottled(SignInThrottled):
    """The client's address made too many failed sign-ins, on any accounts."""

    source = " from your network address"


def make_password_hasher(settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
    )


#: for passwords the system generates (provisioning.generate_password: 96 random bits).
#: Key stretching protects guessable passwords; against 2**96 guesses it adds nothing, and
#: at the configured cost it was two thirds of a pooled tenant's creation time
#: (docs/benchmarks.md). The first sign-in rehashes at the configured cost.
GENERATED_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AccountService:
    """Users and roles of one tenant, on that tenant's session.

    ``max_users`` is the tenant's limit of active users; None (console tools, seeding)
    means the caller enforces its own rules.
    """

    def __init__(
        self,
        dbsession,
        tenant_id: int,
        hasher: PasswordHasher,
        max_users: int | None = None,
        *,
        max_failures_per_address: int = 20,
        secret_box=None,
    ):
        self.db = dbsession
        self.tenant_id = tenant_id
        self.hasher = hasher
        self.max_users = max_users
        self.max_failures_per_address = max_failures_per_address
        #: encrypts two-factor secrets (salesapp.security.two_factor_box)
        self.secret_box = secret_box
        # Verifying against this when no user matches costs the same time as a real
        # check, so response time does not tell which usernames exist.
        self._dummy_hash = None

    @classmethod
    def factory(cls, context, request):
        return cls(
            request.dbsession,
            request.tenant.id,
            request.registry.password_hasher,
            max_users=request.tenant.max_users,
            max_failures_per_address=(
                request.registry.salesapp_settings.max_failed_logins_per_address
            ),
            secret_box=request.registry.two_factor_box,
        )

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

    def users(self) -> list[User]:
        """Every user of the workspace, by username."""
        return list(self.db.scalars(select(User).order_by(User.username)))

    def active_user_count(self) -> int:
        return self.db.scalar(select(func.count()).select_from(User).where(User.is_active))

    # -- authentication --------------------------------------------------------------
    def authenticate(self, login: str, password: str, address: str = "") -> User | None:
        """The active user with this username or e-mail and password, else None.

        Raises :class:`AddressThrottled` while ``address`` has made too many failed
        sign-ins, and :class:`AccountLocked` while the account is locked (even for the
        right password) and at the failure that locks it: ``MAX_FAILED_LOGINS``
        consecutive failures lock it for ``LOCKOUT``. Counters are written on the
        request's session, so the caller must let the transaction commit although
        sign-in failed.

        The password alone signs in only a user without two-factor sign-in; for one with
        it, the caller asks for the code (:meth:`verify_code`) and only then calls
        :meth:`signed_in`. Until then the failure count stands, so wrong codes and a
        retyped password cannot take turns.
        """
        self.check_address(address)
        user = self.find_by_login(login)
        if user is None or not user.is_active:
            self._burn_time(password)
            self._count_address_failure(address)
            return None
        now = _now()
        self._check_lock(user, now, password, address)
        try:
            self.hasher.verify(user.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            self._count_failure(user, now, address)
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)
        if not self.has_two_factor(user):
            self.signed_in(user)
        return user

    def signed_in(self, user: User) -> None:
        """The sign-in is complete: a fresh count, and the time (the audit's sign-in)."""
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = _now()

    def _check_lock(self, user: User, now: dt.datetime, password: str, address: str) -> None:
        if user.locked_until is None:
            return
        if user.locked_until > now:
            self._burn_time(password)
            self._count_address_failure(address)
            raise AccountLocked(user.locked_until, now)
        # the lock has run out: a fresh series of attempts
        user.failed_logins = 0
        user.locked_until = None
        self.db.flush()

    def _count_failure(
        self, user: User, now: dt.datetime, address: str = "", action="auth.sign_in_failed"
    ) -> None:
        self._count_address_failure(address)
        # one UPDATE ... RETURNING, so concurrent wrong guesses cannot lose a count
        failures = self.db.execute(
            update(User)
            .where(User.tenant_id == self.tenant_id, User.id == user.id)
            .values(failed_logins=User.failed_logins + 1)
            .returning(User.failed_logins),
            execution_options={"synchronize_session": False},
        ).scalar_one()
        set_committed_value(user, "failed_logins", failures)
        record(self.db, action, f"user {user.username}", who=user, failures=failures)
        if failures >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            self.db.flush()
            raise AccountLocked(user.locked_until, now)

    # -- failed sign-ins per address -------------------------------------------------
    def check_address(self, address: str) -> None:
        """Raise :class:`AddressThrottled` while ``address`` has ``max_failures_per_address``
        failed sign-ins within ``ADDRESS_WINDOW``, whichever accounts they named."""
        limit = self.max_failures_per_address
        if limit <= 0:
            return
        now = _now()
        # the limit-th newest failure: once it leaves the window, the address may retry
        oldest_that_counts = self.db.scalar(
            select(SignInFailure.failed_at)
            .where(SignInFailure.address == address, SignInFailure.failed_at > now - ADDRESS_WINDOW)
            .order_by(SignInFailure.failed_at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        if oldest_that_counts is not None:
            raise AddressThrottled(oldest_that_counts + ADDRESS_WINDOW, now)

    def _count_address_failure(self, address: str) -> None:
        now = _now()
        self.db.execute(
            delete(SignInFailure).where(SignInFailure.failed_at <= now - ADDRESS_WINDOW),
            execution_options={"synchronize_session": False},
        )
        self.db.add(
            SignInFailure(tenant_id=self.tenant_id, id=uuid7(), address=address, failed_at=now)
        )
        self.db.flush()

    def _burn_time(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("not a real password")
        with contextlib.suppress(VerificationError, InvalidHashError):
            self.hasher.verify(self._dummy_hash, password or "")

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
        password_generated: bool = False,
    ) -> User:
        """A new user; ``password_generated`` says the password is one the system made
        (random, 96 bits), which is hashed at a low cost until the first sign-in."""
        username = username.strip().lower()
        email = email.strip().lower() if email else None
        self._check_roles(roles)
        self._check_unique(username=username, email=email)
        user = User(
            tenant_id=self.tenant_id,
            username=username,
            email=email,
            full_name=full_name,
            password_hash=(GENERATED_PASSWORD_HASHER if password_generated else self.hasher).hash(
                password
            ),
            must_change_password=must_change_password,
        )
        self.db.add(user)
        self.db.flush()
        self._set_roles(user, roles)
        return user

    def add_user(
        self,
        *,
        username: str,
        full_name: str,
        email: str | None,
        roles: Iterable[str],
        password: str,
    ) -> User:
        """An Admin creates a user with a temporary password, to be changed at the next
        sign-in. Refused (nothing written) past the workspace's max users."""
        roles = tuple(roles)
        if not roles:
            raise AccountError("Choose at least one role.", "roles")
        self._lock_users()
        self._check_room()
        check_password_policy(password, User(username=username.strip().lower(), email=email))
        return self.create_user(
            username=username,
            password=password,
            email=email,
            full_name=full_name,
            roles=roles,
            must_change_password=True,
        )

    def update_user(
        self,
        user: User,
        *,
        full_name: str,
        email: str | None,
        roles: Iterable[str],
        active: bool,
        actor: User | None = None,
    ) -> None:
        """An Admin (``actor``) edits a user. Every rule is checked before anything is
        written: at least one role; no Admin deactivates themselves or drops their own
        Admin role; the last active Admin stays an active Admin; reactivating respects
        max users; the e-mail stays unique."""
        roles = frozenset(roles)
        email = email.strip().lower() if email else None
        if not roles:
            raise AccountError("Choose at least one role.", "roles")
        self._check_roles(roles)
        self._lock_users()
        self.db.refresh(user)  # the locked, current state (another Admin may have acted)
        self.db.expire(user, ["roles"])
        loses_admin = ADMIN_ROLE in user.role_names and ADMIN_ROLE not in roles
        if actor is not None and actor.id == user.id:
            if not active:
                raise AccountError(
                    "You cannot deactivate your own account; another Admin must do it.",
                    "active",
                )
            if loses_admin:
                raise AccountError(
                    "You cannot remove your own Admin role; another Admin must do it.", "roles"
                )
        if user.is_active and ADMIN_ROLE in user.role_names and (loses_admin or not active):
            if self._other_active_admins(user) == 0:
                raise AccountError(
                    f"{user.username} is the last active Admin of this workspace; make "
                    "another user an Admin first.",
                    "roles" if active else "active",
                )
        if active and not user.is_active:
            self._check_room()
        self._check_unique(email=email, exclude=user)
        user.full_name = full_name
        user.email = email
        user.is_active = active
        self.db.flush()
        if roles != user.role_names:
            self.db.execute(
                delete(UserRole).where(
                    UserRole.tenant_id == self.tenant_id, UserRole.user_id == user.id
                ),
                execution_options={"synchronize_session": False},
            )
            self._set_roles(user, roles)

    def reset_password(self, user: User, password: str, *, actor: User | None = None) -> None:
        """An Admin gives ``user`` a temporary password, to be changed at the next
        sign-in; this also lifts a sign-in lock."""
        if actor is not None and actor.id == user.id:
            raise AccountError("Change your own password on the Change password page.", "password")
        check_password_policy(password, user)
        self.set_password(user, password, must_change=True)

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
        """A new password; a new password also ends any sign-in lock.

        A one-time password (``must_change``: an Admin's reset, the operator's
        ``tenant reset-password``) also turns two-factor sign-in off: it is how someone
        who lost their phone gets back in; they enrol again after signing in.
        """
        user.password_hash = self.hasher.hash(password)
        user.must_change_password = must_change
        user.failed_logins = 0
        user.locked_until = None
        if must_change:
            row = self.two_factor(user)
            if row is not None:
                if row.enabled_at is not None:
                    record(
                        self.db,
                        "auth.two_factor_disable",
                        f"user {user.username}",
                        reason="one-time password",
                    )
                self.db.delete(row)
                self.db.flush()

    # -- two-factor sign-in (TOTP) ---------------------------------------------------
    def two_factor(self, user: User) -> TwoFactor | None:
        """The user's two-factor row: enabled, or enrolment begun; None: never begun."""
        return self.db.get(TwoFactor, (self.tenant_id, user.id))

    def has_two_factor(self, user: User) -> bool:
        row = self.two_factor(user)
        return row is not None and row.enabled_at is not None

    def enrolment_secret(self, user: User, *, new: bool = False) -> str | None:
        """The secret of an enrolment begun and not yet confirmed (shown while the user
        sets up their app), a new one with ``new``; None once enabled: an enabled
        secret is never shown again."""
        row = self.two_factor(user)
        if row is not None and row.enabled_at is not None:
            return None
        if row is not None and not new:
            return self._decrypt(row.secret)
        secret = totp.new_secret()
        if row is None:
            row = TwoFactor(tenant_id=self.tenant_id, user_id=user.id)
            self.db.add(row)
        row.secret = self._encrypt(secret)
        row.last_step = None
        self.db.flush()
        return secret

    def confirm_two_factor(self, user: User, code: str) -> None:
        """Turn two-factor sign-in on with the first code of the user's app."""
        row = self.two_factor(user)
        if row is None or row.enabled_at is not None:
            raise AccountError("Start the set-up again: there is no set-up waiting.", "code")
        step = totp.matching_step(self._decrypt(row.secret), code)
        if step is None:
            raise AccountError(
                "That code is not right. Enter the 6 digits your app shows now; if it "
                "still fails, check that the phone's clock is set automatically.",
                "code",
            )
        row.enabled_at = _now()
        row.last_step = step
        record(self.db, "auth.two_factor_enable", f"user {user.username}")
        self.db.flush()

    def disable_two_factor(self, user: User, code: str) -> None:
        """Turn two-factor sign-in off with a current code (a wrong one counts as a
        failed sign-in: a borrowed session cannot guess its way to turning it off)."""
        row = self.two_factor(user)
        if row is None or row.enabled_at is None:
            raise AccountError("Two-factor sign-in is not on.", "code")
        if not self._take_code(user, row, code):
            raise AccountError("That code is not right; nothing was changed.", "code")
        record(self.db, "auth.two_factor_disable", f"user {user.username}")
        self.db.delete(row)
        self.db.flush()

    def verify_code(self, user: User, code: str, address: str = "") -> bool:
        """The second step of a sign-in: True (and signed in) for a right code.

        A wrong code counts like a wrong password, for the account and the address;
        raises :class:`AccountLocked` or :class:`AddressThrottled` as
        :meth:`authenticate` does. A code is taken once: the same code again (or an
        older one) is refused, though still within its 30 seconds.
        """
        self.check_address(address)
        row = self.two_factor(user)
        if row is None or row.enabled_at is None:
            return False
        if not self._take_code(user, row, code, address):
            return False
        self.signed_in(user)
        return True

    def _take_code(self, user: User, row: TwoFactor, code: str, address: str = "") -> bool:
        now = _now()
        self._check_lock(user, now, "", address)
        step = totp.matching_step(self._decrypt(row.secret), code, after=row.last_step)
        taken = (
            step is not None
            and self.db.execute(
                # one UPDATE: of two requests with the same code at once, only one takes it
                update(TwoFactor)
                .where(
                    TwoFactor.tenant_id == self.tenant_id,
                    TwoFactor.user_id == user.id,
                    or_(TwoFactor.last_step.is_(None), TwoFactor.last_step < step),
                )
                .values(last_step=step)
                .returning(TwoFactor.last_step),
                execution_options={"synchronize_session": False},
            ).first()
        )
        if not taken:
            self._count_failure(user, now, address, action="auth.two_factor_failed")
            return False
        set_committed_value(row, "last_step", step)
        return True

    def _encrypt(self, secret: str) -> str:
        return self.secret_box.encrypt(secret.encode()).decode()

    def _decrypt(self, token: str) -> str:
        return self.secret_box.decrypt(token.encode()).decode()

    # -- rules -----------------------------------------------------------------------
    def _lock_users(self) -> None:
        """Serialise user changes within the tenant (row locks on its roles), so two
        Admins acting at once cannot both pass the max-users or last-Admin check."""
        self.db.execute(select(Role.id).order_by(Role.id).with_for_update())

    def _check_room(self) -> None:
        if self.max_users is not None and self.active_user_count() >= self.max_users:
            raise AccountError(
                f"This workspace allows {self.max_users} active users; deactivate one or ask "
                "the operator to raise the limit."
            )

    def _check_roles(self, roles: Iterable[str]) -> None:
        unknown = sorted(set(roles) - set(ROLE_NAMES))
        if unknown:
            raise AccountError(
                f"unknown role {unknown[0]!r}; roles are {', '.join(ROLE_NAMES)}", "roles"
            )

    def _check_unique(
        self, *, username: str | None = None, email: str | None = None, exclude: User | None = None
    ) -> None:
        others = select(User.id)
        if exclude is not None:
            others = others.where(User.id != exclude.id)
        if username and self.db.scalar(others.where(User.username == username)) is not None:
            raise AccountError(f"username {username!r} is taken in this workspace", "username")
        if email and self.db.scalar(others.where(User.email == email)) is not None:
            raise AccountError(
                f"e-mail {email!r} belongs to another user of this workspace", "email"
            )

    def _other_active_admins(self, user: User) -> int:
        return self.db.scalar(
            select(func.count())
            .select_from(User)
            .join(UserRole, (UserRole.tenant_id == User.tenant_id) & (UserRole.user_id == User.id))
            .join(Role, (Role.tenant_id == UserRole.tenant_id) & (Role.id == UserRole.role_id))
            .where(Role.name == ADMIN_ROLE, User.is_active, User.id != user.id)
        )

    def _set_roles(self, user: User, roles: Iterable[str]) -> None:
        known = self.ensure_roles()
        for name in sorted(set(roles)):
            self.db.add(UserRole(tenant_id=self.tenant_id, user_id=user.id, role_id=known[name].id))
        self.db.flush()
        self.db.expire(user, ["roles"])
