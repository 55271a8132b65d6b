"""Parsing form and JSON input: every field gets bounds and a type, and every error
names the field, says what was wrong and what is expected."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)

# Numbers, dates and ids are written with the ASCII digits 0-9 only. Python's Decimal,
# int and uuid.UUID also take other scripts' decimal digits (Arabic-Indic, fullwidth),
# and str.isdigit() is true of "²" and "①", which int() then refuses (a 500 once): one
# rule for every field, which every keyboard layout can type and every page shows back.
#: a decimal number: digits with an optional point, sign and short exponent ("1e3")
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
#: a date as <input type=date> sends it
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ASCII_DIGITS = "with the digits 0-9"


def parse_decimal(raw: str) -> Decimal:
    """A finite Decimal from text written with the ASCII digits 0-9; ValueError whose
    message ends a sentence about the field ("must be a number, got 'x'")."""
    if not NUMBER.fullmatch(raw):
        if not raw.isascii():
            raise ValueError(f"must be a number written {ASCII_DIGITS}, got {raw[:30]!r}")
        raise ValueError(f"must be a number, got {raw[:30]!r}")
    return Decimal(raw)


def parse_integer(raw: str) -> int:
    """A whole number from text of the ASCII digits 0-9 (an optional sign); ValueError
    as parse_decimal's."""
    value = parse_decimal(raw)
    if value != value.to_integral_value():
        raise ValueError(f"must be a whole number, got {raw[:30]!r}")
    return int(value)


def parse_date(raw: str) -> dt.date:
    """A date written YYYY-MM-DD with the ASCII digits 0-9; ValueError as
    parse_decimal's. (fromisoformat alone also takes 20260131 and week dates.)"""
    try:
        if not ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        digits = "" if raw.isascii() else f" {ASCII_DIGITS}"
        raise ValueError(
            f"must be a date written YYYY-MM-DD{digits}, e.g. 2026-01-31; got {raw[:40]!r}"
        ) from None


def parse_uuid_text(raw: str) -> uuid.UUID:
    """An id (a UUID in its usual hexadecimal spelling, ASCII only); ValueError."""
    if not raw.isascii():
        raise ValueError(raw)
    return uuid.UUID(raw)


def utc_today() -> dt.date:
    """Today as a UTC day: the app's days are UTC days until tenants have a time zone."""
    return dt.datetime.now(dt.UTC).date()


class FormError(ValueError):
    """Bad input. ``errors`` maps field name -> message; str() joins them."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class Form:
    """Collects per-field errors while fields are read; ``check()`` raises them together.

    Every value is bounded before it can reach the database: text by length and without
    NUL characters (PostgreSQL refuses them), numbers by size and places, dates by range.

    form = Form(request.POST)
    name = form.text("name", required=True, max_length=200)
    price = form.decimal("unit_price", places=2, minimum=0)
    form.check()
    """

    def __init__(self, data, local=None):
        self.data = data
        self.errors: dict[str, str] = {}
        #: how numbers are read: a workspace's locale (``request.local``) for the pages;
        #: None reads plain decimals with a point and no grouping (the API, scripts)
        self.local = local

    def _raw(self, name) -> str:
        value = self.data.get(name)
        if value is None:
            return ""
        return value.strip() if isinstance(value, str) else str(value).strip()

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def text(self, name, *, required=False, max_length=200, default="") -> str:
        value = self._raw(name)
        if not value:
            if required:
                self.error(name, "is required")
            return default
        if "\x00" in value:  # PostgreSQL text cannot hold it; no keyboard types it
            self.error(name, "must not contain NUL characters")
            return value.replace("\x00", "")[:max_length]
        if len(value) > max_length:
            self.error(name, f"is too long ({len(value)} characters; at most {max_length})")
            return value[:max_length]
        return value

    def _shown(self, value) -> str:
        """A bound as the form's locale writes numbers (as it is without one)."""
        return str(value) if self.local is None else self.local.entry(value)

    def _number(self, raw: str) -> Decimal:
        """A number as the form's locale writes it (plain decimals without one)."""
        if self.local is None:
            return parse_decimal(raw)
        return self.local.parse_number(raw)

    def decimal(self, name, *, places=2, minimum=None, maximum=None, required=True, default=None):
        raw = self._raw(name)
        if not raw:
            if required and default is None:
                self.error(name, "is required")
            return default
        try:
            value = self._number(raw)
        except (ValueError, InvalidOperation) as exc:
            self.error(name, str(exc))
            return default
        if value.adjusted() > 12:  # larger than any amount or quantity we keep
            self.error(name, "is too large")
            return default
        quantum = Decimal(1).scaleb(-places)
        if value != value.quantize(quantum, rounding=ROUND_HALF_UP):
            self.error(name, f"has more than {places} decimal places")
            return default
        if minimum is not None and value < minimum:
            self.error(name, f"must be at least {self._shown(minimum)}")
        if maximum is not None and value > maximum:
            self.error(name, f"must be at most {self._shown(maximum)}")
        return value.quantize(quantum)

    def money(self, name, *, minimum=None, maximum=None, required=True, default=None):
        """An amount of the workspace's currency: at most its decimals (ISO 4217: 2 for
        KES and EUR, none for JPY, so 100.5 yen is refused), read in its locale."""
        places = self.local.decimals if self.local is not None else 2
        value = self.decimal(
            name,
            places=places,
            minimum=minimum,
            maximum=maximum,
            required=required,
            default=default,
        )
        if name in self.errors and "decimal places" in self.errors[name] and self.local:
            self.errors[name] = (
                f"{self.local.currency} amounts have {places or 'no'} decimal place"
                f"{'' if places == 1 else 's'}; got {self._raw(name)[:30]!r}"
            )
        return value

    def integer(self, name, *, minimum=None, maximum=None, required=True, default=None):
        value = self.decimal(
            name, places=0, minimum=minimum, maximum=maximum, required=required, default=default
        )
        return int(value) if value is not None else None

    def choice(self, name, choices, *, required=True, default=None):
        value = self._raw(name)
        if not value:
            if required and default is None:
                self.error(name, "is required")
            return default
        if value not in choices:
            self.error(name, f"must be one of {', '.join(choices)}")
            return default
        return value

    def boolean(self, name) -> bool:
        return self._raw(name).lower() in ("1", "true", "on", "yes")

    def date(self, name, *, required=False, default=None, latest: dt.date = LATEST):
        """A date written YYYY-MM-DD (what ``<input type=date>`` sends)."""
        raw = self.text(name, max_length=40)
        if name in self.errors:
            return default
        if not raw:
            if required:
                self.error(name, "is required")
            return default
        try:
            value = parse_date(raw)
        except ValueError as exc:
            self.error(name, str(exc))
            return default
        if value < EARLIEST:
            self.error(name, f"must not be before {EARLIEST.isoformat()}; got {raw}")
            return default
        if value > latest:
            self.error(name, f"must not be after {latest.isoformat()}; got {raw}")
            return default
        return value

    def uuid(self, name, *, required=True):
        value = self._raw(name)
        if not value:
            if required:
                self.error(name, "is required")
            return None
        try:
            return parse_uuid_text(value)
        except ValueError:
            self.error(name, "is not a valid id")
            return None

    def check(self) -> None:
        if self.errors:
            raise FormError(self.errors)


def money(value) -> Decimal:
    """Round to cents, half up (as receipts and tax authorities do)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_uuid(value) -> uuid.UUID | None:
    """The id ``value`` spells (ASCII hexadecimal), or None for anything else."""
    try:
        return parse_uuid_text(str(value))
    except (ValueError, TypeError):
        return None
