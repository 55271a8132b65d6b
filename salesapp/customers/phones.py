"""Customers' phone numbers as one number however they are written: ``0712 345 678``
and ``+254 712 345 678`` are the same Kenyan number. Read with the ``phonenumbers``
library (Google's libphonenumber) in the workspace's country, which is its locale's
territory (en_KE: Kenya); a number that does not read as a valid one is kept as its
digits, so it still matches itself typed another way."""

from __future__ import annotations

import re

import phonenumbers
from babel import Locale, UnknownLocaleError

#: the country of a locale without one ("en"), as the app's default locale (en_US)
DEFAULT_REGION = "US"


def region_of(locale_id: str | None) -> str:
    """The country whose local numbers the workspace writes: its locale's territory."""
    try:
        territory = Locale.parse(locale_id or "").territory
    except (UnknownLocaleError, ValueError, TypeError):
        territory = None
    return territory or DEFAULT_REGION


def digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def parsed(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The valid number ``text`` writes (local numbers of ``region``), else None."""
    if not text or len(digits(text)) < 3:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalised(text: str, region: str) -> str:
    """``text`` in E.164 ("+254712345678") when it is a valid number, else its digits
    ("" for no phone)."""
    number = parsed(text, region)
    if number is None:
        return digits(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national(text: str, region: str) -> str:
    """The national significant number of ``text`` ("712345678"), else ""."""
    number = parsed(text, region)
    return str(number.national_number) if number is not None else ""
