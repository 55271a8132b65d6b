"""What a request answers with 503 rather than 500: a write the store's fence refused
(the tenant is moving) and a database server that cannot be reached now.

The fence itself (the trigger, the lock a mover takes) belongs to the operations
(salesapp.operations.fence); the request path needs only to recognise its refusal.
"""

from __future__ import annotations

import psycopg
from sqlalchemy.exc import TimeoutError as PoolTimeout

#: SQLSTATE of a write refused by the write fence (raised by its trigger)
FENCE_SQLSTATE = "SA503"
#: SQLSTATEs of a server shutting down, restarting after a crash, or starting up
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def is_fence_error(exc: BaseException) -> bool:
    """True if ``exc`` (a SQLAlchemy or psycopg error) is a write refused by the fence."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == FENCE_SQLSTATE


def is_unavailable(exc: BaseException) -> bool:
    """True if ``exc`` (a SQLAlchemy or psycopg error) says the database server cannot be
    reached now (down, restarting, the connection lost or every pooled one busy past the
    connect timeout), rather than that a statement was wrong: an outage to answer with
    503 and Retry-After, not a bug to answer with 500."""
    if isinstance(exc, PoolTimeout) or getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", exc)
    if not isinstance(orig, psycopg.OperationalError):
        return False
    # no SQLSTATE: libpq's own failures (refused, timed out, closed by the server)
    state = orig.sqlstate
    return state is None or state.startswith("08") or state in UNAVAILABLE_SQLSTATES


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (database errors run long)."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else exc.__class__.__name__
