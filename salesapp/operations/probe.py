"""The live isolation probe (``salesapp check --probe``): row-level security tried, not
read about.

The audit in rls.py looks at the catalog tables: RLS flags and policy names. The probe
connects to a store as the app role, the role web requests use (a superuser or the
tables' owner would bypass RLS and prove nothing), and tries what an attacker holding
one tenant's session would try against another: read, change, delete, write in the
other's name and reference the other's rows. Any of these that works is a FAIL.

It plays two tenants that no tenant is: :data:`PROBE_A` and :data:`PROBE_B` are
negative, and tenant ids are positive, so the probe behaves the same in a pooled store
of many tenants and in a dedicated store of one, never writes a row in a real tenant's
name and never meets a real tenant's write fence (a tenant being moved). The real
tenants' rows take part as what they are to the probe: rows of other tenants, which
must stay invisible. Everything happens in one transaction that is always rolled back
(each attempt in a savepoint of its own, rolled back too), on a connection of its own:
nothing is kept, whatever happens. (A sequence's nextval would survive the rollback;
the tenant schema has none: row ids are made by the application.)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from ..ids import uuid7
from ..settings import Settings
from ..tenancy import urls
from ..tenancy.binding import bind
from ..tenancy.directory import StoreKind
from ..tenancy.errors import first_line
from ..tenancy.stores import connect_args

#: the two tenants the probe plays; no tenant has a negative id
PROBE_A = -1
PROBE_B = -2

#: SQLSTATEs of the refusals the probe expects
RLS_REFUSED = "42501"  # new row violates row-level security policy (or permission denied)
FK_REFUSED = "23503"  # foreign key violation

TABLES_SQL = text(
    """
    select n.nspname as schema_name, c.relname as table_name
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
     where n.nspname not in ('pg_catalog', 'information_schema') and c.relkind in ('r', 'p')
     order by n.nspname, c.relname
    """
)

ROLE_SQL = text(
    "select current_user as name, rolsuper, rolbypassrls from pg_roles where rolname = current_user"
)

#: one row of roles, by id
ROLE_COUNT = "select count(*) from roles where id = :id"


@dataclass
class ProbeResult:
    store: str
    kind: StoreKind
    role: str = ""
    tables: int = 0
    passed: int = 0
    failures: list[str] = field(default_factory=list)
    reached: bool = False  # connected as the app role
    error: str = ""  # the probe could not run to its end: why

    @property
    def ok(self) -> bool:
        return not self.failures and not self.error


class ProbeAborted(Exception):
    """A step the rest depends on failed: the probe stops and says which."""


class _Probe:
    """One probing transaction: binds a tenant, runs attempts in savepoints, keeps score."""

    def __init__(self, conn, result: ProbeResult):
        self.conn = conn
        self.result = result

    def bind(self, tenant_id) -> None:
        """Bind a tenant as the app does (transaction-local); "" binds the empty setting."""
        bind(self.conn, tenant_id)

    def expect(self, ok: bool, failure: str) -> None:
        if ok:
            self.result.passed += 1
        else:
            self.result.failures.append(failure)

    def attempt(self, statement: str, params: dict | None = None):
        """Run ``statement`` in a savepoint that is always rolled back; returns
        (result rows or rowcount, None) or (None, the database error)."""
        savepoint = self.conn.begin_nested()
        try:
            result = self.conn.execute(text(statement), params or {})
            value = result.all() if result.returns_rows else result.rowcount
            return value, None
        except DBAPIError as exc:
            return None, exc
        finally:
            savepoint.rollback()

    def write(self, statement: str, params: dict, what: str) -> None:
        """A write the probe needs (its own rows): kept until the final rollback."""
        savepoint = self.conn.begin_nested()
        try:
            self.conn.execute(text(statement), params)
        except DBAPIError as exc:
            savepoint.rollback()
            raise ProbeAborted(f"{what} failed: {first_line(exc.orig or exc)}") from None
        savepoint.commit()

    def count(self, table: str, statement: str, params: dict, expected: int, failure: str):
        """A count that must be ``expected``; ``failure`` may name the count as {found}."""
        rows, error = self.attempt(statement, params)
        if error is not None:
            self.result.failures.append(f"{table}: cannot read: {first_line(error.orig or error)}")
            return
        found = rows[0][0]
        self.expect(found == expected, f"{table}: " + failure.format(found=found))

    def expect_untouched(self, statement: str, params: dict, failure: str) -> None:
        """An UPDATE or DELETE that must affect no row (or be refused outright)."""
        affected, error = self.attempt(statement, params)
        self.expect(error is not None or affected == 0, failure.format(found=affected))

    def expect_refused(
        self,
        statement: str,
        params: dict,
        failure: str,
        sqlstate: str = RLS_REFUSED,
        by: str = "row-level security",
    ) -> None:
        """A write that must fail with ``sqlstate``. A success is a FAIL, and so is a
        failure for another reason (a NOT NULL column, say): ``by`` let the row through
        and only the table's other rules stopped it."""
        _, error = self.attempt(statement, params)
        if error is None:
            self.expect(False, f"{failure} was accepted")
            return
        state = getattr(error.orig, "sqlstate", None)
        self.expect(
            state == sqlstate,
            f"{failure} got past {by}, stopped only by: {first_line(error.orig or error)}",
        )


