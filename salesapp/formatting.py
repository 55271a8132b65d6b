"""Template filters for numbers people read."""

from __future__ import annotations

from decimal import Decimal


def quantity(value) -> str:
    """A quantity without trailing zeros and never in exponent form: 20, 2.5, 0.125."""
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


def plural(count, singular: str, many: str | None = None) -> str:
    """ "1 product", "2 products", "0 products": a count with its noun in the right form
    (``many`` where adding "s" is wrong: plural(2, "category", "categories"))."""
    noun = singular if count == 1 else (many or singular + "s")
    return f"{count} {noun}"


def size(n: float | None) -> str:
    """Bytes for a person: "812 B", "3.4 MB" ("-" for unknown); also the ``size``
    template filter."""
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
