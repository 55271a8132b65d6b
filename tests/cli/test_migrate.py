"""`salesapp migrate` across a deployment: each pooled store once, dedicated stores in
parallel, one failing store in the middle stops nothing else, and a rerun finishes.

A separate deployment is used, and a trivial new tenant revision is added to a copy of
alembic/ for the duration of the module."""

import shutil

import pytest
from sqlalchemy import select, text

from salesapp.operations import door, migrations, provisioning
from salesapp.operations.catalog import Catalog
from salesapp.operations.models import Store
from salesapp.tenancy.binding import bind
from tests.conftest import run_cli, write_ini

NEW_REVISION = '''"""test: a note on locations"""
from alembic import op

revision = "t9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE locations ADD COLUMN note text")


def downgrade():
    op.execute("ALTER TABLE locations DROP COLUMN note")
'''


@pytest.fixture(scope="module")
def deployment(make_deployment, tmp_path_factory):
    settings = make_deployment()
    catalog = Catalog(settings)
    make = lambda placement, slug: provisioning.create_tenant(  # noqa: E731
        catalog,
        provisioning.TenantRequest(
            name=slug, slug=slug, admin_email="a@b.org", placement=placement
        ),
    )
    tenants = {
        slug: make(kind, slug)
        for kind, slug in [
            ("pooled", "p1"),
            ("pooled", "p2"),
            ("pooled", "p3"),
            ("dedicated", "d1"),
            ("dedicated", "d2"),
            ("dedicated", "d3"),
        ]
    }
    ini = write_ini(settings, tmp_path_factory.mktemp("migrate") / "m.ini")
    yield settings, catalog, tenants, ini
    catalog.dispose()


@pytest.fixture(scope="module")
def new_revision(tmp_path_factory):
    """alembic/ plus revision t9001 on top of the tenant head."""
    head = migrations.head_revision("tenant")
    copy = tmp_path_factory.mktemp("alembic") / "alembic"
    shutil.copytree(migrations.ALEMBIC_DIR, copy)
    (copy / "tenant" / "versions" / "9001_test_note.py").write_text(NEW_REVISION.format(head=head))
    original = migrations.ALEMBIC_DIR
    migrations.ALEMBIC_DIR = copy
    yield "t9001", head
    migrations.ALEMBIC_DIR = original


def owner_exec(catalog, store_name, sql):
    with catalog.session() as session:
        store = catalog.store_by_name(session, store_name)
        engine = catalog.owner_engine(store)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def store_rows(catalog):
    with catalog.session() as session:
        return {
            s.name: (s.schema_revision, s.migration_status, s.migration_error)
            for s in session.scalars(select(Store))
        }


def test_at_head_everything_is_a_no_op(deployment):
    _settings, catalog, _tenants, ini = deployment
    results = migrations.migrate_deployment(catalog)
    names = [r.name for r in results]
    # catalog, template, one pool (three tenants in it), three dedicated stores
    assert names[:2] == ["catalog", "<template>"]
    assert sorted(names[2:]) == ["dedicated-d1", "dedicated-d2", "dedicated-d3", "pool1"]
    assert {r.status for r in results} == {"at head"}
    run_cli(ini, "migrate", "--check")


def test_failing_store_in_the_middle_then_rerun(deployment, new_revision):
    _settings, catalog, _tenants, ini = deployment
    new, old = new_revision
    # d2's locations already has the column: the new revision fails there, only there
    owner_exec(catalog, "dedicated-d2", "ALTER TABLE locations ADD COLUMN note text")

    check = run_cli(ini, "migrate", "--check", expect=1)
    assert "behind" in check.output

    sql = run_cli(ini, "migrate", "--sql").output
    assert "ALTER TABLE locations ADD COLUMN note text" in sql
    assert store_rows(catalog)["pool1"][0] == old  # --sql changed nothing

    result = run_cli(ini, "migrate", "--jobs", "3", expect=1)
    assert "1 of 6 failed: dedicated-d2" in result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "failed" in lines["dedicated-d2"] and "already exists" in lines["dedicated-d2"]
    for name in ("<template>", "pool1", "dedicated-d1", "dedicated-d3"):
        assert f"{old}  {new}" in lines[name] and "migrated" in lines[name], lines[name]

    rows = store_rows(catalog)
    assert (
        rows["dedicated-d2"][:2] == (old, "failed") and "already exists" in rows["dedicated-d2"][2]
    )
    for name in ("pool1", "dedicated-d1", "dedicated-d3"):
        assert rows[name] == (new, "ok", None)

    # the cause fixed, the same command finishes the job
    owner_exec(catalog, "dedicated-d2", "ALTER TABLE locations DROP COLUMN note")
    again = run_cli(ini, "migrate", "--json")
    import json

    statuses = {r["name"]: r["status"] for r in json.loads(again.output)}
    assert statuses["dedicated-d2"] == "migrated"
    assert {statuses[n] for n in statuses if n != "dedicated-d2"} == {"at head"}
    assert store_rows(catalog)["dedicated-d2"] == (new, "ok", None)
    run_cli(ini, "migrate", "--check")


def test_one_pooled_store_is_one_ddl_whatever_its_tenants(deployment, new_revision):
    _settings, catalog, tenants, _ini = deployment
    # every pooled tenant sees the new column, migrated once for the whole store
    with door.store_connection(catalog, "pool1") as conn:
        for slug in ("p1", "p2", "p3"):
            bind(conn, tenants[slug].id)
            assert conn.scalar(text("select count(note) from locations")) == 0


def test_one_tenant_or_one_store(deployment, new_revision):
    _settings, catalog, _tenants, ini = deployment
    only = migrations.migrate_deployment(catalog, tenant="d1")
    assert [r.name for r in only] == ["catalog", "dedicated-d1"]
    only = migrations.migrate_deployment(catalog, store="pool1")
    assert [r.name for r in only] == ["catalog", "pool1"]
    assert (
        "no tenant with subdomain" in run_cli(ini, "migrate", "--tenant", "nope", expect=1).output
    )
    assert "no store named" in run_cli(ini, "migrate", "--store", "nope", expect=1).output
    run_cli(ini, "migrate", "--tenant", "d1", "--store", "pool1", expect=2)


def test_new_dedicated_tenants_clone_a_template_kept_at_head(deployment, new_revision):
    _settings, catalog, _tenants, _ini = deployment
    created = provisioning.create_tenant(
        catalog,
        provisioning.TenantRequest(
            name="late", slug="late", admin_email="a@b.org", placement="dedicated"
        ),
    )
    with catalog.session() as session:
        store = catalog.store_by_name(session, created.store_name)
        assert store.schema_revision == new_revision[0]


def test_unreachable_store_fails_alone(deployment, new_revision, admin_conn):
    _settings, catalog, _tenants, ini = deployment
    from salesapp.operations import bootstrap

    name = provisioning.dedicated_database_name(catalog, "d3")
    bootstrap.drop_database(admin_conn, name)
    result = run_cli(ini, "migrate", expect=1)
    assert "1 of 7 failed: dedicated-d3" in result.output  # 7: "late" joined
    assert "Traceback" not in result.output
