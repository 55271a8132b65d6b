"""The audit trail writes itself: before every flush of a tenant session, the changes
that matter (sales, voids, refunds, prices, stock adjustments, users, roles, sign-ins,
settings, tokens) become audit events in the same transaction. So the web pages, the
API and the operators' commands are all covered without each remembering to log, and
an event exists exactly when its change was committed. A change made with SQL rather
than through the ORM is recorded with :func:`record`.

What a table's changes record is declared by its domain, next to its model
(``__audit__``, salesapp.audit.declare); this module only walks the flush and asks each
row's declaration, so it names no table.

The actor is ``session.info["actor"]`` (or the request's signed-in user, once known);
sign-in events name the user signing in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..ids import uuid7
from .declare import Event, declaration, plain
from .models import AuditEvent

ACTOR = "actor"  # session.info key: {"id": uuid or None, "username": str}
ADDRESS = "address"  # session.info key: the client's address


def pending_events(session: Session) -> Iterator[tuple[str, Event]]:
    """(target, event) for what this flush of ``session`` will write, as the rows'
    declarations say: new rows first, then changed, then deleted ones."""
    for row in list(session.new):
        yield from _declared(row, "inserted")
    for row in list(session.dirty):
        if session.is_modified(row, include_collections=False):
            yield from _declared(row, "updated")
    for row in list(session.deleted):
        yield from _declared(row, "deleted")


def _declared(
    row: Any, change: Literal["inserted", "updated", "deleted"]
) -> Iterator[tuple[str, Event]]:
    audit = declaration(row)
    if audit is None:
        return  # a table the trail does not follow
    for rule in getattr(audit, change):
        for found in rule(row):
            yield audit.target(row), found


def _actor(session):
    actor = session.info.get(ACTOR)
    if actor is None:
        request = session.info.get("request")
        # request.user only if already known: computing it here would query mid-flush
        user = request.__dict__.get("user") if request is not None else None
        actor = (
            {"id": user.id, "username": user.username}
            if user
            else {"id": None, "username": "system"}
        )
    return actor


def record(session, action: str, target: str, who=None, **detail) -> None:
    """Record an event for a change made with SQL rather than through the ORM (which
    the flush hook cannot see), in the same transaction."""
    _add(session, action, target, detail, who)


def _add(session, action: str, target: str, detail: dict[str, Any], who=None) -> None:
    actor = {"id": who.id, "username": who.username} if who is not None else _actor(session)
    session.add(
        AuditEvent(
            tenant_id=session.info["tenant_id"],
            id=uuid7(),
            user_id=actor["id"],
            username=actor["username"],
            action=action,
            target=target[:200],
            detail={k: plain(v) for k, v in detail.items()},
            address=session.info.get(ADDRESS, "")[:64],
        )
    )


@event.listens_for(Session, "before_flush")
def record_audit_events(session, flush_context, instances):
    """Add the audit events of this flush's changes to the same flush."""
    if session.info.get("tenant_id") is None:
        return  # not a tenant session (the catalog)
    for target, found in list(pending_events(session)):
        _add(session, found.action, target, dict(found.detail), found.actor)
