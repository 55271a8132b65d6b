"""The write fence: how a move pauses one tenant's writes in a store, and only its.

Every tenant table has a statement-level trigger (``write_fence``) that, before any
INSERT, UPDATE, DELETE or TRUNCATE, does two checks for the tenant of the transaction
(``app.tenant_id``):

* it takes the tenant's fence lock in shared mode, without waiting
  (``pg_try_advisory_xact_lock_shared``). A mover holds that lock exclusively while it
  copies: it waits for writers already in flight to commit, and every later write fails
  at once. Reads never take the lock, so staff keep reading.
* it looks for the tenant in ``tenant_fences``. A store the tenant has left keeps a row
  there, so an app process whose cache still points at the old store cannot write to it.

A refused write raises SQLSTATE ``SA503``; the app answers it with the maintenance page
(503, Retry-After) and pyramid_tm rolls the whole request back: nothing is half-written.
The backend that holds the exclusive lock can itself write (a backend never conflicts
with its own locks): the mover cleans the old store on that connection.

The lock is a session lock of the mover's connection, so it is a lease by nature: a
mover that dies (kill -9 included) loses its connection and the lock with it, and the
tenant's writes go on in the store it never left. The catalog's ``moving`` placement,
which lets app processes refuse those writes before they reach the store, is a lease
too: void once the mover's heartbeat is older than MOVE_LEASE_SECONDS (mobility.py,
salesapp.tenancy.directory). A ``tenant_fences`` row is permanent: it is written only
at the flip, when the tenant has left for good.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from ..tenancy.errors import FENCE_SQLSTATE

#: first key of the two-key advisory lock (the second is the tenant id)
LOCK_CLASS = 0x5A1E5
FENCE_TABLE = "tenant_fences"
TRIGGER = "write_fence"

FUNCTION_SQL = f"""
CREATE FUNCTION salesapp_write_fence() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    t bigint := nullif(current_setting('app.tenant_id', true), '')::bigint;
BEGIN
    IF t IS NULL THEN
        RETURN NULL;  -- row-level security refuses the statement anyway
    END IF;
    IF NOT pg_try_advisory_xact_lock_shared({LOCK_CLASS}, (t % 2147483647)::int)
       OR EXISTS (SELECT 1 FROM public.{FENCE_TABLE} f WHERE f.fenced_tenant = t) THEN
        RAISE EXCEPTION 'writes of tenant % are paused while it moves', t
            USING ERRCODE = '{FENCE_SQLSTATE}', HINT = 'try again in a moment';
    END IF;
    RETURN NULL;
END $$
"""


def trigger_sql(table: str) -> str:
    """The fence trigger for one tenant table (every new tenant table needs it)."""
    return (
        f"CREATE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION salesapp_write_fence()"
    )


def _key(tenant_id: int) -> tuple[int, int]:
    return LOCK_CLASS, tenant_id % 2147483647


def lock(conn: psycopg.Connection, tenant_id: int, wait_seconds: float) -> None:
    """Take the tenant's fence lock exclusively on ``conn`` (autocommit, session level):
    waits for in-flight writes to commit, up to ``wait_seconds`` (LockNotAvailable)."""
    conn.execute(
        sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(wait_seconds * 1000)}ms"))
    )
    try:
        conn.execute("SELECT pg_advisory_lock(%s, %s)", _key(tenant_id))
    finally:
        conn.execute("SET lock_timeout = 0")


def unlock(conn: psycopg.Connection, tenant_id: int) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s, %s)", _key(tenant_id))


def close_store(conn: psycopg.Connection, tenant_id: int, reason: str) -> None:
    """Keep the tenant's writes out of this store for good (it lives elsewhere now)."""
    conn.execute(
        f"INSERT INTO {FENCE_TABLE} (fenced_tenant, reason) VALUES (%s, %s) "
        "ON CONFLICT (fenced_tenant) DO UPDATE SET reason = excluded.reason, fenced_at = now()",
        (tenant_id, reason),
    )


def open_store(conn: psycopg.Connection, tenant_id: int) -> None:
    """Let the tenant write in this store again (it is moving in)."""
    conn.execute(f"DELETE FROM {FENCE_TABLE} WHERE fenced_tenant = %s", (tenant_id,))
