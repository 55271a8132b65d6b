"""One tenant's rows, table by table: what the tables are, streaming them out with COPY,
loading them back in under row-level security, and checksums to prove both sides equal.

Used by moves (mobility.py) and by backups (archive.py). Everything works on psycopg
connections of the owner role bound to one tenant (salesapp.tenancy.binding): the owner
is subject to the forced row-level security like the app role, so a query can only ever
see one tenant.
Rows travel without their ``tenant_id`` (the loader writes the target tenant's id), in
COPY's text format, which every PostgreSQL version reads.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.stores import connect_args

#: so that a row renders the same text in every session and on every server
NORMAL_SETTINGS = (
    ("TimeZone", "UTC"),
    ("DateStyle", "ISO, YMD"),
    ("IntervalStyle", "postgres"),
    ("extra_float_digits", "1"),
    ("bytea_output", "hex"),
)

SPECS_SQL = """
select c.relname,
       array(select a.attname from pg_attribute a
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                and a.attgenerated = '' and a.attname <> 'tenant_id'
              order by a.attnum)::text[] as columns,
       array(select a.attname from pg_index i
               join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
              where i.indrelid = c.oid and i.indisprimary and a.attname <> 'tenant_id'
              order by array_position(i.indkey::int2[], a.attnum))::text[] as key,
       array(select distinct p.relname from pg_constraint f
               join pg_class p on p.oid = f.confrelid
              where f.conrelid = c.oid and f.contype = 'f' and f.confrelid <> c.oid)::text[]
           as parents
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  join pg_attribute t on t.attrelid = c.oid and t.attname = 'tenant_id' and not t.attisdropped
 where n.nspname = 'public' and c.relkind in ('r', 'p')
"""


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[str, ...]  # every stored column but tenant_id, in table order
    key: tuple[str, ...]  # the primary key but tenant_id: the order rows travel in

    def as_dict(self) -> dict:
        return {"name": self.name, "columns": list(self.columns), "key": list(self.key)}

    @classmethod
    def from_dict(cls, data: dict) -> TableSpec:
        return cls(data["name"], tuple(data["columns"]), tuple(data["key"]))


def table_specs(conn: psycopg.Connection) -> list[TableSpec]:
    """The store's tenant tables, parents before children (ties by name)."""
    rows = conn.execute(SPECS_SQL).fetchall()
    specs = {name: TableSpec(name, tuple(cols), tuple(key or cols)) for name, cols, key, _ in rows}
    sorter = graphlib.TopologicalSorter(
        {name: {p for p in parents if p in specs} for name, _, _, parents in rows}
    )
    sorter.prepare()
    order = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return [specs[name] for name in order]


def connect(settings, url: str, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg connection to a store (owner URL), with the deployment's connection
    options: its timeout, and no prepared statements when ``prepared_statements`` is off
    (a transaction-mode pooler in front of the store would mix them up between clients)."""
    return psycopg.connect(urls.libpq_url(url), autocommit=autocommit, **connect_args(settings))


def normalize(conn: psycopg.Connection, local: bool = False) -> None:
    """Fix the settings that change how values print (SET LOCAL inside a transaction)."""
    for name, value in NORMAL_SETTINGS:
        conn.execute("select set_config(%s, %s, %s)", (name, value, local), prepare=False)


#: the old name of salesapp.tenancy.binding.bind, for callers not moved to it yet (tests)
set_tenant = bind


def _columns(spec: TableSpec) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, spec.columns))


def _ordered_select(spec: TableSpec, tenant_id: int) -> sql.Composed:
    return sql.SQL("SELECT {cols} FROM {table} WHERE tenant_id = {tid} ORDER BY {key}").format(
        cols=_columns(spec),
        table=sql.Identifier(spec.name),
        tid=sql.Literal(tenant_id),
        key=sql.SQL(", ").join(map(sql.Identifier, spec.key)),
    )


def checksum(conn: psycopg.Connection, spec: TableSpec, tenant_id: int) -> tuple[int, str]:
    """(rows, md5 of the rows' text in key order) of one tenant's rows of a table."""
    query = sql.SQL(
        "SELECT count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY {key}), '')) "
        "FROM (SELECT {cols}, ROW({cols}) AS r FROM {table} WHERE tenant_id = {tid}) s"
    ).format(
        cols=_columns(spec),
        table=sql.Identifier(spec.name),
        tid=sql.Literal(tenant_id),
        key=sql.SQL(", ").join(map(sql.Identifier, spec.key)),
    )
    rows, digest = conn.execute(query).fetchone()
    return rows, digest


def stream_out(conn: psycopg.Connection, spec: TableSpec, tenant_id: int) -> Iterator[bytes]:
    """One tenant's rows of a table, in key order, as COPY text chunks."""
    statement = sql.SQL("COPY ({}) TO STDOUT").format(_ordered_select(spec, tenant_id))
    with conn.cursor().copy(statement) as copy:
        for chunk in copy:
            yield bytes(chunk)


def load(conn: psycopg.Connection, spec: TableSpec, tenant_id: int, chunks: Iterable[bytes]) -> int:
    """Load COPY text rows of ``spec``'s columns as ``tenant_id``'s rows; return the count.

    COPY FROM is refused on a table under row-level security, so the rows go into a
    temporary table first and then in with INSERT ... SELECT, which the policies check
    against the transaction's tenant setting.
    """
    staging = sql.Identifier("_salesapp_load")
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            staging, _columns(spec), sql.Identifier(spec.name)
        )
    )
    with conn.cursor().copy(
        sql.SQL("COPY {} ({}) FROM STDIN").format(staging, _columns(spec))
    ) as copy:
        for chunk in chunks:
            copy.write(chunk)
    cursor = conn.execute(
        sql.SQL(
            "INSERT INTO {table} (tenant_id, {cols}) SELECT {tid}, {cols} FROM {staging}"
        ).format(
            table=sql.Identifier(spec.name),
            cols=_columns(spec),
            tid=sql.Literal(tenant_id),
            staging=staging,
        )
    )
    conn.execute(sql.SQL("DROP TABLE {}").format(staging))
    return cursor.rowcount


def delete_rows(conn: psycopg.Connection, specs: list[TableSpec], tenant_id: int) -> dict[str, int]:
    """Delete one tenant's rows from every table, children first; rows per table."""
    deleted = {}
    for spec in reversed(specs):
        deleted[spec.name] = conn.execute(
            sql.SQL("DELETE FROM {} WHERE tenant_id = {}").format(
                sql.Identifier(spec.name), sql.Literal(tenant_id)
            )
        ).rowcount
    return deleted
