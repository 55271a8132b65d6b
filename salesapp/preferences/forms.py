"""Parsing the workspace settings form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ..forms import Form

CURRENCY_RE = re.compile(r"[A-Z]{3}")
MAX_FOOTER = 500
#: the Managers' cap left blank: they may discount anything
NO_CAP = "none"
FIELDS = (
    "allow_negative_stock",
    "currency",
    "receipt_footer",
    "admins_need_two_factor",
    "cashier_discount_cap",
    "manager_discount_cap",
    "needs_open_shift",
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


def parse_settings(data) -> SettingsFields:
    """Allow negative stock (checkbox), currency (three letters, upper-cased: USD, EUR,
    KES), receipt footer (at most 500 characters), Admins must use two-factor sign-in
    (checkbox), the most a Cashier and a Manager may discount (percent, 0 to 100, at most
    two places; the Cashiers' left as it is when the form sends none; the Managers'
    blank for no cap, left as it is when the form does not have it), a register needs an open shift to
    sell (checkbox; left as it is when the form did not show it); raises FormError."""
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
    )
    form.check()
    return fields
