"""Parsing the workspace settings form and checking an uploaded logo."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ..forms import Form
from ..localization import LOCALE_IDS, check_currency, check_zone
from .models import DETAILS, MAX_LOGO_BYTES

CURRENCY_RE = re.compile(r"[A-Z]{3}")
MAX_FOOTER = 500
#: the receipt header: a line or two above the items (a slogan, opening hours)
MAX_HEADER = 500
#: the business's details, printed on receipts: long enough for any real one, bounded
MAX_LEGAL_NAME = 200
MAX_ADDRESS = 500
MAX_PHONE = 40
MAX_TAX_NUMBER = 60
#: an IANA zone name is at most 32 characters today ("America/Argentina/ComodRivadavia")
MAX_ZONE = 64
#: the Managers' cap left blank: they may discount anything
NO_CAP = "none"
#: tax rounded on every line, or once per rate on the whole sale
TAX_ROUNDING = {"line": "On each line", "invoice": "Once per rate on the whole sale"}
#: how prices are typed and shown (the form's radio values)
PRICES = {"1": "Prices include tax", "0": "Prices are before tax"}
FIELDS = (
    "allow_negative_stock",
    "currency",
    "receipt_footer",
    "admins_need_two_factor",
    "cashier_discount_cap",
    "manager_discount_cap",
    "needs_open_shift",
    *DETAILS,
)
#: the columns of workspace_settings a form may leave out (None: left as they are), and
#: the longest text of each
OPTIONAL_TEXT = {
    "legal_name": MAX_LEGAL_NAME,
    "address": MAX_ADDRESS,
    "phone": MAX_PHONE,
    "tax_number": MAX_TAX_NUMBER,
    "receipt_header": MAX_HEADER,
}
#: what an uploaded logo's first bytes say it is: the only image types a receipt shows
#: (no SVG: it can carry scripts)
LOGO_SIGNATURES = (
    (re.compile(rb"\x89PNG\r\n\x1a\n", re.DOTALL), "image/png"),
    (re.compile(rb"\xff\xd8\xff", re.DOTALL), "image/jpeg"),
    (re.compile(rb"RIFF.{4}WEBP", re.DOTALL), "image/webp"),
)


@dataclass(frozen=True)
class SettingsFields:
    allow_negative_stock: bool
    currency: str
    receipt_footer: str
    admins_need_two_factor: bool = False
    cashier_discount_cap: Decimal | None = None  # None: not on the form, left as it is
    #: the Managers' cap: a Decimal, NO_CAP (blank on the form), or None (not on the form)
    manager_discount_cap: Decimal | str | None = None
    needs_open_shift: bool | None = None  # None: not on the form, left as it is
    # issue 18: each None when the form did not send it (left as it is)
    time_zone: str | None = None
    locale: str | None = None
    prices_include_tax: bool | None = None
    tax_rounding: str | None = None
    legal_name: str | None = None
    address: str | None = None
    phone: str | None = None
    tax_number: str | None = None
    receipt_header: str | None = None

    def changes(self) -> dict:
        """The issue 18 columns the form sent, for SettingsService.update."""
        names = ("time_zone", "locale", "prices_include_tax", "tax_rounding", *OPTIONAL_TEXT)
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


def _lines(value: str | None) -> str | None:
    """Browsers send CR LF line breaks: store (and count) each as one character."""
    return None if value is None else value.replace("\r\n", "\n")


def parse_settings(data, local=None) -> SettingsFields:
    """Allow negative stock (checkbox), currency (an ISO 4217 code, upper-cased: USD,
    EUR, KES), receipt footer (at most 500 characters), Admins must use two-factor
    sign-in (checkbox), the most a Cashier and a Manager may discount (percent, 0 to
    100, at most two places, read in the workspace's locale ``local``; the Cashiers'
    left as it is when the form sends none; the Managers' blank for no cap, left as it
    is when the form does not have it), a register needs an open shift to sell
    (checkbox; left as it is when the form did not show it); and (issue 18) the time
    zone (an IANA name), the locale (one of LOCALES), prices with or without tax, tax
    rounding per line or per invoice, and the business's details, each left as it is
    when the form does not send it. Raises FormError naming every bad field."""
    values = {name: data.get(name) for name in FIELDS}
    values["receipt_footer"] = _lines(values["receipt_footer"]) or ""
    for name in ("address", "receipt_header"):
        values[name] = _lines(values[name])
    form = Form(values, local=local)
    currency = form.text("currency", required=True, max_length=3).upper()
    if "currency" not in form.errors:
        if not CURRENCY_RE.fullmatch(currency):
            form.error(
                "currency", f"must be three letters A-Z, such as USD, EUR or KES; got {currency!r}"
            )
        else:
            try:
                check_currency(currency)
            except ValueError as exc:
                form.error("currency", f"{exc}: no such ISO 4217 currency")
    fields = SettingsFields(
        allow_negative_stock=form.boolean("allow_negative_stock"),
        currency=currency,
        receipt_footer=form.text("receipt_footer", max_length=MAX_FOOTER),
        admins_need_two_factor=form.boolean("admins_need_two_factor"),
        cashier_discount_cap=form.decimal(
            "cashier_discount_cap",
            places=2,
            minimum=Decimal("0"),
            maximum=Decimal("100"),
            required=False,
        ),
        manager_discount_cap=(
            form.decimal(
                "manager_discount_cap",
                places=2,
                minimum=Decimal("0"),
                maximum=Decimal("100"),
                required=False,
            )
            or (Decimal("0") if (values["manager_discount_cap"] or "").strip() else NO_CAP)
        )
        if values["manager_discount_cap"] is not None
        else None,
        # a checkbox sends nothing when off: the hidden marker says it was on the form
        needs_open_shift=form.boolean("needs_open_shift")
        if data.get("needs_open_shift_shown")
        else None,
        time_zone=_zone(form) if values["time_zone"] is not None else None,
        locale=form.choice("locale", LOCALE_IDS) if values["locale"] is not None else None,
        prices_include_tax=(
            form.choice("prices_include_tax", tuple(PRICES)) == "1"
            if values["prices_include_tax"] is not None
            else None
        ),
        tax_rounding=form.choice("tax_rounding", tuple(TAX_ROUNDING))
        if values["tax_rounding"] is not None
        else None,
        **{
            name: form.text(name, max_length=longest) if values[name] is not None else None
            for name, longest in OPTIONAL_TEXT.items()
        },
    )
    form.check()
    return fields


def _zone(form: Form) -> str:
    """The time zone's IANA name, as typed (``Africa/Nairobi``), checked by zoneinfo."""
    name = form.text("time_zone", required=True, max_length=MAX_ZONE)
    if "time_zone" in form.errors:
        return name
    try:
        check_zone(name)
    except ValueError as exc:
        form.error("time_zone", str(exc))
    return name


class LogoError(ValueError):
    """An upload that is not a logo the receipts can show; the message says what to do."""


def check_logo(content: bytes, filename: str = "") -> str:
    """The media type of an uploaded logo, from its first bytes (a name or a browser's
    Content-Type says nothing of what a file is): PNG, JPEG or WebP, at most
    MAX_LOGO_BYTES. LogoError otherwise."""
    name = f" {filename[:80]!r}" if filename else ""
    if not content:
        raise LogoError(f"The file{name} is empty: choose a PNG, JPEG or WebP image.")
    if len(content) > MAX_LOGO_BYTES:
        raise LogoError(
            f"The file{name} is too large ({len(content):,} bytes; at most "
            f"{MAX_LOGO_BYTES:,} bytes, {MAX_LOGO_BYTES // 1024} KB). Save it smaller (a logo 400 pixels wide is "
            "plenty for a receipt) and upload it again."
        )
    for signature, media_type in LOGO_SIGNATURES:
        if signature.match(content):
            return media_type
    raise LogoError(
        f"The file{name} is not a PNG, JPEG or WebP image. Save the logo in one of these "
        "formats and upload it again."
    )
