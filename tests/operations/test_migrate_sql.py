"""`salesapp migrate --sql` prints SQL that runs (issue 15, item 10).

A deployment is put back one revision (the catalog and every tenant database, the
template included) and copied database by database. The printed SQL is run with psql on
the copies, `salesapp migrate` runs on the originals, and each copy must end with the
same schema as its original: tables, columns, constraints, indexes, row-level security
and its policies, triggers, functions, owners and grants (and, where a pg_dump as new as
the server is at hand, pg_dump --schema-only's whole text).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from alembic import command
from salesapp.operations import bootstrap, migrations, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.errors import OperationError
from salesapp.tenancy import urls
from tests.conftest import run_cli, write_ini

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")

#: what a section of `migrate --sql` says about each database it is for
SECTION_HEADING = re.compile(r"^-- on (?P<database>\S+) at \S+ \((?P<name>[^)]*)\)$")

#: the schema of a database, as rows of the system catalogs (compared between databases)
SCHEMA_QUERIES = {
    "relations": """
        select c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relrowsecurity,
               c.relforcerowsecurity, coalesce(c.relacl::text, '')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' order by 1""",
    "columns": """
        select c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), '')
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where n.nspname = 'public' and a.attnum > 0 and not a.attisdropped
        order by 1, 2""",
    "constraints": """
        select conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2""",
    "indexes": """
        select tablename, indexname, indexdef from pg_indexes
        where schemaname = 'public' order by 1, 2""",
    "policies": """
        select tablename, policyname, permissive, roles::text, cmd,
               coalesce(qual, ''), coalesce(with_check, '')
        from pg_policies where schemaname = 'public' order by 1, 2""",
    "triggers": """
        select tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
        from pg_trigger where not tgisinternal order by 1, 2""",
    "functions": """
        select proname, pg_get_functiondef(oid), pg_get_userbyid(proowner),
               coalesce(proacl::text, '')
        from pg_proc where pronamespace = 'public'::regnamespace order by 1""",
    "revision": "select version_num from alembic_version",
}


def previous_revision(kind: str) -> str:
    script = ScriptDirectory.from_config(migrations.alembic_config(kind))
    return script.get_revision(script.get_current_head()).down_revision


def downgrade(kind: str, url: str, revision: str) -> None:
    engine = create_engine(urls.sqlalchemy_url(url))
    try:
        with engine.begin() as connection:
            config = migrations.alembic_config(kind, url)
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def behind(make_deployment, server_admin_url, tmp_path_factory):
    """A deployment one revision behind the code: its catalog, template, pooled store
    (with a tenant) and a dedicated store. Yields (settings, ini, {database: kind})."""
    settings = make_deployment()
    catalog = Catalog(settings)
    for slug, placement in (("sqlp", "pooled"), ("sqld", "dedicated")):
        provisioning.create_tenant(
            catalog,
            provisioning.TenantRequest(
                name=slug, slug=slug, admin_email="a@b.org", placement=placement
            ),
        )
    catalog.dispose()
    databases = {
        urls.database_of(settings.catalog_url): "control",
        settings.database_name("template"): "tenant",
        settings.database_name("pool1"): "tenant",
        settings.database_name("t_sqld"): "tenant",
    }
    for database, kind in databases.items():
        downgrade(kind, owner_url(settings, database), previous_revision(kind))
    ini = write_ini(settings, tmp_path_factory.mktemp("migrate-sql") / "m.ini")
    yield settings, ini, databases


def owner_url(settings, database: str) -> str:
    return urls.with_database(settings.catalog_url, database)  # the catalog's is the owner's


def copy_name(database: str) -> str:
    return f"{database}_sqlrun"  # the deployment's prefix: dropped with it


def sections(sql: str) -> dict[str, str]:
    """{database: the section of `migrate --sql` to run on it}."""
    found: list[tuple[list[str], list[str]]] = []
    for line in sql.splitlines(keepends=True):
        heading = SECTION_HEADING.match(line.rstrip("\n"))
        if heading:
            if not found or found[-1][1]:
                found.append(([], []))
            found[-1][0].append(heading["database"])
        elif found:
            found[-1][1].append(line)
    by_database: dict[str, str] = {}
    for databases, lines in found:
        for database in databases:
            assert database not in by_database, f"{database} is in two sections"
            by_database[database] = "".join(lines)
    return by_database


