"""The password policy: what a password a person chooses must be.

Every path that sets a password a person chose checks it (one's own change, an Admin's
new user and reset, the operator's console); generated ones are random.
"""

from __future__ import annotations

from .common_passwords import COMMON_PASSWORDS
from .errors import AccountError
from .models import User

MIN_PASSWORD_LENGTH = 10


def check_password_policy(password: str, user: User | None = None) -> None:
    """At least 10 characters, at most 200, not the username or e-mail, and not one of
    the most common passwords. Every path that sets a password a person chose checks it
    (one's own change, an Admin's new user and reset); generated ones are random."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters.", "password"
        )
    if len(password) > 200:
        raise AccountError("A password may have at most 200 characters.", "password")
    if user is not None and password.lower() in {user.username, (user.email or "").lower()}:
        raise AccountError("A password must not be your username or e-mail.", "password")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) == 1:
        raise AccountError(
            "This password is one of the most common ones, which are guessed first; "
            "choose another (a few unrelated words make a good one).",
            "password",
        )
