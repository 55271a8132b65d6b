"""A workspace's place in the world: its time zone, its language of numbers and dates,
and its currency (issue 18).

Storage stays UTC and plain decimals; people see and type local ones. One :class:`Local`
per request (``request.local``, from the workspace settings) does both ways:

- **time**: ``now()``, ``today()``, ``day_range(from, to)`` (the UTC instants a range of
  local days covers, DST included), ``when(dt)``, ``day(date)``, ``clock(dt)``, ``iso(dt)``
  (ISO 8601 with the zone's offset, for CSVs);
- **numbers**: ``money(x)`` (the currency's own decimals, grouped), ``cash(x)`` (with its
  symbol), ``number(x)``, ``entry(x)`` (for an input's value: no grouping, so what is
  shown parses back), and ``parse_number(text)``, which reads a number as the locale
  writes it and refuses what is ambiguous rather than guess (``1,234`` is 1234 in English
  and 1.234 in German; ``1,23`` in English is refused);
- **currency**: ``decimals`` (ISO 4217: JPY 0, KES 2, BHD 3) and ``quantum``.

The API stays locale-free: it reads and writes plain decimal strings and UTC ISO times
(:data:`PLAIN` parses as the API does). Templates reach all of this through the filters
:func:`includeme` registers (``|when``, ``|day``, ``|clock``, ``|iso``, ``|money``,
``|cash``, ``|number``, ``|entry``), each using the request's ``local``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError, numbers
from babel import dates as babel_dates
from jinja2 import pass_context

#: the locales a workspace may choose: (identifier, what the settings page calls it).
#: Each is tested for parsing (tests/localization); more can be added the same way
LOCALES = (
    ("en_US", "English (United States) — 1,234.56"),
    ("en_GB", "English (United Kingdom) — 1,234.56"),
    ("en_KE", "English (Kenya) — 1,234.56"),
    ("en_NG", "English (Nigeria) — 1,234.56"),
    ("en_ZA", "English (South Africa) — 1 234,56"),
    ("en_IN", "English (India) — 1,23,456.78"),
    ("sw_KE", "Kiswahili (Kenya) — 1,234.56"),
    ("de_DE", "Deutsch (Deutschland) — 1.234,56"),
    ("fr_FR", "Français (France) — 1 234,56"),
    ("es_ES", "Español (España) — 1.234,56"),
    ("it_IT", "Italiano (Italia) — 1.234,56"),
    ("nl_NL", "Nederlands (Nederland) — 1.234,56"),
    ("pt_BR", "Português (Brasil) — 1.234,56"),
    ("ja_JP", "日本語 (日本) — 1,234"),
)
LOCALE_IDS = tuple(identifier for identifier, _ in LOCALES)
DEFAULT_LOCALE = "en_US"
DEFAULT_ZONE = "UTC"
DEFAULT_CURRENCY = "USD"

#: what people type for a space between groups (fr_FR's is U+202F, which no keyboard has)
_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
_ASCII_NUMBER = re.compile(r"[0-9.,' \u00a0\u202f\u2009]+")


def zone_names() -> list[str]:
    """Every IANA zone name this machine knows, sorted (the settings page's choices)."""
    return sorted(available_timezones())


def check_zone(name: str) -> ZoneInfo:
    """The zone of an IANA name ("Africa/Nairobi"); ValueError saying what to type."""
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"must be a time zone's IANA name such as Africa/Nairobi or Europe/Berlin; "
            f"got {str(name)[:60]!r}"
        ) from None


def check_locale(identifier: str) -> Locale:
    """The Babel locale of a supported identifier; ValueError listing the choices."""
    if identifier not in LOCALE_IDS:
        raise ValueError(f"must be one of {', '.join(LOCALE_IDS)}; got {str(identifier)[:20]!r}")
    return _locale(identifier)


def check_currency(code: str) -> str:
    """An ISO 4217 currency code that Babel knows ("KES"); ValueError."""
    code = (code or "").strip().upper()
    if not re.fullmatch("[A-Z]{3}", code) or code not in numbers.list_currencies():
        raise ValueError(f"must be an ISO 4217 currency code such as KES, EUR or JPY; got {code!r}")
    return code


@cache
def _locale(identifier: str) -> Locale:
    try:
        return Locale.parse(identifier)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def currency_decimals(code: str) -> int:
    """How many decimals the currency's amounts have (ISO 4217: JPY 0, USD 2, BHD 3)."""
    return numbers.get_currency_precision(code)


