"""What a database *is*, whatever URL, host alias, port or pooler reaches it.

A store row names a database by URL, and many URLs reach one database (``localhost``
and ``127.0.0.1``, a PgBouncer in front, another user). Operations that empty or drop
something must know it is not where a tenant lives now, so a database is identified by
the server's system identifier (``pg_control_system()``, made at initdb, the same on
every connection to that server) and the database's oid on it. Read as the owner (or
any role that may connect): ``pg_control_system()`` is executable by every role.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from ..settings import Settings
from ..tenancy import urls
from ..tenancy.stores import connect_args

IDENTITY_SQL = (
    "select (select system_identifier from pg_control_system())::text, oid::bigint "
    "from pg_database where datname = current_database()"
)


@dataclass(frozen=True)
class DatabaseIdentity:
    """One database: its server's system identifier and its oid there."""

    system_identifier: str
    database_oid: int

    def __str__(self) -> str:
        return f"{self.system_identifier}/{self.database_oid}"


def identity_of(conn: psycopg.Connection) -> DatabaseIdentity:
    """The identity of the database ``conn`` is connected to."""
    system_identifier, oid = conn.execute(IDENTITY_SQL, prepare=False).fetchone()
    return DatabaseIdentity(system_identifier, int(oid))


def read_identity(settings: Settings, url: str) -> DatabaseIdentity:
    """Connect to ``url`` (with the deployment's options) and read its identity."""
    with psycopg.connect(urls.libpq_url(url), autocommit=True, **connect_args(settings)) as conn:
        return identity_of(conn)


def identity_of_store(store) -> DatabaseIdentity | None:
    """The identity a store row records, or None if it was registered before identities
    were recorded (``salesapp doctor`` fills those in)."""
    if store.system_identifier is None or store.database_oid is None:
        return None
    return DatabaseIdentity(store.system_identifier, int(store.database_oid))


def record_identity(store, identity: DatabaseIdentity) -> None:
    """Write ``identity`` on a store row (the caller's catalog session commits it)."""
    store.system_identifier = identity.system_identifier
    store.database_oid = identity.database_oid