def _tables(probe: _Probe) -> list[tuple[str, str]]:
    quote = probe.conn.dialect.identifier_preparer.quote
    rows = probe.conn.execute(TABLES_SQL).all()
    return [(row.table_name, f"{quote(row.schema_name)}.{quote(row.table_name)}") for row in rows]


def _sweep(probe: _Probe, tables, bound: int | None, foreign: int, how: str) -> None:
    """Every tenant table: no other tenant's row visible (the real tenants' rows included)
    and a row in another tenant's name refused."""
    for name, table in tables:
        if bound is None:
            probe.count(
                name, f"select count(*) from {table}", {}, 0, f"{{found}} rows visible {how}"
            )
        else:
            probe.count(
                name,
                f"select count(*) from {table} where tenant_id is distinct from :a",
                {"a": bound},
                0,
                f"{{found}} rows of other tenants visible {how}",
            )
        probe.expect_refused(
            f"insert into {table} (tenant_id) values (:t)",
            {"t": foreign},
            f"{name}: a row for tenant {foreign} inserted {how}",
        )


def _run(probe: _Probe) -> None:
    a, b = PROBE_A, PROBE_B
    role = probe.conn.execute(ROLE_SQL).one()
    probe.result.role = role.name
    if role.rolsuper or role.rolbypassrls:
        flag = "SUPERUSER" if role.rolsuper else "BYPASSRLS"
        raise ProbeAborted(
            f"connected as {role.name}, which has {flag}: row-level security does not "
            "apply to it, so every tenant's rows are open to the app"
        )
    # a transaction that waits for a lock or runs long is stopped, not waited for
    probe.conn.execute(text("select set_config('lock_timeout', '5s', true)"))
    probe.conn.execute(text("select set_config('statement_timeout', '30s', true)"))
    tables = _tables(probe)
    probe.result.tables = len(tables)
    if not tables:
        raise ProbeAborted("no tenant tables found; run `salesapp migrate`")

    # 1. nothing bound (a new transaction): no row of anyone, no write
    _sweep(probe, tables, None, a, "with no tenant bound")

    # 2. tenant B writes a row of its own, and sees it
    tag = secrets.token_hex(4)
    role_b, role_a, user_a = uuid7(), uuid7(), uuid7()
    name_b = f"isolation probe {tag} B"
    probe.bind(b)
    probe.write(
        "insert into roles (tenant_id, id, name) values (:t, :id, :name)",
        {"t": b, "id": role_b, "name": name_b},
        f"as tenant {b}, adding a role",
    )
    probe.count("roles", ROLE_COUNT, {"id": role_b}, 1, f"tenant {b} does not see the row it wrote")

    # 3. tenant A writes rows of its own that reference each other, and sees them
    probe.bind(a)
    probe.write(
        "insert into users (tenant_id, id, username, password_hash) values (:t, :id, :u, '!')",
        {"t": a, "id": user_a, "u": f"isolation-probe-{tag}"},
        f"as tenant {a}, adding a user",
    )
    probe.write(
        "insert into roles (tenant_id, id, name) values (:t, :id, :name)",
        {"t": a, "id": role_a, "name": f"isolation probe {tag} A"},
        f"as tenant {a}, adding a role",
    )
    probe.write(
        "insert into user_roles (tenant_id, user_id, role_id) values (:t, :u, :r)",
        {"t": a, "u": user_a, "r": role_a},
        f"as tenant {a}, giving its user its role",
    )
    probe.count("roles", ROLE_COUNT, {"id": role_a}, 1, f"tenant {a} does not see the row it wrote")

    # 4. tenant A against B's row: not seen, not changed, not deleted, not referenced;
    #    and nothing written in B's name
    foreign = {"id": role_b}
    probe.count("roles", ROLE_COUNT, foreign, 0, f"tenant {a} sees tenant {b}'s row")
    probe.expect_untouched(
        "update roles set name = name where id = :id",
        foreign,
        f"roles: tenant {a} updated {{found}} row(s) of tenant {b}",
    )
    probe.expect_untouched(
        "delete from roles where id = :id",
        foreign,
        f"roles: tenant {a} deleted {{found}} row(s) of tenant {b}",
    )
    probe.expect_refused(
        "insert into roles (tenant_id, id, name) values (:t, :id, :name)",
        {"t": b, "id": uuid7(), "name": f"isolation probe {tag} intruder"},
        f"roles: a row for tenant {b} inserted by tenant {a}",
    )
    probe.expect_refused(
        "update roles set tenant_id = :t where id = :id",
        {"t": b, "id": role_a},
        f"roles: tenant {a}'s row handed to tenant {b}",
    )
    probe.expect_refused(
        "insert into user_roles (tenant_id, user_id, role_id) values (:t, :u, :r)",
        {"t": a, "u": user_a, "r": role_b},
        f"user_roles: tenant {a}'s row referencing tenant {b}'s role",
        FK_REFUSED,
        "the foreign key",
    )
    _sweep(probe, tables, a, b, f"with tenant {a} bound")

    # 5. B's row is as B wrote it, and B sees nothing of A
    probe.bind(b)
    rows, error = probe.attempt("select name from roles where id = :id", foreign)
    probe.expect(
        error is None and [tuple(r) for r in rows] == [(name_b,)],
        f"roles: tenant {b}'s row was changed or deleted by tenant {a}",
    )
    probe.count("roles", ROLE_COUNT, {"id": role_a}, 0, f"tenant {b} sees tenant {a}'s row")

    # 6. the empty setting (what a connection that served a tenant before carries)
    probe.bind("")
    ours = {"ids": [role_a, role_b]}
    probe.count(
        "roles",
        "select count(*) from roles where id = any(:ids)",
        ours,
        0,
        "{found} of the probe's rows visible with an empty tenant setting",
    )
    probe.expect_untouched(
        "update roles set name = name where id = any(:ids)",
        ours,
        "roles: {found} row(s) updated with an empty tenant setting",
    )
    probe.expect_untouched(
        "delete from roles where id = any(:ids)",
        ours,
        "roles: {found} row(s) deleted with an empty tenant setting",
    )
    probe.expect_refused(
        "insert into roles (tenant_id, id, name) values (:t, :id, :name)",
        {"t": a, "id": uuid7(), "name": f"isolation probe {tag} unbound"},
        "roles: a row inserted with an empty tenant setting",
    )


def probe_store(name: str, kind: StoreKind, app_url: str, settings: Settings) -> ProbeResult:
    """Probe one store, connected with ``app_url`` (the store as the app role).

    Never raises for a database problem: an unreachable store, or a probe that cannot
    finish, is a result with ``error`` saying why.
    """
    result = ProbeResult(store=name, kind=kind)
    engine = create_engine(
        urls.sqlalchemy_url(app_url), poolclass=NullPool, connect_args=connect_args(settings)
    )
    try:
        with engine.connect() as conn:
            result.reached = True
            transaction = conn.begin()
            try:
                _run(_Probe(conn, result))
            except ProbeAborted as exc:
                result.error = str(exc)
            finally:
                transaction.rollback()  # never a commit: the probe keeps nothing
    except DBAPIError as exc:
        if result.role:
            result.error = f"failed as {result.role}: {first_line(exc.orig or exc)}"
        else:
            result.error = (
                f"cannot connect as the app role {settings.app_role}: {first_line(exc.orig or exc)}"
            )
    finally:
        engine.dispose()
    return result
