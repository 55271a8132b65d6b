"""How a domain says what the audit trail records about its rows.

Each audited model carries an :class:`Audit` as its ``__audit__`` class attribute,
written next to the model's columns: the text naming a row in the trail (its target)
and, for an insert, an update and a delete of a row, the rules giving the events that
change produces. The recorder (salesapp.audit.recorder) asks every row of a flush for
its declaration and knows no table by name, so adding an audited field or table touches
its domain only.

Most rules are one of two shapes, made by :func:`always` (every inserted or deleted row
is one event) and :func:`changed` (an update records the old and new values of some
fields). A special
case (a sale's void, a user signing in) is a small function of the row that yields
:class:`Event` values, using :func:`changes` to read what this flush changes.

This module imports nothing of the app, so every domain's models may import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect

#: the class attribute of a model holding its :class:`Audit`
ATTRIBUTE = "__audit__"


@dataclass(frozen=True)
class Event:
    """One audit event a row's change produces.

    ``detail`` values may be Decimals, dates or UUIDs: the recorder stores them as JSON
    (:func:`plain`). ``actor`` is the user row acting, when that is not the session's
    actor: a sign-in is done by the user signing in, before anyone is signed in.
    """

    action: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    actor: Any = None


#: given a row of the flush, the events its change produces (often none)
Rule = Callable[[Any], Iterable[Event]]


@dataclass(frozen=True)
class Audit:
    """What the audit trail records about one model's rows: ``target`` names a row in
    the trail ("sale 12"); ``inserted``, ``updated`` and ``deleted`` are the rules run,
    in order, for a row this flush inserts, changes or deletes."""

    target: Callable[[Any], str]
    inserted: tuple[Rule, ...] = ()
    updated: tuple[Rule, ...] = ()
    deleted: tuple[Rule, ...] = ()


def declaration(row: Any) -> Audit | None:
    """The :class:`Audit` of ``row``'s model, or None if its changes are not audited."""
    return getattr(type(row), ATTRIBUTE, None)


def plain(value: Any) -> Any:
    """``value`` as JSON can hold it: Decimals and UUIDs as text, dates in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return str(value)


def changes(row: Any, *names: str) -> dict[str, list[Any]]:
    """``{attribute: [old, new]}`` for the attributes of ``row`` this flush changes
    (values made :func:`plain`); an attribute set to its old value is no change."""
    state = inspect(row)
    found = {}
    for name in names:
        history = state.attrs[name].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                found[name] = [plain(old), plain(new)]
    return found


def _no_detail(row: Any) -> Mapping[str, Any]:
    return {}


def always(action: str, detail: Callable[[Any], Mapping[str, Any]] = _no_detail) -> Rule:
    """A rule giving one ``action`` event, with ``detail(row)``, for every row: for
    ``inserted`` or ``deleted``, where the change itself is the news."""

    def rule(row: Any) -> Iterator[Event]:
        yield Event(action, detail(row))

    return rule


def changed(action: str, *fields: str) -> Rule:
    """A rule for ``updated``: an ``action`` event when any of ``fields`` changes, with
    ``{field: [old, new]}`` for those that did."""

    def rule(row: Any) -> Iterator[Event]:
        found = changes(row, *fields)
        if found:
            yield Event(action, found)

    return rule
