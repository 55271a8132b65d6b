"""Staff PINs: a short number that switches the cashier of a shared till and approves a
discount over the cap, without a full sign-in (issue 17).

A PIN is 4 to 8 ASCII digits, refused when trivially weak (one digit repeated, a
straight run up or down such as 1234 or 9876, a repeated pair such as 1212). It is
stored hashed with the deployment's Argon2 hasher, the one passwords use
(``registry.password_hasher``), and never shown.

Guessing is bounded by the sign-in throttle (salesapp.accounts.throttle): a wrong PIN is
a failed sign-in of the address under the login ``pin:<user id>``, so the address's
deployment-wide allowance shrinks, and after FREE_FAILURES wrong PINs for one user from
one address each further try waits longer (1, 2, 4 ... up to 15 minutes). The account
itself is never locked: a stranger at another till cannot keep its owner out. Every
check, a user without a PIN or an unknown id included, costs one Argon2 run (the dummy
hash when there is nothing to compare with), so the time an answer takes does not tell
who has a PIN.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from argon2 import PasswordHasher
from sqlalchemy import delete, select

from ..audit.recorder import record
from .errors import AccountError
from .models import User, UserPin
from .services import dummy_hash, user_by_id, verify_secret
from .throttle import LoginThrottled

MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 8
#: who may approve what a Cashier may not do alone (a discount over the cap)
APPROVERS = frozenset({"Admin", "Managers"})


class PinThrottled(LoginThrottled):
    """Too many wrong PINs for one user from this address: wait (429, Retry-After)."""

    def __init__(self, wait: dt.timedelta):
        super().__init__(wait)
        unit = "minute" if self.minutes == 1 else "minutes"
        self.args = (f"Too many wrong PINs for this person. Try again in {self.minutes} {unit}.",)


def throttle_key(user_id) -> str:
    """The login wrong PINs are counted under: one per user, apart from their sign-in."""
    return f"pin:{user_id}"


def _straight(digits: str) -> bool:
    """Each digit one more (or each one less) than the one before, 9 to 0 wrapping:
    1234, 7890, 4321, 0987."""
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(digits)}
    return steps in ({1}, {9})


def check_pin(pin: str) -> str:
    """``pin`` if it may be a PIN, else AccountError on the ``pin`` field saying why."""
    pin = pin or ""
    if not (pin.isascii() and pin.isdigit()):
        raise AccountError("A PIN is digits 0-9 only.", "pin")
    if not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise AccountError(
            f"A PIN has {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits (this one has {len(pin)}).",
            "pin",
        )
    if len(set(pin)) == 1 or _straight(pin) or pin == (pin[:2] * len(pin))[: len(pin)]:
        raise AccountError(
            "This PIN is among the first anyone would try (one digit repeated, a run such "
            "as 1234 or 4321, or a repeated pair such as 1212). Choose digits without a "
            "pattern.",
            "pin",
        )
    return pin


class PinService:
    """The PINs of one tenant's users, on that tenant's session.

    ``throttle`` and ``gate`` are the process's sign-in throttle and hashing gate (the
    web request gives them, as to AccountService); without them (tests, console tools)
    checks are neither throttled nor gated."""

    def __init__(
        self, dbsession, tenant_id: int, hasher: PasswordHasher, *, throttle=None, gate=None
    ):
        self.db = dbsession
        self.tenant_id = tenant_id
        self.hasher = hasher
        self.throttle = throttle
        self.gate = gate

    @classmethod
    def factory(cls, context, request):
        registry = request.registry
        return cls(
            request.dbsession,
            request.tenant.id,
            registry.password_hasher,
            throttle=registry.sign_in_throttle,
            gate=registry.hashing_gate,
        )

    # -- setting -------------------------------------------------------------------
    def _row(self, user: User) -> UserPin | None:
        return self.db.get(UserPin, (self.tenant_id, user.id))

    def has_pin(self, user: User) -> bool:
        return self._row(user) is not None

    def set_at(self, user: User) -> dt.datetime | None:
        """When the user's PIN was set, or None without one."""
        row = self._row(user)
        return row.set_at if row is not None else None

    def set_pin(self, user: User, pin: str) -> None:
        """Set (or replace) the user's PIN; AccountError when it is not a good one."""
        pin_hash = self.hasher.hash(check_pin(pin))
        row = self._row(user)
        if row is None:
            row = UserPin(tenant_id=self.tenant_id, user_id=user.id)
            self.db.add(row)
        row.pin_hash = pin_hash
        row.set_at = dt.datetime.now(dt.UTC)
        record(self.db, "user.pin.set", f"user {user.username}")
        self.db.flush()

    def clear_pin(self, user: User) -> bool:
        """Remove the user's PIN; False when there was none."""
        removed = self.db.execute(
            delete(UserPin).where(UserPin.tenant_id == self.tenant_id, UserPin.user_id == user.id),
            execution_options={"synchronize_session": "fetch"},
        ).rowcount
        if removed:
            record(self.db, "user.pin.clear", f"user {user.username}")
        return bool(removed)

    def users_with_pins(self, user_ids) -> set[uuid.UUID]:
        """Which of ``user_ids`` have a PIN (one query, for the till's PIN pad)."""
        ids = list(user_ids)
        if not ids:
            return set()
        return set(self.db.scalars(select(UserPin.user_id).where(UserPin.user_id.in_(ids))))

    # -- checking ------------------------------------------------------------------
    def verify(self, user: User | None, pin: str, address: str = "") -> bool:
        """True when ``pin`` is the PIN of ``user`` (active, with a PIN).

        Throttled before any hashing (:class:`PinThrottled`, or the address's own
        AddressThrottled; SignInBusy when no hashing slot is free); a wrong PIN is
        counted for the address under ``pin:<user id>``, a right one clears that
        count. One Argon2 run either way: against the dummy hash when the user is
        unknown, inactive or has no PIN."""
        key = throttle_key(user.id if user is not None else "none")
        return self._check(user, key, pin, address)

    def approve(
        self, user_id, pin: str, address: str = "", roles: frozenset[str] = APPROVERS
    ) -> User | None:
        """The user who approves, on the spot, what the signed-in one may not do alone
        (a discount over the cap): the active user ``user_id`` with one of ``roles`` whose
        PIN ``pin`` is, else None. Throttled and counted as :meth:`verify`; an unknown
        id, or a user without one of the roles, costs the same and answers the same."""
        user = self._user(user_id)
        key = throttle_key(user.id if user is not None else str(user_id or "")[:64].strip())
        right = self._check(user, key, pin, address)
        if not right or not user.role_names & roles:
            return None
        return user

    def _user(self, user_id) -> User | None:
        return user_by_id(self.db, self.tenant_id, user_id)

    def _check(self, user: User | None, key: str, pin: str, address: str) -> bool:
        if self.throttle is not None:
            try:
                self.throttle.check(address, self.tenant_id, key)
            except LoginThrottled as refused:
                raise PinThrottled(dt.timedelta(seconds=refused.retry_after)) from None
        row = self._row(user) if user is not None and user.is_active else None
        right = self._verify(row.pin_hash if row is not None else dummy_hash(self.hasher), pin)
        right = right and row is not None
        failures = None
        if self.throttle is not None:
            if right:
                self.throttle.succeeded(address, self.tenant_id, (key,))
            else:
                failures = self.throttle.failed(address, self.tenant_id, key)
        if not right and row is not None:
            record(self.db, "auth.pin_failed", f"user {user.username}", who=user, failures=failures)
        return right

    def _verify(self, pin_hash: str, pin: str) -> bool:
        return verify_secret(self.hasher, self.gate, pin_hash, (pin or "")[: MAX_PIN_LENGTH * 4])
