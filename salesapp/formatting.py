"""Template filters for numbers people read."""

from __future__ import annotations

from decimal import Decimal


def quantity(value) -> str:
    """A quantity without trailing zeros and never in exponent form: 20, 2.5, 0.125."""
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text
