"""Operator accounts (issue 19): create, list, disable, enable, reset a password, and
sign in with a password and a TOTP code, for ``salesapp operator`` and the operator
console to come.

Operators live in the catalog (operator_models.py), apart from every tenant's users:
no tenant's store or session knows them. Their rules:

- **Two factors, always.** An operator is given a one-time password and a TOTP secret
  together, at creation; :func:`authenticate` wants the name, the password and a
  current code, and says only "wrong name, password or code" whichever was wrong (or
  whether the name exists, or is disabled). A code is taken once. Wrong codes lock the
  code step after MAX_FAILED_CODES in a row, as for the tenants' users.
- **Throttled like the tenants' sign-in** (salesapp.accounts.throttle): per address
  and per address and name as typed, in ``operator_failed_sign_ins``, before any hash.
- **Their own sessions.** A console session is signed with a key derived for operators
  alone (never a tenant's), names the main domain (the first of
  ``salesapp.base_domains``) and is honoured only there, and names the account's
  session generation, which a disabling or a password reset moves on.
- **Everything in the operations log.** What the console does in an operator's name is
  recorded with that name as the actor (:func:`record_action`); what ``salesapp
  operator`` does is recorded with the person at the console (the OS user), the
  operator acted on in its detail.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..accounts import totp
from ..accounts.errors import AccountError
from ..accounts.passwords import check_password_policy
from ..accounts.services import (
    CODE_LOCKOUT,
    MAX_FAILED_CODES,
    dummy_hash,
    make_password_hasher,
    verify_secret,
)
from ..accounts.throttle import (
    ADDRESS_WINDOW,
    LOGIN_WINDOW,
    AccountLocked,
    AddressThrottled,
    LoginThrottled,
    login_delay,
    normalise_login,
)
from ..sessions import SignedByAnyKey
from ..settings import Settings
from ..tenancy.crypto import SecretBox, signing_secret
from ..tenancy.hosts import normalize_host
from .catalog import Catalog
from .errors import NotFound, OperationError
from .models import Operation, OperationOutcome
from .operator_models import Operator, OperatorFailedSignIn, OperatorRole, OperatorToken
from .provisioning import USERNAME_RE, generate_password

log = logging.getLogger("salesapp.operations")

#: what operators' TOTP secrets are encrypted for (a key of their own)
TWO_FACTOR_PURPOSE = "operator-two-factor"
#: what operators' session cookies are signed for: no tenant's key, nor the public site's
SESSION_PURPOSE = "session:operators"
#: the console's session cookie (host-only, on the main domain)
SESSION_COOKIE = "salesapp_operator"
MAX_DISPLAY_NAME = 200
#: the answer to every failed sign-in, whatever failed: it tells no name apart
WRONG = "Wrong name, password or code."

__all__ = [
    "AccountLocked",
    "AddressThrottled",
    "Credentials",
    "LoginThrottled",
    "Operator",
    "OperatorRole",
    "SignInRefused",
    "authenticate",
    "change_password",
    "create_operator",
    "disable_operator",
    "enable_operator",
    "list_operators",
    "record_action",
    "reset_password",
]


class SignInRefused(OperationError):
    """A failed operator sign-in: a wrong name, password or code (never which)."""

    def __init__(self):
        super().__init__(WRONG)


@dataclass(frozen=True)
class Credentials:
    """What an operator is given, shown once and stored only hashed or encrypted: a
    one-time password, and (at creation, or a reset of the second factor) the TOTP
    secret with the otpauth:// URI an authenticator app takes."""

    name: str
    role: str
    display_name: str
    password: str
    secret: str | None = None
    uri: str | None = None


# -- helpers -------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _box(settings: Settings) -> SecretBox:
    return SecretBox(settings.secret_key, settings.previous_secret_keys, TWO_FACTOR_PURPOSE)


def issuer(settings: Settings) -> str:
    """The name authenticator apps show above an operator's codes."""
    return f"salesapp operators {console_host(settings)}"


def _check_name(name: str) -> str:
    login = normalise_login(name)
    if not USERNAME_RE.match(login):
        raise OperationError(
            f"operator name {name!r} must be 1-63 lower-case letters, digits, . _ or -, "
            "starting with a letter or digit"
        )
    return login


