"""Sign-in throttling across the whole deployment, and a bound on concurrent hashing.

Failed sign-ins are counted in the catalog (``failed_sign_ins``, migration c0005), not
in a tenant's store: an address's allowance is then one for the whole deployment, not
one per workspace, and every app process shares it. Two limits are read from the same
rows, before any password is hashed:

- **per address** (``salesapp.max_failed_logins_per_address`` within ``ADDRESS_WINDOW``,
  on any accounts of any workspaces): the address waits until its oldest counted failure
  leaves the window;
- **per address and login** (the login as typed, normalised; known or not): after
  ``FREE_FAILURES`` failures, each further attempt from that address for that login
  waits ``FIRST_DELAY``, doubled per failure, at most ``MAX_DELAY``. There is no lock of
  the account itself: a stranger slows only their own address, and the rightful user
  signs in from theirs. Unknown logins are counted the same way, so the answers do not
  tell which usernames exist.

A refused attempt is not counted (it cost nothing), and a sign-in that succeeds clears
its address's failures for that account. The catalog being unreachable refuses sign-in
with 503 (``SignInUnavailable``): sign-in fails closed rather than unthrottled.

:class:`HashingGate` bounds how many Argon2 runs one process makes at once for sign-in
(``salesapp.sign_in_hashing_slots``); an attempt that cannot get a slot quickly is
answered 503 with ``Retry-After`` instead of queueing (docs/benchmarks.md, "Sign-in
abuse").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import threading

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    null,
    or_,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from ..tenancy.errors import is_unavailable

#: the window over which failed sign-ins from one address are counted
ADDRESS_WINDOW = dt.timedelta(minutes=15)
#: failures of one login from one address that cost no wait
FREE_FAILURES = 5
#: the wait after FREE_FAILURES, doubled at each further failure, up to MAX_DELAY
FIRST_DELAY = dt.timedelta(minutes=1)
MAX_DELAY = dt.timedelta(minutes=15)
#: failures of one login from one address older than this no longer count
LOGIN_WINDOW = dt.timedelta(hours=24)
#: seconds an attempt waits for a free hashing slot before it is answered 503
HASHING_WAIT = 0.5
#: Retry-After of a 503 answer: hashing busy, or the catalog unreachable
BUSY_RETRY_SECONDS = 2
UNAVAILABLE_RETRY_SECONDS = 30

#: the catalog's table (created by alembic/control c0005; the app role has SELECT,
#: INSERT and DELETE on it). ``login`` is what was typed, lower-cased and stripped.
failed_sign_ins = Table(
    "failed_sign_ins",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("address", Text, nullable=False),
    Column("tenant_id", BigInteger, nullable=False),
    Column("login", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


class SignInThrottled(Exception):
    """Sign-in refused for now: the message says why and how long to wait.

    ``status`` is the HTTP status to answer with, ``retry_after`` the seconds for the
    Retry-After header."""

    status = 429
    #: what is throttled, in the message
    source = ""

    def __init__(self, wait: dt.timedelta):
        self.minutes = max(1, math.ceil(wait.total_seconds() / 60))
        unit = "minute" if self.minutes == 1 else "minutes"
        super().__init__(
            f"Too many failed sign-ins{self.source}. Try again in {self.minutes} {unit}."
        )

    @property
    def retry_after(self) -> int:
        return self.minutes * 60


class AddressThrottled(SignInThrottled):
    """The client's address made too many failed sign-ins, on any accounts."""

    source = " from your network address"


class LoginThrottled(SignInThrottled):
    """Too many failed sign-ins for this login from this address (known or not)."""

    source = " for this username from your network address"


class AccountLocked(SignInThrottled):
    """Too many wrong second-factor codes for the account (the password was right)."""

    def __init__(self, wait: dt.timedelta):
        super().__init__(wait)
        unit = "minute" if self.minutes == 1 else "minutes"
        self.args = (
            f"Too many wrong codes for this account. Try again in {self.minutes} {unit}; "
            "if your codes keep failing, check that the phone's clock is set automatically.",
        )


class SignInBusy(SignInThrottled):
    """Every hashing slot of this process is taken: try again in a moment."""

    status = 503

    def __init__(self):
        Exception.__init__(
            self, "Sign-in is busy right now. Try again in a few seconds; nothing was counted."
        )
        self.minutes = 0

    @property
    def retry_after(self) -> int:
        return BUSY_RETRY_SECONDS


class SignInUnavailable(SignInBusy):
    """The catalog, where failed sign-ins are counted, cannot be reached."""

    def __init__(self):
        Exception.__init__(
            self,
            "Sign-in is unavailable for a moment (the sign-in service cannot be reached). "
            "Try again in a minute; if you are signed in elsewhere, that session goes on.",
        )
        self.minutes = 0

    @property
    def retry_after(self) -> int:
        return UNAVAILABLE_RETRY_SECONDS


