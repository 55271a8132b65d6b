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

#: every role the app role is a member of, directly or through others (pg_auth_members
#: followed to the end): each hands the app role its privileges (or SET ROLE to them),
#: so ``GRANT <owner> TO <app>`` makes the app role the tables' owner in all but name
MEMBERSHIP_SQL = text(
    """
    with recursive chain(roleid, path) as (
        select m.roleid, array[m.roleid]
          from pg_auth_members m join pg_roles r on r.oid = m.member
         where r.rolname = :role
        union
        select m.roleid, chain.path || m.roleid
          from pg_auth_members m join chain on m.member = chain.roleid
         where not m.roleid = any(chain.path)
    )
    select granted, path from (
        select distinct on (chain.roleid)
               g.rolname as granted,
               (select array_agg(p.rolname order by i)
                  from unnest(chain.path) with ordinality as u(oid, i)
                  join pg_roles p on p.oid = u.oid) as path
          from chain join pg_roles g on g.oid = chain.roleid
         order by chain.roleid, array_length(chain.path, 1)
    ) shortest
    order by array_length(path, 1), granted
    """
)

#: table privileges of the app role beyond DML (TRUNCATE bypasses row-level security;
#: REFERENCES and TRIGGER are its owner's business), in this database
EXTRA_TABLE_PRIVILEGES_SQL = text(
    """
    select c.relname as table_name, a.privilege_type
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      cross join lateral aclexplode(c.relacl) a
      join pg_roles r on r.oid = a.grantee
     where r.rolname = :role and c.relkind in ('r', 'p', 'v', 'm')
       and n.nspname not in ('pg_catalog', 'information_schema')
       and a.privilege_type not in ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
     order by 1, 2
    """
)


def app_role_memberships(connection, app_role: str) -> list[tuple[str, list[str]]]:
    """Every role the app role is a member of, with the chain of grants that leads there
    (``[direct, ..., granted]``); empty when it is a member of none, as it must be."""
    rows = connection.execute(MEMBERSHIP_SQL, {"role": app_role}).all()
    return [(row.granted, list(row.path)) for row in rows]


def extra_table_privileges(connection, app_role: str) -> list[tuple[str, str]]:
    """(table, privilege) the app role holds beyond SELECT, INSERT, UPDATE, DELETE."""
    rows = connection.execute(EXTRA_TABLE_PRIVILEGES_SQL, {"role": app_role}).all()
    return [(row.table_name, row.privilege_type) for row in rows]


def membership_problem(app_role: str, granted: str, path: list[str]) -> str:
    """One sentence for one membership of the app role."""
    through = f" (through {' -> '.join(path[:-1])})" if len(path) > 1 else ""
    return f"app role {app_role} is a member of role {granted}{through}: more than DML"


def role_problems(connection, app_role: str) -> list[str]:
    """Why the app role is not least-privileged in this database; empty if it is.

    Its own attributes, the relations it owns, the roles it is a member of (directly or
    not: each lends it its privileges) and table privileges beyond DML."""
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
    for granted, path in app_role_memberships(connection, app_role):
        problems.append(membership_problem(app_role, granted, path))
    extra = extra_table_privileges(connection, app_role)
    if extra:
        problems.append(
            f"app role {app_role} holds "
            + ", ".join(f"{privilege} on {table}" for table, privilege in extra)
        )
    return problems