def _check_role(role: str) -> OperatorRole:
    try:
        return OperatorRole(role)
    except ValueError:
        roles = " or ".join(r.value for r in OperatorRole)
        raise OperationError(f"unknown operator role {role!r}; give {roles}") from None


def _check_display_name(display_name: str | None) -> str:
    display_name = (display_name or "").strip()
    if len(display_name) > MAX_DISPLAY_NAME:
        raise OperationError(
            f"a display name may have at most {MAX_DISPLAY_NAME} characters "
            f"({len(display_name)} given)"
        )
    return display_name


def _find(session: Session, name: str, *, lock: bool = False) -> Operator | None:
    query = select(Operator).where(Operator.name == normalise_login(name))
    return session.scalars(query.with_for_update() if lock else query).first()


def _operator(session: Session, name: str) -> Operator:
    """The operator named ``name`` (any case), locked for a change, or NotFound saying
    what to do."""
    operator = _find(session, name, lock=True)
    if operator is None:
        raise NotFound(f"no operator named {normalise_login(name)!r}; see `salesapp operator list`")
    return operator


def _enrolment(settings: Settings, name: str) -> tuple[str, str, str]:
    """A new TOTP secret: (plain, encrypted, otpauth URI)."""
    secret = totp.new_secret()
    return (
        secret,
        _box(settings).encrypt(secret),
        totp.provisioning_uri(secret, name, issuer(settings)),
    )


def _hasher(catalog: Catalog):
    return make_password_hasher(catalog.settings)


def describe(operator: Operator) -> dict:
    """An operator as `operator list` shows it (and its --json gives it)."""

    def iso(value):
        return value.isoformat() if value else None

    return {
        "name": operator.name,
        "display_name": operator.display_name,
        "role": operator.role,
        "disabled": operator.is_disabled,
        "disabled_at": iso(operator.disabled_at),
        "disabled_reason": operator.disabled_reason,
        "must_change_password": operator.must_change_password,
        "created_at": iso(operator.created_at),
        "password_changed_at": iso(operator.password_changed_at),
        "last_sign_in_at": iso(operator.last_sign_in_at),
    }


# -- the operations log --------------------------------------------------------------


def record_action(
    catalog: Catalog,
    operator_name: str,
    action: str,
    outcome: str = OperationOutcome.OK,
    *,
    tenant_slug: str | None = None,
    store_name: str | None = None,
    **detail,
) -> None:
    """Log one finished action done in an operator's name (the console's): the
    operations log's row names the operator as its actor, and the file log repeats it.
    ``detail`` must hold no secret (nothing here masks it)."""
    with catalog.session() as session:
        session.add(
            Operation(
                actor=operator_name,
                action=action,
                tenant_slug=tenant_slug,
                store_name=store_name,
                outcome=outcome,
                detail=detail,
                finished_at=func.now(),
            )
        )
    log.info(
        "%s %s actor=%s tenant=%s store=%s %s",
        action,
        outcome,
        operator_name,
        tenant_slug,
        store_name,
        detail,
    )


# -- management (salesapp operator ...) ----------------------------------------------


def create_operator(
    catalog: Catalog, name: str, role: str, display_name: str | None = None
) -> Credentials:
    """A new operator with a one-time password (changed at the first sign-in) and a
    TOTP secret; both are returned once, for the operator to use together. A name taken
    in any case is refused."""
    login = _check_name(name)
    role = _check_role(role)
    display_name = _check_display_name(display_name)
    password = generate_password()
    secret, encrypted, uri = _enrolment(catalog.settings, login)
    password_hash = _hasher(catalog).hash(password)
    taken = OperationError(
        f"an operator named {login!r} exists already; see `salesapp operator list`, or "
        f"`salesapp operator reset-password {login}` to give it new credentials"
    )
    try:
        with catalog.session() as session:
            if _find(session, login) is not None:
                raise taken
            session.add(
                Operator(
                    name=login,
                    display_name=display_name,
                    role=role.value,
                    password_hash=password_hash,
                    must_change_password=True,
                    totp_secret=encrypted,
                )
            )
    except IntegrityError:  # created at the same moment by another command
        raise taken from None
    catalog.record("operator.create", OperationOutcome.OK, operator=login, role=role.value)
    return Credentials(login, role.value, display_name, password, secret, uri)


