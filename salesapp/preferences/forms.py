"""Parsing the workspace settings form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..forms import Form

CURRENCY_RE = re.compile(r"[A-Z]{3}")
MAX_FOOTER = 500
FIELDS = ("allow_negative_stock", "currency", "receipt_footer", "admins_need_two_factor")


@dataclass(frozen=True)
class SettingsFields:
    allow_negative_stock: bool
    currency: str
    receipt_footer: str
    admins_need_two_factor: bool = False


def parse_settings(data) -> SettingsFields:
    """Allow negative stock (checkbox), currency (three letters, upper-cased: USD, EUR,
    KES), receipt footer (at most 500 characters), Admins must use two-factor sign-in
    (checkbox); raises FormError."""
    values = {name: data.get(name) for name in FIELDS}
    # browsers send CR LF line breaks: store (and count) each as one character
    values["receipt_footer"] = (values["receipt_footer"] or "").replace("\r\n", "\n")
    form = Form(values)
    currency = form.text("currency", required=True, max_length=3).upper()
    if "currency" not in form.errors and not CURRENCY_RE.fullmatch(currency):
        form.error(
            "currency", f"must be three letters A-Z, such as USD, EUR or KES; got {currency!r}"
        )
    fields = SettingsFields(
        allow_negative_stock=form.boolean("allow_negative_stock"),
        currency=currency,
        receipt_footer=form.text("receipt_footer", max_length=MAX_FOOTER),
        admins_need_two_factor=form.boolean("admins_need_two_factor"),
    )
    form.check()
    return fields
