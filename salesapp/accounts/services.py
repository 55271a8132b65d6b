"""Account logic: password hashing, authentication with throttling, and the Admin's
user management (create, edit, reset a password) under the workspace's rules.

Sign-in is throttled before any password is hashed (salesapp.accounts.throttle: per
address across the deployment, and per address and login as typed), and costs at most
one Argon2 run per failed attempt, within the process's hashing slots. An unknown login
is verified against one dummy hash per process made with the configured parameters,
and every stored password is hashed with those parameters too, so the time an answer
takes does not tell which usernames exist.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import uuid
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.recorder import record
from . import recovery, totp
from .errors import AccountError
from .models import ROLE_NAMES, Role, TwoFactor, User, UserRole
from .passwords import check_password_policy
from .throttle import (
    AccountLocked,
    AddressThrottled,
    LoginThrottled,
    SignInBusy,
    SignInThrottled,
    normalise_login,
)

__all__ = [
    "AccountError",
    "AccountLocked",
    "AccountService",
    "AddressThrottled",
    "LoginThrottled",
    "SignInBusy",
    "SignInThrottled",
]

#: consecutive wrong second-factor codes that stop the account's code step, and for
#: how long (only someone who has the password reaches that step)
MAX_FAILED_CODES = 5
CODE_LOCKOUT = dt.timedelta(minutes=15)
ADMIN_ROLE = "Admin"


def step_due(user: User) -> str | None:
    """What ``user`` must do before anything else, whatever the session: "password"
    (they have a one-time password), "two_factor" (an Admin the workspace requires
    two-factor sign-in of, not set up), or None (salesapp.security.required_step)."""
    if user.must_change_password:
        return "password"
    if ADMIN_ROLE in user.role_names and user.two_factor_due:
        return "two_factor"
    return None


def make_password_hasher(settings) -> PasswordHasher:
    """The deployment's hasher: every stored password is hashed with its parameters."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
    )


def verify_secret(hasher: PasswordHasher, gate, secret_hash: str, secret: str) -> bool:
    """One Argon2 verification of a password or PIN, within a hashing slot of the
    process (``gate``, a HashingGate; None: ungated, for console tools and tests)."""
    with gate.slot() if gate is not None else contextlib.nullcontext():
        try:
            return hasher.verify(secret_hash, secret or "")
        except (VerificationError, InvalidHashError):
            return False


def user_by_id(db, tenant_id: int, user_id) -> User | None:
    """The tenant's user with this id (any text), or None if it is not a user id."""
    try:
        key = uuid.UUID(str(user_id))
    except ValueError:
        return None
    return db.get(User, (tenant_id, key))


def dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with ``hasher``'s parameters that no password matches, made once per
    process and parameters: verifying an unknown login against it costs what a real
    check costs, and hashes nothing anew per request."""
    return _dummy_hash(
        hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len
    )


@functools.cache
def _dummy_hash(time_cost, memory_cost, parallelism, hash_len, salt_len) -> str:
    hasher = PasswordHasher(time_cost, memory_cost, parallelism, hash_len, salt_len)
    return hasher.hash(uuid.uuid4().hex)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AccountService:
    """Users and roles of one tenant, on that tenant's session.

    ``max_users`` is the tenant's limit of active users; None (console tools, seeding)
    means the caller enforces its own rules. ``throttle`` (a
    :class:`~salesapp.accounts.throttle.SignInThrottle`) and ``gate`` (a
    :class:`~salesapp.accounts.throttle.HashingGate`) are the process's, given by the
    web request; without them (console tools) sign-in is neither throttled nor gated.
    """

    def __init__(
        self,
        dbsession,
        tenant_id: int,
        hasher: PasswordHasher,
        max_users: int | None = None,
        *,
        throttle=None,
        gate=None,
        secret_box=None,
        workspace_words: tuple[str, ...] = (),
    ):
        self.db = dbsession
        self.tenant_id = tenant_id
        self.hasher = hasher
        self.max_users = max_users
        self.throttle = throttle
        self.gate = gate
        #: encrypts two-factor secrets (salesapp.security.two_factor_box)
        self.secret_box = secret_box
        #: the workspace's name and subdomain: a password built from them is guessable
        self.workspace_words = workspace_words

    @classmethod
    def factory(cls, context, request):
        registry = request.registry
        return cls(
            request.dbsession,
            request.tenant.id,
            registry.password_hasher,
            max_users=request.tenant.max_users,
            throttle=registry.sign_in_throttle,
            gate=registry.hashing_gate,
            secret_box=registry.two_factor_box,
            workspace_words=(request.tenant.name, request.tenant.slug),
        )

    # -- queries ---------------------------------------------------------------------
    def get_user(self, user_id) -> User | None:
        return user_by_id(self.db, self.tenant_id, user_id)

    def find_by_login(self, login: str) -> User | None:
        login = normalise_login(login)
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

        Raises :class:`AddressThrottled` or :class:`LoginThrottled` while ``address``
        must wait (checked before any hashing, and alike for known and unknown logins),
        :class:`SignInBusy` when the process's hashing slots are taken. A failure is
        counted for the address and the login as typed; a wrong password never locks
        the account itself, so a stranger cannot keep its user out.

        The password alone signs in only a user without two-factor sign-in; for one with
        it, the caller asks for the code (:meth:`verify_code`) and only then calls
        :meth:`signed_in`.
        """
        login = normalise_login(login)
        self._check_throttle(address, login)
        user = self.find_by_login(login)
        known = user is not None and user.is_active
        if not self._verify(user.password_hash if known else dummy_hash(self.hasher), password):
            self._failed(address, login, user if known else None)
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            with self._hashing():
                user.password_hash = self.hasher.hash(password)
        if not self.has_two_factor(user):
            self.signed_in(user, address)
        return user

    def signed_in(self, user: User, address: str = "") -> None:
        """The sign-in is complete: a fresh count of codes and of the address's failures
        for the account, and the time (the audit's sign-in)."""
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = _now()
        if self.throttle is not None:
            self.throttle.succeeded(address, self.tenant_id, (user.username, user.email))

    def _check_throttle(self, address: str, login: str) -> None:
        if self.throttle is not None:
            self.throttle.check(address, self.tenant_id, login)

    def _hashing(self):
        """A hashing slot of the process (SignInBusy if none comes free in time)."""
        return self.gate.slot() if self.gate is not None else contextlib.nullcontext()

    def _verify(self, password_hash: str, password: str) -> bool:
        return verify_secret(self.hasher, self.gate, password_hash, password)

    def _failed(self, address: str, login: str, user: User | None) -> None:
        """Count a wrong password (or an unknown login) for the address and the login;
        a known user's failure goes to the audit trail with the count."""
        failures = None
        if self.throttle is not None:
            failures = self.throttle.failed(address, self.tenant_id, login)
        if user is not None:
            record(
                self.db, "auth.sign_in_failed", f"user {user.username}", who=user, failures=failures
            )

    def _check_code_lock(self, user: User, now: dt.datetime) -> None:
        """Refuse codes while the account's code step is locked; a lock that has run
        out starts a fresh series."""
        if user.locked_until is None:
            return
        if user.locked_until > now:
            raise AccountLocked(user.locked_until - now)
        user.failed_logins = 0
        user.locked_until = None
        self.db.flush()

    def _count_code_failure(self, user: User, now: dt.datetime, address: str) -> None:
        """A wrong second-factor code: counted for the address (as a failed sign-in)
        and for the account, whose code step is locked for CODE_LOCKOUT at
        MAX_FAILED_CODES in a row: six-digit codes cannot be guessed from many
        addresses either."""
        if self.throttle is not None:
            self.throttle.failed(address, self.tenant_id, user.username)
        # one UPDATE ... RETURNING, so concurrent wrong guesses cannot lose a count
        failures = self.db.execute(
            update(User)
            .where(User.tenant_id == self.tenant_id, User.id == user.id)
            .values(failed_logins=User.failed_logins + 1)
            .returning(User.failed_logins),
            execution_options={"synchronize_session": False},
        ).scalar_one()
        set_committed_value(user, "failed_logins", failures)
        record(
            self.db, "auth.two_factor_failed", f"user {user.username}", who=user, failures=failures
        )
        if failures >= MAX_FAILED_CODES:
            user.locked_until = now + CODE_LOCKOUT
            self.db.flush()
            raise AccountLocked(CODE_LOCKOUT)

    def end_sessions(self, user: User) -> None:
        """End every session of ``user`` (sign-out, a new password, deactivation, new
        roles): sessions name the generation they began in (salesapp.security)."""
        generation = self.db.execute(
            update(User)
            .where(User.tenant_id == self.tenant_id, User.id == user.id)
            .values(session_generation=User.session_generation + 1)
            .returning(User.session_generation),
            execution_options={"synchronize_session": False},
        ).scalar_one()
        set_committed_value(user, "session_generation", generation)

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
        """A new user, the password hashed with the configured parameters like every
        other (a cheaper hash would make the account's sign-in answer faster, telling
        that it exists and was never used)."""
        username = username.strip().lower()
        email = email.strip().lower() if email else None
        self._check_roles(roles)
        self._check_unique(username=username, email=email)
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
        check_password_policy(
            password,
            User(username=username.strip().lower(), email=email, full_name=full_name),
            related=self.workspace_words,
        )
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
        max users; the e-mail stays unique.

        Deactivating the user or changing their roles ends every session of theirs
        (the view revokes a deactivated user's API tokens too), so a session of before
        cannot act with what they no longer are."""
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
            self._check_own_edit(active, loses_admin)
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
        if roles != user.role_names or (user.is_active and not active):
            self.end_sessions(user)
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

    @staticmethod
    def _check_own_edit(active: bool, loses_admin: bool) -> None:
        """An Admin editing themselves keeps their account active and Admin."""
        if not active:
            raise AccountError(
                "You cannot deactivate your own account; another Admin must do it.", "active"
            )
        if loses_admin:
            raise AccountError(
                "You cannot remove your own Admin role; another Admin must do it.", "roles"
            )

    def reset_password(self, user: User, password: str, *, actor: User | None = None) -> None:
        """An Admin gives ``user`` a temporary password, to be changed at the next
        sign-in; this also lifts a sign-in lock."""
        if actor is not None and actor.id == user.id:
            raise AccountError("Change your own password on the Change password page.", "password")
        check_password_policy(password, user, related=self.workspace_words)
        self.set_password(user, password, must_change=True)

    def change_password(self, user: User, current: str, new: str, confirm: str) -> None:
        """A user's own change: the current password, then a new one twice. Every
        session of the user ends; the caller starts a new one for the browser that
        made the change."""
        try:
            self.hasher.verify(user.password_hash, current or "")
        except (VerificationError, InvalidHashError):
            raise AccountError("The current password is wrong.") from None
        if new != confirm:
            raise AccountError("The new password and its repetition differ.")
        check_password_policy(new, user, related=self.workspace_words)
        if new == current:
            raise AccountError("Choose a new password, not the current one.")
        self.set_password(user, new)

    def set_password(self, user: User, password: str, *, must_change: bool = False) -> None:
        """A new password; it ends every session of the user (a stolen cookie included)
        and any lock of the code step.

        A one-time password (``must_change``: an Admin's reset, the operator's
        ``tenant reset-password``) also turns two-factor sign-in off: it is how someone
        who lost their phone gets back in; they enrol again after signing in.
        """
        user.password_hash = self.hasher.hash(password)
        user.must_change_password = must_change
        user.failed_logins = 0
        user.locked_until = None
        self.end_sessions(user)
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
                recovery.discard(self.db, self.tenant_id, user)
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

    def confirm_two_factor(self, user: User, code: str) -> list[str]:
        """Turn two-factor sign-in on with the first code of the user's app; returns
        the user's recovery codes, to be shown this once."""
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
        return recovery.new_set(self.db, self.tenant_id, user)

    def new_recovery_codes(self, user: User, code: str, address: str = "") -> list[str]:
        """A new set of recovery codes (the old ones void), given a current code of the
        app: a borrowed session cannot make itself a way in. A wrong code counts as a
        failed sign-in from ``address``."""
        row = self.two_factor(user)
        if row is None or row.enabled_at is None:
            raise AccountError("Two-factor sign-in is not on.", "code")
        if not self._take_code(user, row, code, address):
            raise AccountError(
                "That code is not right; your recovery codes were not changed.", "code"
            )
        record(self.db, "auth.recovery_codes_new", f"user {user.username}")
        return recovery.new_set(self.db, self.tenant_id, user)

    def recovery_codes_left(self, user: User) -> int:
        """How many of the user's recovery codes are unused."""
        return recovery.unused(self.db, self.tenant_id, user)

    def disable_two_factor(self, user: User, code: str, address: str = "") -> None:
        """Turn two-factor sign-in off with a current code (a wrong one counts as a
        failed sign-in from ``address``: a borrowed session cannot guess its way to
        turning it off)."""
        row = self.two_factor(user)
        if row is None or row.enabled_at is None:
            raise AccountError("Two-factor sign-in is not on.", "code")
        if not self._take_code(user, row, code, address):
            raise AccountError("That code is not right; nothing was changed.", "code")
        record(self.db, "auth.two_factor_disable", f"user {user.username}")
        self.db.delete(row)
        recovery.discard(self.db, self.tenant_id, user)
        self.db.flush()

    def verify_code(self, user: User, code: str, address: str = "") -> bool:
        """The second step of a sign-in: True (and signed in) for a right code.

        A wrong code counts as a failed sign-in for the address, and for the account:
        :class:`AccountLocked` at MAX_FAILED_CODES wrong codes in a row (and while
        locked), :class:`AddressThrottled` while the address must wait. A code is taken
        once: the same code again (or an older one) is refused, though still within its
        30 seconds. One of the user's recovery codes counts as a code, once.
        """
        self._check_throttle(address, user.username)
        row = self.two_factor(user)
        if row is None or row.enabled_at is None:
            return False
        if recovery.looks_like_code(code):
            if not self._take_recovery_code(user, code, address):
                return False
        elif not self._take_code(user, row, code, address):
            return False
        self.signed_in(user, address)
        return True

    def _take_recovery_code(self, user: User, code: str, address: str) -> bool:
        """Use up one of the user's recovery codes; a wrong one counts as a wrong code."""
        now = _now()
        self._check_code_lock(user, now)
        if not recovery.take(self.db, self.tenant_id, user, code):
            self._count_code_failure(user, now, address)
            return False
        record(
            self.db,
            "auth.recovery_code_used",
            f"user {user.username}",
            who=user,
            left=recovery.unused(self.db, self.tenant_id, user),
        )
        return True

    def _take_code(self, user: User, row: TwoFactor, code: str, address: str = "") -> bool:
        now = _now()
        self._check_code_lock(user, now)
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
            self._count_code_failure(user, now, address)
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