#: development's operator (salesapp.startup): new credentials printed at every start
DEMO_OPERATOR = "demo-operator"


def ensure_demo_operator(catalog: Catalog) -> Credentials:
    """Development only: the demo operator, with a new one-time password and a new
    two-factor secret at every start (printed by pserve beside the demo workspaces), as
    an operator given credentials by `salesapp operator create` would have them."""
    with catalog.session() as session:
        exists = _find(session, DEMO_OPERATOR) is not None
    if not exists:
        return create_operator(catalog, DEMO_OPERATOR, "operator", "Demo operator")
    return reset_password(catalog, DEMO_OPERATOR, reset_two_factor=True)


def list_operators(catalog: Catalog, *, include_disabled: bool = True) -> list[dict]:
    """Every operator (by name), as :func:`describe` gives them."""
    with catalog.session() as session:
        query = select(Operator).order_by(Operator.name)
        if not include_disabled:
            query = query.where(Operator.disabled_at.is_(None))
        return [describe(operator) for operator in session.scalars(query)]


def disable_operator(catalog: Catalog, name: str, reason: str) -> dict:
    """Stop an operator signing in, end their sessions and revoke their API tokens at
    once; the account and its history stay (enabling it again brings back neither the
    sessions nor the tokens). ``reason`` is required: it is shown in `operator list`."""
    reason = (reason or "").strip()
    if not reason:
        raise OperationError("say why the operator is disabled: --reason TEXT")
    with catalog.session() as session:
        operator = _operator(session, name)
        if operator.is_disabled:
            raise OperationError(
                f"operator {operator.name!r} is disabled already (since "
                f"{operator.disabled_at:%Y-%m-%d}: {operator.disabled_reason})"
            )
        operator.disabled_at = _now()
        operator.disabled_reason = reason
        operator.session_generation += 1
        revoked = session.execute(
            update(OperatorToken)
            .where(OperatorToken.operator_id == operator.id, OperatorToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
        ).rowcount
        session.flush()
        info = describe(operator)
    catalog.record(
        "operator.disable",
        OperationOutcome.OK,
        operator=info["name"],
        reason=reason,
        tokens_revoked=revoked,
    )
    return info


def enable_operator(catalog: Catalog, name: str) -> dict:
    """Let a disabled operator sign in again, with the credentials they had."""
    with catalog.session() as session:
        operator = _operator(session, name)
        if not operator.is_disabled:
            raise OperationError(f"operator {operator.name!r} is not disabled")
        operator.disabled_at = None
        operator.disabled_reason = None
        operator.failed_codes = 0
        operator.locked_until = None
        session.flush()
        info = describe(operator)
    catalog.record("operator.enable", OperationOutcome.OK, operator=info["name"])
    return info


def reset_password(catalog: Catalog, name: str, *, reset_two_factor: bool = False) -> Credentials:
    """A new one-time password (the old one stops working, every session ends, and it
    must be changed at the next sign-in); with ``reset_two_factor`` a new TOTP secret
    too, for an operator who lost their phone. A disabled operator stays disabled."""
    password = generate_password()
    password_hash = _hasher(catalog).hash(password)
    with catalog.session() as session:
        operator = _operator(session, name)
        operator.password_hash = password_hash
        operator.must_change_password = True
        operator.password_changed_at = _now()
        operator.failed_codes = 0
        operator.locked_until = None
        operator.session_generation += 1
        secret = uri = None
        if reset_two_factor:
            secret, operator.totp_secret, uri = _enrolment(catalog.settings, operator.name)
            operator.totp_last_step = None
        credentials = Credentials(
            operator.name, operator.role, operator.display_name, password, secret, uri
        )
    catalog.record(
        "operator.reset-password",
        OperationOutcome.OK,
        operator=credentials.name,
        two_factor_reset=reset_two_factor,
    )
    return credentials


# -- sign-in (the operator console) --------------------------------------------------


def authenticate(
    catalog: Catalog, name: str, password: str, code: str, address: str = ""
) -> Operator:
    """The enabled operator with this name, password and current TOTP code.

    Raises :class:`AddressThrottled` or :class:`LoginThrottled` while ``address`` must
    wait (checked before any hashing, alike for known and unknown names),
    :class:`AccountLocked` while the account's code step is locked (MAX_FAILED_CODES
    wrong codes in a row), and :class:`SignInRefused` otherwise, whatever was wrong: an
    unknown or disabled name costs one Argon2 run like a known one. A code is taken
    once. Each failure is counted for the address and the name as typed; a known
    operator's sign-ins, right or wrong, go to the operations log in their name.

    The operator returned may have ``must_change_password``: the console then asks for
    a new one (:func:`change_password`) before anything else.
    """
    login = normalise_login(name)
    hasher = _hasher(catalog)
    with catalog.session() as session:
        _check_throttle(session, catalog.settings, address, login)
        operator = _find(session, login)
        usable = operator is not None and not operator.is_disabled
        right = verify_secret(
            hasher, None, operator.password_hash if usable else dummy_hash(hasher), password
        )
        operator_id = operator.id if usable else None
    if not right:
        _count_failure(catalog, address, login)
        if usable:
            _sign_in_refused(catalog, login, address, "wrong password")
        raise SignInRefused()
    return _take_code(catalog, operator_id, login, code, address)


def _take_code(catalog: Catalog, operator_id: int, login: str, code: str, address: str) -> Operator:
    """The second step: the code checked and taken under the operator's row lock (two
    requests with one code cannot both take it), its outcome committed either way."""
    with catalog.session() as session:
        operator = session.get(Operator, operator_id, with_for_update=True)
        now = session.scalar(select(func.now()))
        if operator.locked_until is not None and operator.locked_until <= now:
            operator.failed_codes, operator.locked_until = 0, None  # a lock ran out
        locked = operator.locked_until - now if operator.locked_until is not None else None
        step = None
        if locked is None and not operator.is_disabled:
            secret = _box(catalog.settings).decrypt(operator.totp_secret)
            step = totp.matching_step(secret, code, after=operator.totp_last_step)
        if step is not None:
            operator.totp_last_step = step
            operator.failed_codes = 0
            operator.last_sign_in_at = now
            _forget_failures(session, address, login)
        elif locked is None:
            operator.failed_codes += 1
            if operator.failed_codes >= MAX_FAILED_CODES:
                operator.locked_until = now + CODE_LOCKOUT
                locked = CODE_LOCKOUT
            session.add(OperatorFailedSignIn(address=address, login=login))
        session.flush()
        session.expunge(operator)
    if step is not None:
        record_action(catalog, login, "operator.sign_in", address=address)
        return operator
    reason = "code step locked" if locked is not None else "wrong code"
    _sign_in_refused(catalog, login, address, reason, failed_codes=operator.failed_codes)
    if locked is not None:
        raise AccountLocked(locked)
    raise SignInRefused()


def _sign_in_refused(catalog: Catalog, login: str, address: str, reason: str, **detail) -> None:
    record_action(
        catalog,
        login,
        "operator.sign_in",
        OperationOutcome.REFUSED,
        address=address,
        reason=reason,
        **detail,
    )


def change_password(catalog: Catalog, name: str, current: str, new: str) -> Operator:
    """An operator's own new password (the console's, after a one-time password): the
    current one first, then the policy every chosen password meets (AccountError's
    message, as an OperationError). Every other session ends: the console re-signs its
    own with the operator's new ``session_generation``. A refusal is logged too."""
    hasher = _hasher(catalog)
    try:
        with catalog.session() as session:
            operator = _operator(session, name)
            if operator.is_disabled or not verify_secret(
                hasher, None, operator.password_hash, current
            ):
                raise OperationError("The current password is not right; nothing was changed.")
            if new == current:
                raise OperationError("Choose a new password, not the current one.")
            try:
                check_password_policy(new, related=(operator.name, operator.display_name))
            except AccountError as exc:
                raise OperationError(str(exc)) from None
            operator.password_hash = hasher.hash(new)
            operator.must_change_password = False
            operator.password_changed_at = _now()
            operator.session_generation += 1
            session.flush()
            session.expunge(operator)
    except OperationError as exc:
        login = normalise_login(name)
        record_action(
            catalog, login, "operator.change-password", OperationOutcome.REFUSED, error=str(exc)
        )
        raise
    record_action(catalog, operator.name, "operator.change-password")
    return operator


def _check_throttle(session: Session, settings: Settings, address: str, login: str) -> None:
    """AddressThrottled while the address has made ``max_failed_logins_per_address``
    failed operator sign-ins within ADDRESS_WINDOW; LoginThrottled while the name's
    failures from the address make it wait (salesapp.accounts.throttle.login_delay)."""
    t = OperatorFailedSignIn
    now = session.scalar(select(func.now()))
    limit = settings.max_failed_logins_per_address
    if limit > 0:
        oldest = session.scalar(
            select(t.failed_at)
            .where(t.address == address, t.failed_at > now - ADDRESS_WINDOW)
            .order_by(t.failed_at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        if oldest is not None:
            raise AddressThrottled(oldest + ADDRESS_WINDOW - now)
    failures, latest = session.execute(
        select(func.count(), func.max(t.failed_at)).where(
            t.address == address, t.login == login, t.failed_at > now - LOGIN_WINDOW
        )
    ).one()
    if failures:
        until = latest + login_delay(failures)
        if until > now:
            raise LoginThrottled(until - now)


def _count_failure(catalog: Catalog, address: str, login: str) -> None:
    """Count a failed sign-in; rows past both windows go at the same time."""
    with catalog.session() as session:
        session.execute(
            delete(OperatorFailedSignIn).where(
                OperatorFailedSignIn.failed_at < func.now() - LOGIN_WINDOW
            )
        )
        session.add(OperatorFailedSignIn(address=address, login=login))


def _forget_failures(session: Session, address: str, login: str) -> None:
    session.execute(
        delete(OperatorFailedSignIn).where(
            OperatorFailedSignIn.address == address, OperatorFailedSignIn.login == login
        )
    )


# -- console sessions ----------------------------------------------------------------


def console_host(settings: Settings) -> str:
    """The main domain, the only host where an operator's session counts: the first of
    ``salesapp.base_domains`` (no tenant is ever served there, only the public site)."""
    return settings.base_domains[0]


def is_console_host(settings: Settings, host: str | None) -> bool:
    """Is ``host`` (a Host header, port and all) the main domain?"""
    return normalize_host(host) == console_host(settings)


def session_secrets(settings: Settings) -> list[str]:
    """The keys operators' session cookies are signed with (the first) and accepted
    under (any, during a rotation of the secret key): derived for operators alone, so a
    tenant's or the public site's cookie never passes, nor the other way round."""
    return [
        signing_secret(key, SESSION_PURPOSE)
        for key in (settings.secret_key, *settings.previous_secret_keys)
    ]


def session_serializer(settings: Settings) -> SignedByAnyKey:
    """Signs and reads operators' session cookies (a BaseCookieSessionFactory's
    serializer, as salesapp.sessions builds the tenants')."""
    return SignedByAnyKey(session_secrets(settings))


def session_claims(settings: Settings, operator: Operator) -> dict:
    """What an operator's session holds once signed in: who, the generation it began
    in, and the host it is for."""
    return {
        "operator_id": operator.id,
        "generation": operator.session_generation,
        "host": console_host(settings),
    }


def operator_for_session(catalog: Catalog, claims: dict, host: str | None) -> Operator | None:
    """The operator a console request acts for, or None: only on the main domain, for
    a session made for it, of an enabled operator whose sessions have not been ended
    since (disabled, password reset or changed)."""
    settings = catalog.settings
    if not is_console_host(settings, host) or claims.get("host") != console_host(settings):
        return None
    operator_id = claims.get("operator_id")
    if not isinstance(operator_id, int):
        return None
    with catalog.session() as session:
        operator = session.get(Operator, operator_id)
        if operator is None or operator.is_disabled:
            return None
        if claims.get("generation") != operator.session_generation:
            return None
        session.expunge(operator)
    return operator


# -- a rotation of the secret key ----------------------------------------------------


def reencrypt_secrets(catalog: Catalog) -> int:
    """Re-encrypt every operator's TOTP secret still under a previous secret key
    (`salesapp rotate secret-key`); return how many. A rerun changes nothing twice."""
    box = _box(catalog.settings)
    count = 0
    with catalog.session() as session:
        for operator in session.scalars(select(Operator).with_for_update()):
            token = box.reencrypt(operator.totp_secret)
            if token is not None:
                operator.totp_secret = token
                count += 1
    return count