def schema(admin_url: str, database: str) -> dict[str, list[tuple]]:
    with psycopg.connect(urls.libpq_url(urls.with_database(admin_url, database))) as conn:
        return {name: conn.execute(query).fetchall() for name, query in SCHEMA_QUERIES.items()}


def pg_dump_for(admin_url: str) -> str | None:
    """A pg_dump at least as new as the server (it refuses older servers' dumps only)."""
    binary = shutil.which("pg_dump")
    if binary is None:
        return None
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    client = int(re.search(r"(\d+)\.", version)[1])
    with psycopg.connect(urls.libpq_url(admin_url)) as conn:
        server = int(conn.execute("show server_version_num").fetchone()[0]) // 10000
    return binary if client >= server else None


def dumped_schema(binary: str, admin_url: str, database: str) -> list[str]:
    """pg_dump --schema-only, without comments, settings and the per-run restrict keys."""
    url = urls.libpq_url(urls.with_database(admin_url, database))
    out = subprocess.run(
        [binary, "--schema-only", "--dbname", url], capture_output=True, text=True, check=True
    ).stdout
    skip = ("--", "SET ", "SELECT pg_catalog.set_config", "\\restrict", "\\unrestrict")
    return [line for line in out.splitlines() if line.strip() and not line.startswith(skip)]


def test_the_printed_sql_run_with_psql_gives_the_schema_migrate_gives(behind, server_admin_url):
    settings, ini, databases = behind
    with bootstrap.admin_connection(server_admin_url) as conn:
        for database in databases:
            bootstrap.create_database(
                conn, copy_name(database), settings.owner_role, settings.app_role, template=database
            )

    sql = run_cli(ini, "migrate", "--sql").output
    assert "%%" not in sql  # format('%I') as psql must see it
    by_database = sections(sql)
    # every database of the deployment, the template included, has its section
    assert set(by_database) == set(databases), sql[:2000]
    for database, kind in databases.items():
        section = by_database[database]
        assert f"-> {migrations.head_revision(kind)}" in section
        assert "BEGIN;" in section and "COMMIT;" in section

    for database, section in by_database.items():
        run = subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                urls.libpq_url(owner_url(settings, copy_name(database))),
            ],
            input=section,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, f"psql on the copy of {database}: {run.stderr}"

    run_cli(ini, "migrate")

    dump = pg_dump_for(server_admin_url)
    for database, kind in databases.items():
        migrated = schema(server_admin_url, database)
        assert migrated["revision"] == [(migrations.head_revision(kind),)]
        copied = schema(server_admin_url, copy_name(database))
        for part in SCHEMA_QUERIES:
            assert copied[part] == migrated[part], f"{database}: {part} differ"
        if dump:
            assert dumped_schema(dump, server_admin_url, copy_name(database)) == dumped_schema(
                dump, server_admin_url, database
            ), database


def test_sql_is_for_the_whole_deployment(behind):
    _settings, ini, _databases = behind
    result = run_cli(ini, "migrate", "--sql", "--store", "pool1", expect=2)
    assert "--sql prints the SQL of the whole deployment" in result.output


NEEDS_THE_DATABASE = '''"""test: a revision that reads the database while it runs"""
import sqlalchemy as sa
from alembic import op

revision = "t9201"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    for (table,) in op.get_bind().execute(sa.text("select 'locations'")):
        op.execute(f"ALTER TABLE {{table}} ADD COLUMN note text")


def downgrade():
    pass
'''


def test_a_revision_that_cannot_be_printed_says_so(behind, tmp_path, monkeypatch):
    settings, _ini, _databases = behind
    tree = tmp_path / "alembic"
    shutil.copytree(migrations.ALEMBIC_DIR, tree)
    (tree / "tenant" / "versions" / "9201_reads.py").write_text(
        NEEDS_THE_DATABASE.format(head=migrations.head_revision("tenant"))
    )
    monkeypatch.setattr(migrations, "ALEMBIC_DIR", tree)
    catalog = Catalog(settings)
    try:
        with pytest.raises(OperationError, match="revision t9201 reads the database"):
            migrations.migration_sql(catalog)
    finally:
        catalog.dispose()
