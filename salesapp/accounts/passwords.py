"""The password policy: what a password a person chooses must be.

Every path that sets a password a person chose checks it (one's own change, an Admin's
new user and reset, the operator's ``tenant create --admin-password``); generated ones
are random (96 bits) and pass it.

Strength is estimated by zxcvbn (Dropbox's estimator, maintained on PyPI), which knows
the leaked-password lists, dictionaries, names, keyboard walks, dates, repeats,
sequences and l33t spellings, and says what is wrong in words a person can act on. A
short local list of common passwords would only repeat what it knows.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from zxcvbn import zxcvbn

from .errors import AccountError
from .models import User

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
#: zxcvbn's score (0-4) a password must reach. 3 means at least 10^8 guesses: out of
#: reach of online guessing (sign-in is throttled per address) and costly offline
#: against Argon2 hashes, while a few unrelated words reach it; 4 (10^10) would refuse
#: many memorable passphrases for little gain, 2 (10^6) lets "Summer2024!"-like ones by.
MIN_SCORE = 3
#: Only this many leading characters are scored (all of them are hashed). zxcvbn's
#: time grows steeply with length, worst for characters of its l33t table (its issue
#: 70). Measured here (CPU, 2 busy cores) on 200-character passwords: a crafted one
#: ("@1|0!$...") 5.4 s for its first 100 characters, 0.3 s (at worst 0.7 s) for its
#: first 40; a random one 18 s whole, 0.4-1.9 s for 100, 17 ms for 40. 40 characters of
#: any password worth having are far more than MIN_SCORE needs.
SCORED_LENGTH = 40
#: Fragments of names shorter than this are not given to zxcvbn as words of the user.
_MIN_WORD = 3
_WORD_SPLIT = re.compile(r"[^0-9a-z]+")
#: zxcvbn keeps the user's words in a module-level dictionary while it scores: two
#: threads scoring at once would each see the other's words.
_ZXCVBN_LOCK = threading.Lock()


def check_password_policy(
    password: str, user: User | None = None, *, related: Iterable[str | None] = ()
) -> None:
    """Refuse (AccountError on the ``password`` field) a password that is shorter than
    10 or longer than 200 characters, is the username or e-mail, or that zxcvbn scores
    below MIN_SCORE, with zxcvbn's warning and suggestions in the message.

    ``user``'s username, e-mail and full name, and ``related`` words (the workspace's
    name and subdomain), count as words a guesser tries first, so a password built from
    them scores low."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters.", "password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            f"A password may have at most {MAX_PASSWORD_LENGTH} characters.", "password"
        )
    if user is not None and password.lower() in {user.username, (user.email or "").lower()}:
        raise AccountError("A password must not be your username or e-mail.", "password")
    inputs = personal_words(user, related)
    result = _score(password[:SCORED_LENGTH], inputs)
    if result["score"] < MIN_SCORE:
        raise AccountError(_weak_message(password, result), "password")


def personal_words(user: User | None, related: Iterable[str | None] = ()) -> list[str]:
    """The words a guesser who knows the person and the workspace tries first: each
    name and address whole, run together and in parts ("Maria Lopez" gives "maria
    lopez", "marialopez", "maria" and "lopez"), most personal first."""
    given = [user.username, user.full_name, user.email] if user is not None else []
    words: list[str] = []
    for text in (*given, *related):
        text = (text or "").strip().lower()
        parts = [part for part in _WORD_SPLIT.split(text) if part]
        for word in (text, "".join(parts), *parts):
            if len(word) >= _MIN_WORD and word not in words:
                words.append(word)
    return words


def _score(password: str, inputs: list[str]) -> dict:
    """zxcvbn's result for ``password`` (at most SCORED_LENGTH characters)."""
    with _ZXCVBN_LOCK:
        return zxcvbn(password, user_inputs=inputs, max_length=SCORED_LENGTH)


def _weak_message(password: str, result: dict) -> str:
    """One paragraph: that the password is too easy to guess, why (zxcvbn's warning, or
    that it contains the person's or workspace's names), and what to do (its
    suggestions)."""
    feedback = result["feedback"]
    parts = [
        "This password is too easy to guess: guessers try the most common passwords "
        "and patterns first."
    ]
    if feedback["warning"]:
        parts.append(_sentence(feedback["warning"]))
    if any(match.get("dictionary_name") == "user_inputs" for match in result["sequence"]):
        parts.append("It uses the user's name, username or e-mail, or the workspace's name.")
    parts.extend(_sentence(suggestion) for suggestion in feedback["suggestions"])
    if len(password) > SCORED_LENGTH:
        parts.append(f"Only its first {SCORED_LENGTH} characters count.")
    if not feedback["suggestions"]:
        parts.append("A few unrelated words make a good one.")
    return " ".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."
