"""The one tenant binding: how a transaction is told whose rows it may touch.

Every statement on a tenant table is filtered by row-level security against the
transaction's ``app.tenant_id`` setting. The setting is made transaction-local
(``set_config(..., true)``): it is gone at COMMIT or ROLLBACK, so a pooled connection
carries nothing to its next user, even after an error, and it works behind a
transaction-mode pooler. This module is the only place that SQL is written; the web
request's session (salesapp.db), the operator tools' door into a store
(salesapp.operations.door) and the tests all bind through it.
"""

from __future__ import annotations

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

#: the setting row-level security compares every tenant row's ``tenant_id`` with
TENANT_SETTING = "app.tenant_id"
#: the binding as a SQLAlchemy statement (one parameter: the tenant id as text)
SET_TENANT = text(f"select set_config('{TENANT_SETTING}', :tenant_id, true)")
_SET_TENANT_PSYCOPG = f"select set_config('{TENANT_SETTING}', %s, true)"


def bind(conn: Connection | Session | psycopg.Connection | psycopg.Cursor, tenant_id) -> None:
    """Scope the transaction open on ``conn`` to ``tenant_id`` (until it ends).

    Takes a SQLAlchemy connection or session, or a psycopg connection or cursor; the
    value is a string (``set_config`` takes text), so ``None`` or ``""`` is a binding to
    no tenant, which row-level security answers with no rows: it fails closed."""
    value = "" if tenant_id is None else str(tenant_id)
    if isinstance(conn, psycopg.Connection | psycopg.Cursor):
        conn.execute(_SET_TENANT_PSYCOPG, (value,))
    else:
        conn.execute(SET_TENANT, {"tenant_id": value})
