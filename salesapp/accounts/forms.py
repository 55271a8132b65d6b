"""Parsing the Admin's user forms: username, e-mail, roles, a temporary password.

Built on :class:`salesapp.forms.Form`, adding what these forms need and it lacks:
several values of one field (role checkboxes) and a password read verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..forms import Form
from .models import ROLE_NAMES

USERNAME_RE = re.compile(r"[a-z0-9._-]{1,63}")
# deliberately loose: one @, no spaces, a dot in the domain; the mailbox decides the rest
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


class AccountForm(Form):
    """A :class:`Form` with the fields of user accounts."""

    def username(self, name: str = "username") -> str:
        value = self._raw(name).lower()
        if not value:
            self.error(name, "is required")
        elif len(value) > 63:
            self.error(name, f"is too long ({len(value)} characters; at most 63)")
        elif not USERNAME_RE.fullmatch(value):
            self.error(name, "may only use letters a-z, digits 0-9, dot, underscore and hyphen")
        return value

    def email(self, name: str = "email") -> str | None:
        value = self.text(name, max_length=254).lower()
        if value and not EMAIL_RE.fullmatch(value):
            self.error(name, f"is not a valid e-mail address: {value[:60]!r}")
        return value or None

    def choices(self, name: str, allowed, *, at_least_one: bool = False) -> list[str]:
        """Every checked value of a group of checkboxes, each one of ``allowed``."""
        getall = getattr(self.data, "getall", None)
        values = getall(name) if getall else self.data.get(name, [])
        values = [values] if isinstance(values, str) else list(values)
        picked = []
        for value in (str(v).strip() for v in values):
            if value not in allowed:
                self.error(name, f"must be among {', '.join(allowed)}")
            elif value not in picked:
                picked.append(value)
        if at_least_one and not picked and name not in self.errors:
            self.error(name, f"Choose at least one of {', '.join(allowed)}.")
        return picked

    def password(self, name: str = "password") -> str:
        """The password exactly as typed (spaces count); the policy checks it later."""
        value = self.data.get(name) or ""
        if not value:
            self.error(name, "is required")
        return value


@dataclass(frozen=True)
class UserFields:
    """What the Admin typed for a user."""

    username: str
    full_name: str
    email: str | None
    roles: tuple[str, ...]
    active: bool = True
    password: str = ""


def parse_new_user(data) -> UserFields:
    """The new-user form; raises FormError with a message per bad field."""
    form = AccountForm(data)
    fields = UserFields(
        username=form.username(),
        full_name=form.text("full_name", required=True, max_length=200),
        email=form.email(),
        roles=tuple(form.choices("roles", ROLE_NAMES, at_least_one=True)),
        password=form.password(),
    )
    form.check()
    return fields


def parse_user_edit(data, username: str) -> UserFields:
    """The edit-user form (the username does not change); raises FormError."""
    form = AccountForm(data)
    fields = UserFields(
        username=username,
        full_name=form.text("full_name", required=True, max_length=200),
        email=form.email(),
        roles=tuple(form.choices("roles", ROLE_NAMES, at_least_one=True)),
        active=form.boolean("active"),
    )
    form.check()
    return fields


def parse_password_reset(data) -> str:
    """The reset-password form: the new temporary password; raises FormError."""
    form = AccountForm(data)
    password = form.password()
    form.check()
    return password


def parse_pin(data) -> str:
    """One's PIN, typed twice, read verbatim (its rules are PinService's); raises
    FormError."""
    form = AccountForm(data)
    pin = data.get("pin") or ""
    if not pin:
        form.error("pin", "Enter a PIN of 4 to 8 digits.")
    elif pin != (data.get("confirm_pin") or ""):
        form.error("confirm_pin", "The two PINs differ: type the same PIN twice.")
    form.check()
    return pin


def _picked(form: AccountForm, name: str, allowed: dict, what: str) -> list:
    """The checked ids of a group of checkboxes, each one of ``allowed`` (text -> id)."""
    getall = getattr(form.data, "getall", None)
    values = getall(name) if getall else form.data.get(name, [])
    values = [values] if isinstance(values, str) else list(values)
    picked = []
    for value in (str(v).strip() for v in values):
        if value not in allowed:
            form.error(name, f"choose among the {what} listed (one is no longer there)")
        elif allowed[value] not in picked:
            picked.append(allowed[value])
    return picked


def parse_places(data, locations, registers) -> tuple[list, list]:
    """The locations and registers ticked on the user page: (location ids, register
    ids), each among ``locations`` / ``registers`` (ids offered); raises FormError."""
    form = AccountForm(data)
    location_ids = _picked(form, "locations", {str(i): i for i in locations}, "locations")
    register_ids = _picked(form, "registers", {str(i): i for i in registers}, "registers")
    form.check()
    return location_ids, register_ids
