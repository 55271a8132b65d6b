"""What an API token grants: its scope (which calls it may make) and for how long.

A scope narrows its user's role and never widens it: a call needs both the role's
permission (salesapp.security) and a token whose scope covers the call
(salesapp.api.guard). Scopes are nested, ``read`` < ``sales`` < ``full``:

- ``read``: reading only (GET), anything the role may read;
- ``sales``: read, and the till's writes (completing a sale);
- ``full``: everything the role allows; what every token made before scopes existed has.

The scope a call needs follows from its method and its view's permission alone
(:func:`required_scope`), so an API view added later is covered without declaring
anything: a write is ``full`` unless its permission is one of the till's.
"""

from __future__ import annotations

import datetime as dt
import enum


class Scope(enum.StrEnum):
    READ = "read"
    SALES = "sales"
    FULL = "full"


#: the scopes' names, narrowest first (as forms, the console and CHECKs list them)
SCOPE_NAMES = tuple(scope.value for scope in Scope)

#: what each scope allows, as the tokens page, the console and the API document say it
SCOPE_DESCRIPTIONS = {
    Scope.READ: "GET only: read anything the role may see",
    Scope.SALES: "read, and complete sales (the till's writes), but change no product or customer",
    Scope.FULL: "everything the role allows",
}
#: the scope a new token gets unless its maker chooses another: the least it can do
DEFAULT_SCOPE = Scope.READ
#: the order of the scopes: each covers the ones before it
_RANK = {scope: rank for rank, scope in enumerate(Scope)}
#: methods that only read (Pyramid answers HEAD with the GET view)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the permissions of the till's writes: what a ``sales`` token may do beyond reading
SALES_WRITES = frozenset({"sales.create"})


def required_scope(method: str, permission: str) -> Scope:
    """The least scope a token needs to call a view guarded by ``permission`` with
    ``method``: reads need ``read``, the till's writes ``sales``, any other write
    ``full`` (so a new kind of write is never open to a narrower token by mistake)."""
    if method.upper() in READ_METHODS:
        return Scope.READ
    if permission in SALES_WRITES:
        return Scope.SALES
    return Scope.FULL


def covers(granted: str, needed: Scope) -> bool:
    """Whether a token of scope ``granted`` may make a call that needs ``needed``
    (an unknown scope covers nothing)."""
    return granted in _RANK and _RANK[Scope(granted)] >= _RANK[needed]


#: how long a new token works: the choices offered (when it expires, as people read
#: it, and how long after it is made; None: never)
LIFETIMES = {
    "30d": ("in 30 days", dt.timedelta(days=30)),
    "90d": ("in 90 days", dt.timedelta(days=90)),
    "1y": ("in 1 year", dt.timedelta(days=365)),
    "never": ("never", None),
}
DEFAULT_LIFETIME = "90d"
NEVER = "never"


def expiry(lifetime: str, now: dt.datetime) -> dt.datetime | None:
    """When a token made at ``now`` with ``lifetime`` (a key of LIFETIMES) stops
    working; None for a token that never expires."""
    delta = LIFETIMES[lifetime][1]
    return None if delta is None else now + delta


def choices_text(choices) -> str:
    """ "a, b or c": the choices as a message lists them."""
    names = [str(choice) for choice in choices]
    return ", ".join(names[:-1]) + " or " + names[-1]