def normalise_login(login: str) -> str:
    """A login as it is looked up and counted: stripped, lower-case."""
    return (login or "").strip().lower()


def login_delay(failures: int) -> dt.timedelta:
    """How long the next attempt waits after ``failures`` failures of one login from one
    address: nothing up to FREE_FAILURES, then FIRST_DELAY doubling up to MAX_DELAY."""
    if failures < FREE_FAILURES:
        return dt.timedelta(0)
    doublings = min(failures - FREE_FAILURES, 16)  # 2**16 minutes is past MAX_DELAY
    return min(FIRST_DELAY * 2**doublings, MAX_DELAY)


@contextlib.contextmanager
def _catalog_errors():
    """The catalog being unreachable as SignInUnavailable: a 503 that says to retry.
    Any other database error is a bug and stays one (a 500, logged)."""
    try:
        yield
    except SQLAlchemyError as exc:
        if is_unavailable(exc):
            raise SignInUnavailable() from exc
        raise


class SignInThrottle:
    """Failed sign-ins per address and per (address, workspace, login), in the catalog,
    as the app role; one per process (``registry.sign_in_throttle``)."""

    def __init__(self, engine, max_per_address: int):
        self.engine = engine
        self.max_per_address = max_per_address

    def close(self) -> None:
        """Close the catalog connections (salesapp.close_app, at shutdown)."""
        self.engine.dispose()

    def check(self, address: str, tenant_id: int, login: str) -> None:
        """Raise :class:`AddressThrottled` or :class:`LoginThrottled` while the attempt
        must wait; answered the same whether ``login`` names a user or not."""
        with _catalog_errors(), self.engine.connect() as conn:
            row = conn.execute(self._state_query(address, tenant_id, login)).one()
        if row.address_oldest is not None:
            raise AddressThrottled(row.address_oldest + ADDRESS_WINDOW - row.now)
        if row.login_failures:
            until = row.login_latest + login_delay(row.login_failures)
            if until > row.now:
                raise LoginThrottled(until - row.now)

    def _state_query(self, address: str, tenant_id: int, login: str):
        """One statement: the database's time; the failure that holds the address
        back, if any (the limit-th newest within the window); and the count and the
        latest of the login's failures from the address."""
        t = failed_sign_ins
        oldest_counted = null()
        if self.max_per_address > 0:
            oldest_counted = (
                select(t.c.failed_at)
                .where(t.c.address == address, t.c.failed_at > func.now() - ADDRESS_WINDOW)
                .order_by(t.c.failed_at.desc())
                .offset(self.max_per_address - 1)
                .limit(1)
                .scalar_subquery()
            )
        of_login = and_(
            t.c.address == address,
            t.c.tenant_id == tenant_id,
            t.c.login == login,
            t.c.failed_at > func.now() - LOGIN_WINDOW,
        )
        return select(
            func.now().label("now"),
            oldest_counted.label("address_oldest"),
            select(func.count()).where(of_login).scalar_subquery().label("login_failures"),
            select(func.max(t.c.failed_at)).where(of_login).scalar_subquery().label("login_latest"),
        )

    def failed(self, address: str, tenant_id: int, login: str) -> int:
        """Count a failure; return the login's failures from the address (for the
        audit trail). Rows past both windows go at the same time."""
        t = failed_sign_ins
        with _catalog_errors(), self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.failed_at < func.now() - LOGIN_WINDOW))
            conn.execute(insert(t).values(address=address, tenant_id=tenant_id, login=login))
            return conn.scalar(
                select(func.count()).where(
                    t.c.address == address, t.c.tenant_id == tenant_id, t.c.login == login
                )
            )

    def succeeded(self, address: str, tenant_id: int, logins) -> None:
        """A sign-in succeeded: its address starts a fresh count for the account under
        any of its ``logins`` (username, e-mail). The address's limit is not reset: it
        counts failures on any account."""
        logins = [normalise_login(login) for login in logins if login]
        t = failed_sign_ins
        with _catalog_errors(), self.engine.begin() as conn:
            conn.execute(
                delete(t).where(
                    t.c.address == address,
                    t.c.tenant_id == tenant_id,
                    or_(*(t.c.login == login for login in logins)),
                )
            )


class HashingGate:
    """At most ``slots`` password hashes at once in this process for sign-in; an attempt
    that finds none free within HASHING_WAIT seconds is refused (:class:`SignInBusy`),
    so that anonymous sign-ins cannot take every CPU and queue without bound."""

    def __init__(self, slots: int, wait: float = HASHING_WAIT):
        self._slots = threading.BoundedSemaphore(max(1, slots))
        self.wait = wait

    @contextlib.contextmanager
    def slot(self):
        if not self._slots.acquire(timeout=self.wait):
            raise SignInBusy()
        try:
            yield
        finally:
            self._slots.release()
