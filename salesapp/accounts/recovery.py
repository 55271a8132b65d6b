"""Two-factor recovery codes: ten single-use codes a user keeps on paper, each good for
one sign-in in place of the authenticator app's code (a lost or broken phone).

They are shown once, when made, and stored hashed. A code is 10 random characters of a
31-character alphabet (49 bits) with no look-alikes (0/o, 1/l/i), written
``abcde-fghij``; typed with or without the hyphen, in either case. Being random rather
than chosen by a person, a fast hash (SHA-256, salted with the user's id) is enough: a
slow one protects guessable secrets, and at sign-in the typed code is compared with up
to ten of them. Guessing online is stopped as for TOTP codes: a wrong code counts
towards the account's lock (AccountService._count_code_failure).

Making a new set deletes the old one, used or not: old codes are void at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import delete, func, select, update

from .models import RecoveryCode, User

#: how many codes a set has
COUNT = 10
#: the letters codes are made of: no 0, 1, i, l, o (read wrongly off paper)
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 10
#: what a typed recovery code looks like once spaces and hyphens are gone
SHAPE = re.compile(f"[{re.escape(ALPHABET)}]{{{LENGTH}}}")


def normalise(typed: str) -> str:
    """A typed code without spaces and hyphens, in lower case."""
    return re.sub(r"[\s-]", "", typed or "").lower()


def looks_like_code(typed: str) -> bool:
    """True if ``typed`` has a recovery code's shape (a TOTP code is 6 digits)."""
    return SHAPE.fullmatch(normalise(typed)) is not None


def _hash(user: User, code: str) -> str:
    return hashlib.sha256(f"{user.id}:{normalise(code)}".encode()).hexdigest()


def _new_code() -> str:
    letters = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{letters[:5]}-{letters[5:]}"


def new_set(db, tenant_id: int, user: User) -> list[str]:
    """A new set of COUNT codes for ``user`` (the old set void); the codes in clear, to
    be shown once and never again."""
    discard(db, tenant_id, user)
    codes = [_new_code() for _ in range(COUNT)]
    for code in codes:
        db.add(RecoveryCode(tenant_id=tenant_id, user_id=user.id, code_hash=_hash(user, code)))
    db.flush()
    return codes


def discard(db, tenant_id: int, user: User) -> None:
    """Void every code of ``user`` (two-factor turned off, or a new set made)."""
    db.execute(
        delete(RecoveryCode).where(
            RecoveryCode.tenant_id == tenant_id, RecoveryCode.user_id == user.id
        ),
        execution_options={"synchronize_session": False},
    )


def take(db, tenant_id: int, user: User, typed: str) -> bool:
    """Use one of ``user``'s unused codes: True if ``typed`` is one, which is then used
    up. One UPDATE: of two sign-ins with the same code at once, only one takes it."""
    if not looks_like_code(typed):
        return False
    taken = db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.tenant_id == tenant_id,
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(user, typed),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=dt.datetime.now(dt.UTC))
        .returning(RecoveryCode.id),
        execution_options={"synchronize_session": False},
    ).first()
    return taken is not None


def unused(db, tenant_id: int, user: User) -> int:
    """How many of ``user``'s codes are left."""
    return db.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(
            RecoveryCode.tenant_id == tenant_id,
            RecoveryCode.user_id == user.id,
            RecoveryCode.used_at.is_(None),
        )
    )