@dataclass(frozen=True)
class Local:
    """A workspace's zone, locale and currency; see the module's docstring."""

    zone_name: str = DEFAULT_ZONE
    locale_id: str = DEFAULT_LOCALE
    currency: str = DEFAULT_CURRENCY

    @classmethod
    def of(cls, settings) -> Local:
        """The Local of a workspace's settings row (``time_zone``, ``locale``,
        ``currency``); unknown values fall back to the defaults rather than fail a page."""
        return cls(
            getattr(settings, "time_zone", None) or DEFAULT_ZONE,
            getattr(settings, "locale", None) or DEFAULT_LOCALE,
            getattr(settings, "currency", None) or DEFAULT_CURRENCY,
        )

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.zone_name)

    @property
    def locale(self) -> Locale:
        return _locale(self.locale_id)

    # -- time -------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return dt.datetime.now(self.zone)

    def today(self) -> dt.date:
        """Today in the workspace's zone (what "today" means on every page)."""
        return self.now().date()

    def local(self, value: dt.datetime) -> dt.datetime:
        """An instant in the workspace's zone (a naive one is taken as UTC)."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(self.zone)

    def day_start(self, day: dt.date) -> dt.datetime:
        """The UTC instant the local day ``day`` begins (DST-aware: a day may be 23 or 25
        hours long)."""
        return dt.datetime.combine(day, dt.time(), self.zone).astimezone(dt.UTC)

    def day_range(self, first: dt.date, last: dt.date | None = None):
        """(start, end) in UTC of the local days ``first`` to ``last`` inclusive: rows
        with ``start <= created_at < end`` are that range's."""
        last = first if last is None else last
        return self.day_start(first), self.day_start(last + dt.timedelta(days=1))

    def day_of(self, value: dt.datetime) -> dt.date:
        """The local day an instant falls on."""
        return self.local(value).date()

    def when(self, value: dt.datetime | None, seconds: bool = False) -> str:
        """A date and time as the locale writes it, in the zone ("1 Dec 2026, 10:07")."""
        if value is None:
            return ""
        return babel_dates.format_datetime(
            self.local(value), "medium" if seconds else _SHORT_WHEN, locale=self.locale
        )

    def day(self, value: dt.date | dt.datetime | None) -> str:
        """A date as the locale writes it (an instant: its local day)."""
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            value = self.day_of(value)
        return babel_dates.format_date(value, "medium", locale=self.locale)

    def clock(self, value: dt.datetime | None) -> str:
        """The local time of day ("10:07", or "10:07 AM" where the locale says so)."""
        if value is None:
            return ""
        return babel_dates.format_time(self.local(value), "short", locale=self.locale)

    def iso(self, value: dt.datetime | dt.date | None) -> str:
        """ISO 8601 with the zone's offset ("2026-12-01T10:07:00+03:00"), for CSVs."""
        if value is None:
            return ""
        if not isinstance(value, dt.datetime):
            return value.isoformat()
        return self.local(value).replace(microsecond=0).isoformat()

    # -- numbers ----------------------------------------------------------------------
    @property
    def decimals(self) -> int:
        return currency_decimals(self.currency)

    @property
    def _grouping(self) -> str:
        """The integer part of the locale's number pattern ("#,##0"; en_IN "#,##,##0")."""
        return self.locale.decimal_formats[None].pattern.split(";")[0].split(".")[0]

    @property
    def quantum(self) -> Decimal:
        """The currency's smallest amount as a Decimal exponent (0.01; 1 for JPY)."""
        return Decimal(1).scaleb(-self.decimals)

    def round_money(self, value) -> Decimal:
        """An amount rounded half up to the currency's decimals."""
        return Decimal(value).quantize(self.quantum, rounding=ROUND_HALF_UP)

    def money(self, value) -> str:
        """An amount with the currency's decimals, grouped as the locale does."""
        if value is None or value == "":
            return ""
        places = "0" * self.decimals
        pattern = f"{self._grouping}.{places}" if places else self._grouping
        return numbers.format_decimal(
            Decimal(value), format=pattern, locale=self.locale, decimal_quantization=True
        )

    def cash(self, value) -> str:
        """An amount with the currency's symbol ("Ksh 1,234.50", "1.234,50 €")."""
        if value is None or value == "":
            return ""
        return numbers.format_currency(Decimal(value), self.currency, locale=self.locale)

    def number(self, value) -> str:
        """A quantity or rate as the locale writes it, without trailing zeros."""
        if value is None or value == "":
            return ""
        value = Decimal(value).normalize()
        places = max(0, -value.as_tuple().exponent)
        pattern = f"{self._grouping}." + "#" * places if places else self._grouping
        return numbers.format_decimal(value, format=pattern, locale=self.locale)

    def entry(self, value, places: int | None = None) -> str:
        """A number as an input's value: the locale's decimal sign, no grouping, so it
        parses back unchanged. Text (what a person typed) is returned as it is."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            return value
        value = Decimal(value)
        text = format(
            value.quantize(Decimal(1).scaleb(-places)) if places is not None else value.normalize(),
            "f",
        )
        return text.replace(".", numbers.get_decimal_symbol(self.locale))

    def entry_money(self, value) -> str:
        """An amount as an input's value, with the currency's decimals."""
        return self.entry(value, self.decimals)

    def parse_number(self, raw: str) -> Decimal:
        """A number as this locale writes it; ValueError whose message ends a sentence
        about the field. Grouping is accepted only where the locale puts it, so nothing
        ambiguous is guessed: en_US ``1,234`` is 1234, ``1,23`` is refused; de_DE
        ``1.234`` is 1234, ``1,5`` is 1.5. A leading minus sign is allowed (callers
        bound the value)."""
        text = (raw or "").strip()
        if not text:
            raise ValueError(
                f"must be a number such as {self.number(Decimal('1234.5'))}, got {(raw or '')[:30]!r}"
            )
        sign = ""
        if text[:1] in "-+":
            sign, text = ("-" if text[0] == "-" else ""), text[1:].strip()
        decimal_sign = numbers.get_decimal_symbol(self.locale)
        group = numbers.get_group_symbol(self.locale)
        example = self.number(Decimal("1234.5"))
        if not text or not _ASCII_NUMBER.fullmatch(text) or not any(c.isdigit() for c in text):
            if text and not text.isascii():
                raise ValueError(f"must be a number written with the digits 0-9, got {raw[:30]!r}")
            raise ValueError(f"must be a number such as {example}, got {raw[:30]!r}")
        if _SPACES.fullmatch(group):
            text = _SPACES.sub(group, text)
        other = {".", ","} - {decimal_sign, group}
        if other or "'" in text:
            wrong = sorted(c for c in set(text) & (other | {"'"}))
            if wrong:
                raise ValueError(
                    f"is written with {wrong[0]!r}, which {self.locale.display_name} does not "
                    f"use in numbers; write it as {example} (got {raw[:30]!r})"
                )
        try:
            value = numbers.parse_decimal(text, locale=self.locale, strict=True)
        except numbers.NumberFormatError as exc:
            hint = ""
            if exc.suggestions:
                hint = " Did you mean " + " or ".join(repr(sign + s) for s in exc.suggestions) + "?"
            raise ValueError(
                f"is ambiguous or badly grouped: {raw[:30]!r} — in {self.locale.display_name} "
                f"numbers are written like {example}.{hint}"
            ) from None
        except InvalidOperation:
            raise ValueError(f"must be a number such as {example}, got {raw[:30]!r}") from None
        return -value if sign == "-" else value


#: the API's and the default's reading: en_US in UTC, dollars (plain decimals parse)
PLAIN = Local()

#: a date and time, short: the locale's short date with hours and minutes
_SHORT_WHEN = "short"


def local_for_request(request) -> Local:
    """The request's workspace's Local (PLAIN where there is no workspace)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return PLAIN
    from .preferences.services import SettingsService

    return Local.of(SettingsService(request.dbsession, tenant.id).get())


def _filter(method: str):
    @pass_context
    def apply(context, value, *args):
        request = context.get("request")
        local = getattr(request, "local", PLAIN) if request is not None else PLAIN
        return getattr(local, method)(value, *args)

    apply.__name__ = method
    return apply


#: template filters: ``{{ sale.created_at|when }}``, ``{{ sale.total|money }}``
FILTER_NAMES = ("when", "day", "clock", "iso", "money", "cash", "number", "entry", "entry_money")
when, day, clock, iso, money, cash, number, entry, entry_money = (
    _filter(name) for name in FILTER_NAMES
)
#: pyramid_jinja2's setting naming them (salesapp.make_app adds it)
JINJA2_FILTERS = "\n".join(f"{name} = salesapp.localization:{name}" for name in FILTER_NAMES)


def includeme(config):
    config.add_request_method(local_for_request, "local", reify=True)
