"""Row-level security for tenant tables: the policies every tenant table gets, and the
audit that proves every store has them (used by tests and by ``salesapp check``)."""

from __future__ import annotations

from sqlalchemy import text

from .fence import TRIGGER

#: Fails closed: no setting, an empty setting or another tenant's id sees nothing.
TENANT_PREDICATE = "tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::bigint)"

PERMISSIVE_POLICY = "tenant_isolation"
RESTRICTIVE_POLICY = "tenant_guard"


def enable_rls_sql(table: str) -> list[str]:
    """Statements that put ``table`` under row-level security with both policies.

    The restrictive policy repeats the condition so that a permissive policy added by
    mistake later can only narrow access, never widen it.
    """
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {PERMISSIVE_POLICY} ON {table} AS PERMISSIVE FOR ALL "
        f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
        f"CREATE POLICY {RESTRICTIVE_POLICY} ON {table} AS RESTRICTIVE FOR ALL "
        f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
    ]


AUDIT_SQL = text(
    """
    select c.relname as table_name,
           c.relrowsecurity as enabled,
           c.relforcerowsecurity as forced,
           pg_get_userbyid(c.relowner) as owner,
           coalesce(bool_or(p.polname = :permissive and p.polpermissive and p.polcmd = '*'),
                    false) as has_permissive,
           coalesce(bool_or(p.polname = :restrictive and not p.polpermissive
                            and p.polcmd = '*'), false) as has_restrictive,
           exists (select 1 from pg_trigger g where g.tgrelid = c.oid
                    and g.tgname = :fence and g.tgenabled <> 'D') as has_fence
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
      left join pg_policy p on p.polrelid = c.oid
     where n.nspname not in ('pg_catalog', 'information_schema') and c.relkind in ('r', 'p')
     group by c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity, c.relowner
     order by c.relname
    """
)


def audit_store(connection) -> list[dict]:
    """One row per table with a tenant_id column: RLS flags, owner and policies present."""
    rows = connection.execute(
        AUDIT_SQL,
        {"permissive": PERMISSIVE_POLICY, "restrictive": RESTRICTIVE_POLICY, "fence": TRIGGER},
    )
    return [dict(row._mapping) for row in rows]


def audit_problems(rows: list[dict], app_role: str) -> list[str]:
    """What is wrong in an :func:`audit_store` result, one sentence each; empty if nothing."""
    problems = []
    for row in rows:
        table = row["table_name"]
        if not row["enabled"]:
            problems.append(f"{table}: row-level security is not enabled")
        if not row["forced"]:
            problems.append(f"{table}: row-level security is not forced")
        if not row["has_permissive"]:
            problems.append(f"{table}: permissive policy {PERMISSIVE_POLICY} is missing")
        if not row["has_restrictive"]:
            problems.append(f"{table}: restrictive policy {RESTRICTIVE_POLICY} is missing")
        if not row["has_fence"]:
            problems.append(f"{table}: the write-fence trigger {TRIGGER} is missing or disabled")
        if row["owner"] == app_role:
            problems.append(f"{table}: owned by the app role {app_role}")
    return problems


ROLE_AUDIT_SQL = text(
    """
    select r.rolname, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb,
           (select count(*) from pg_class c where c.relowner = r.oid) as owned_relations
      from pg_roles r where r.rolname = :role
    """
)


def role_problems(connection, app_role: str) -> list[str]:
    """Why the app role is not least-privileged in this database; empty if it is."""
    row = connection.execute(ROLE_AUDIT_SQL, {"role": app_role}).mappings().first()
    if row is None:
        return [f"app role {app_role} does not exist"]
    problems = []
    for flag, label in (
        ("rolsuper", "SUPERUSER"),
        ("rolbypassrls", "BYPASSRLS"),
        ("rolcreaterole", "CREATEROLE"),
        ("rolcreatedb", "CREATEDB"),
    ):
        if row[flag]:
            problems.append(f"app role {app_role} has {label}")
    if row["owned_relations"]:
        problems.append(f"app role {app_role} owns {row['owned_relations']} relations")
    return problems
