"""Parsing the location form."""

from __future__ import annotations

from dataclasses import dataclass

from ..forms import Form


@dataclass(frozen=True)
class LocationFields:
    name: str
    address: str
    active: bool = True


def parse_location(data, *, with_active: bool, local=None) -> LocationFields:
    """Name (required, at most 100 characters), receipt address (at most 500; blank:
    the business address) and, when editing, active; raises FormError with a message
    per bad field."""
    form = Form(data, local=local)
    fields = LocationFields(
        name=form.text("name", required=True, max_length=100),
        address=form.text("address", max_length=500).replace("\r\n", "\n"),
        active=form.boolean("active") if with_active else True,
    )
    form.check()
    return fields
